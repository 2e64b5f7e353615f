/**
 * `correlate --proxies …`: Spearman ρ and Kendall τ-b (bootstrap 95% CIs) of zero-cost proxies against a benchmark
 * table's ground truth, on the same architectures and inputs for every proxy. A null proxy value (NaN/±Inf, e.g.
 * a singular kernel) ranks last, as NASLib's −1e8 sentinel does; the count of such values is reported.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../ir/types.js';
import type { ProxyName } from '../proxies/registry.js';
import { type ProxyRunOptions, runProxies, settingsFor } from '../proxies/run.js';
import type { BenchmarkTable } from '../tables/types.js';
import { SwapError } from '../util/errors.js';
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
}

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

export function runProxyCorrelate(o: ProxyCorrelateOptions): ProxyCorrelateReport {
  const truth = o.items.map((it) => {
    const t = o.table.get(it.arch)?.truth[o.dataset];
    if (t === undefined)
      throw new SwapError('E_TABLE', `${it.arch.slice(0, 120)} has no ${o.dataset} value in ${o.table.source}`);
    return t;
  });
  const t0 = performance.now();
  const values = o.items.map((it, i) => {
    const r = runProxies(it.net(), o.names, o.run);
    o.onProgress?.(i + 1, o.items.length);
    return Object.fromEntries(o.names.map((n) => [n, r.values[n]?.value ?? null])) as Record<string, number | null>;
  });
  const secondsPerArch = (performance.now() - t0) / 1000 / Math.max(1, o.items.length);
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
    },
    values: o.items.map((it, i) => ({ arch: it.arch, truth: truth[i]!, proxies: values[i]! })),
    secondsPerArch,
  };
}

/** Write report.json and report.md into `dir`; returns the markdown. */
export function writeProxyCorrelate(r: ProxyCorrelateReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const md = markdownTable(r.rows, `${r.table} ${r.dataset}: ${r.architectures} architectures, zero-cost proxies`);
  writeFileSync(join(dir, 'proxies.json'), `${JSON.stringify(r, null, 1)}\n`);
  writeFileSync(join(dir, 'proxies.md'), md);
  return md;
}
