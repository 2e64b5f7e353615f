import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../data/paths.js';
import { formatNb101, makeNb101, nb101Hash, parseNb101, type Nb101Genotype } from '../spaces/nb101/genotype.js';
import { SwapError } from '../util/errors.js';
import { splitCsvLine } from '../util/csv.js';
import type { BenchmarkRecord, BenchmarkTable } from './types.js';
import { quote } from '../util/quote.js';

/** NASLib's sentinel for a proxy that could not be computed. */
const SENTINEL = -1e8;

/** The proxy columns of `nb101_zc_naslib_subset.csv` (NAS-Bench-Suite-Zero). */
export const NB101_NASLIB_PROXIES = [
  'epe_nas',
  'fisher',
  'flops',
  'grad_norm',
  'grasp',
  'jacov',
  'l2_norm',
  'params',
  'plain',
  'snip',
  'synflow',
] as const;

/**
 * Strict RFC-4180-style CSV: comma-separated fields, `"…"` quoting with `""` for a quote, one record per line
 * (no newlines inside fields). Every row must have the header's field count; errors are `E_TABLE` naming the line.
 */
function readCsv(path: string, what: string): { head: string[]; rows: string[][] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SwapError('E_TABLE', `cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < 2) throw new SwapError('E_TABLE', `${path}: no data rows`);
  const split = (line: string, ln: number): string[] => splitCsvLine(line, `${path} line ${ln}`);
  const head = split(lines[0]!, 1);
  const rows = lines.slice(1).map((l, k) => {
    const cells = split(l, k + 2);
    if (cells.length !== head.length)
      throw new SwapError('E_TABLE', `${path} line ${k + 2}: ${cells.length} fields, header has ${head.length}`);
    return cells;
  });
  return { head, rows };
}

function columns(head: readonly string[], path: string, names: readonly string[]): number[] {
  return names.map((n) => {
    const i = head.indexOf(n);
    if (i < 0) throw new SwapError('E_TABLE', `${path}: missing column ${n}`);
    return i;
  });
}

function num(cell: string, where: string, name: string): number {
  const v = Number(cell);
  if (cell.trim() === '' || !Number.isFinite(v))
    throw new SwapError('E_TABLE', `${where}: ${name} is not a number (${quote(cell)})`);
  return v;
}

/** A nasbench spec from the JSON `matrix` and `ops` cells; any problem is `E_TABLE` naming the line and cause. */
function specAt(matrix: string, ops: string, where: string): Nb101Genotype {
  let m: unknown;
  let o: unknown;
  try {
    m = JSON.parse(matrix);
    o = JSON.parse(ops);
  } catch (e) {
    throw new SwapError('E_TABLE', `${where}: matrix/ops are not JSON (${(e as Error).message})`, { cause: e });
  }
  try {
    return makeNb101(m as number[][], o as string[]);
  } catch (e) {
    throw new SwapError('E_TABLE', `${where}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A table keyed by the NB101 compact form; `get` also finds a cell isomorphic to a stored one (same
 * {@link nb101Hash}), so `table.get(nb101Space.format(g))` works whatever the vertex order.
 */
class Nb101BenchmarkTable implements BenchmarkTable {
  readonly name = 'nb101';
  readonly space = 'nb101';
  readonly targets = ['cifar10'] as const;
  private readonly byArch: Map<string, BenchmarkRecord>;
  private readonly byHash: Map<string, BenchmarkRecord>;

  constructor(
    readonly records: readonly BenchmarkRecord[],
    hashes: readonly string[],
    readonly source: string,
    private readonly proxies: ReadonlyMap<string, ReadonlyMap<string, number>>,
    private readonly own: ReadonlyMap<string, ReadonlyMap<string, number>>,
  ) {
    this.byArch = new Map(records.map((r) => [r.arch, r]));
    this.byHash = new Map(records.map((r, i) => [hashes[i]!, r]));
  }

  get(arch: string): BenchmarkRecord | undefined {
    const hit = this.byArch.get(arch);
    if (hit) return hit;
    try {
      return this.byHash.get(nb101Hash(parseNb101(arch)));
    } catch {
      return undefined;
    }
  }

  describe(target: string): string {
    if (target !== 'cifar10')
      throw new SwapError('E_DATASET', `NB101 has ground truth for cifar10 only, not ${quote(target)}`);
    return 'NAS-Bench-101 CIFAR-10 validation accuracy after 108 epochs (%, as NASLib returns it)';
  }

  /** The benchmark network's trainable parameters (absolute) and FLOPs (M), from the NASLib columns. */
  baselines(target: string): ReadonlyMap<string, ReadonlyMap<string, number>> {
    this.describe(target);
    return this.own;
  }

  external(target: string): ReadonlyMap<string, ReadonlyMap<string, number>> {
    this.describe(target);
    return this.proxies;
  }
}

/**
 * Load the NB101 benchmark table (default `data/nb101_zc_naslib_subset.csv`: NASLib's 500 rows with 108-epoch
 * CIFAR-10 validation accuracy and 11 published proxies). NASLib's rows are raw 7-vertex specs and repeat cells:
 * the 500 rows hold 292 distinct cells (by {@link nb101Hash}; e.g. 55 rows prune to the input→output cell), and
 * NASLib reports one of the 3 training runs per row. Rows of one cell are merged into one record (isomorphic
 * specs too: NB101 trained one representative per hash, though vertex order can change the channel split and so
 * the parameter count by a little): the truth and
 * each proxy are the means over its rows (proxy sentinels −1e8, NaN and ±inf left out); the record's `arch` is
 * `formatNb101` of the first row's pruned spec, and its `params.cifar10` and the `baselines` (`params`, absolute;
 * `FLOPs`, M) are that row's (NASLib's `params` column, in M, equals `countParams` of this package's network for
 * every row). `external('cifar10')` gives the proxies as `"<name> (NASLib)" → arch → value`. Parsing is strict: a missing column or a malformed number or spec is an
 * `E_TABLE` error naming the line.
 */
export function loadNb101Table(path = join(dataDir(), 'nb101_zc_naslib_subset.csv')): BenchmarkTable {
  const { head, rows } = readCsv(path, 'NB101 table');
  const [cm, co, cv] = columns(head, path, ['matrix', 'ops', 'val_accuracy']) as [number, number, number];
  const cp = columns(head, path, NB101_NASLIB_PROXIES);
  interface Acc {
    arch: string;
    val: number[];
    proxy: number[][];
    /** The first row's params (absolute) and FLOPs (M), when valid. */
    params?: number;
    flops?: number;
  }
  const iParams = NB101_NASLIB_PROXIES.indexOf('params');
  const iFlops = NB101_NASLIB_PROXIES.indexOf('flops');
  const cells = new Map<string, Acc>();
  rows.forEach((r, k) => {
    const where = `${path} line ${k + 2}`;
    const g = specAt(r[cm]!, r[co]!, where);
    const val = num(r[cv]!, where, 'val_accuracy');
    const hash = nb101Hash(g);
    const first = !cells.has(hash);
    if (first) cells.set(hash, { arch: formatNb101(g), val: [], proxy: NB101_NASLIB_PROXIES.map(() => []) });
    const a = cells.get(hash)!;
    a.val.push(val);
    NB101_NASLIB_PROXIES.forEach((_, j) => {
      const text = r[cp[j]!]!;
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v) || v === SENTINEL) return;
      a.proxy[j]!.push(v);
      if (first && j === iParams) a.params = Math.round(v * 1e6);
      if (first && j === iFlops) a.flops = v;
    });
  });
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const records: BenchmarkRecord[] = [];
  const hashes: string[] = [];
  const proxies = new Map<string, Map<string, number>>(NB101_NASLIB_PROXIES.map((p) => [`${p} (NASLib)`, new Map()]));
  const own = new Map<string, Map<string, number>>([
    ['params', new Map()],
    ['FLOPs', new Map()],
  ]);
  for (const [hash, a] of cells) {
    const rec: BenchmarkRecord = { arch: a.arch, truth: Object.freeze({ cifar10: mean(a.val) }) };
    records.push(
      Object.freeze(a.params === undefined ? rec : { ...rec, params: Object.freeze({ cifar10: a.params }) }),
    );
    hashes.push(hash);
    if (a.params !== undefined) own.get('params')!.set(a.arch, a.params);
    if (a.flops !== undefined) own.get('FLOPs')!.set(a.arch, a.flops);
    NB101_NASLIB_PROXIES.forEach((p, j) => {
      if (a.proxy[j]!.length > 0) proxies.get(`${p} (NASLib)`)!.set(a.arch, mean(a.proxy[j]!));
    });
  }
  return new Nb101BenchmarkTable(Object.freeze(records), hashes, path, proxies, own);
}

