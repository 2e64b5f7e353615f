/**
 * The one module where the server meets the scoring path: request settings (the CLI's option names, camel-cased,
 * with the CLI's defaults) → the same resolution `swapnas score` does → results shaped like `score --format json`.
 * Warm state (backends, input batches, regularisers, tables) comes from the server's {@link WarmState}.
 */
import { statSync } from 'node:fs';
import type { BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { inputsFromFlagsAsync, type InputFlags } from '../cli/options.js';
import { int, num } from '../cli/parse.js';
import { formatOnnxScore, onnxOptionsFromFlags, type ScoreOnnxFlags } from '../cli/score-onnx.js';
import { repeatSeed } from '../init/prng.js';
import { scoreOnnxModel } from '../score/onnx-model.js';
import { PROXY_NAMES, proxySpec } from '../proxies/registry.js';
import { dataFreeRegulariser } from '../score/auto-reg.js';
import type { Regulariser } from '../proxies/regularise.js';
import { checkInputsFit, resolveScoreOptions, scoreWithBackend } from '../score/swap.js';
import { checkTarget, spaceEntry, type SpaceEntry } from '../catalog/registry.js';
import { truthInfo, truthRow } from '../tables/truth.js';
import type { BenchmarkTable } from '../tables/types.js';
import { isSwapError, SwapError } from '../util/errors.js';
import type { WarmState } from './warm.js';

/** Settings of an architecture-scoring request: `swapnas score` options, camel-cased, as flag text or booleans. */
export interface ArchSettings extends InputFlags {
  space?: string;
  dataset?: string;
  seed?: string;
  repeats?: string;
  channels?: string;
  cells?: string;
  prune?: boolean;
  official?: boolean;
  reg?: boolean;
  classes?: string;
  mu?: string;
  sigma?: string;
  backend?: string;
  threads?: string;
  truth?: boolean;
}

/** What `swapnas score --format json` prints. */
export interface ScoreResult {
  readonly settings: Record<string, unknown>;
  readonly results: Record<string, unknown>[];
}

/** Networks per backend call, as the CLI's default `--chunk`. */
const CHUNK = 64;

/** A file's identity for cache keys: a changed file is read again. */
function fileStamp(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    const s = statSync(path);
    return `${path}@${s.mtimeMs}:${s.size}`;
  } catch {
    return path; // the loader reports the error
  }
}

function inputsKey(f: ArchSettings, size: number, S: number, wanted: number | undefined): string {
  return JSON.stringify([
    fileStamp(f.images),
    fileStamp(f.imageDir),
    fileStamp(f.npy),
    f.gaussian ?? false,
    f.gaussianSeed ?? '0',
    f.norm ?? 'cifar10',
    size,
    S,
    wanted,
  ]);
}

function parseArchs<G>(entry: SpaceEntry<G>, archs: readonly string[]): G[] {
  return archs.map((a, i) => {
    try {
      return entry.space.parse(a);
    } catch (e) {
      if (isSwapError(e)) throw new SwapError(e.code, `archs[${i}]: ${e.message}`, { cause: e });
      throw e;
    }
  });
}

