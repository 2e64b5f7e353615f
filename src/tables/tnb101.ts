import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../data/paths.js';
import { TNB101_TASKS, checkTnb101Task, type Tnb101Task } from '../spaces/tnb101/index.js';
import { formatTnb101, parseTnb101, tnb101CellOps } from '../spaces/tnb101/genotype.js';
import { SwapError, isSwapError } from '../util/errors.js';
import type { BenchmarkRecord, BenchmarkTable } from './types.js';
import { quote } from '../util/quote.js';

/** NASLib's sentinel for a proxy that could not be computed. */
const SENTINEL = -1e8;

/** Published proxy columns `<proxy>_<task>` the table may carry, and the name they get in {@link BenchmarkTable.external}. */
const PROXIES = {
  zen: 'zen (NASLib)',
  synflow: 'synflow (NASLib)',
  epe_nas: 'epe_nas (NASLib)',
  fisher: 'fisher (NASLib)',
} as const;

/**
 * What each task's truth column holds: TransNAS-Bench-101's validation metric at the final epoch, as NASLib
 * queries it (`valid_top1`, `valid_neg_loss`, `valid_acc`, `valid_ssim`). Every metric is higher-is-better;
 * room_layout's is the negated L2 (MSE) loss of the 9 layout parameters, so its values are negative (−1.09 … −0.60
 * in the shipped table).
 */
const DESCRIBE: Readonly<Record<Tnb101Task, string>> = {
  class_scene: 'TransNAS-Bench-101 micro class_scene validation top-1 accuracy (%, 47 scene classes, final epoch)',
  class_object: 'TransNAS-Bench-101 micro class_object validation top-1 accuracy (%, 75 object classes, final epoch)',
  jigsaw: 'TransNAS-Bench-101 micro jigsaw validation top-1 accuracy (%, 1000 tile permutations, final epoch)',
  room_layout: 'TransNAS-Bench-101 micro room_layout validation negative L2 loss (higher is better, final epoch)',
  segmentsemantic: 'TransNAS-Bench-101 micro segmentsemantic validation pixel accuracy (%, 17 classes, final epoch)',
  normal: 'TransNAS-Bench-101 micro normal (surface normals) validation SSIM (0-1, final epoch)',
  autoencoder: 'TransNAS-Bench-101 micro autoencoder validation SSIM (0-1, final epoch)',
};

/**
 * The TransNAS-Bench-101 micro table (data/tnb101_micro.csv): `arch` (`64-41414-a_bc_def`), `cell_ops` (the same
 * six digits), `val_<task>` for the seven tasks, and optional published proxies `zen_<task>`, `synflow_<task>`,
 * `epe_nas_<task>`, `fisher_<task>`. Parsing is strict: a missing column, an arch that does not parse, a
 * `cell_ops` that disagrees with it, a duplicate, or a malformed number is an `E_TABLE` error naming the line.
 * Records are keyed by the canonical arch string (`formatTnb101(parseTnb101(arch))`).
 */
export class Tnb101Table implements BenchmarkTable {
  readonly name = 'tnb101-micro';
  readonly space = 'tnb101-micro';
  readonly targets: readonly Tnb101Task[] = TNB101_TASKS;
  readonly records: readonly BenchmarkRecord[];
  readonly source: string;
  private readonly byArch: ReadonlyMap<string, BenchmarkRecord>;
  private readonly proxies: ReadonlyMap<Tnb101Task, ReadonlyMap<string, ReadonlyMap<string, number>>>;

  private constructor(
    records: readonly BenchmarkRecord[],
    proxies: ReadonlyMap<Tnb101Task, ReadonlyMap<string, ReadonlyMap<string, number>>>,
    source: string,
  ) {
    this.records = records;
    this.proxies = proxies;
    this.source = source;
    this.byArch = new Map(records.map((r) => [r.arch, r]));
  }

