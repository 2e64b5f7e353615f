/**
 * `correlate --proxies …`: Spearman ρ and Kendall τ-b (bootstrap 95% CIs) of zero-cost proxies against a benchmark
 * table's ground truth, on the same architectures and inputs for every proxy. A null proxy value (NaN/±Inf, e.g.
 * a singular kernel) ranks last, as NASLib's −1e8 sentinel does; the count of such values is reported.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../ir/types.js';
import type { ProxyName } from '../proxies/registry.js';
import { type ProxyRun, type ProxyRunOptions, runProxies, settingsFor } from '../proxies/run.js';
import type { BenchmarkTable } from '../tables/types.js';
import { populationLogRank, publishedEnsembles } from '../proxies/ensemble.js';
import { SwapError } from '../util/errors.js';
import type { ProxyValueCache } from './proxy-cache.js';
import { type CorrelationRow, correlate, markdownTable } from './metrics.js';

export interface ProxyCorrelateOptions {
  readonly table: BenchmarkTable;
  readonly dataset: string;
  /** Architectures (text form) and their networks. */
  readonly items: readonly { readonly arch: string; readonly net: () => Network }[];
  readonly names: readonly ProxyName[];
  readonly run: ProxyRunOptions;
  readonly resamples?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** The engine's runner (default: the reference, float64). */
  readonly runner?: (net: Network, names: readonly ProxyName[], o: ProxyRunOptions) => Promise<ProxyRun>;
  /** Networks in flight at once (default 2; the native runner interleaves their passes on its threads). */
  readonly inFlight?: number;
  /** The engine's name, recorded in the settings. */
  readonly engine?: string;
  /** Resumable cache: values found there are not measured again; new ones are appended as each network ends. */
  readonly cache?: ProxyValueCache;
  /**
   * Measure elsewhere (queue workers: `correlate --proxies --redis`) instead of with `runner`: `names` of `archs`,
   * handing each finished architecture's values to `put` (cached as they arrive).
   */
  readonly remote?: RemoteProxyValues;
}

/** Values of `names` for `archs` measured elsewhere; `put` is called once per architecture as results arrive. */
export type RemoteProxyValues = (
  archs: readonly string[],
  names: readonly ProxyName[],
  put: (arch: string, values: Record<string, number | null>) => void,
) => Promise<void>;

export interface ProxyCorrelateReport {
  readonly table: string;
  readonly dataset: string;
  readonly architectures: number;
  readonly rows: readonly CorrelationRow[];
  /** Per proxy: how many values were null (ranked last). */
  readonly nulls: Readonly<Record<string, number>>;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly values: readonly {
    readonly arch: string;
    readonly truth: number;
    readonly proxies: Record<string, number | null>;
  }[];
  readonly secondsPerArch: number;
}

/**
 * Every item's proxy values, `inFlight` networks at a time, in item order. With a cache, only the proxies an item
 * lacks there are measured (an item with all of them is not built at all).
 */
async function proxyValues(
  o: ProxyCorrelateOptions,
): Promise<{ values: Record<string, number | null>[]; measured: number }> {
  const values: Record<string, number | null>[] = new Array(o.items.length);
  const todo: number[] = [];
  o.items.forEach((it, i) => {
    if (o.cache?.missing(it.arch, o.names).length === 0) values[i] = pick(o.cache.get(it.arch)!, o.names);
    else todo.push(i);
  });
  let done = o.items.length - todo.length;
  o.onProgress?.(done, o.items.length);
  const got = (i: number, names: readonly ProxyName[], v: Readonly<Record<string, number | null>>) => {
    const it = o.items[i]!;
    const own = pick(v, names);
    o.cache?.put(it.arch, own);
    values[i] = pick({ ...o.cache?.get(it.arch), ...own }, o.names);
    o.onProgress?.(++done, o.items.length);
  };
  if (o.remote) await remoteValues(o, o.remote, todo, got);
  else await localValues(o, todo, got);
  return { values, measured: todo.length };
}

/** Measure `todo` (item indices) here, `inFlight` networks at a time. */
async function localValues(
  o: ProxyCorrelateOptions,
  todo: readonly number[],
  got: (i: number, names: readonly ProxyName[], v: Readonly<Record<string, number | null>>) => void,
): Promise<void> {
  const run = o.runner ?? (async (net, names, opts) => runProxies(net, names, opts));
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < todo.length; k = next++) {
      const it = o.items[todo[k]!]!;
      const names = o.cache ? o.cache.missing(it.arch, o.names) : o.names;
      const r = await run(it.net(), names, o.run);
      got(todo[k]!, names, Object.fromEntries(names.map((n) => [n, r.values[n]?.value ?? null])));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.inFlight ?? 2) }, worker));
}

