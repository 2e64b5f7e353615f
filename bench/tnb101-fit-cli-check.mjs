// Links the TransNAS-Bench-101 rows of bench/path-members-study.mjs to what `score` gives: for the listed cells, the
// default fitness computed offline from the committed 256 px member rows (docs/ensemble-study/fit/tnb101-default/
// px256.jsonl.gz), the path members and the shipped reference set, beside the CLI's fitness of the same cells.
//
//   node dist/cli/swapnas.cjs score --space tnb101-micro --format jsonl --threads 2 <archs…> > rows.jsonl
//   node bench/tnb101-fit-cli-check.mjs rows.jsonl
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { ensembleScore, memberNames, referenceColumn } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE, PATH_MEMBERS } from '../dist/proxies/fitted-rule.js';
import { runProxies } from '../dist/proxies/run.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';
import { readJsonl } from './all-cell-values.mjs';

const entry = spaceEntry('tnb101-micro');
const { request } = await resolveScoringRequest({ space: 'tnb101-micro', prune: true, seed: 0, reg: true });
const paths = (arch) => {
  const got = runProxies(entry.space.build(entry.space.parse(arch), request.network), PATH_MEMBERS, {
    protocol: 'official',
    seed: 0,
  }).values;
  return Object.fromEntries(PATH_MEMBERS.map((m) => [m, got[m].value]));
};
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
