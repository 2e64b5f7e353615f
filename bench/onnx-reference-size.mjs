// How the size of a user's reference set moves the ensemble's ranking of ONNX models: the rows of
// bench/onnx-reference-rank.mjs (each scored model's members) re-ranked against reference sets of k models drawn
// from those same rows (5 seeded draws per k; in-sample, as AZ-NAS ranks a population against itself), Spearman ρ
// against the table's first target. No pass: the members are read from the rows.
//
//   node bench/onnx-reference-size.mjs bench/raw/onnx-reference/onnx-rows-reinit.jsonl.gz [--space nb201]
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { ensembleScore, referenceColumn } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE as rule } from '../dist/proxies/fitted-rule.js';
import { spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { space: { type: 'string', default: 'nb201' }, draws: { type: 'string', default: '5' } },
});
const bytes = readFileSync(positionals[0]);
const text = (positionals[0].endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
const rows = text
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const table = spaceEntry(a.space).loadTable();
const target = table.targets[0];
const truth = new Map(table.records.map((r) => [r.arch, r.truth[target]]));
const y = rows.map((r) => truth.get(r.arch));
const members = [...new Set(rule.members)];
const value = rows.map((r) => r.results[0].members);
const rho = (pick) => {
  const cols = Object.fromEntries(members.map((m) => [m, referenceColumn(pick.map((i) => value[i][m]))]));
  return spearman(
    value.map((v) => ensembleScore(rule, v, cols)),
    y,
  );
};
console.log(`${rows.length} models, ρ against ${target}, reference sets drawn from the same models`);
console.log('| reference models | ρ per draw | mean |');
console.log('| ---: | --- | ---: |');
for (const k of [32, 64, 128, 256, rows.length].filter((k) => k <= rows.length)) {
  const rhos = [];
  for (let s = 0; s < Number(a.draws); s++) {
    const idx = rows.map((_, i) => i);
    const rng = new Rng(s);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    rhos.push(rho(idx.slice(0, k)));
    if (k === rows.length) break;
  }
  const mean = rhos.reduce((s, v) => s + v, 0) / rhos.length;
  console.log(`| ${k} | ${rhos.map((v) => v.toFixed(3)).join(', ')} | ${mean.toFixed(3)} |`);
}
