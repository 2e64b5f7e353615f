#!/usr/bin/env node
// Our official-protocol proxy values against NASLib's published values (NAS-Bench-Suite-Zero,
// data/nb201_zc_naslib_subset.csv) on the SAME NB201 cells: per proxy, Spearman ρ of each with the test accuracy
// (a bootstrap 95 % CI of the difference, cells resampled), and ρ between the two implementations' values.
//
//   node dist/cli/main.js correlate --space nb201 --dataset cifar10 --archs <NASLib's 724 CIFAR-10 cells> \
//     --proxies grad_norm,snip,fisher,plain,jacov,epe_nas,synflow,nwot,l2_norm,params,flops --proxy-protocol official \
//     --backend native --threads 2 --out <dir>
//   node bench/naslib-same-cells.mjs --values <dir>/proxies.json [--dataset cifar10] [--resamples 2000]
//        [--values-b <the same correlate run with --images cifar10-b>/proxies.json]
//
// With --values-b (another batch of 64 test images) it also prints each image-reading proxy's ρ with accuracy on
// that batch and the agreement of its values between our two batches: how much a batch alone moves a proxy, to set
// beside the agreement with NASLib's values (NASLib drew its own batch of training images).
// The architecture list: `dataset,index,arch,…` rows of data/nb201_zc_naslib_subset.csv with dataset = cifar10.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spearman } from '../dist/stats/rank.js';
import { readDataCsv } from './harness.mjs';
import { Rng } from '../dist/util/rng.js';

const { values: a } = parseArgs({
  options: {
    values: { type: 'string' },
    dataset: { type: 'string', default: 'cifar10' },
    resamples: { type: 'string', default: '2000' },
    'values-b': { type: 'string' },
  },
});
if (!a.values) throw new Error('--values <correlate proxies.json or its cache jsonl> is required');
const truthCol = { cifar10: 'cifar10_test', cifar100: 'cifar100_test', imagenet16: 'imagenet16_test' }[a.dataset];
const naslibName = { cifar10: 'cifar10', cifar100: 'cifar100', imagenet16: 'ImageNet16-120' }[a.dataset];
const read = readDataCsv;
const truth = new Map((await read('nb201.csv')).map((r) => [r.arch, Number(r[truthCol])]));
const naslib = new Map(
  (await read('nb201_zc_naslib_subset.csv'))
    .filter((r) => r.dataset === a.dataset || r.dataset === naslibName)
    .map((r) => [r.arch, r]),
);
// a correlate report (<out>/proxies.json: its `values`) or its cache (<out>/cache/*.jsonl: one row per line)
const readValues = (f) => {
  const text = readFileSync(f, 'utf8').trim();
  const rows = f.endsWith('.json') ? JSON.parse(text).values : text.split('\n').map((l) => JSON.parse(l));
  return new Map(rows.map((r) => [r.arch, r.proxies]));
};
const ours = readValues(a.values);
const oursB = a['values-b'] ? readValues(a['values-b']) : undefined;
const cells = [...naslib.keys()].filter((k) => ours.has(k));
// NASLib's −inf (nwot) and −1e8 sentinels, and our nulls, rank lowest, as in NASLib's own evaluation.
const num = (v) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? -1e300 : Number(v));
const y = cells.map((k) => truth.get(k));
const rng = new Rng(7);
const B = Number(a.resamples);
const idx = Array.from({ length: B }, () => Array.from({ length: cells.length }, () => rng.int(cells.length)));
const pick = (v, ix) => ix.map((i) => v[i]);

console.log(
  `${cells.length} cells in both (NASLib ${naslib.size}, ours ${ours.size}), ${a.dataset} test accuracy, ${B} bootstrap resamples\n`,
);
console.log(
  `| proxy | ours ρ | NASLib ρ | Δ [95% CI] | ρ(ours, NASLib values) |${oursB ? ' ours ρ, batch B | ρ(ours A, ours B values) |' : ''}`,
);
console.log(`| --- | ---: | ---: | --- | ---: |${oursB ? ' ---: | ---: |' : ''}`);
// the proxies both sides have, in the order of our values
const names = Object.keys(ours.get(cells[0])).filter((p) => p in naslib.get(cells[0]));
for (const p of names) {
  const o = cells.map((k) => num(ours.get(k)[p]));
  const n = cells.map((k) => num(naslib.get(k)[p]));
  const ro = spearman(o, y);
  const rn = spearman(n, y);
  const d = idx
    .map((ix) => spearman(pick(o, ix), pick(y, ix)) - spearman(pick(n, ix), pick(y, ix)))
    .sort((u, v) => u - v);
  const ci = `[${d[Math.floor(0.025 * B)].toFixed(3)}, ${d[Math.floor(0.975 * B)].toFixed(3)}]`;
  const b =
    oursB && cells.every((k) => oursB.get(k)?.[p] !== undefined) ? cells.map((k) => num(oursB.get(k)[p])) : undefined;
  const extra = oursB ? (b ? ` ${spearman(b, y).toFixed(3)} | ${spearman(o, b).toFixed(3)} |` : ' — | — |') : '';
  console.log(
    `| ${p} | ${ro.toFixed(3)} | ${rn.toFixed(3)} | ${(ro - rn >= 0 ? '+' : '') + (ro - rn).toFixed(3)} ${ci} | ${spearman(o, n).toFixed(3)} |${extra}`,
  );
}
