// The ensemble fitness on TransNAS-Bench-101 micro (issue 14): Spearman ρ and Kendall τ-b (bootstrap 95% CIs) of the
// ensemble, its members, SWAP and the scored network's parameter count against each of the 7 tasks' validation
// metric, from `score --fitness ensemble --format jsonl` rows (one measurement on the default class_scene network).
//
//   ls chunks/*.jsonl | xargs node bench/tnb101-ensemble.mjs [--resamples 200]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';

const { values: a, positionals } = parseArgs({
  options: { resamples: { type: 'string', default: '200' } },
  allowPositionals: true,
});
const entry = spaceEntry('tnb101-micro');
const table = entry.loadTable();
const tasks = entry.targets;
const rows = positionals.flatMap((f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l)),
);
const resamples = Number(a.resamples);
const low = (x) => (x === null || x === undefined || !Number.isFinite(x) ? -1e300 : x);
const columns = {
  ensemble: (r) => r.ensemble.fitness,
  'reg-swap': (r) => r.regSwap,
  meco: (r) => r.ensemble.members.meco,
  az_trainability: (r) => r.ensemble.members.az_trainability,
  swap: (r) => r.swap,
  'params (scored network)': (r) => r.params,
};
const f = (c) => `${c.estimate.toFixed(3)} [${c.low.toFixed(3)}, ${c.high.toFixed(3)}]`;
console.log(`${rows.length} cells; settings: ${JSON.stringify(rows[0]?.settings?.ensemble?.rule)}`);
console.log(`| task | ${Object.keys(columns).join(' | ')} |`);
console.log(
  `|---|${Object.keys(columns)
    .map(() => '---')
    .join('|')}|`,
);
const summary = {};
for (const t of tasks) {
  const keep = rows.filter((r) => Number.isFinite(table.get(r.arch)?.truth[t]));
  const ys = keep.map((r) => table.get(r.arch).truth[t]);
  const cells = [];
  summary[t] = {};
  for (const [name, col] of Object.entries(columns)) {
    const xs = keep.map((r) => low(col(r)));
    const rho = bootstrapCI(xs, ys, spearman, { resamples, rng: new Rng(1) });
    const tau = bootstrapCI(xs, ys, kendallTauB, { resamples, rng: new Rng(2) });
    summary[t][name] = { rho, tau, n: keep.length };
    cells.push(`${f(rho)}; τ ${tau.estimate.toFixed(3)}`);
  }
  console.log(`| ${t} | ${cells.join(' | ')} |`);
}
console.error(JSON.stringify(summary));