/** Score architectures of a space exactly as `swapnas score <archs…> --format json` with the same options. */
export async function scoreArchs(
  archs: readonly string[],
  f: ArchSettings,
  warm: WarmState,
  signal: AbortSignal,
): Promise<ScoreResult> {
  const entry = spaceEntry(f.space ?? 'nb201');
  const space = entry.space;
  const target = checkTarget(entry, f.dataset ?? entry.targets[0]!);
  if (f.official && !entry.official)
    throw new SwapError(
      'E_OPTION',
      `${space.name} has no official SWAP protocol; its defaults come from the ranking study`,
    );
  const genotypes = parseArchs(entry, archs);
  const seed = int('--seed', f.seed ?? '0', 0);
  const base = f.official ? entry.official!.proxy : entry.proxyDefaults;
  const prune = f.prune ?? true;
  const targetNet = { ...entry.networkFor(target), ...(f.official ? entry.official!.network : {}) };
  const netOpts = {
    ...targetNet,
    channels: f.channels !== undefined ? int('--channels', f.channels, 1) : base.channels,
    cells: f.cells !== undefined ? int('--cells', f.cells, 1) : base.cells,
    ...(f.classes !== undefined ? { classes: int('--classes', f.classes, 1) } : {}),
    prune: f.official ? false : prune && entry.proxyDefaults.prune,
  };
  const S = f.batch !== undefined ? int('--batch', f.batch, 1) : base.batch;
  const wanted =
    f.inputSize !== undefined
      ? int('--input-size', f.inputSize, 4)
      : (base.inputSize ?? (targetNet['inputSize'] as number | undefined));
  const inputs = (await warm.inputs.get(inputsKey(f, wanted ?? 32, S, wanted), () =>
    inputsFromFlagsAsync(f, wanted ?? 32, S, wanted),
  )) as InputBatch;
  const resolved = resolveScoreOptions({
    inputs,
    batch: S,
    repeats: f.repeats !== undefined ? int('--repeats', f.repeats, 1) : base.repeats,
    seed,
    ...(f.mu !== undefined ? { mu: num('--mu', f.mu) } : {}),
    ...(f.sigma !== undefined ? { sigma: num('--sigma', f.sigma) } : {}),
  });
  const netOptsFull = { ...netOpts, inputSize: resolved.inputs.h };
  if (!resolved.reg && f.reg !== false)
    resolved.reg = warm.regularisers.get(JSON.stringify([space.name, netOptsFull]), () =>
      dataFreeRegulariser(space, netOptsFull),
    ) as Regulariser;
  let table: BenchmarkTable | undefined;
  if (f.truth) {
    if (!entry.loadTable) throw new SwapError('E_OPTION', `truth: space ${space.name} has no benchmark table`);
    table = warm.tables.get(space.name, () => entry.loadTable!()) as BenchmarkTable;
  }
  const { backend, skipped } = await warm.choose((f.backend ?? 'auto') as BackendName | 'auto');
  const threads = f.threads !== undefined ? int('--threads', f.threads, 1) : undefined;
  const settings = {
    batch: resolved.inputs.n,
    repeats: resolved.repeats,
    seed,
    inputs: resolved.inputs.source,
    backend: backend.name,
    skippedBackends: skipped,
    regulariser: resolved.reg ?? null,
    network: { space: space.name, ...netOptsFull },
    ...(table ? { truth: truthInfo(table) } : {}),
  };
  const seeds = Array.from({ length: resolved.repeats }, (_, r) => repeatSeed(seed, r));
  const results: Record<string, unknown>[] = [];
  for (let i = 0; i < genotypes.length; i += CHUNK) {
    const part = genotypes.slice(i, i + CHUNK);
    const nets = part.map((g) => space.build(g, netOptsFull));
    checkInputsFit(nets, resolved.inputs);
    const scores = await scoreWithBackend(nets, backend, {
      inputs: resolved.inputs,
      seeds,
      regulariser: resolved.reg,
      registry: warm.registry,
      ...(threads !== undefined ? { threads } : {}),
      signal,
    });
    for (let k = 0; k < part.length; k++) {
      const arch = space.format(part[k]!);
      const s = scores[k]!;
      results.push({ arch, ...s, ...(table ? { truth: truthRow(table, arch) } : {}) });
    }
  }
  return { settings, results };
}

/** Score an ONNX model (a path or its bytes) exactly as `swapnas score model.onnx --format json`. */
export async function scoreOnnx(
  model: string | Uint8Array,
  f: ScoreOnnxFlags,
  warm: WarmState,
  signal: AbortSignal,
): Promise<ScoreResult> {
  const opts = onnxOptionsFromFlags(model, f);
  const r = await scoreOnnxModel(model, { ...opts, registry: warm.registry, signal });
  return JSON.parse(formatOnnxScore(r, 'json')) as ScoreResult;
}

/**
 * The proxies: SWAP and reg-SWAP (every score result has both) and the zero-cost proxies of the registry with what
 * each needs (`swapnas score --proxies` computes those; the server does not run them yet).
 */
export function listProxies(): Record<string, unknown>[] {
  return [
    {
      name: 'swap',
      direction: 'higher',
      served: true,
      description: 'SWAP-Score Ψ: distinct sample-wise ReLU sign patterns',
    },
    {
      name: 'reg-swap',
      direction: 'higher',
      served: true,
      description: 'reg-SWAP: Ψ · exp(−(Θ−μ)²/σ), size-regularised (data-free μ/σ unless given)',
    },
    ...PROXY_NAMES.map((name) => {
      const p = proxySpec(name);
      return { name, served: false, group: p.group, backward: p.backward, labels: p.labels, protocol: p.protocol };
    }),
  ];
}

/** Every backend by priority with availability (what `swapnas backends --json` prints). */
export function listBackends(warm: WarmState): ReturnType<WarmState['registry']['describe']> {
  return warm.registry.describe();
}