/**
 * Measure `todo` on the queue: one run per set of missing proxies (usually one: all of them), in item order. An
 * architecture listed twice is measured once and given to each of its items.
 */
async function remoteValues(
  o: ProxyCorrelateOptions,
  remote: RemoteProxyValues,
  todo: readonly number[],
  got: (i: number, names: readonly ProxyName[], v: Readonly<Record<string, number | null>>) => void,
): Promise<void> {
  const groups = new Map<string, { names: ProxyName[]; items: Map<string, number[]> }>();
  for (const i of todo) {
    const arch = o.items[i]!.arch;
    const names = o.cache ? o.cache.missing(arch, o.names) : [...o.names];
    const key = names.join(',');
    const g = groups.get(key) ?? { names, items: new Map<string, number[]>() };
    groups.set(key, g);
    g.items.set(arch, [...(g.items.get(arch) ?? []), i]);
  }
  for (const g of groups.values())
    await remote([...g.items.keys()], g.names, (arch, v) => {
      for (const i of g.items.get(arch) ?? []) got(i, g.names, v);
    });
}

/** The values of `names` (in that order), absent ones null. */
function pick(v: Readonly<Record<string, number | null>>, names: readonly string[]): Record<string, number | null> {
  return Object.fromEntries(names.map((n) => [n, v[n] ?? null]));
}

export async function runProxyCorrelate(o: ProxyCorrelateOptions): Promise<ProxyCorrelateReport> {
  const truth = o.items.map((it) => {
    const t = o.table.get(it.arch)?.truth[o.dataset];
    if (t === undefined)
      throw new SwapError('E_TABLE', `${it.arch.slice(0, 120)} has no ${o.dataset} value in ${o.table.source}`);
    return t;
  });
  const t0 = performance.now();
  const { values, measured } = await proxyValues(o);
  // Per network measured in this run (cached ones cost nothing).
  const secondsPerArch = (performance.now() - t0) / 1000 / Math.max(1, measured);
  const nulls: Record<string, number> = {};
  const rows = o.names.map((n) => {
    const v = values.map((row) => row[n] ?? null);
    const finite = v.filter((x): x is number => x !== null);
    nulls[n] = v.length - finite.length;
    const floor = finite.length > 0 ? Math.min(...finite) - 1 : 0;
    return correlate(
      n,
      v.map((x) => x ?? floor),
      truth,
      'in-house',
      { resamples: o.resamples ?? 1000, seed: 7 },
    );
  });
  rows.push(...ensembleRows(o, values, truth));
  return {
    table: o.table.name,
    dataset: o.dataset,
    architectures: o.items.length,
    rows,
    nulls,
    settings: {
      proxies: Object.fromEntries(o.names.map((n) => [n, settingsFor(n, o.run)])),
      seed: o.run.seed,
      inputs: o.run.images.source,
      engine: o.engine ?? 'reference',
      // the native gradient passes' dtype (the reference engine is float64 whatever the run asks)
      precision: (o.engine ?? 'reference') === 'reference' ? 'float64' : (o.run.precision ?? 'float32'),
    },
    values: o.items.map((it, i) => ({ arch: it.arch, truth: truth[i]!, proxies: values[i]! })),
    secondsPerArch,
  };
}

/**
 * Rows for the published rank aggregations (AZ-NAS, VKDNW_agg) whose members were all measured: each network's
 * Σ ln rank / N over this population, a failed member value ranking last.
 */
function ensembleRows(
  o: ProxyCorrelateOptions,
  values: readonly Record<string, number | null>[],
  truth: readonly number[],
): CorrelationRow[] {
  return publishedEnsembles()
    .filter((rule) => rule.members.every((m) => (o.names as readonly string[]).includes(m)))
    .map((rule) => {
      const agg = populationLogRank(rule.members.map((m) => values.map((row) => row[m] ?? null)));
      return correlate(`ensemble:${rule.name}`, agg, truth, 'in-house', { resamples: o.resamples ?? 1000, seed: 7 });
    });
}

/** Write report.json and report.md into `dir`; returns the markdown. */
export function writeProxyCorrelate(r: ProxyCorrelateReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const md = markdownTable(r.rows, `${r.table} ${r.dataset}: ${r.architectures} architectures, zero-cost proxies`);
  writeFileSync(join(dir, 'proxies.json'), `${JSON.stringify(r, null, 1)}\n`);
  writeFileSync(join(dir, 'proxies.md'), md);
  return md;
}
