/**
 * The one module where the server meets the scoring path: request settings (the CLI's option names, camel-cased,
 * as flag texts) → the CLI's option parsing → the one resolved scoring request (`resolveScoringRequest`, with the
 * server's warm batches and data-free μ/σ) → results shaped like `score --format json`.
 */
import type { BackendChoice } from '../backends/registry.js';
import type { Backend } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { scoringOptionsFromFlags, type ScoringFlags } from '../cli/options.js';
import { int } from '../cli/parse.js';
import { formatOnnxScore, onnxOptionsFromFlags, type ScoreOnnxFlags } from '../cli/score-onnx.js';
import { type ProxyFlags, refuseSwapOnly } from '../cli/proxy-options.js';
import type { ProxyEngines } from '../proxies/runner.js';
import { repeatSeed } from '../init/prng.js';
import type { Network } from '../ir/types.js';
import { scoreOnnxModel } from '../score/onnx-model.js';
import { PROXY_NAMES, proxySpec } from '../proxies/registry.js';
import { fileStamp } from '../request/inputs.js';
import { requestKey, resolveScoringRequest } from '../request/resolve.js';
import { settingsBlock } from '../request/settings.js';
import type { ScoringRequest } from '../request/types.js';
import { checkInputsFit, scoreWithBackend, type NetworkScore } from '../score/swap.js';
import {
  DEFAULT_FITNESS,
  type EnsembleScore,
  type EnsembleScorer,
  fitnessNames,
  fitnessRule,
  labelsKeyFor,
  REG_SWAP_FITNESS,
  scoreFitness,
} from '../score/ensemble.js';
import { ensembleScorerFor, ensembleSettings, givenLabels, needsLabels } from '../cli/ensemble.js';
import { memberNames } from '../proxies/ensemble.js';
import { scoreRow } from '../cli/score-output.js';
import type { SearchSpace } from '../spaces/types.js';
import { spaceEntry, type SpaceEntry } from '../catalog/registry.js';
import { truthInfo, truthRow } from '../tables/truth.js';
import type { BenchmarkTable } from '../tables/types.js';
import { isSwapError, SwapError } from '../util/errors.js';
import { canonicalJson } from '../util/json.js';
import type { WarmState } from './warm.js';

/** Settings of an architecture-scoring request: `swapnas score` options, camel-cased, as flag text or booleans. */
export interface ArchSettings extends ScoringFlags {
  threads?: string;
  truth?: boolean;
  /** `reg-swap` or an ensemble plug-in (default: `ensemble-fit`, as `swapnas score`; unlabelled images make it the label-free ensemble, `official` reg-swap). */
  fitness?: string;
  /** A labels file of the input images (as `score --labels`): unlabelled images then keep the default fitness. */
  labels?: string;
}

/** What `swapnas score --format json` prints. */
export interface ScoreResult {
  readonly settings: Record<string, unknown>;
  readonly results: readonly object[];
}

/** Networks per backend call, as the CLI's default `--chunk`. */
const CHUNK = 64;

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

/**
 * A score request resolved and ready to run. Requests with equal `key` (same resolved request, backend, threads,
 * truth columns and fitness) can share one backend call: their rows are the same as when run alone.
 */
export interface PreparedScore {
  readonly key: string;
  readonly request: ScoringRequest;
  readonly inputs: InputBatch;
  readonly archs: readonly string[];
  readonly networks: readonly Network[];
  readonly choice: BackendChoice;
  readonly threads: number | undefined;
  readonly table: BenchmarkTable | undefined;
  /** The ensemble fitness's scorer, its reference set loaded (kept warm with the settings); undefined: reg-SWAP. */
  readonly ensemble: EnsembleScorer<unknown, object> | undefined;
  readonly settings: Record<string, unknown>;
}

/** What the settings of a `score` request resolve to: the same for every request with those settings. */
export type ResolvedSettings = Omit<PreparedScore, 'archs' | 'networks'> & { readonly entry: SpaceEntry<unknown> };

/** A space's benchmark table for `truth` (kept warm), or a coded error for a space without one. */
function loadTruthTable(entry: SpaceEntry<unknown>, space: string, warm: WarmState): BenchmarkTable {
  if (!entry.loadTable) throw new SwapError('E_OPTION', `truth: space ${space} has no benchmark table`);
  return warm.tables.get(space, () => entry.loadTable!()) as BenchmarkTable;
}

