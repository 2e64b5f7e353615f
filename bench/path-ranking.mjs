// The path proxies (src/ir/paths.ts) on every table of the ranking study: Spearman ρ and Kendall τ-b, each with a
// 95 % bootstrap CI, against every target, beside the scored network's parameter count. They read the architecture
// alone, so every cell of every table is computed (NB201 15,625 × 3, NB301 725, NB101 292, TNB101 4,096 × 7), on the
// network each space's default request scores (the proxy network of `score` / `correlate`, pruned where the space
// prunes). A proxy null on a cell (no path reaches the output) is dropped from that proxy's row, as `correlate` drops it.
//
//   node bench/path-ranking.mjs [--resamples 200] [--json out.json] > out.md
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';
import { architectureValues } from './all-cell-values.mjs';
import { PATH_PROXIES } from '../dist/proxies/builtin/paths.js';

const { values: a } = parseArgs({
  options: { resamples: { type: 'string', default: '200' }, json: { type: 'string' } },
});
const R = Number(a.resamples);
const NAMES = [...PATH_PROXIES, 'params'];
const out = {};
console.log('| space | target | n | proxy | Spearman ρ [95 % CI] | Kendall τ-b [95 % CI] |');
console.log('| --- | --- | ---: | --- | --- | --- |');
for (const space of ['nb201', 'darts', 'nb101', 'tnb101-micro']) {
  const entry = spaceEntry(space);
  const table = entry.loadTable();
  const of = await architectureValues(space, NAMES);
  const values = table.records.map((rec) => of(rec.arch));
  for (const target of table.targets) {
    const rows = table.records.map((r, i) => [r.truth[target], values[i]]).filter(([t]) => Number.isFinite(t));
    for (const name of NAMES) {
      // A null (no path reaches the output) is dropped, as `correlate` drops a proxy's nulls.
      const keep = rows.filter(([, v]) => v[name] !== null);
      const [x, y] = [keep.map(([, v]) => v[name]), keep.map(([t]) => t)];
      const ci = (stat) => bootstrapCI(x, y, stat, { resamples: R, rng: new Rng(1) });
      const rho = spearman(x, y);
      const tau = kendallTauB(x, y);
      const [cr, ct] = [ci(spearman), ci(kendallTauB)];
      out[`${space}/${target}/${name}`] = { n: y.length, rho, rhoCI: [cr.low, cr.high], tau, tauCI: [ct.low, ct.high] };
      const f = (v) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
      console.log(
        `| ${table.name} | ${target} | ${y.length} | ${name === 'params' ? 'params (scored net)' : name} | ${f(rho)} [${f(cr.low)}, ${f(cr.high)}] | ${f(tau)} [${f(ct.low)}, ${f(ct.high)}] |`,
      );
    }
  }
}
if (a.json) writeFileSync(a.json, `${JSON.stringify({ resamples: R, rows: out }, null, 1)}\n`);
