// How far can any rule over the fitted rule's 16 members go on one space's own labels? (issue 14, session 17)
// A diagnostic, not a rule: ridge fits of the same terms as `ensemble-fit` (each member's ln F̂ and −ln(1 − F̂)
// against the space's shipped reference set), chosen and scored by seeded 5-fold cross-validation on the space's
// own accuracies — labels the data-free default never sees. If even this label-fitted ceiling stays below a goal,
// no reweighting of these members can meet it there; the members themselves must carry more.
//
//   node dist/cli/swapnas.cjs score --space darts --archs <the NB301 table's 725 genotypes> --format jsonl -o nb301.jsonl
//   node bench/rule-ceiling.mjs --rows nb301.jsonl --space darts --reference-target cifar10 --target cifar10
//   (committed rows: docs/ensemble-study/fit/ceiling/nb301-rows.jsonl.gz; TNB101: --space tnb101-micro
//    --reference-target class_scene --target <task>, rows docs/ensemble-study/fit/tnb101-default/px256.jsonl.gz;
//    another table of the space's format: --table FILE)
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { FITTED_MEMBERS } from '../dist/proxies/fitted-rule.js';
import { readShippedReferences } from '../dist/score/shipped-reference.js';
import { spearman } from '../dist/stats/rank.js';
import { FIT_OPTIONS, fitRankRule } from '../dist/study/rule-fit.js';
import { readJsonl } from './all-cell-values.mjs';

const { values: a } = parseArgs({
  options: {
    rows: { type: 'string' },
    space: { type: 'string' },
    'reference-target': { type: 'string' },
    target: { type: 'string', multiple: true },
    table: { type: 'string' },
  },
});
if (!a.rows || !a.space || !a.target) throw new Error('--rows, --space and --target are required');
// accuracies from the space's table (the rows may be packed ones without a truth column)
const table = spaceEntry(a.space).loadTable(a.table);
const rows = readJsonl(a.rows)
  .map((r) => ({ ...r, truth: table.get(r.arch)?.truth }))
  .filter((r) => a.target.every((t) => Number.isFinite(r.truth?.[t])));
const set = readShippedReferences().find(
  (s) => s.identity.space === a.space && s.identity.settings.target === (a['reference-target'] ?? a.target[0]),
);
if (!set) throw new Error(`no shipped reference set for ${a.space}`);
const reference = set.reference.values;
const cells = rows.map((r) => ({ values: r.ensemble.members, targets: a.target.map((t) => r.truth[t]) }));
const rho = (xs, t) =>
  spearman(
    xs.map((x) => (Number.isFinite(x) ? x : -1e300)),
    rows.map((r) => r.truth[t]),
  );

console.log(
  `${rows.length} ${a.space} rows, target ${a.target.join(' + ')}; reference ${set.identity.size} of seed ${set.identity.seed}`,
);
for (const t of a.target) {
  console.log(
    `\n${t}: the shipped rule (${rows[0].settings?.ensemble?.rule ?? 'rows’ fitness'}) ρ ${rho(
      rows.map((r) => r.ensemble.fitness),
      t,
    ).toFixed(3)}`,
  );
  const singles = FITTED_MEMBERS.map((m) => [
    m,
    rho(
      rows.map((r) => r.ensemble.members[m] ?? Number.NaN),
      t,
    ),
  ]);
  singles.sort((x, y) => y[1] - x[1]);
  console.log(`  members: ${singles.map(([m, v]) => `${m} ${v.toFixed(3)}`).join(', ')}`);
}
const variants = {
  'plain ridge (toward zero)': { ...FIT_OPTIONS, prior: undefined, choose: 'top', topWeights: [1] },
  'shrunk toward the label-free ensemble (FIT_OPTIONS)': FIT_OPTIONS,
};
for (const [name, o] of Object.entries(variants)) {
  const fit = fitRankRule('ceiling', cells, reference, o);
  const best = fit.trials.reduce((x, y) => (y.cvRho > x.cvRho ? y : x));
  console.log(
    `\n${name}: 5-fold CV ρ (mean over folds${a.target.length > 1 ? ' and targets' : ''}) by λ, top weight ${o.topWeights.join('/')}`,
  );
  for (const t of fit.trials)
    console.log(`  λ ${String(t.lambda).padStart(4)} tw ${t.topWeight}: ${t.cvRho.toFixed(4)}`);
  console.log(
    `  best CV ρ ${best.cvRho.toFixed(4)} (λ ${best.lambda}, top weight ${best.topWeight}); chosen λ ${fit.chosen.lambda}`,
  );
}
