// The fitted rule of docs/ensemble-study.md ("A fitted rule", issue 14): chosen on NB201 sample A only, from member
// values measured at the fitness's own settings (docs/ensemble-study/fit/A-members and ref-members, the 256-cell
// reference set; bench/ensemble-members-measure.mjs). Prints the cross-validation trials and the chosen rule.
//
//   node bench/ensemble-fit-study.mjs [--json docs/ensemble-study/fit/choice.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { FIT_OPTIONS, fitRankRule } from '../dist/study/rule-fit.js';
import { NB201_TARGETS, readJsonl } from './all-cell-values.mjs';

const { values: a } = parseArgs({ options: { json: { type: 'string' } } });
const table = spaceEntry('nb201').loadTable();
const cells = readJsonl('docs/ensemble-study/fit/A-members.jsonl.gz').map((r) => ({
  values: r.proxies,
  targets: NB201_TARGETS.map((d) => table.get(r.arch).truth[d]),
}));
const ref = readJsonl('docs/ensemble-study/fit/ref-members.jsonl.gz');
const reference = Object.fromEntries(FIT_OPTIONS.members.map((m) => [m, ref.map((r) => r.proxies[m] ?? null)]));
const fit = fitRankRule('fitted-A', cells, reference, FIT_OPTIONS);
for (const t of fit.trials)
  console.log(
    `λ ${String(t.lambda).padStart(4)}  top weight ${String(t.topWeight).padStart(2)}  CV ρ ${t.cvRho.toFixed(4)}  CV top-${FIT_OPTIONS.topK} acc ${t.cvTop.toFixed(3)}`,
  );
console.log(`chosen: λ ${fit.chosen.lambda}, top weight ${fit.chosen.topWeight}`);
console.log(JSON.stringify(fit.rule.weights));
if (a.json) writeFileSync(a.json, `${JSON.stringify({ options: FIT_OPTIONS, ...fit }, null, 1)}\n`);
