import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../data/paths.js';
import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';

export const NB201_DATASETS = ['cifar10', 'cifar100', 'imagenet16'] as const;
export type Nb201Dataset = (typeof NB201_DATASETS)[number];

/** One NB201 architecture's ground truth (accuracies in %, 200-epoch schedule, mean over seeds). */
export interface Nb201Record {
  readonly index: number;
  readonly arch: string;
  /** Smallest index of the isomorphism class. */
  readonly isoRep: number;
  readonly test: Readonly<Record<Nb201Dataset, number>>;
  /**
   * Validation accuracy: CIFAR-10 = `cifar10-valid` x-valid (seed mean); CIFAR-100 / ImageNet16-120 = NASLib's
   * single-seed value (the only full-space 200-epoch validation numbers available).
   */
  readonly valid: Readonly<Record<Nb201Dataset, number>>;
  readonly params: Readonly<Record<Nb201Dataset, number>>;
  readonly flops: Readonly<Record<Nb201Dataset, number>>;
}

export function checkDataset(d: string): Nb201Dataset {
  if (!(NB201_DATASETS as readonly string[]).includes(d)) {
    throw new SwapError('E_DATASET', `unknown NB201 dataset ${quote(d)} (expected ${NB201_DATASETS.join(', ')})`);
  }
  return d as Nb201Dataset;
}

const COLS = {
  index: 'index',
  arch: 'arch',
  iso: 'iso_rep',
  test: { cifar10: 'cifar10_test', cifar100: 'cifar100_test', imagenet16: 'imagenet16_test' },
  valid: { cifar10: 'cifar10_valid', cifar100: 'cifar100_valid_naslib', imagenet16: 'imagenet16_valid_naslib' },
  params: { cifar10: 'params_cifar10', cifar100: 'params_cifar100', imagenet16: 'params_imagenet16' },
  flops: { cifar10: 'flops_cifar10', cifar100: 'flops_cifar100', imagenet16: 'flops_imagenet16' },
} as const;

/**
 * The NAS-Bench-201 table behind a typed query interface. Construct once and pass it in a context; parsing is
 * strict: a missing column, a malformed number or a duplicate arch is an `E_TABLE` error naming the line.
 */
export class Nb201Table {
  readonly records: readonly Nb201Record[];
  private readonly byArch: Map<string, Nb201Record>;
  readonly source: string;

  constructor(records: readonly Nb201Record[], source: string) {
    this.records = records;
    this.source = source;
    this.byArch = new Map(records.map((r) => [r.arch, r]));
  }

  /** Load the shipped table (data/nb201.csv) or another file with the same columns. */
  static load(path = join(dataDir(), 'nb201.csv')): Nb201Table {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new SwapError('E_TABLE', `cannot read NB201 table ${path}: ${(e as Error).message}`, { cause: e });
    }
    return Nb201Table.parse(text, path);
  }

  static parse(text: string, source: string): Nb201Table {
    const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
    if (lines.length < 2) throw new SwapError('E_TABLE', `${source}: no data rows`);
    const head = lines[0]!.split(',');
    const col = (name: string) => {
      const i = head.indexOf(name);
      if (i < 0) throw new SwapError('E_TABLE', `${source}: missing column ${name}`);
      return i;
    };
    const per = (m: Readonly<Record<Nb201Dataset, string>>) =>
      Object.fromEntries(NB201_DATASETS.map((d) => [d, col(m[d])])) as Record<Nb201Dataset, number>;
    const ci = {
      index: col(COLS.index),
      arch: col(COLS.arch),
      iso: col(COLS.iso),
      test: per(COLS.test),
      valid: per(COLS.valid),
      params: per(COLS.params),
      flops: per(COLS.flops),
    };
    const records: Nb201Record[] = [];
    const seen = new Set<string>();
    for (let li = 1; li < lines.length; li++) {
      const cells = lines[li]!.split(',');
      const where = `${source} line ${li + 1}`;
      if (cells.length !== head.length)
        throw new SwapError('E_TABLE', `${where}: ${cells.length} fields, header has ${head.length}`);
      const numAt = (i: number, name: string) => {
        const v = Number(cells[i]);
        if (cells[i] === '' || !Number.isFinite(v))
          throw new SwapError('E_TABLE', `${where}: ${name} is not a number (${quote(cells[i])})`);
        return v;
      };
      const perNum = (m: Record<Nb201Dataset, number>, what: string) =>
        Object.fromEntries(NB201_DATASETS.map((d) => [d, numAt(m[d], `${what} ${d}`)])) as Record<Nb201Dataset, number>;
      const arch = cells[ci.arch]!;
      if (seen.has(arch)) throw new SwapError('E_TABLE', `${where}: duplicate arch ${arch}`);
      seen.add(arch);
      const params = perNum(ci.params, 'params');
      records.push({
        index: numAt(ci.index, 'index'),
        arch,
        isoRep: numAt(ci.iso, 'iso_rep'),
        test: perNum(ci.test, 'test accuracy'),
        valid: perNum(ci.valid, 'valid accuracy'),
        params: Object.fromEntries(NB201_DATASETS.map((d) => [d, Math.round(params[d] * 1e6)])) as Record<
          Nb201Dataset,
          number
        >,
        flops: perNum(ci.flops, 'flops'),
      });
    }
    return new Nb201Table(records, source);
  }

  get(arch: string): Nb201Record | undefined {
    return this.byArch.get(arch);
  }

  /** Like {@link get} but an absent arch is an `E_TABLE` error. */
  require(arch: string): Nb201Record {
    const r = this.byArch.get(arch);
    if (!r) throw new SwapError('E_TABLE', `arch ${arch} is not in ${this.source}`);
    return r;
  }

  /** Best test accuracy in the space for a dataset (the search targets' "optimum"). */
  best(dataset: Nb201Dataset): Nb201Record {
    let b = this.records[0]!;
    for (const r of this.records) if (r.test[dataset] > b.test[dataset]) b = r;
    return b;
  }
}
