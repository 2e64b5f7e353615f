/**
 * `proxies` jobs: zero-cost proxies (`score --proxies` / `correlate --proxies` with `--redis`) on queue workers.
 * A job carries data only: the space, the networks' builder options, the resolved proxy request (names, protocol,
 * seed, batch, engine), the input batch by content hash, and the labels. Its results are stored under the hash of
 * these settings, so a retried chunk overwrites equal values.
 */
import { inOrderWindow, proxyRow, proxyRunner, proxyWindow, type ProxyRequest } from '../proxies/runner.js';
import { spaceEntry } from '../catalog/registry.js';
import type { InputBatch } from '../data/batch.js';
import type { ProxyRun, ProxyRunOptions } from '../proxies/run.js';
import { parseProxyList, type ProxyName } from '../proxies/registry.js';
import type { Network } from '../ir/types.js';
import { checkSeed } from '../util/checks.js';
import { bad, checkBatchRef, checkLabels, checkNetwork, intIn, type ScoreJobSettings } from './request-adapter.js';

/** Settings of a `proxies` job. */
export interface ProxyJobSettings extends Pick<ScoreJobSettings, 'inputsSha' | 'inputsShape'> {
  readonly space: string;
  /** Builder options of the scored networks (the benchmark's own network or SWAP's proxy network). */
  readonly network: Readonly<Record<string, unknown>>;
  readonly names: readonly ProxyName[];
  readonly protocol: 'official' | 'swap';
  readonly seed: number;
  /** Samples per batch when the run fixes one (SWAP protocol, `--proxy-batch`); null: each proxy's own. */
  readonly batch: number | null;
  /** The engine the producer resolved: workers run the same one (float32 native or float64 reference). */
  readonly engine: 'native' | 'reference';
  /** `float64`: the native gradient passes in float64 (absent: float32, so earlier jobs keep their hashes). */
  readonly precision?: 'float64';
  /** Source label of the input batch. */
  readonly source: string;
  /** Class label of each input image, or null (label-free proxies only). */
  readonly labels: readonly number[] | null;
}

/** A job's result for one architecture: what `score --proxies` writes beside the architecture. */
export type ProxyResult = Readonly<Record<string, unknown>>;

/** The settings of a proxy run on `space` networks built with `network`. */
export function proxyJobSettings(
  space: string,
  network: Readonly<Record<string, unknown>>,
  req: ProxyRequest,
  run: ProxyRunOptions,
  sha: string,
): ProxyJobSettings {
  const b = run.images;
  return {
    space,
    network,
    names: req.names,
    protocol: run.protocol ?? 'official',
    seed: run.seed,
    batch: run.batch ?? null,
    engine: req.engine.backend,
    ...(run.precision === 'float64' ? { precision: 'float64' as const } : {}),
    inputsSha: sha,
    inputsShape: [b.n, b.c, b.h, b.w],
    source: b.source,
    labels: run.labels ? Array.from(run.labels) : null,
  };
}

const FIELDS = [
  'space',
  'network',
  'names',
  'protocol',
  'seed',
  'batch',
  'engine',
  'precision',
  'inputsSha',
  'inputsShape',
];

/** Validate a `proxies` job's settings with the CLI's coded errors, within the worker's bounds. */
export function checkProxySettings(s: Readonly<Record<string, unknown>>): ProxyJobSettings {
  const extra = Object.keys(s).find((k) => ![...FIELDS, 'source', 'labels'].includes(k));
  if (extra !== undefined) bad(`unknown proxies setting ${JSON.stringify(extra.slice(0, 40))}`);
  if (typeof s['space'] !== 'string') bad('settings.space must be a string');
  spaceEntry(s['space']); // unknown: E_SPACE
  const names = s['names'];
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string'))
    bad('settings.names must be a list of proxy names');
  if (s['protocol'] !== 'official' && s['protocol'] !== 'swap') bad('settings.protocol must be official or swap');
  if (s['engine'] !== 'native' && s['engine'] !== 'reference') bad('settings.engine must be native or reference');
  if (s['precision'] !== undefined && s['precision'] !== 'float64') bad('settings.precision must be float64 or absent');
  if (typeof s['source'] !== 'string' || s['source'].length > 4096) bad('settings.source must be a string');
  const ref = checkBatchRef(s);
  return {
    space: s['space'],
    network: checkNetwork(s['network']),
    names: parseProxyList((names as string[]).join(',')), // unknown: E_PROXY_UNKNOWN
    protocol: s['protocol'],
    seed: checkSeed('seed', s['seed'] as number),
    batch: s['batch'] === null ? null : intIn('batch', s['batch'], 1, 4096),
    engine: s['engine'],
    ...(s['precision'] === 'float64' ? { precision: 'float64' as const } : {}),
    ...ref,
    source: s['source'],
    labels: checkLabels(s['labels'], ref.inputsShape[0]),
  };
}

/** What a worker offers a `proxies` job: the input batch, its runners by engine and its thread count. */
export interface ProxyComputeContext {
  readonly threads?: number;
  readonly inputs: (sha: string, shape: readonly number[], source: string) => Promise<InputBatch>;
  /** One runner per engine and process (the native runner's caches are shared by its jobs). */
  readonly runner: (
    engine: ProxyJobSettings['engine'],
  ) => (net: Network, names: readonly ProxyName[], o: ProxyRunOptions) => Promise<ProxyRun>;
}

/** A worker's runner cache for {@link ProxyComputeContext.runner} (the native one fails `E_NATIVE_LOAD` without the addon). */
export function proxyRunners(threads?: number): ProxyComputeContext['runner'] {
  const made = new Map<string, ReturnType<typeof proxyRunner>>();
  return (engine) => {
    let r = made.get(engine);
    if (!r) {
      r = proxyRunner({ names: [], protocol: 'official', engine: { backend: engine, why: '' } }, threads);
      made.set(engine, r);
    }
    return r;
  };
}

/** A chunk's proxy rows (without the architecture), in order, scored as `score --proxies` scores them locally. */
export async function computeProxies(
  s: ProxyJobSettings,
  archs: readonly string[],
  ctx: ProxyComputeContext,
): Promise<ProxyResult[]> {
  const space = spaceEntry(s.space).space;
  const genotypes = archs.map((a) => space.parse(a)); // every architecture checked before any work
  const images = await ctx.inputs(s.inputsSha, s.inputsShape, s.source);
  const run: ProxyRunOptions = {
    protocol: s.protocol,
    seed: s.seed,
    images,
    ...(s.labels ? { labels: Int32Array.from(s.labels) } : {}),
    ...(s.batch !== null ? { batch: s.batch } : {}),
    precision: s.precision ?? 'float32',
  };
  const runner = ctx.runner(s.engine);
  const out: ProxyResult[] = new Array(archs.length);
  await inOrderWindow(
    archs.length,
    proxyWindow(ctx.threads),
    async (i) => proxyRow('arch', archs[i]!, await runner(space.build(genotypes[i]!, s.network), s.names, run)),
    ({ arch: _a, ...row }, i) => {
      out[i] = row;
    },
  );
  return out;
}
