// Links the offline all-cell numbers of bench/ensemble-fit-eval.mjs to what `score --fitness ensemble-fit` gives: for
// every row of a `score` JSON-lines output (default NB201 settings), the fitness computed offline from the committed
// member values and reference set (docs/ensemble-study/fit/) beside the CLI's, and each member's largest difference.
//
//   node dist/cli/main.js score --space nb201 --fitness ensemble-fit --format jsonl <archs…> > rows.jsonl
//   node bench/ensemble-fit-cli-check.mjs rows.jsonl
import { readFileSync } from 'node:fs';
import { ensembleScore, memberNames, referenceColumn } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../dist/proxies/fitted-rule.js';
import { loadFitCellValues, readJsonl } from './all-cell-values.mjs';

const cli = new Map(
  readFileSync(process.argv[2], 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => [r.arch, r.ensemble]),
);
const v = await loadFitCellValues();
const ref = readJsonl('docs/ensemble-study/fit/ref-members.jsonl.gz');
const cols = Object.fromEntries(
  memberNames(FITTED_ENSEMBLE).map((m) => [m, referenceColumn(ref.map((r) => r.proxies[m] ?? null))]),
);
for (const [arch, e] of cli) {
  const x = v.get(arch);
  const rel = (a, b) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300));
  const worst = memberNames(FITTED_ENSEMBLE)
    .map((m) => [m, rel(e.members[m], x[m])])
    .sort((p, q) => q[1] - p[1])[0];
  const off = ensembleScore(FITTED_ENSEMBLE, x, cols);
  console.log(
    `${arch}  CLI ${e.fitness}  offline ${off}  |Δ| ${Math.abs(off - e.fitness).toExponential(1)}  largest member rel. Δ ${worst[0]} ${worst[1].toExponential(1)}`,
  );
}
