// Transfer of ensemble rules to other spaces (docs/ensemble-study/rule-study.md, "Transfer"): Spearman ρ of each rule
// (F̂ against the space's 256-cell reference set) and of its members against the benchmark's accuracy, from member
// values measured at the fitness's run-time settings. Rules are evaluated, never chosen, here: the shipped default,
// the rule study's pick on NB201 sample A, and — labelled as such — rules the A criterion rejected.
//
//   node bench/ensemble-rule-transfer.mjs --space nb101 --runs docs/ensemble-study/rule-study/members-nb101 \
//     --truth docs/ranking-study/proxies-swap-nb101-all/proxies.json   # bench/ensemble-members-measure.mjs output
//   node bench/ensemble-rule-transfer.mjs --space tnb101-micro --rows docs/ensemble-study/spaces/tnb101-all4096.jsonl.gz
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { LABEL_FREE_ENSEMBLE, ensembleScore, referenceColumn } from '../dist/proxies/ensemble.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { spearman } from '../dist/stats/rank.js';

const { values: a } = parseArgs({
  options: {
    space: { type: 'string' },
    runs: { type: 'string' },
    truth: { type: 'string' },
    rows: { type: 'string' },
  },
});
const RULES = [
  LABEL_FREE_ENSEMBLE,
  {
    name: 'reg-swap+meco+0.3t+0.3j (rule study pick on A, not shipped)',
    members: ['reg-swap', 'meco', 'az_trainability', 'jacov'],
    weights: [1, 1, 0.3, 0.3],
  },
  // Not chosen: the A criterion rejected every params vote (each lowered J on A); shown for the transfer question only.
  ...[1, 0.5, 0.3].map((w) => ({
    name: `reg-swap+meco+0.3t + ${w}×params (rejected on A)`,
    members: ['reg-swap', 'meco', 'az_trainability', 'params'],
    weights: [1, 1, 0.3, w],
  })),
];
const MEMBERS = ['reg-swap', 'swap', 'meco', 'az_trainability', 'jacov', 'params', 'flops', 'nwot'];
const lines = (text) =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
/** A run's .jsonl file, or its committed .jsonl.gz. */
const readRun = (file) =>
  existsSync(file) ? readFileSync(file, 'utf8') : gunzipSync(readFileSync(`${file}.gz`)).toString();
const low = (x) => (x === null || x === undefined || !Number.isFinite(x) ? -1e300 : x);

/** ρ of every applicable rule and member, one column per target. */
function table(cells, ref, targets, truthOf) {
  const usable = RULES.filter((r) => r.members.every((m) => m in cells[0].v));
  const cols = Object.fromEntries(
    [...new Set(usable.flatMap((r) => r.members))].map((m) => [m, referenceColumn(ref.map((v) => v[m] ?? null))]),
  );
  const scores = {};
  for (const r of usable) scores[r.name] = cells.map((c) => ensembleScore(r, c.v, cols));
  for (const m of MEMBERS) if (m in cells[0].v) scores[m] = cells.map((c) => low(c.v[m]));
  const out = [`| score | ${targets.join(' | ')} |`, `|---|${targets.map(() => '---:').join('|')}|`];
  for (const [name, xs] of Object.entries(scores)) {
    const rhos = targets.map((t) => {
      const keep = cells.map((c, i) => [xs[i], truthOf(c, t)]).filter(([, y]) => Number.isFinite(y));
      return spearman(
        keep.map(([x]) => x),
        keep.map(([, y]) => y),
      ).toFixed(3);
    });
    out.push(`| ${name} | ${rhos.join(' | ')} |`);
  }
  return out.join('\n');
}

if (a.space === 'tnb101-micro') {
  // One measurement per cell on the class_scene network, correlated with every task; every cell of the space is
  // in the rows, so the reference cells' values are looked up among them.
  const entry = spaceEntry('tnb101-micro');
  const t = entry.loadTable();
  const rows = lines(gunzipSync(readFileSync(a.rows)).toString()).map((r) => ({
    arch: r.arch,
    v: { ...r.ensemble.members, swap: r.swap, params: r.params },
  }));
  const byArch = new Map(rows.map((r) => [r.arch, r.v]));
  const ref = referenceGenotypes(entry.space).map((g) => byArch.get(entry.space.format(g)));
  console.log(`${rows.length} cells, ${ref.filter(Boolean).length} reference cells found`);
  console.log(table(rows, ref, entry.targets, (c, task) => t.get(c.arch)?.truth[task]));
} else {
  const truth = new Map(JSON.parse(readFileSync(a.truth, 'utf8')).values.map((v) => [v.arch, v.truth]));
  const cells = lines(readRun(join(a.runs, 'cells.jsonl'))).map((r) => ({ arch: r.arch, v: r.proxies }));
  const ref = lines(readRun(join(a.runs, 'ref.jsonl'))).map((r) => r.proxies);
  console.log(`${a.space}: ${cells.length} cells, ${ref.length} reference cells`);
  console.log(table(cells, ref, ['accuracy'], (c) => truth.get(c.arch)));
}
