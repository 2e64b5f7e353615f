// Links the TransNAS-Bench-101 rows of bench/path-members-study.mjs to what `score` gives: for the listed cells, the
// default fitness computed offline from the committed 256 px member rows (docs/ensemble-study/fit/tnb101-default/
// px256.jsonl.gz), the path members and the shipped reference set, beside the CLI's fitness of the same cells.
//
//   node dist/cli/swapnas.cjs score --space tnb101-micro --format jsonl --threads 2 <archs…> > rows.jsonl
//   node bench/tnb101-fit-cli-check.mjs rows.jsonl
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ensembleScore, memberNames, referenceColumn } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE, PATH_MEMBERS } from '../dist/proxies/fitted-rule.js';
import { architectureValues, readJsonl } from './all-cell-values.mjs';

const paths = await architectureValues('tnb101-micro', PATH_MEMBERS);
const set = JSON.parse(gunzipSync(readFileSync('data/ensemble-references.json.gz'))).sets.find(
  (s) => s.identity.space === 'tnb101-micro',
).reference;
const cols = Object.fromEntries(memberNames(FITTED_ENSEMBLE).map((m) => [m, referenceColumn(set.values[m])]));
const rows = new Map(
  readJsonl('docs/ensemble-study/fit/tnb101-default/px256.jsonl.gz').map((r) => [r.arch, r.ensemble.members]),
);
let worst = 0;
for (const r of readJsonl(process.argv[2])) {
  const offline = ensembleScore(FITTED_ENSEMBLE, { ...rows.get(r.arch), ...paths(r.arch) }, cols);
  const d = Math.abs(offline - r.ensemble.fitness);
  worst = Math.max(worst, d);
  console.log(
    `${r.arch}  cli ${r.ensemble.fitness.toFixed(9)}  offline ${offline.toFixed(9)}  |Δ| ${d.toExponential(2)}`,
  );
}
console.log(`largest |Δ| ${worst.toExponential(2)}`);
