import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../data/paths.js';
import { formatDarts, makeDartsGenotype } from '../spaces/darts/genotype.js';
import { SwapError } from '../util/errors.js';
import { splitCsvLine } from '../util/csv.js';
import type { BenchmarkRecord, BenchmarkTable } from './types.js';
import { quote } from '../util/quote.js';

/** Targets of the NB301 table: the surrogate's CIFAR-10 validation accuracy only. */
export const NB301_TARGETS = Object.freeze(['cifar10'] as const);

/** The 12 zero-cost proxies NASLib published for these genotypes (NAS-Bench-Suite-Zero), as CSV columns. */
export const NB301_PROXY_COLUMNS = Object.freeze([
  'epe_nas',
  'fisher',
  'flops',
  'grad_norm',
  'grasp',
  'jacov',
  'l2_norm',
  'nwot',
  'params',
  'plain',
  'snip',
  'synflow',
] as const);

/** NASLib's value for a proxy that could not be computed. */
const SENTINEL = -1e8;

function parseCell(text: string, name: string, where: string): [string, number][] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new SwapError('E_TABLE', `${where}: ${name} is not JSON (${quote(text.slice(0, 40))})`);
  }
  if (
    !Array.isArray(v) ||
    !v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'number')
  ) {
    throw new SwapError('E_TABLE', `${where}: ${name} must be a JSON list of [op, input] pairs`);
  }
  return v as [string, number][];
}

/**
 * Parse the NAS-Bench-301 subset CSV (`genotype_normal`, `genotype_reduce` as JSON `[op, input]` lists, concat
 * [2, 3, 4, 5]; `val_accuracy_nb301`; the 12 NASLib proxy columns). Strict: a missing column, a field-count
 * mismatch, an invalid genotype, a malformed accuracy or a duplicate genotype is an `E_TABLE` error naming the
 * line. Proxy cells may hold NASLib's −1e8 sentinel, NaN or ±inf; those are left out of `external`.
 */
export function parseNb301Table(text: string, source: string): BenchmarkTable {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < 2) throw new SwapError('E_TABLE', `${source}: no data rows`);
  const head = splitCsvLine(lines[0]!, `${source} line 1`);
  const col = (name: string) => {
    const i = head.indexOf(name);
    if (i < 0) throw new SwapError('E_TABLE', `${source}: missing column ${name}`);
    return i;
  };
  const ci = { normal: col('genotype_normal'), reduce: col('genotype_reduce'), acc: col('val_accuracy_nb301') };
  const proxyCols = NB301_PROXY_COLUMNS.map((p) => [p, col(p)] as const);
  const records: BenchmarkRecord[] = [];
  const byArch = new Map<string, BenchmarkRecord>();
  const proxies = new Map<string, Map<string, number>>(NB301_PROXY_COLUMNS.map((p) => [`${p} (NASLib)`, new Map()]));
  for (let li = 1; li < lines.length; li++) {
    const where = `${source} line ${li + 1}`;
    const cells = splitCsvLine(lines[li]!, where);
    if (cells.length !== head.length)
      throw new SwapError('E_TABLE', `${where}: ${cells.length} fields, header has ${head.length}`);
    let arch: string;
    try {
      arch = formatDarts(
        makeDartsGenotype(
          parseCell(cells[ci.normal]!, 'genotype_normal', where),
          parseCell(cells[ci.reduce]!, 'genotype_reduce', where),
        ),
      );
    } catch (e) {
      if ((e as SwapError).code === 'E_TABLE') throw e;
      throw new SwapError('E_TABLE', `${where}: ${(e as Error).message}`, { cause: e });
    }
    if (byArch.has(arch)) throw new SwapError('E_TABLE', `${where}: duplicate genotype ${arch}`);
    const accText = cells[ci.acc]!;
    const acc = Number(accText);
    if (accText.trim() === '' || !Number.isFinite(acc))
      throw new SwapError('E_TABLE', `${where}: val_accuracy_nb301 is not a number (${quote(accText)})`);
    for (const [p, i] of proxyCols) {
      const t = cells[i]!.trim();
      const v = Number(t);
      if (t !== '' && Number.isNaN(v) && !/^[-+]?(nan|inf(inity)?)$/i.test(t))
        throw new SwapError('E_TABLE', `${where}: ${p} is not a number (${quote(t)})`);
      if (t !== '' && Number.isFinite(v) && v !== SENTINEL) proxies.get(`${p} (NASLib)`)!.set(arch, v);
    }
    const rec: BenchmarkRecord = Object.freeze({ arch, truth: Object.freeze({ cifar10: acc }) });
    records.push(rec);
    byArch.set(arch, rec);
  }
  Object.freeze(records);
  const checkTarget = (target: string) => {
    if (!(NB301_TARGETS as readonly string[]).includes(target)) {
      throw new SwapError('E_DATASET', `NB301 has no target ${quote(target)} (expected ${NB301_TARGETS.join(', ')})`);
    }
  };
  return Object.freeze({
    name: 'nb301',
    space: 'darts',
    targets: NB301_TARGETS,
    records,
    source,
    get: (arch: string) => byArch.get(arch),
    describe(target: string) {
      checkTarget(target);
      return 'NAS-Bench-301 surrogate CIFAR-10 validation accuracy (%), as published by NASLib';
    },
    external(target: string): ReadonlyMap<string, ReadonlyMap<string, number>> {
      checkTarget(target);
      return proxies;
    },
  });
}

/**
 * Load the shipped NAS-Bench-301 subset (725 DARTS genotypes with surrogate CIFAR-10 validation accuracy and
 * NASLib's 12 published proxies), or another file with the same columns. Records are keyed by `formatDarts(g)`,
 * so `table.get(dartsSpace.format(g))` finds a genotype whatever text form it was parsed from.
 */
export function loadNb301Table(path = join(dataDir(), 'nb301_zc_naslib_subset.csv')): BenchmarkTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SwapError('E_TABLE', `cannot read NB301 table ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseNb301Table(text, path);
}
