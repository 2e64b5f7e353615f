import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../data/paths.js';
import { SwapError } from '../util/errors.js';
import type { Nb201Dataset } from './nb201.js';

/** NASLib's sentinel for a proxy that could not be computed. */
const SENTINEL = -1e8;

/**
 * Published zero-cost proxy values for NB201 (external comparison rows): `proxy → arch → value`, per dataset.
 * Sentinels (−1e8), NaN and ±inf are dropped here and counted in `invalid`.
 */
export interface ExternalProxies {
  readonly values: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly invalid: ReadonlyMap<string, number>;
}

function parseCsv(path: string): { head: string[]; rows: string[][] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SwapError('E_TABLE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const head = lines[0]?.split(',') ?? [];
  const rows = lines.slice(1).map((l, i) => {
    const c = l.split(',');
    if (c.length !== head.length)
      throw new SwapError('E_TABLE', `${path} line ${i + 2}: ${c.length} fields, header has ${head.length}`);
    return c;
  });
  return { head, rows };
}

/** Load the shipped external proxies for one dataset (Zen and NASWOT-v1 for all cells; NASLib's 13 on a subset). */
export function loadExternalProxies(dataset: Nb201Dataset, dir = dataDir()): ExternalProxies {
  const values = new Map<string, Map<string, number>>();
  const invalid = new Map<string, number>();
  const put = (proxy: string, arch: string, text: string) => {
    const v = Number(text);
    if (text === '' || !Number.isFinite(v) || v === SENTINEL) {
      invalid.set(proxy, (invalid.get(proxy) ?? 0) + 1);
      return;
    }
    let m = values.get(proxy);
    if (!m) values.set(proxy, (m = new Map()));
    m.set(arch, v);
  };
  const full = parseCsv(join(dir, 'nb201_zc_full.csv'));
  const a = full.head.indexOf('arch');
  const zen = full.head.indexOf(`zen_${dataset}`);
  const jac = full.head.indexOf('naswot_v1_jacov_cifar10');
  for (const r of full.rows) {
    if (zen >= 0) put('zen (NASLib)', r[a]!, r[zen]!);
    if (dataset === 'cifar10' && jac >= 0) put('naswot-v1 jacov (BayesWatch)', r[a]!, r[jac]!);
  }
  const sub = parseCsv(join(dir, 'nb201_zc_naslib_subset.csv'));
  const ds = sub.head.indexOf('dataset');
  const sa = sub.head.indexOf('arch');
  const first = sub.head.indexOf('val_accuracy_naslib') + 1;
  for (const r of sub.rows) {
    if (r[ds] !== dataset) continue;
    for (let c = first; c < sub.head.length; c++) {
      if (sub.head[c] === 'zen') continue; // same values as the full-space Zen column
      put(`${sub.head[c]} (NASLib)`, r[sa]!, r[c]!);
    }
  }
  return { values, invalid };
}
