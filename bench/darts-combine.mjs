// Combinations of two DARTS proxy networks' SWAP scores (docs/ranking-study.md, "A proxy network for both kinds
// of DARTS data"), read from bench/space-study.mjs measurement caches: Spearman ρ of each alone, of log-products
// (weights w on the second), of the population rank aggregation Σ ln(rank/N) and of the plain sum.
//
//   node bench/darts-combine.mjs --cache runs/darts/cache --first <pair cache file> --second <5-cell cache file> [--table csv]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { spearman } from '../dist/stats/rank.js';

const { values: a } = parseArgs({
  options: {
    cache: { type: 'string' },
    first: { type: 'string' },
    second: { type: 'string' },
    table: { type: 'string' },
  },
});
const table = spaceEntry('darts').loadTable(a.table);
const load = (f) =>
  new Map(
    readFileSync(join(a.cache, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .map((m) => [m.arch, m.swap]),
  );
const P = load(a.first);
const F = load(a.second);
const archs = [...P.keys()].filter((x) => F.has(x) && table.get(x));
const y = archs.map((x) => table.get(x).truth.cifar10);
const p = archs.map((x) => P.get(x));
const f = archs.map((x) => F.get(x));
const lnRank = (v) => {
  const r = new Array(v.length);
  v.map((_, i) => i)
    .sort((i, j) => v[i] - v[j])
    .forEach((i, k) => {
      r[i] = Math.log((k + 1) / v.length);
    });
  return r;
};
const lp = lnRank(p);
const lf = lnRank(f);
const out = { n: archs.length, first: spearman(p, y), second: spearman(f, y) };
for (const w of [0.25, 0.5, 1, 2])
  out[`logProduct_w${w}`] = spearman(
    p.map((x, i) => Math.log(x) + w * Math.log(f[i])),
    y,
  );
out.rankAggregation = spearman(
  lp.map((x, i) => x + lf[i]),
  y,
);
out.sum = spearman(
  p.map((x, i) => x + f[i]),
  y,
);
console.log(JSON.stringify(out, (_, v) => (typeof v === 'number' && !Number.isInteger(v) ? +v.toFixed(3) : v)));
