// Why depth costs on SWAP's DARTS set (docs/ranking-study.md, "A default proxy network for both kinds of DARTS
// data"): from bench/darts-network-study.mjs caches of several networks on the same rows, per number of
// parameter-free edges (skip, pools, none) in the normal cell: rows, mean accuracy, each network's mean Ψ and mean
// MeCo as a rank fraction (0 = lowest of the rows, 1 = highest) and ρ of Ψ with accuracy within the group; then
// ρ of Ψ and of MeCo with the parameter-free count, ρ of each with accuracy per accuracy quartile, and per cell
// feature (op counts, convs on input vs node edges, longest path) its ρ with accuracy and with each Ψ within the groups.
//
//   node bench/darts-depth-why.mjs [--table swap-darts.csv] --cache name=file.jsonl [--cache …]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { spearman } from '../dist/stats/rank.js';

const { values: a } = parseArgs({ options: { table: { type: 'string' }, cache: { type: 'string', multiple: true } } });
const entry = spaceEntry('darts');
const table = entry.loadTable(a.table);
const FREE = new Set(['skip_connect', 'max_pool_3x3', 'avg_pool_3x3', 'none']);
const nets = (a.cache ?? []).map((c) => {
  const [name, file] = c.split('=');
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return { name, values: new Map(rows.map((r) => [r.arch, r])) };
});
const archs = [...nets[0].values.keys()].filter((x) => nets.every((n) => n.values.has(x)));
const acc = archs.map((x) => table.get(x).truth.cifar10);
const free = archs.map((x) => entry.space.parse(x).normal.filter(([op]) => FREE.has(op)).length);
const f3 = (v) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));
const rankFraction = (v) => {
  const idx = v.map((_, i) => i).sort((i, j) => v[i] - v[j]);
  const r = new Array(v.length);
  idx.forEach((i, k) => (r[i] = k / (v.length - 1)));
  return r;
};
const col = (n, m) => archs.map((x) => n.values.get(x)[m] ?? -Infinity);
const rho = (idx, v) =>
  idx.length < 5
    ? null
    : spearman(
        idx.map((i) => v[i]),
        idx.map((i) => acc[i]),
      );

console.log(`rows ${archs.length}; networks ${nets.map((n) => n.name).join(', ')}`);
const head = nets.map((n) => `${n.name} Ψ rank | ${n.name} MeCo rank | ${n.name} ρ Ψ`).join(' | ');
console.log(`\n| free edges (normal) | n | mean acc | ${head} |\n|${' --- |'.repeat(3 + 3 * nets.length)}`);
const psiRank = nets.map((n) => rankFraction(col(n, 'swap')));
const mecoRank = nets.map((n) => rankFraction(col(n, 'meco')));
for (let k = 0; k <= 8; k++) {
  const idx = archs.map((_, i) => i).filter((i) => free[i] === k);
  if (idx.length === 0) continue;
  const mean = (v) => idx.reduce((s, i) => s + v[i], 0) / idx.length;
  const cells = nets.map(
    (n, j) => `${f3(mean(psiRank[j]))} | ${f3(mean(mecoRank[j]))} | ${f3(rho(idx, col(n, 'swap')))}`,
  );
  console.log(`| ${k} | ${idx.length} | ${mean(acc).toFixed(1)} | ${cells.join(' | ')} |`);
}
console.log(`\nρ(accuracy, free edges) = ${f3(spearman(acc, free))}`);
for (const n of nets)
  console.log(
    `${n.name}: ρ(Ψ, free edges) = ${f3(spearman(col(n, 'swap'), free))}, ρ(MeCo, free edges) = ${f3(spearman(col(n, 'meco'), free))}`,
  );
const sorted = [...acc].sort((p, q) => p - q);
const cut = [0.25, 0.5, 0.75].map((q) => sorted[Math.floor(q * sorted.length)]);
console.log(
  `\n| accuracy quartile | n | ${nets.map((n) => `${n.name} ρ Ψ | ${n.name} ρ MeCo`).join(' | ')} |\n|${' --- |'.repeat(2 + 2 * nets.length)}`,
);
[-Infinity, ...cut].forEach((lo, q) => {
  const hi = q < 3 ? cut[q] : Infinity;
  const idx = archs.map((_, i) => i).filter((i) => acc[i] >= lo && acc[i] < hi);
  const cells = nets.map((n) => `${f3(rho(idx, col(n, 'swap')))} | ${f3(rho(idx, col(n, 'meco')))}`);
  console.log(
    `| Q${q + 1} [${f3(acc[idx[0]] === undefined ? NaN : Math.min(...idx.map((i) => acc[i])))}, ${f3(Math.max(...idx.map((i) => acc[i])))}] | ${idx.length} | ${cells.join(' | ')} |`,
  );
});

// Which cell features decide accuracy within groups of equal parameter-free count, and which ones each network's
// Ψ follows: ρ with accuracy over all rows, then the row-weighted mean ρ within the groups (groups of ≥ 10 rows).
const CELL_FEATURES = {
  sep: (c) => c.filter(([o]) => o.startsWith('sep')).length,
  dil: (c) => c.filter(([o]) => o.startsWith('dil')).length,
  k5: (c) => c.filter(([o]) => o.endsWith('5x5')).length,
  skip: (c) => c.filter(([o]) => o === 'skip_connect').length,
  pool: (c) => c.filter(([o]) => o.includes('pool')).length,
  convOnInputs: (c) => c.filter(([o, s]) => !FREE.has(o) && s < 2).length,
  convOnNodes: (c) => c.filter(([o, s]) => !FREE.has(o) && s >= 2).length,
  depth: (c) => longestPath(c, () => 1),
  convDepth: (c) => longestPath(c, (op) => (FREE.has(op) ? 0 : 1)),
};

/** Longest input→node path of a cell, each edge weighing `w(op)`. */
function longestPath(c, w) {
  const d = [0, 0];
  for (let k = 0; k < c.length; k += 2) d.push(Math.max(...[c[k], c[k + 1]].map(([op, s]) => d[s] + w(op))));
  return Math.max(...d.slice(2));
}

/** Row-weighted mean of ρ(feature, y) within the groups of equal parameter-free count. */
function withinGroups(groups, v, y) {
  let s = 0;
  let w = 0;
  for (let k = 0; k <= 8; k++) {
    const idx = archs.map((_, i) => i).filter((i) => groups[i] === k);
    const r =
      idx.length >= 10
        ? spearman(
            idx.map((i) => v[i]),
            idx.map((i) => y[i]),
          )
        : NaN;
    if (Number.isFinite(r)) [s, w] = [s + r * idx.length, w + idx.length];
  }
  return w > 0 ? s / w : NaN;
}

for (const which of ['normal', 'reduce']) {
  const cells = archs.map((x) => entry.space.parse(x)[which]);
  const groups = cells.map((c) => c.filter(([op]) => FREE.has(op)).length);
  const psi = nets.map((n) => col(n, 'swap'));
  console.log(
    `\n${which} cell | ρ(feature, acc) | within groups: ρ(feature, acc) | ${nets.map((n) => `ρ(feature, Ψ ${n.name})`).join(' | ')} |\n|${' --- |'.repeat(3 + nets.length)}`,
  );
  for (const [name, f] of Object.entries(CELL_FEATURES)) {
    const v = cells.map(f);
    const within = [acc, ...psi].map((y) => f3(withinGroups(groups, v, y)));
    console.log(`| ${name} | ${f3(spearman(v, acc))} | ${within.join(' | ')} |`);
  }
}