/** One genuine NAS-Bench-101 record (`nasbench_only108`, means over 3 runs). */
export interface Nb101SampleRecord {
  /** The benchmark's module hash. */
  readonly hash: string;
  readonly spec: Nb101Genotype;
  /** Trainable parameters of the benchmark network (absolute count). */
  readonly params: number;
  readonly runs: number;
  /** Final validation / test accuracy in %, training time in s, half-way validation accuracy in %. */
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly trainTimeS: number;
  readonly halfwayValAccuracy: number;
}

/** Load `data/nb101_sample30.csv` (30 genuine records; a spot check of hashes and parameter counts). */
export function loadNb101Sample(path = join(dataDir(), 'nb101_sample30.csv')): Nb101SampleRecord[] {
  const { head, rows } = readCsv(path, 'NB101 sample');
  const names = [
    'hash',
    'matrix',
    'ops',
    'params',
    'n_runs',
    'val_accuracy_mean',
    'test_accuracy_mean',
    'train_time_s_mean',
    'halfway_val_accuracy_mean',
  ];
  const c = columns(head, path, names);
  return rows.map((r, k) => {
    const where = `${path} line ${k + 2}`;
    const hash = r[c[0]!]!;
    if (!/^[0-9a-f]{32}$/.test(hash))
      throw new SwapError('E_TABLE', `${where}: hash ${quote(hash)} is not 32 hex digits`);
    return Object.freeze({
      hash,
      spec: specAt(r[c[1]!]!, r[c[2]!]!, where),
      params: num(r[c[3]!]!, where, 'params'),
      runs: num(r[c[4]!]!, where, 'n_runs'),
      valAccuracy: num(r[c[5]!]!, where, 'val_accuracy_mean'),
      testAccuracy: num(r[c[6]!]!, where, 'test_accuracy_mean'),
      trainTimeS: num(r[c[7]!]!, where, 'train_time_s_mean'),
      halfwayValAccuracy: num(r[c[8]!]!, where, 'halfway_val_accuracy_mean'),
    });
  });
}
