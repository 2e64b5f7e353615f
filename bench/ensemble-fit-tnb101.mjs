// The fitted rule (`--fitness ensemble-fit`, chosen on NB201 sample A) on TransNAS-Bench-101 micro, all 4,096 cells ×
// 7 tasks, from the committed suite values at 64 px (docs/ranking-study/tnb101-suite-swap64.jsonl.gz; SWAP / reg-SWAP
// at the same 64 px from tnb101-regswap64-all4096.jsonl.gz). The reference set here is the whole space (AZ-NAS's
// population form; `score` would rank against its 256-cell reference set at the tasks' 256 px, which this run does
// not measure). Beside it: the label-free ensemble from the same values, and params of the scored network.
//
//   node bench/ensemble-fit-tnb101.mjs [--json out.json] > out.md
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { LABEL_FREE_ENSEMBLE, memberNames, populationLogRank } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../dist/proxies/fitted-rule.js';
import { spearman } from '../dist/stats/rank.js';
import { readJsonl } from './all-cell-values.mjs';

const { values: a } = parseArgs({ options: { json: { type: 'string' } } });
const TASKS = ['class_scene', 'class_object', 'jigsaw', 'room_layout', 'segmentsemantic', 'normal', 'autoencoder'];
const values = new Map(
  readJsonl('docs/ranking-study/tnb101-suite-swap64.jsonl.gz').map((r) => [r.arch, { ...r.proxies }]),
);
for (const r of readJsonl('docs/ranking-study/tnb101-regswap64-all4096.jsonl.gz')) {
  const v = values.get(r.arch);
  if (v) Object.assign(v, { swap: r.swap, 'reg-swap': r.regSwap });
}
const archs = [...values.keys()];
const table = spaceEntry('tnb101-micro').loadTable();
const truth = (task) => archs.map((x) => table.get(x).truth[task]);

/** A rule's fitness over the population of all cells (each member ranked among them). */
function population(rule) {
  const cols = memberNames(rule).map((m) => archs.map((x) => values.get(x)[m] ?? null));
  const index = new Map(memberNames(rule).map((m, i) => [m, i]));
  return populationLogRank(
    rule.members.map((m) => cols[index.get(m)]),
    rule.weights,
    rule.forms,
  );
}
const scores = {
  'ensemble-fit': population(FITTED_ENSEMBLE),
  'ensemble (label-free)': population(LABEL_FREE_ENSEMBLE),
  params: archs.map((x) => values.get(x).params),
};
const out = {};
console.log(`| task | n | ${Object.keys(scores).join(' | ')} | ensemble-fit − params |`);
console.log(
  `| --- | ---: | ${Object.keys(scores)
    .map(() => '---:')
    .join(' | ')} | ---: |`,
);
for (const task of TASKS) {
  const t = truth(task);
  out[task] = Object.fromEntries(Object.entries(scores).map(([k, s]) => [k, spearman(s, t)]));
  const r = out[task];
  console.log(
    `| ${task} | ${archs.length} | ${Object.values(r)
      .map((v) => v.toFixed(3))
      .join(' | ')} | ${(r['ensemble-fit'] - r.params).toFixed(3)} |`,
  );
}
if (a.json) writeFileSync(a.json, `${JSON.stringify(out, null, 1)}\n`);