async function resolveSettings(f: ArchSettings, warm: WarmState): Promise<ResolvedSettings> {
  const entry = spaceEntry(f.space ?? 'nb201');
  const { request, inputs, labels } = await resolveScoringRequest(scoringOptionsFromFlags(f), {}, warm.resolveMemo);
  const table = f.truth ? loadTruthTable(entry, request.space, warm) : undefined;
  const given = f.labels !== undefined ? givenLabels(f.labels, inputs) : undefined;
  const labelled = given !== undefined || labels !== undefined;
  const fitness = scoreFitness({ fitness: f.fitness, official: f.official, labelled });
  const keyed = fitness.rule ? labelsKeyFor(fitness.rule, given?.key) : undefined;
  const choice = await warm.choose(request.backend);
  const threads = f.threads !== undefined ? int('--threads', f.threads, 1) : undefined;
  const ensemble = fitness.rule
    ? ensembleScorerFor(entry.space as SearchSpace<unknown, object>, fitness.rule, {
        request,
        inputs,
        labels: given?.labels ?? labels,
        labelsKey: given?.key,
        threads,
        cacheDir: warm.cacheDir,
        progress: false,
        registry: warm.registry,
        suiteEngine: (engine, t) => warm.suiteEngine(engine, t),
      })
    : undefined;
  // The reference set is scored (or read) once per settings, before the first request with them is answered.
  await ensemble?.loadReference();
  return {
    entry,
    key: JSON.stringify([
      requestKey(request),
      choice.backend.name,
      threads ?? null,
      Boolean(table),
      fitness.name,
      keyed ?? null,
    ]),
    request,
    inputs,
    choice,
    threads,
    table,
    ensemble,
    settings: {
      ...settingsBlock(request, choice.backend.name, choice.skipped),
      ...(table ? { truth: truthInfo(table) } : {}),
      ...(fitness.rule
        ? { ensemble: { ...ensembleSettings(fitness.rule), ...(keyed !== undefined ? { labels: keyed } : {}) } }
        : {}),
      // the default's fallback (score --official, unlabelled images), said here as the CLI says it on stderr
      ...(fitness.fallback ? { fitnessNote: fitness.fallback } : {}),
    },
  };
}

/** The warm-state key of a request's settings: their canonical JSON and the stamps of the files they name. */
function settingsKey(f: ArchSettings): string {
  const files = [f.images, f.imageDir, f.npy, f.labels].map((p) => (typeof p === 'string' ? fileStamp(p) : null));
  return canonicalJson({ settings: f, files });
}

/**
 * Parse, resolve and build a `score` request. What its settings resolve to is kept in the warm state (by their
 * canonical JSON), so a request with settings seen before only parses and builds its architectures.
 */
export async function prepareScore(archs: readonly string[], f: ArchSettings, warm: WarmState): Promise<PreparedScore> {
  const genotypes = parseArchs(spaceEntry(f.space ?? 'nb201'), archs);
  const { entry, ...r } = await warm.settings.get(settingsKey(f), () => resolveSettings(f, warm));
  const networks = genotypes.map((g) => entry.space.build(g, r.request.network));
  checkInputsFit(networks, r.inputs);
  return { ...r, archs: genotypes.map((g) => entry.space.format(g)), networks };
}

/** One network's scores: its SWAP pass and, under an ensemble fitness, its fitness and member values. */
export interface ServedScore {
  readonly swap: NetworkScore;
  readonly ensemble: EnsembleScore | undefined;
}

/**
 * Scores of prepared networks on the warm backend, {@link CHUNK} networks per call, with the ensemble fitness
 * (from the same SWAP pass) when the settings have one.
 */
