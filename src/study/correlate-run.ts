import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import { join } from 'node:path';
import type { Backend } from '../backends/types.js';
import { scatterSvg } from '../report/plot.js';
import { dataFreeRegulariser } from '../score/auto-reg.js';
import { regFactor, type Regulariser } from '../proxies/regularise.js';
import type { SearchSpace } from '../spaces/types.js';
import { rankAverage } from '../stats/rank.js';
import type { BenchmarkTable } from '../tables/types.js';
import { SwapError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { correlate, markdownTable, type CorrelationRow } from './metrics.js';
import { measure, settingKey, type Measurement, type ProxySetting } from './measure.js';
import { quote } from '../util/quote.js';

/** An external proxy is reported only where it covers at least this many (or all) of the measured cells. */
export const MIN_EXTERNAL_ROWS = 30;

/** How the architectures of a correlation run are chosen. */
export type Selection =
  | { kind: 'all' }
  | { kind: 'iso' }
  | { kind: 'sample'; n: number; seed: number; stratified: boolean; exclude?: ReadonlySet<string> };

/**
 * Pick a table's architectures: all; one representative per isomorphism class (the first row of each
 * `space.canonicalKey`); or a seeded sample, optionally stratified (equal counts from each decile of the table's
 * first target, so the sample covers the whole range; the deciles only choose which architectures are measured,
 * nothing is fitted to them). `exclude` makes a second sample disjoint from a first one.
 */
export function selectArchitectures<G>(space: SearchSpace<G, object>, table: BenchmarkTable, sel: Selection): G[] {
  const recs = table.records.map((r, index) => ({ r, index }));
  let chosen: string[];
  if (sel.kind === 'all') chosen = recs.map(({ r }) => r.arch);
  else if (sel.kind === 'iso') {
    const seen = new Set<string>();
    chosen = [];
    for (const { r } of recs) {
      const key = space.canonicalKey(space.parse(r.arch));
      if (!seen.has(key)) {
        seen.add(key);
        chosen.push(r.arch);
      }
    }
  } else {
    const pool = recs.filter(({ r }) => !sel.exclude?.has(r.arch));
    if (sel.n > pool.length)
      throw new SwapError('E_OPTION', `sample of ${sel.n} exceeds the ${pool.length} available architectures`);
    const rng = new Rng(sel.seed);
    if (!sel.stratified) chosen = rng.sample(pool.length, sel.n).map((i) => pool[i]!.r.arch);
    else {
      const key = table.targets[0]!;
      const v = (x: (typeof pool)[number]) => x.r.truth[key] ?? -Infinity;
      const sorted = [...pool].sort((a, b) => v(a) - v(b) || a.index - b.index);
      const bins = 10;
      chosen = [];
      for (let b = 0; b < bins; b++) {
        const lo = Math.floor((b * sorted.length) / bins);
        const hi = Math.floor(((b + 1) * sorted.length) / bins);
        const want = Math.floor(((b + 1) * sel.n) / bins) - Math.floor((b * sel.n) / bins);
        chosen.push(...rng.sample(hi - lo, want).map((i) => sorted[lo + i]!.r.arch));
      }
    }
  }
  return chosen.map((a) => space.parse(a));
}

export interface CorrelateOptions<G> {
  readonly space: SearchSpace<G, object>;
  readonly table: BenchmarkTable;
  /** The table target (dataset or task) to correlate with. */
  readonly dataset: string;
  readonly genotypes: readonly G[];
  readonly setting: ProxySetting;
  /** Builder options besides channels/cells/prune (classes, input size, …: the space entry's `networkFor`). */
  readonly network?: Readonly<Record<string, unknown>>;
  readonly backend: Backend;
  /** μ/σ; default: the data-free rule on the proxy network. */
  readonly regulariser?: Regulariser;
  readonly cacheDir?: string;
  readonly threads?: number;
  readonly external?: boolean;
  readonly resamples?: number;
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
  /** Measure elsewhere (queue workers, `correlate --redis`) instead of with `backend`; its backend is reported. */
  readonly measurer?: {
    readonly backendName: string;
    measure: typeof measure;
  };
}

export interface CorrelateReport {
  readonly space: string;
  readonly table: string;
  readonly dataset: string;
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

/** Refuse a table of another space, a missing target, or genotypes without a truth value. */
function checkCorrelateInputs<G>(o: CorrelateOptions<G>): void {
  const space = o.space;
  if (o.table.space !== space.name)
    throw new SwapError('E_TABLE', `table ${o.table.name} belongs to space ${o.table.space}, not ${space.name}`);
  if (!o.table.targets.includes(o.dataset))
    throw new SwapError(
      'E_DATASET',
      `${o.table.name} has no target ${quote(o.dataset)} (expected ${o.table.targets.join(', ')})`,
    );
  const missing = o.genotypes.map((g) => space.format(g)).filter((a) => o.table.get(a)?.truth[o.dataset] === undefined);
  if (missing.length > 0)
    throw new SwapError(
      'E_TABLE',
      `${missing.length} architectures have no ${o.dataset} value in ${o.table.source}, e.g. ${missing[0]}`,
    );
}

/** Measure every genotype (cache first); also how many were measured afresh and how long that took. */
async function measureTimed<G>(
  o: CorrelateOptions<G>,
): Promise<{ ms: Map<string, Measurement>; secs: number; fresh: number }> {
  const t0 = performance.now();
  let fresh = 0;
  let initial = -1;
  const ms = await (o.measurer ? o.measurer.measure.bind(o.measurer) : measure)(o.space, o.genotypes, o.setting, {
    backend: o.backend,
    ...(o.network ? { network: o.network } : {}),
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onProgress: (d, t) => {
      if (initial < 0) initial = d;
      fresh = d - initial;
      o.onProgress?.(d, t);
    },
  });
  return { ms, secs: (performance.now() - t0) / 1000, fresh };
}

type CorrelateOpt = Parameters<typeof correlate>[4];

/** Rows of the in-house proxies: reg-SWAP, SWAP, NWOT (if measured), then the table's baselines or params/MACs. */
function inHouseRows<G>(
  o: CorrelateOptions<G>,
  archs: readonly string[],
  meas: readonly Measurement[],
  regSwap: readonly number[],
  truth: readonly number[],
  opt: CorrelateOpt,
): CorrelationRow[] {
  const rows: CorrelationRow[] = [];
  const row = (name: string, values: readonly (number | undefined)[]) =>
    rows.push(correlate(name, values, truth, 'in-house', opt));
  row('reg-SWAP', regSwap);
  row(
    'SWAP',
    meas.map((m) => m.swap),
  );
  if (o.setting.nwot) {
    // A singular kernel (log|det K| = −∞: every sample has the same code) carries no information: rank it last
    // rather than dropping it (JSON stores −∞ as null).
    const nw = meas.map((m) => (typeof m.nwot === 'number' && Number.isFinite(m.nwot) ? m.nwot : undefined));
    const floor = Math.min(...nw.filter((v): v is number => v !== undefined)) - 1;
    row(
      'NWOT',
      nw.map((v) => v ?? floor),
    );
  }
  const baselines = o.table.baselines?.(o.dataset);
  if (baselines && baselines.size > 0) {
    for (const [name, values] of baselines)
      row(
        name,
        archs.map((a) => values.get(a)),
      );
  } else {
    row(
      'params (scored net)',
      meas.map((m) => m.params),
    );
    row(
      'MACs (scored net)',
      meas.map((m) => m.macs),
    );
  }
  return rows;
}

/** Rows of the table's external (published) proxies that cover enough cells; notes for those that do not. */
function externalRows<G>(
  o: CorrelateOptions<G>,
  archs: readonly string[],
  truth: readonly number[],
  opt: CorrelateOpt,
): { rows: CorrelationRow[]; notes: string[] } {
  const rows: CorrelationRow[] = [];
  const notes: string[] = [];
  if (o.external === false || !o.table.external) return { rows, notes };
  for (const [name, values] of o.table.external(o.dataset)) {
    const v = archs.map((a) => values.get(a));
    const covered = v.filter((x) => x !== undefined).length;
    const need = Math.min(MIN_EXTERNAL_ROWS, archs.length);
    if (covered < need) {
      if (covered > 0)
        notes.push(
          `${name}: only ${covered} of the ${archs.length} cells have a published value (< ${need}); not reported`,
        );
      continue;
    }
    rows.push(correlate(name, v, truth, 'external', opt));
  }
  return { rows, notes };
}

/** Score the architectures and correlate SWAP, reg-SWAP, NWOT, params, FLOPs (and external proxies) with accuracy. */
export async function runCorrelate<G>(o: CorrelateOptions<G>): Promise<CorrelateReport> {
  const space = o.space;
  checkCorrelateInputs(o);
  const net = {
    ...o.network,
    channels: o.setting.channels,
    cells: o.setting.cells,
    inputSize: o.setting.inputSize ?? (o.network?.['inputSize'] as number | undefined) ?? 32,
    prune: Boolean(o.setting.prune),
  };
  const reg = o.regulariser ?? dataFreeRegulariser(space, net);
  const { ms, secs, fresh } = await measureTimed(o);
  const archs = o.genotypes.map((g) => space.format(g));
  const truth = archs.map((a) => o.table.get(a)!.truth[o.dataset]!);
  const meas = archs.map((a) => ms.get(a)!);
  // Θ of the network that was scored (a pruned network loses its dead convolutions' parameters).
  const regSwap = meas.map((m) => m.swap * regFactor(m.params / 1000, reg.mu, reg.sigma));
  const opt = { resamples: o.resamples ?? 1000, seed: 7 };
  const rows = inHouseRows(o, archs, meas, regSwap, truth, opt);
  const ext = externalRows(o, archs, truth, opt);
  return {
    space: space.name,
    table: o.table.name,
    dataset: o.dataset,
    setting: o.setting,
    settingKey: settingKey(o.setting),
    backend: o.measurer?.backendName ?? o.backend.name,
    regulariser: reg,
    architectures: archs.length,
    truth: o.table.describe(o.dataset),
    rows: [...rows, ...ext.rows],
    notes: ext.notes,
    measurements: meas.map((m, i) => ({ ...m, regSwap: regSwap[i]!, accuracy: truth[i]! })),
    secondsPerArch: fresh > 0 ? secs / fresh : null,
  };
}

/** Write `correlate.json`, `correlate.md` and `scatter.svg` (reg-SWAP rank vs accuracy rank) into `dir`. */
export async function writeCorrelateReport(
  r: CorrelateReport,
  dir: string,
): Promise<{ json: string; md: string; svg: string }> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new SwapError('E_OUTPUT', `cannot create report folder ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const title = `${r.table} ${r.dataset}, ${r.architectures} architectures, ${r.settingKey}, μ=${r.regulariser.mu.toFixed(1)} σ=${r.regulariser.sigma.toFixed(1)}`;
  const md = markdownTable(r.rows, title);
  const json = join(dir, 'correlate.json');
  writeFileAtomic(json, `${JSON.stringify(r, null, 1)}\n`);
  const mdPath = join(dir, 'correlate.md');
  writeFileAtomic(mdPath, md);
  const sr = rankAverage(r.measurements.map((m) => m.regSwap));
  const ar = rankAverage(r.measurements.map((m) => m.accuracy));
  const svg = await scatterSvg(
    sr.map((x, i) => ({ x, y: ar[i]! })),
    { title: `reg-SWAP rank vs ${r.table} ${r.dataset} rank`, x: 'reg-SWAP rank', y: `${r.dataset} rank` },
  );
  const svgPath = join(dir, 'scatter.svg');
  writeFileAtomic(svgPath, svg);
  return { json, md: mdPath, svg: svgPath };
}
