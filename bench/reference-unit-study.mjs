// Does the reference set's sampling unit matter? (issue 14, session 17.) The shipped reference sets hold 256
// distinct *isomorphism classes* drawn by the space's sampler (src/score/reference-set.ts). This re-ranks committed
// member values of every cell against (a) those 256 classes, (b) the first 256 distinct *cells* the same seeded
// sampler draws (seeds 1–3), (c) every cell, with the unchanged ensemble-fit weights, on NB201 (all 15,625 cells,
// the choosing space) and TransNAS-Bench-101 micro (all 4,096 cells at 256 and 64 px, rows of `score`).
//
//   node bench/reference-unit-study.mjs > docs/ensemble-study/fit/tnb101-default/reference-unit.txt
import { loadFitCellValues, NB201_TARGETS, readJsonl } from './all-cell-values.mjs';
import { spaceEntry } from '../dist/catalog/registry.js';
import { ensembleScore, memberNames, referenceColumn } from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../dist/proxies/fitted-rule.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';

const members = memberNames(FITTED_ENSEMBLE);

/** The first 256 distinct cells (by arch string) the space's sampler draws from `seed`. */
function distinctCells(space, seed, size = 256) {
  const rng = new Rng(seed);
  const seen = new Set();
  const out = [];
  while (out.length < size) {
    const x = space.format(space.sample(rng));
    if (!seen.has(x)) seen.add(x) && out.push(x);
  }
  return out;
}

/** ρ per target of the fitness of every cell against the reference made of `refArchs`' values. */
function study(name, space, values, targets, baseline) {
  const archs = [...values.keys()];
  const ys = targets.map((t) => archs.map((x) => t.of(x)));
  const base = baseline && ys.map((y) => spearman(archs.map(baseline), y));
  console.log(
    `\n${name}: ${archs.length} cells, ${new Set(archs.map((x) => space.canonicalKey(space.parse(x)))).size} isomorphism classes`,
  );
  console.log(`| reference | ${targets.map((t) => t.name).join(' | ')} |${base ? ' above params |' : ''}`);
  console.log(`| --- |${targets.map(() => ' ---: |').join('')}${base ? ' ---: |' : ''}`);
  if (base) console.log(`| params | ${base.map((v) => v.toFixed(3)).join(' | ')} | |`);
  const row = (label, refArchs) => {
    const cols = Object.fromEntries(
      members.map((m) => [m, referenceColumn(refArchs.map((x) => values.get(x)[m] ?? null))]),
    );
    const s = archs.map((x) => ensembleScore(FITTED_ENSEMBLE, values.get(x), cols));
    const rho = ys.map((y) => spearman(s, y));
    const above = base ? ` ${rho.filter((v, i) => v > base[i]).length} of ${rho.length} |` : '';
    console.log(`| ${label} | ${rho.map((v) => v.toFixed(3)).join(' | ')} |${above}`);
  };
  row(
    '256 isomorphism classes (shipped)',
    referenceGenotypes(space).map((g) => space.format(g)),
  );
  for (const seed of [1, 2, 3]) row(`256 distinct cells, seed ${seed}`, distinctCells(space, seed));
  row('every cell', archs);
}

const nb201 = spaceEntry('nb201');
const nbTable = nb201.loadTable();
study(
  'NB201 (member values: docs/ensemble-study/fit/, the fitness settings)',
  nb201.space,
  await loadFitCellValues(),
  NB201_TARGETS.map((d) => ({ name: d, of: (x) => nbTable.get(x).truth[d] })),
);
const tnb = spaceEntry('tnb101-micro');
const tnbTable = tnb.loadTable();
for (const px of [256, 64]) {
  const rows = readJsonl(`docs/ensemble-study/fit/tnb101-default/px${px}.jsonl.gz`);
  const values = new Map(rows.map((r) => [r.arch, r.ensemble.members]));
  const params = new Map(rows.map((r) => [r.arch, r.params]));
  study(
    `TNB101 at ${px} px (docs/ensemble-study/fit/tnb101-default/px${px}.jsonl.gz)`,
    tnb.space,
    values,
    tnb.targets.map((t) => ({ name: t, of: (x) => tnbTable.get(x).truth[t] })),
    (x) => params.get(x),
  );
}
