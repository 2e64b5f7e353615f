// The ensemble fitness on TransNAS-Bench-101 micro (issue 14): Spearman ρ and Kendall τ-b (bootstrap 95% CIs) of the
// rows' headline fitness (whichever ensemble `score` ran: the default ensemble-fit or `--fitness ensemble`), three
// of its members, SWAP and the scored network's parameter count against each of the 7 tasks' validation metric, from
// `score --format jsonl` rows (one measurement on the default class_scene network). With `--noprune FILE` (rows with
// `proxies.params` of the network with its dead edges kept, as NASLib counts them) that count is reported too, and
// the last column is the headline minus the better of the two counts.
//
//   ls chunks/*.jsonl | xargs node bench/tnb101-ensemble.mjs [--resamples 200] [--noprune FILE.jsonl.gz]
//   node bench/tnb101-ensemble.mjs docs/ensemble-study/fit/tnb101-default/px256.jsonl.gz \
//     --noprune docs/ranking-study/tnb101-noprune-all4096.jsonl.gz        # the committed rows of the default
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';
import { readJsonl } from './all-cell-values.mjs';

const { values: a, positionals } = parseArgs({
  options: { resamples: { type: 'string', default: '200' }, noprune: { type: 'string' } },
  allowPositionals: true,
});
const entry = spaceEntry('tnb101-micro');
const table = entry.loadTable();
const tasks = entry.targets;
// plain `score` rows, or the packed rows committed under docs/ (gzipped; settings in the first row only)
const rows = positionals.flatMap((f) => readJsonl(f));
const resamples = Number(a.resamples);
const low = (x) => (x === null || x === undefined || !Number.isFinite(x) ? -1e300 : x);
const noprune = a.noprune ? new Map(readJsonl(a.noprune).map((r) => [r.arch, r.proxies.params])) : undefined;
const columns = {
  [rows[0]?.settings?.ensemble?.rule ?? 'ensemble']: (r) => r.ensemble.fitness,
  'reg-swap': (r) => r.regSwap,
  meco: (r) => r.ensemble.members.meco,
  az_trainability: (r) => r.ensemble.members.az_trainability,
  swap: (r) => r.swap,
  'params (scored network)': (r) => r.params,
  ...(noprune ? { 'params (dead edges kept)': (r) => noprune.get(r.arch) } : {}),
};
const paramCols = Object.keys(columns).filter((k) => k.startsWith('params'));
const headline = Object.keys(columns)[0];
const f = (c) => `${c.estimate.toFixed(3)} [${c.low.toFixed(3)}, ${c.high.toFixed(3)}]`;
console.log(
  `${rows.length} cells; rule ${rows[0]?.settings?.ensemble?.rule}; reference ${JSON.stringify(rows[0]?.settings?.ensemble?.reference)?.slice(0, 300)}`,
);
console.log(`| task | ${Object.keys(columns).join(' | ')} | ${headline} − best params |`);
console.log(
  `|---|${Object.keys(columns)
    .map(() => '---')
    .join('|')}|---|`,
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
  const margin = summary[t][headline].rho.estimate - Math.max(...paramCols.map((k) => summary[t][k].rho.estimate));
  console.log(`| ${t} | ${cells.join(' | ')} | ${margin >= 0 ? '+' : ''}${margin.toFixed(3)} |`);
}
console.error(JSON.stringify(summary));
