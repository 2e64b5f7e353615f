// Which of the graph-path proxies (src/ir/paths.ts) join the fitted rule's members (docs/ensemble-study.md, "Path
// members"): every subset of the four candidates is added to the 16 suite members and fitted on NB201 sample A
// exactly as `--fitness ensemble-fit` is (FIT_OPTIONS, the 256-cell reference set). The subset is chosen by sample
// A's cross-validated ρ alone (the best trial's; ties: fewer members). The other columns are reported, not used:
// all 15,625 NB201 cells, NB301's 725 genotypes and the 7 TransNAS-Bench-101 micro tasks (all 4,096 cells at the
// shipped 256 px, against params), each ranked against its space's shipped reference set as `score` ranks.
//
//   node bench/path-members-study.mjs [--json out.json] > out.md
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { PATH_PROXIES } from '../dist/proxies/builtin/paths.js';
import { ensembleScore, referenceColumn } from '../dist/proxies/ensemble.js';
import { PASS_MEMBERS } from '../dist/proxies/fitted-rule.js';
import { spearman } from '../dist/stats/rank.js';
import { FIT_OPTIONS, fitRankRule } from '../dist/study/rule-fit.js';
import { architectureValues, loadFitCellValues, NB201_TARGETS, readJsonl } from './all-cell-values.mjs';

const { values: a } = parseArgs({ options: { json: { type: 'string' } } });
const CANDIDATES = PATH_PROXIES;
const BASE = PASS_MEMBERS;

const nb201 = await architectureValues('nb201');
const darts = await architectureValues('darts');
const tnb = await architectureValues('tnb101-micro');

const table = spaceEntry('nb201').loadTable();
const A = readJsonl('docs/ensemble-study/fit/A-members.jsonl.gz').map((r) => ({
  values: { ...r.proxies, ...nb201(r.arch) },
  targets: NB201_TARGETS.map((d) => table.get(r.arch).truth[d]),
}));
const ref201 = readJsonl('docs/ensemble-study/fit/ref-members.jsonl.gz').map((r) => ({
  ...r.proxies,
  ...nb201(r.arch),
}));
const all201 = await loadFitCellValues();
for (const [arch, v] of all201) Object.assign(v, nb201(arch));
const shipped = JSON.parse(gunzipSync(readFileSync('data/ensemble-references.json.gz'))).sets;
/** A space's shipped reference set as rows of member values, path candidates added. */
function shippedRows(space, paths) {
  const set = shipped.find((s) => s.identity.space === space).reference;
  return set.archs.map((arch, i) => ({
    ...Object.fromEntries(BASE.map((m) => [m, set.values[m][i]])),
    ...paths(arch),
  }));
}
const refDarts = shippedRows('darts', darts);
const refTnb = shippedRows('tnb101-micro', tnb);
const nb301Table = spaceEntry('darts').loadTable();
const nb301Rows = readJsonl('docs/ensemble-study/fit/ceiling/nb301-rows.jsonl.gz');
const nb301 = nb301Rows.map((r) => ({ ...r.ensemble.members, ...darts(r.arch) }));
const nb301Acc = nb301Rows.map((r) => nb301Table.get(r.arch).truth.cifar10);
const tnbEntry = spaceEntry('tnb101-micro');
const tnbTable = tnbEntry.loadTable();
const tnbRows = readJsonl('docs/ensemble-study/fit/tnb101-default/px256.jsonl.gz').map((r) => ({
  arch: r.arch,
  values: { ...r.ensemble.members, ...tnb(r.arch) },
}));

const columnsOf = (rows, members) =>
  Object.fromEntries(members.map((m) => [m, referenceColumn(rows.map((r) => r[m] ?? null))]));

/** Spearman ρ of a rule's fitness against the truth on each evaluation set. */
function evaluate(rule) {
  const c201 = columnsOf(ref201, rule.members);
  const archs = [...all201.keys()];
  const f201 = archs.map((x) => ensembleScore(rule, all201.get(x), c201));
  const nb = NB201_TARGETS.map((d) =>
    spearman(
      f201,
      archs.map((x) => table.get(x).truth[d]),
    ),
  );
  const cD = columnsOf(refDarts, rule.members);
  const d301 = spearman(
    nb301.map((v) => ensembleScore(rule, v, cD)),
    nb301Acc,
  );
  const cT = columnsOf(refTnb, rule.members);
  const fT = new Map(tnbRows.map((r) => [r.arch, ensembleScore(rule, r.values, cT)]));
  const tasks = tnbEntry.targets.map((t) => {
    const keep = tnbRows.filter((r) => Number.isFinite(tnbTable.get(r.arch)?.truth[t]));
    const ys = keep.map((r) => tnbTable.get(r.arch).truth[t]);
    const rho = spearman(
      keep.map((r) => fT.get(r.arch)),
      ys,
    );
    const params = spearman(
      keep.map((r) => r.values.params),
      ys,
    );
    return { task: t, rho, params };
  });
  return { nb201: nb, nb301: d301, tnb101: tasks };
}

const results = [];
for (let mask = 0; mask < 1 << CANDIDATES.length; mask++) {
  const subset = CANDIDATES.filter((_, i) => mask & (1 << i));
  const members = [...BASE, ...subset];
  const reference = Object.fromEntries(members.map((m) => [m, ref201.map((r) => r[m] ?? null)]));
  const fit = fitRankRule(`paths-${mask}`, A, reference, { ...FIT_OPTIONS, members });
  const bestCv = Math.max(...fit.trials.map((t) => t.cvRho));
  results.push({ subset, bestCv, chosen: fit.chosen, rule: fit.rule, ...evaluate(fit.rule) });
  process.stderr.write(`\r${results.length}/${1 << CANDIDATES.length} subsets`);
}
process.stderr.write('\n');
const best = [...results].sort((x, y) => y.bestCv - x.bestCv || x.subset.length - y.subset.length)[0];
const f3 = (v) => v.toFixed(3);
console.log(
  '| path members added | A: best CV ρ (choice) | chosen λ / top weight | NB201 all ρ C10 / C100 / IN16 | NB301 ρ | TNB101 tasks above params | TNB101 ρ − params per task |',
);
console.log('| --- | ---: | --- | --- | ---: | ---: | --- |');
for (const r of results) {
  const above = r.tnb101.filter((t) => t.rho > t.params).length;
  const name = r.subset.length ? r.subset.join(', ') : '(none: the 16 suite members)';
  console.log(
    `| ${r === best ? `**${name}**` : name} | ${r.bestCv.toFixed(4)} | ${r.chosen.lambda} / ${r.chosen.topWeight} | ${r.nb201.map(f3).join(' / ')} | ${f3(r.nb301)} | ${above} of 7 | ${r.tnb101.map((t) => (t.rho - t.params).toFixed(3)).join(' ')} |`,
  );
}
console.log(`\nTNB101 tasks: ${tnbEntry.targets.join(', ')}`);
console.log(`chosen (best CV ρ on A): ${best.subset.join(', ') || 'none'}`);
console.log(`members: ${JSON.stringify(best.rule.members.slice(0, best.rule.members.length / 2))}`);
console.log(`weights: ${JSON.stringify(best.rule.weights.map((w) => Number(w.toPrecision(6))))}`);
if (a.json)
  writeFileSync(
    a.json,
    `${JSON.stringify({ candidates: CANDIDATES, options: FIT_OPTIONS, results, chosen: best.subset }, null, 1)}\n`,
  );