  /** Parse the CSV text of a TNB101 micro table; `source` names it in errors. */
  static parse(text: string, source: string): Tnb101Table {
    const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
    if (lines.length < 2) throw new SwapError('E_TABLE', `${source}: no data rows`);
    const head = lines[0]!.split(',');
    const col = (name: string) => {
      const i = head.indexOf(name);
      if (i < 0) throw new SwapError('E_TABLE', `${source}: missing column ${name}`);
      return i;
    };
    const archCol = col('arch');
    const opsCol = col('cell_ops');
    const valCol = TNB101_TASKS.map((t) => col(`val_${t}`));
    const proxyCols: { task: Tnb101Task; name: string; col: number; values: Map<string, number> }[] = [];
    for (const task of TNB101_TASKS) {
      for (const [p, name] of Object.entries(PROXIES)) {
        const i = head.indexOf(`${p}_${task}`);
        if (i >= 0) proxyCols.push({ task, name, col: i, values: new Map() });
      }
    }
    const records: BenchmarkRecord[] = [];
    const seen = new Set<string>();
    for (let li = 1; li < lines.length; li++) {
      const cells = lines[li]!.split(',');
      const where = `${source} line ${li + 1}`;
      if (cells.length !== head.length)
        throw new SwapError('E_TABLE', `${where}: ${cells.length} fields, header has ${head.length}`);
      let arch: string;
      try {
        const g = parseTnb101(cells[archCol]!);
        arch = formatTnb101(g);
        if (cells[opsCol] !== tnb101CellOps(g)) {
          throw new SwapError('E_TABLE', `${where}: cell_ops ${quote(cells[opsCol])} does not match arch ${arch}`);
        }
      } catch (e) {
        if (isSwapError(e) && e.code === 'E_TABLE') throw e;
        throw new SwapError('E_TABLE', `${where}: ${(e as Error).message}`, { cause: e });
      }
      if (seen.has(arch)) throw new SwapError('E_TABLE', `${where}: duplicate arch ${arch}`);
      seen.add(arch);
      const truth: Record<string, number> = {};
      TNB101_TASKS.forEach((t, k) => {
        const text = cells[valCol[k]!]!;
        const v = Number(text);
        if (text.trim() === '' || !Number.isFinite(v) || v === SENTINEL) {
          throw new SwapError('E_TABLE', `${where}: val_${t} is not a valid metric (${quote(text)})`);
        }
        truth[t] = v;
      });
      for (const p of proxyCols) {
        const v = proxyNumber(cells[p.col]!);
        if (v === undefined)
          throw new SwapError('E_TABLE', `${where}: ${head[p.col]} is not a number (${quote(cells[p.col])})`);
        if (Number.isFinite(v) && v !== SENTINEL) p.values.set(arch, v);
      }
      records.push(Object.freeze({ arch, truth: Object.freeze(truth) }));
    }
    const proxies = new Map<Tnb101Task, Map<string, ReadonlyMap<string, number>>>();
    for (const p of proxyCols) {
      let m = proxies.get(p.task);
      if (!m) proxies.set(p.task, (m = new Map()));
      m.set(p.name, p.values);
    }
    return new Tnb101Table(Object.freeze(records), proxies, source);
  }

  get(arch: string): BenchmarkRecord | undefined {
    const hit = this.byArch.get(arch);
    if (hit) return hit;
    try {
      return this.byArch.get(formatTnb101(parseTnb101(arch)));
    } catch {
      return undefined;
    }
  }

  /** What `val_<target>` means; an unknown target is an `E_DATASET` error. */
  describe(target: string): string {
    return DESCRIBE[checkTnb101Task(target)];
  }

  /**
   * Published proxies for `target` (`proxy → arch → value`): zen for every task, synflow and epe_nas for
   * class_scene, class_object, jigsaw and room_layout, fisher for class_object and jigsaw (all NASLib runs).
   * Sentinels (−1e8), NaN and ±inf are left out.
   */
  external(target: string): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this.proxies.get(checkTnb101Task(target)) ?? new Map();
  }
}

/** A proxy cell: a finite number, or NaN/±inf spelled the usual ways (kept out later); `undefined` when malformed. */
function proxyNumber(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'nan') return NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  const v = Number(t);
  return t === '' || Number.isNaN(v) ? undefined : v;
}

/** Load the shipped TransNAS-Bench-101 micro table, or another file with the same columns. */
export function loadTnb101Table(path = join(dataDir(), 'tnb101_micro.csv')): Tnb101Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SwapError('E_TABLE', `cannot read TNB101 micro table ${path}: ${(e as Error).message}`, { cause: e });
  }
  return Tnb101Table.parse(text, path);
}
