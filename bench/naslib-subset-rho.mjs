// Spearman ρ of NASLib's own published proxy values (NAS-Bench-Suite-Zero, ../shared/data/nb201_zc_naslib_subset.csv,
// shipped as data/nb201_zc_naslib_subset.csv) against NB201 test accuracy, per dataset: the reference our
// official-protocol correlate runs are compared with in docs/ranking-study.md.
//
//   node bench/naslib-subset-rho.mjs [--dataset cifar10]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dataDir } from '../dist/data/paths.js';
import { spearman } from '../dist/stats/rank.js';
import { splitCsvLine } from '../dist/util/csv.js';

const { values: a } = parseArgs({ options: { dataset: { type: 'string', default: 'cifar10' } } });
const truthCol = { cifar10: 'cifar10_test', cifar100: 'cifar100_test', imagenet16: 'imagenet16_test' }[a.dataset];
const read = (f) => {
  const lines = readFileSync(join(dataDir(), f), 'utf8').trim().split('\n');
  const head = splitCsvLine(lines[0], f);
  return lines.slice(1).map((l, i) => Object.fromEntries(splitCsvLine(l, `${f}:${i + 2}`).map((v, j) => [head[j], v])));
};
const truth = new Map(read('nb201.csv').map((r) => [r.arch, Number(r[truthCol])]));
const naslibName = { cifar10: 'cifar10', cifar100: 'cifar100', imagenet16: 'ImageNet16-120' };
const rows = read('nb201_zc_naslib_subset.csv').filter(
  (r) => r.dataset === a.dataset || r.dataset === naslibName[a.dataset],
);
const y = rows.map((r) => truth.get(r.arch));
// NASLib's −inf (nwot) and −1e8 sentinels rank lowest, as in its own evaluation.
const value = (t) => (Number.isFinite(Number(t)) ? Number(t) : -1e300);
const proxies = [
  'grad_norm',
  'snip',
  'fisher',
  'plain',
  'jacov',
  'epe_nas',
  'synflow',
  'nwot',
  'l2_norm',
  'params',
  'flops',
  'zen',
];
const out = { dataset: a.dataset, n: rows.length };
for (const p of proxies)
  out[p] = +spearman(
    rows.map((r) => value(r[p])),
    y,
  ).toFixed(3);
console.log(JSON.stringify(out));
