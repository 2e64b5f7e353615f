import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backends/types.js';
import { scatterSvg } from '../report/plot.js';
import { dataFreeRegulariser } from '../score/auto-reg.js';
import { regFactor, type Regulariser } from '../score/regularise.js';
import { nb201Space, type Nb201Genotype } from '../spaces/nb201/index.js';
import { rankAverage } from '../stats/rank.js';
import { loadExternalProxies } from '../tables/nb201-proxies.js';
import type { Nb201Dataset, Nb201Table } from '../tables/nb201.js';
import { SwapError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { correlate, markdownTable, type CorrelationRow } from './metrics.js';
import { measure, settingKey, type Measurement, type ProxySetting } from './measure.js';

/** An external proxy is reported only where it covers at least this many (or all) of the measured cells. */
export const MIN_EXTERNAL_ROWS = 30;

/** How the architectures of a correlation run are chosen. */
export type Selection = { kind: 'all' } | { kind: 'iso' } | { kind: 'sample'; n: number; seed: number; stratified: boolean; exclude?: ReadonlySet<string> };

/**
 * Pick NB201 architectures: all 15,625; one representative per isomorphism class (6,466); or a seeded sample,
 * optionally stratified (equal counts from each decile of CIFAR-10 test accuracy, so the sample covers the whole
 * range; the deciles only choose which cells are measured, nothing is fitted to them). `exclude` makes a second
 * sample disjoint from a first one.
 */
export function selectNb201(table: Nb201Table, sel: Selection): Nb201Genotype[] {
  const recs = table.records;
  let chosen: string[];
  if (sel.kind === 'all') chosen = recs.map((r) => r.arch);
  else if (sel.kind === 'iso') chosen = recs.filter((r) => r.isoRep === r.index).map((r) => r.arch);
  else {
    const pool = recs.filter((r) => !sel.exclude?.has(r.arch));
    if (sel.n > pool.length) throw new SwapError('E_OPTION', `sample of ${sel.n} exceeds the ${pool.length} available cells`);
    const rng = new Rng(sel.seed);
    if (!sel.stratified) chosen = rng.sample(pool.length, sel.n).map((i) => pool[i]!.arch);
    else {
      const sorted = [...pool].sort((a, b) => a.test.cifar10 - b.test.cifar10 || a.index - b.index);
      const bins = 10;
      chosen = [];
      for (let b = 0; b < bins; b++) {
        const lo = Math.floor((b * sorted.length) / bins);
        const hi = Math.floor(((b + 1) * sorted.length) / bins);
        const want = Math.floor(((b + 1) * sel.n) / bins) - Math.floor((b * sel.n) / bins);
        chosen.push(...rng.sample(hi - lo, want).map((i) => sorted[lo + i]!.arch));
      }
    }
  }
  return chosen.map((a) => nb201Space.parse(a));
}

export interface CorrelateOptions {
  readonly table: Nb201Table;
  readonly dataset: Nb201Dataset;
  readonly genotypes: readonly Nb201Genotype[];
  readonly setting: ProxySetting;
  readonly backend: Backend;
  /** μ/σ; default: the data-free rule on the proxy network. */
  readonly regulariser?: Regulariser;
  readonly cacheDir?: string;
  readonly threads?: number;
  readonly external?: boolean;
  readonly resamples?: number;
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface CorrelateReport {
  readonly dataset: Nb201Dataset;
  readonly setting: ProxySetting;
  readonly settingKey: string;
  readonly backend: string;
  readonly regulariser: Regulariser;
  readonly architectures: number;
  readonly truth: string;
  readonly rows: readonly CorrelationRow[];
  /** Warnings with counts (e.g. external proxies covering too few of the cells). */
  readonly notes: readonly string[];
  readonly measurements: readonly (Measurement & { regSwap: number; accuracy: number })[];
  /** Seconds of backend time per architecture (all repeats), measured in this run (cached rows excluded). */
  readonly secondsPerArch: number | null;
}

/** Score the architectures and correlate SWAP, reg-SWAP, NWOT, params, FLOPs (and external proxies) with accuracy. */
export async function runCorrelate(o: CorrelateOptions): Promise<CorrelateReport> {
  const missing = o.genotypes.map((g) => nb201Space.format(g)).filter((a) => !o.table.get(a));
  if (missing.length > 0) throw new SwapError('E_TABLE', `${missing.length} architectures are absent from ${o.table.source}, e.g. ${missing[0]}`);
  const net = { channels: o.setting.channels, cells: o.setting.cells, prune: Boolean(o.setting.prune) };
  const reg = o.regulariser ?? dataFreeRegulariser(nb201Space, net);
  const t0 = performance.now();
  let fresh = 0;
  let initial = -1;
  const ms = await measure(nb201Space, o.genotypes, o.setting, {
    backend: o.backend,
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onProgress: (d, t) => {
      if (initial < 0) initial = d;
      fresh = d - initial;
      o.onProgress?.(d, t);
    },
  });
  const secs = (performance.now() - t0) / 1000;
  const archs = o.genotypes.map((g) => nb201Space.format(g));
  const recs = archs.map((a) => o.table.require(a));
  const truth = recs.map((r) => r.test[o.dataset]);
  const rows: CorrelationRow[] = [];
  const meas = archs.map((a) => ms.get(a)!);
  // Θ of the network that was scored (a pruned network loses its dead convolutions' parameters).
  const regSwap = meas.map((m) => m.swap * regFactor(m.params / 1000, reg.mu, reg.sigma));
  const opt = { resamples: o.resamples ?? 1000, seed: 7 };
  rows.push(correlate('reg-SWAP', regSwap, truth, 'in-house', opt));
  rows.push(correlate('SWAP', meas.map((m) => m.swap), truth, 'in-house', opt));
  if (o.setting.nwot) {
    // A singular kernel (log|det K| = −∞: every sample has the same code) carries no information: rank it last
    // rather than dropping it (JSON stores −∞ as null).
    const nw = meas.map((m) => (typeof m.nwot === 'number' && Number.isFinite(m.nwot) ? m.nwot : undefined));
    const floor = Math.min(...nw.filter((v): v is number => v !== undefined)) - 1;
    rows.push(correlate('NWOT', nw.map((v) => v ?? floor), truth, 'in-house', opt));
  }
  rows.push(correlate('params', recs.map((r) => r.params[o.dataset]), truth, 'in-house', opt));
  rows.push(correlate('FLOPs', recs.map((r) => r.flops[o.dataset]), truth, 'in-house', opt));
  const notes: string[] = [];
  if (o.external !== false) {
    const ext = loadExternalProxies(o.dataset);
    for (const [name, values] of ext.values) {
      const v = archs.map((a) => values.get(a));
      const covered = v.filter((x) => x !== undefined).length;
      const need = Math.min(MIN_EXTERNAL_ROWS, archs.length);
      if (covered < need) {
        if (covered > 0) notes.push(`${name}: only ${covered} of the ${archs.length} cells have a published value (< ${need}); not reported`);
        continue;
      }
      rows.push(correlate(name, v, truth, 'external', opt));
    }
  }
  return {
    dataset: o.dataset,
    setting: o.setting,
    settingKey: settingKey(o.setting),
    backend: o.backend.name,
    regulariser: reg,
    architectures: archs.length,
    truth: `${o.dataset} test accuracy (200 epochs, ${o.table.source})`,
    rows,
    notes,
    measurements: meas.map((m, i) => ({ ...m, regSwap: regSwap[i]!, accuracy: truth[i]! })),
    secondsPerArch: fresh > 0 ? secs / fresh : null,
  };
}

/** Write `correlate.json`, `correlate.md` and `scatter.svg` (reg-SWAP rank vs accuracy rank) into `dir`. */
export async function writeCorrelateReport(r: CorrelateReport, dir: string): Promise<{ json: string; md: string; svg: string }> {
  mkdirSync(dir, { recursive: true });
  const title = `NB201 ${r.dataset}, ${r.architectures} cells, ${r.settingKey}, μ=${r.regulariser.mu.toFixed(1)} σ=${r.regulariser.sigma.toFixed(1)}`;
  const md = markdownTable(r.rows, title);
  const json = join(dir, 'correlate.json');
  writeFileSync(json, `${JSON.stringify(r, null, 1)}\n`);
  const mdPath = join(dir, 'correlate.md');
  writeFileSync(mdPath, md);
  const sr = rankAverage(r.measurements.map((m) => m.regSwap));
  const ar = rankAverage(r.measurements.map((m) => m.accuracy));
  const svg = await scatterSvg(
    sr.map((x, i) => ({ x, y: ar[i]! })),
    { title: `reg-SWAP rank vs ${r.dataset} test-accuracy rank`, x: 'reg-SWAP rank', y: 'accuracy rank' },
  );
  const svgPath = join(dir, 'scatter.svg');
  writeFileSync(svgPath, svg);
  return { json, md: mdPath, svg: svgPath };
}
