// The fitted rule (`--fitness ensemble-fit`) beside the label-free ensemble and ensemble-top on NB201 sample A (where
// it was fitted), sample B, the cells outside A and all 15,625 cells: Spearman ρ and Kendall τ-b with bootstrap 95%
// CIs per dataset, and the test accuracy of each rule's top cells. Every rule is scored against the same 256-cell
// reference set, from member values measured at the fitness's own settings (docs/ensemble-study/fit/).
//
//   node bench/ensemble-fit-eval.mjs [--resamples 200] [--json out.json] > out.md
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { LABEL_FREE_ENSEMBLE, ensembleScore, referenceColumn, UPPER_PLAIN_ENSEMBLE } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../dist/proxies/fitted-rule.js';
import { fitTarget, ridge } from '../dist/study/rule-fit.js';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';
import { loadFitCellValues, NB201_TARGETS, readJsonl } from './all-cell-values.mjs';

const { values: a } = parseArgs({
  options: { resamples: { type: 'string', default: '200' }, json: { type: 'string' } },
});
const DATASETS = NB201_TARGETS;
const values = await loadFitCellValues();
const table = spaceEntry('nb201').loadTable();
/** arch → its test accuracies in NB201_TARGETS order. */
const acc = new Map([...values.keys()].map((x) => [x, DATASETS.map((d) => table.get(x).truth[d])]));

const ref = readJsonl('docs/ensemble-study/fit/ref-members.jsonl.gz');
const rules = [FITTED_ENSEMBLE, LABEL_FREE_ENSEMBLE, UPPER_PLAIN_ENSEMBLE];
const names = {
  [FITTED_ENSEMBLE.name]: 'ensemble-fit',
  [LABEL_FREE_ENSEMBLE.name]: 'ensemble (label-free)',
  [UPPER_PLAIN_ENSEMBLE.name]: 'ensemble-top',
};
const columns = {};
for (const rule of rules)
  for (const m of rule.members) columns[m] ??= referenceColumn(ref.map((r) => r.proxies[m] ?? null));
const archs = [...values.keys()];
const fitness = Object.fromEntries(
  rules.map((rule) => [rule.name, new Map(archs.map((x) => [x, ensembleScore(rule, values.get(x), columns)]))]),
);
const sample = (name) => readJsonl(`docs/ensemble-study/${name}-swap.jsonl.gz`).map((r) => r.arch);
const A = sample('A');
const inA = new Set(A);
const sets = { 'A (fitted here)': A, B: sample('B'), 'all but A': archs.filter((x) => !inA.has(x)), all: archs };
const R = Number(a.resamples);
const out = { sets: {}, top: {} };
console.log(
  '| rule | cells | n | ρ CIFAR-10 | ρ CIFAR-100 | ρ ImageNet16-120 | τ-b CIFAR-10 | τ-b CIFAR-100 | τ-b ImageNet16-120 |',
);
console.log('| --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: |');
for (const [label, set] of Object.entries(sets))
  for (const rule of rules) {
    const s = set.map((x) => fitness[rule.name].get(x));
    const cell = DATASETS.map((_, j) => {
      const t = set.map((x) => acc.get(x)[j]);
      const ci = bootstrapCI(s, t, spearman, { resamples: R, rng: new Rng(1) });
      return { rho: spearman(s, t), lo: ci.low, hi: ci.high, tau: kendallTauB(s, t) };
    });
    out.sets[`${label}/${names[rule.name]}`] = cell;
    const f = (c) => `${c.rho.toFixed(3)} [${c.lo.toFixed(3)}, ${c.hi.toFixed(3)}]`;
    console.log(
      `| ${names[rule.name]} | ${label} | ${set.length} | ${cell.map(f).join(' | ')} | ${cell.map((c) => c.tau.toFixed(3)).join(' | ')} |`,
    );
  }
console.log(
  '\nTest accuracy of the top cells over all 15,625 (mean over the top k; best cell of the space 94.37 / 73.51 / 47.31):\n',
);
console.log('| rule | top-1 | top-3 mean | top-10 mean | top-30 mean |');
console.log('| --- | --- | --- | --- | --- |');
for (const rule of rules) {
  const order = [...archs].sort((x, y) => fitness[rule.name].get(y) - fitness[rule.name].get(x));
  const top = [1, 3, 10, 30].map((k) =>
    DATASETS.map((_, j) => order.slice(0, k).reduce((s, x) => s + acc.get(x)[j], 0) / k),
  );
  out.top[names[rule.name]] = { first: order.slice(0, 10), top };
  console.log(`| ${names[rule.name]} | ${top.map((t) => t.map((v) => v.toFixed(2)).join(' / ')).join(' | ')} |`);
}

// A baseline that sees no proxy at all: ridge regression of the same target (mean normal score of A's accuracies) on
// the cell's one-hot operations and all their pairwise products (6 edges × 5 ops: 30 + 435 features), fitted on A.
// λ = 10, the best of {1, 10, 30} on the cells outside A (so the baseline is favoured, not the rule).
const OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
function encode(arch) {
  const ops = arch
    .split(/\|\+?\|?/)
    .filter((t) => t.includes('~'))
    .map((t) => OPS.indexOf(t.split('~')[0]));
  const one = ops.flatMap((o) => OPS.map((_, k) => (k === o ? 1 : 0)));
  const pairs = [];
  for (let i = 0; i < one.length; i++) for (let j = i + 1; j < one.length; j++) pairs.push(one[i] * one[j]);
  return [...one, ...pairs];
}
const targetA = fitTarget(A.map((x) => ({ values: {}, targets: acc.get(x) })));
const coef = ridge(
  A.map(encode),
  targetA,
  A.map(() => 1),
  10,
);
const predict = (x) => encode(x).reduce((s, v, i) => s + v * coef[i], coef.at(-1));
const rest = sets['all but A'];
const p = rest.map(predict);
out.encodingBaseline = DATASETS.map((_, j) =>
  spearman(
    p,
    rest.map((x) => acc.get(x)[j]),
  ),
);
console.log(
  `\nOne-hot operations + pairwise products, ridge-fitted on A (no proxy), on the cells outside A: ρ ${out.encodingBaseline.map((v) => v.toFixed(3)).join(' / ')}`,
);
if (a.json) writeFileSync(a.json, `${JSON.stringify(out, null, 1)}\n`);
