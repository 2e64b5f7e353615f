// Links the offline all-cell numbers of bench/ensemble-fit-eval.mjs to what `score --fitness ensemble-fit` gives: for
// every row of a `score` JSON-lines output (default NB201 settings), the fitness computed offline from the committed
// member values and reference set (docs/ensemble-study/fit/) beside the CLI's, and each member's largest difference.
//
//   node dist/cli/main.js score --space nb201 --fitness ensemble-fit --format jsonl <archs…> > rows.jsonl
//   node bench/ensemble-fit-cli-check.mjs rows.jsonl
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ensembleScore, memberNames, referenceColumn } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../dist/proxies/fitted-rule.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';

const rows = (f) =>
  gunzipSync(readFileSync(f))
    .toString()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const cli = new Map(
  readFileSync(process.argv[2], 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => [r.arch, r.ensemble]),
);
const v = new Map();
for (const f of [
  'docs/ensemble-study/all-cells-members.jsonl.gz',
  'docs/ensemble-study/all-cells-plain.jsonl.gz',
  'docs/ensemble-study/fit/all-cells-suite.jsonl.gz',
])
  for (const r of rows(f)) if (cli.has(r.arch)) v.set(r.arch, { ...v.get(r.arch), ...r.proxies });
const { mu, sigma } = (await resolveScoringRequest({ space: 'nb201' })).request.regulariser;
for (const r of rows('docs/ranking-study/nb201-default-all15625.jsonl.gz'))
  if (cli.has(r.arch))
    Object.assign(v.get(r.arch), {
      swap: r.swap,
      params: r.params,
      'reg-swap': r.swap * regFactor(r.params / 1000, mu, sigma),
    });
const ref = rows('docs/ensemble-study/fit/ref-members.jsonl.gz');
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