export async function scoreNetworksWarm(
  p: Pick<PreparedScore, 'request' | 'inputs' | 'choice' | 'threads' | 'ensemble'>,
  networks: readonly Network[],
  warm: WarmState,
  signal: AbortSignal,
): Promise<ServedScore[]> {
  const seeds = Array.from({ length: p.request.repeats }, (_, r) => repeatSeed(p.request.seed, r));
  const out: ServedScore[] = [];
  for (let i = 0; i < networks.length; i += CHUNK) {
    const nets = networks.slice(i, i + CHUNK);
    const part = await scoreWithBackend(nets, p.choice.backend as Backend, {
      inputs: p.inputs,
      seeds,
      regulariser: p.request.regulariser ?? undefined,
      registry: warm.registry,
      ...(p.threads !== undefined ? { threads: p.threads } : {}),
      signal,
    });
    if (p.ensemble && signal.aborted) throw new SwapError('E_CANCELLED', 'request cancelled');
    const ens = p.ensemble ? await p.ensemble.scoreBuilt(nets, part) : undefined;
    part.forEach((swap, k) => out.push({ swap, ensemble: ens?.[k] }));
  }
  return out;
}

/** The response of a prepared request given its networks' scores (in order): `swapnas score`'s rows. */
export function scoreResult(p: PreparedScore, scores: readonly ServedScore[]): ScoreResult {
  const results = p.archs.map((arch, k) =>
    scoreRow(arch, scores[k]!.swap, scores[k]!.ensemble, p.table ? truthRow(p.table, arch) : undefined),
  );
  return { settings: p.settings, results };
}

/** Score architectures of a space exactly as `swapnas score <archs…> --format json` with the same options. */
export async function scoreArchs(
  archs: readonly string[],
  f: ArchSettings,
  warm: WarmState,
  signal: AbortSignal,
): Promise<ScoreResult> {
  const p = await prepareScore(archs, f, warm);
  return scoreResult(p, await scoreNetworksWarm(p, p.networks, warm, signal));
}

/**
 * Score an ONNX model (a path or its bytes) exactly as `swapnas score model.onnx --format json`, or, with a
 * `referenceModels` folder, as `swapnas score model.onnx --reference-models DIR` (its fitness and members).
 */
export async function scoreOnnx(
  model: string | Uint8Array,
  f: ScoreOnnxFlags,
  warm: WarmState,
  signal: AbortSignal,
): Promise<ScoreResult> {
  const ranked = f as ScoreOnnxFlags & { fitness?: string; labels?: string; proxies?: string };
  if (ranked.proxies !== undefined) return onnxProxies(model, f, warm);
  if (f.referenceModels === undefined && (ranked.fitness !== undefined || ranked.labels !== undefined))
    throw new SwapError('E_OPTION', 'fitness and labels apply to score_onnx with referenceModels (a folder of models)');
  if (f.referenceModels !== undefined) {
    // ranked by the ensemble against the user's reference models (cached in the server's cache folder)
    const { onnxEnsembleDoc } = await import('../cli/score-onnx-ensemble.js');
    const doc = await onnxEnsembleDoc(
      model,
      { ...f, referenceModels: f.referenceModels },
      {
        cacheDir: warm.cacheDir,
        suiteEngine: (engine, threads) => warm.suiteEngine(engine, threads),
        signal,
      },
    );
    return { settings: doc.settings, results: doc.results } as unknown as ScoreResult;
  }
  const opts = onnxOptionsFromFlags(model, f);
  const r = await scoreOnnxModel(model, { ...opts, registry: warm.registry, signal });
  return JSON.parse(formatOnnxScore(r, 'json')) as ScoreResult;
}

/** Settings of `score` that set SWAP's scoring, refused with `proxies` (as on the command line). */
const SWAP_ONLY_ARCHS = ['repeats', 'mu', 'sigma', 'reg', 'batch', 'fitness', 'targetParams'] as const;

/**
 * Refuse the `keys` of SWAP's own scoring among a request's settings, as `--proxies` does on the command line:
 * `reg` only when false (`--no-reg`), `fitness` only when it names an ensemble (reg-swap ranks nothing here).
 */
