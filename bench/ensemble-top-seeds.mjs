// Does ensemble-top's gain at the top depend on plain's weight seed? (issue 14, session 10; docs/ensemble-study.md)
// On NB201 samples A and B, the other members at weight seed 0 (committed all-cell values), plain at weight seed
// 0 (docs/ensemble-study/all-cells-plain.jsonl.gz) or 1–3 (top/plain-seeds1-3.jsonl.gz: A ∪ B ∪ the reference set,
// `score --archs <those 2,224 cells> --proxies plain --proxy-protocol swap --images data/cifar10_test_first20.bin
// --batch 16 --seed k`), or plain averaged over seeds 0…K−1; each ranked against the 256-cell reference set.
//
//   node bench/ensemble-top-seeds.mjs
import { spaceEntry } from '../dist/catalog/registry.js';
import { LABEL_FREE_ENSEMBLE, ensembleScore, referenceColumn, UPPER_PLAIN_ENSEMBLE } from '../dist/proxies/ensemble.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { spearman } from '../dist/stats/rank.js';
import { loadAllCellValues, readJsonl } from './all-cell-values.mjs';

const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
const entry = spaceEntry('nb201');
const table = entry.loadTable();
const values = await loadAllCellValues();
const seed0 = new Map(readJsonl('docs/ensemble-study/all-cells-plain.jsonl.gz').map((r) => [r.arch, r.proxies.plain]));
const other = new Map(readJsonl('docs/ensemble-study/top/plain-seeds1-3.jsonl.gz').map((r) => [r.arch, r.plain]));
const plainAt = (x, k) => (k === 0 ? seed0.get(x) : other.get(x)[k]);
const reference = referenceGenotypes(entry.space).map((g) => entry.space.format(g));
const samples = Object.fromEntries(
  ['A', 'B'].map((s) => [s, readJsonl(`docs/ensemble-study/${s}-swap.jsonl.gz`).map((r) => r.arch)]),
);

/** Mean ρ and mean top-1 / top-3 / top-10 test accuracy over the datasets, per sample, for one plain variant. */
function row(name, rule, plain) {
  const v = (x) => ({ ...values.get(x), plain: plain(x) });
  const cols = Object.fromEntries(rule.members.map((m) => [m, referenceColumn(reference.map((x) => v(x)[m] ?? null))]));
  const cells = ['A', 'B'].map((s) => {
    const archs = samples[s];
    const f = archs.map((x) => ensembleScore(rule, v(x), cols));
    const order = f
      .map((q, i) => [q, i])
      .sort((p, q) => q[0] - p[0])
      .map((p) => p[1]);
    const mean = (g) => DATASETS.reduce((t, d) => t + g(d), 0) / DATASETS.length;
    const top = (k) => mean((d) => order.slice(0, k).reduce((u, i) => u + table.get(archs[i]).truth[d], 0) / k);
    const rho = mean((d) =>
      spearman(
        f,
        archs.map((x) => table.get(x).truth[d]),
      ),
    );
    return [rho.toFixed(4), ...[1, 3, 10].map((k) => top(k).toFixed(2))].join(' / ');
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}

console.log('| plain | A: mean ρ / top-1 / top-3 / top-10 | B: mean ρ / top-1 / top-3 / top-10 |\n| --- | --- | --- |');
row('default (no plain)', LABEL_FREE_ENSEMBLE, () => null);
for (const k of [0, 1, 2, 3]) row(`seed ${k}`, UPPER_PLAIN_ENSEMBLE, (x) => plainAt(x, k));
for (const K of [2, 3, 4])
  row(`mean of seeds 0–${K - 1}`, UPPER_PLAIN_ENSEMBLE, (x) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += plainAt(x, k);
    return s / K;
  });
