// A rule for the top of the ranking (issue 14, session 10; docs/ensemble-study.md "A rule for the top of the
// ranking"). Offline, from the committed per-cell values of all 15,625 NB201 cells: the default ensemble plus one
// more member X at weight w in the `log` form (w ln F̂) or the `upper` form (w · −ln(1 − F̂)), each network ranked
// against the space's fixed 256-cell reference set (as the run-time fitness). Selection on sample A only:
// among candidates whose mean ρ over the three datasets is within 0.005 of the default's, the best mean test
// accuracy of the top-1 cell (ties: top-3), then the choice and the default are reported on B and on all cells.
//
//   node bench/ensemble-top-study.mjs [--plain docs/ensemble-study/all-cells-plain.jsonl.gz | none] [--k 10]
//
// The plain values default to a run at the fitness's own settings (the embedded 16-image batch and its labels:
// `bench/ensemble-measure.mjs --sample all --proxies plain --images data/cifar10_test_first20.bin --batch 16`,
// packed); `--plain none` keeps those of all-cells-backward (the first 16 images of cifar10_test_jpeg1000.bin).
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { LABEL_FREE_ENSEMBLE, ensembleScore, referenceColumn } from '../dist/proxies/ensemble.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { spearman } from '../dist/stats/rank.js';
import { loadAllCellValues, readJsonl } from './all-cell-values.mjs';

const { values: a } = parseArgs({
  options: {
    plain: { type: 'string', default: 'docs/ensemble-study/all-cells-plain.jsonl.gz' },
    k: { type: 'string', default: '10' },
  },
});
const K = Number(a.k);
const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
/** Members the fitness cannot compute usefully on every space (rule study, session 8): never candidates. */
const INFEASIBLE = new Set(['jacov', 'epe_nas', 'zico']);
const WEIGHTS = [0.1, 0.2, 0.3, 0.5, 1, 2];
const RHO_BUDGET = 0.005;

const entry = spaceEntry('nb201');
const space = entry.space;
const table = entry.loadTable();
const values = await loadAllCellValues();
if (a.plain !== 'none')
  for (const r of readJsonl(a.plain)) if (values.has(r.arch)) values.get(r.arch).plain = r.proxies.plain;
const refRows = referenceGenotypes(space).map((g) => values.get(space.format(g)));
const columns = (rule) =>
  Object.fromEntries(rule.members.map((m) => [m, referenceColumn(refRows.map((v) => v[m] ?? null))]));
const sampleArchs = (s) => readJsonl(`docs/ensemble-study/${s}-swap.jsonl.gz`).map((r) => r.arch);
const samples = { A: sampleArchs('A'), B: sampleArchs('B'), all: [...values.keys()].filter((x) => table.get(x)) };

/** ρ per dataset, mean ρ, and the mean test accuracy of the top-1 / top-3 / top-K cells of `archs` by `rule`. */
function evaluate(rule, archs) {
  const cols = columns(rule);
  const f = archs.map((x) => ensembleScore(rule, values.get(x), cols));
  const order = f
    .map((v, i) => [v, i])
    .sort((p, q) => q[0] - p[0])
    .map((p) => p[1]);
  const out = { rho: {}, top: {} };
  for (const d of DATASETS) {
    const acc = archs.map((x) => table.get(x).truth[d]);
    out.rho[d] = spearman(f, acc);
    out.top[d] = Object.fromEntries([1, 3, K].map((k) => [k, order.slice(0, k).reduce((s, i) => s + acc[i], 0) / k]));
  }
  const mean = (g) => DATASETS.reduce((s, d) => s + g(d), 0) / DATASETS.length;
  out.meanRho = mean((d) => out.rho[d]);
  out.meanTop = Object.fromEntries([1, 3, K].map((k) => [k, mean((d) => out.top[d][k])]));
  return out;
}

const withMember = (x, w, form) => ({
  name: `${LABEL_FREE_ENSEMBLE.name}+${w}${x}-${form}`,
  members: [...LABEL_FREE_ENSEMBLE.members, x],
  weights: [...LABEL_FREE_ENSEMBLE.weights, w],
  forms: [...LABEL_FREE_ENSEMBLE.members.map(() => 'log'), form],
  description: '',
});
const f2 = (v) => v.toFixed(2);
const row = (name, r) =>
  `| ${name} | ${r.meanRho.toFixed(4)} | ${f2(r.meanTop[1])} | ${f2(r.meanTop[3])} | ${f2(r.meanTop[K])} | ${DATASETS.map((d) => `${r.rho[d].toFixed(3)} / ${f2(r.top[d][1])} / ${f2(r.top[d][K])}`).join(' | ')} |`;
const header = `| rule | mean ρ | mean top-1 | mean top-3 | mean top-${K} | ${DATASETS.map((d) => `${d}: ρ / top-1 / top-${K}`).join(' | ')} |\n|${' --- |'.repeat(5 + DATASETS.length)}`;

const base = evaluate(LABEL_FREE_ENSEMBLE, samples.A);
const members = Object.keys(refRows[0]).filter((m) => !LABEL_FREE_ENSEMBLE.members.includes(m) && !INFEASIBLE.has(m));
const candidates = [];
for (const x of members)
  for (const w of WEIGHTS)
    for (const form of ['log', 'upper']) {
      const rule = withMember(x, w, form);
      const r = evaluate(rule, samples.A);
      if (r.meanRho >= base.meanRho - RHO_BUDGET) candidates.push({ rule, r });
    }
candidates.sort((p, q) => q.r.meanTop[1] - p.r.meanTop[1] || q.r.meanTop[3] - p.r.meanTop[3]);
console.log(`## Selection on sample A (${samples.A.length} cells)\n`);
console.log(
  `plain values: ${a.plain === 'none' ? 'docs/ensemble-study/all-cells-backward.jsonl.gz (another image batch)' : a.plain}; candidate members: ${members.join(', ')}; weights ${WEIGHTS.join(', ')}; forms log, upper; ρ budget ${RHO_BUDGET}; ${candidates.length} candidates within it\n`,
);
console.log(header);
console.log(row(`default ${LABEL_FREE_ENSEMBLE.name}`, base));
for (const c of candidates.slice(0, 10)) console.log(row(c.rule.name, c.r));
const chosen = candidates[0].rule;
console.log(`\nchosen on A: ${chosen.name}\n`);
for (const s of ['B', 'all']) {
  console.log(`## Sample ${s} (${samples[s].length} cells)\n\n${header}`);
  console.log(row(`default ${LABEL_FREE_ENSEMBLE.name}`, evaluate(LABEL_FREE_ENSEMBLE, samples[s])));
  console.log(row(`chosen ${chosen.name}`, evaluate(chosen, samples[s])));
  console.log('');
}