function refuseSwapOnlySettings(given: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys)
    if (
      given[k] !== undefined &&
      (k !== 'reg' || given[k] === false) &&
      (k !== 'fitness' || fitnessRule(String(given[k])) !== undefined)
    )
      refuseSwapOnly(
        k === 'reg' ? '--no-reg' : `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
        given['proxyProtocol'] === 'swap',
      );
}

/**
 * The server's proxy runners: its warm suite engines (one per engine and thread count, shared with the ensemble
 * scorers; proxies requests run alone), so a native runner's buffers and caches serve request after request.
 */
function warmEngines(warm: WarmState): ProxyEngines {
  return (backend, threads) => warm.suiteEngine(backend, threads);
}

/**
 * `score` with `proxies`: `swapnas score <archs…> --proxies … --format json`'s document (the networks of
 * `spaceProxyNetworks`, the rows in order, `truth` with the table's values when asked).
 */
export async function scoreArchProxies(
  archs: readonly string[],
  f: ArchSettings,
  warm: WarmState,
  signal?: AbortSignal,
): Promise<ScoreResult> {
  const given = f as unknown as Record<string, unknown>;
  refuseSwapOnlySettings(given, SWAP_ONLY_ARCHS);
  const entry = spaceEntry(f.space ?? 'nb201');
  const genotypes = parseArchs(entry, archs);
  // no size regulariser: the proxies' protocols have none (the data-free rule is not run for them)
  const { request, inputs } = await resolveScoringRequest(
    { ...scoringOptionsFromFlags(f), reg: false },
    {},
    warm.resolveMemo,
  );
  const table = f.truth ? loadTruthTable(entry, request.space, warm) : undefined;
  const { planProxies, scoreNetworksWithProxies, spaceProxyNetworks } = await import('../cli/proxies.js');
  const nets = spaceProxyNetworks(entry.space as SearchSpace<unknown, object>, request, genotypes, given, inputs.h);
  const plan = await planProxies(nets.shape, f as unknown as ProxyFlags, request.seed, inputs.n, nets.network);
  const results: Record<string, unknown>[] = [];
  const threads = f.threads !== undefined ? int('--threads', f.threads, 1) : undefined;
  const keep = (row: Record<string, unknown>) => {
    results.push(table ? { ...row, truth: truthRow(table, row['arch'] as string) } : row);
  };
  await scoreNetworksWithProxies(nets.items, plan, threads, keep, signal, warmEngines(warm));
  const settings = table ? { ...plan.settings, truth: truthInfo(table) } : plan.settings;
  return { settings, results } as unknown as ScoreResult;
}

/** Settings of `score_onnx` that set SWAP's scoring, refused with `proxies` (as on the command line). */
const SWAP_ONLY_ONNX = ['repeats', 'mu', 'sigma', 'bn', 'engine', 'batch', 'referenceModels', 'fitness'] as const;

/** `score_onnx` with `proxies`: `swapnas score model.onnx --proxies …`'s json document (notes in its settings). */
async function onnxProxies(model: string | Uint8Array, f: ScoreOnnxFlags, warm: WarmState): Promise<ScoreResult> {
  refuseSwapOnlySettings(f as unknown as Record<string, unknown>, SWAP_ONLY_ONNX);
  const { onnxProxiesDoc } = await import('../cli/proxies.js');
  const doc = await onnxProxiesDoc(model, f as unknown as ProxyFlags, warmEngines(warm));
  const settings = doc.notes.length > 0 ? { ...doc.settings, notes: doc.notes } : doc.settings;
  return { settings, results: doc.results } as unknown as ScoreResult;
}

/**
 * The proxies: SWAP and reg-SWAP (every score result has both), the ensemble fitnesses (the default `fitness`), and
 * the zero-cost proxies of the registry with what each needs (`score` and `score_onnx` compute them with their
 * `proxies` setting, as `swapnas score … --proxies` does).
 */
export function listProxies(): Record<string, unknown>[] {
  const ensembles = fitnessNames().filter((n) => n !== REG_SWAP_FITNESS);
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
    ...ensembles.map((name) => {
      const rule = fitnessRule(name)!;
      return {
        name,
        direction: 'higher',
        served: true,
        fitness: true,
        default: name === DEFAULT_FITNESS,
        members: memberNames(rule),
        labels: needsLabels(rule),
        description: rule.description,
      };
    }),
    ...PROXY_NAMES.map((name) => {
      const p = proxySpec(name);
      // not a headline of `score`: `score` and `score_onnx` compute it with their `proxies` setting
      const via = { served: false, setting: 'proxies' };
      return { name, ...via, group: p.group, backward: p.backward, labels: p.labels, protocol: p.protocol };
    }),
  ];
}

/** Every backend by priority with availability (what `swapnas backends --json` prints). */
export function listBackends(warm: WarmState): ReturnType<WarmState['registry']['describe']> {
  return warm.registry.describe();
}
