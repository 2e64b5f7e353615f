import { parseArgs } from 'node:util';
import { spearman } from '../dist/stats/rank.js';
import { readDataCsv } from './harness.mjs';

const { values: a } = parseArgs({ options: { dataset: { type: 'string', default: 'cifar10' } } });
const truthCol = { cifar10: 'cifar10_test', cifar100: 'cifar100_test', imagenet16: 'imagenet16_test' }[a.dataset];
const read = readDataCsv;
const truth = new Map((await read('nb201.csv')).map((r) => [r.arch, Number(r[truthCol])]));
const naslibName = { cifar10: 'cifar10', cifar100: 'cifar100', imagenet16: 'ImageNet16-120' };
const rows = (await read('nb201_zc_naslib_subset.csv')).filter(
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
