// Paired comparison of offline hybrid-study variants (issue 14): reads the PER_SEED lines that
// bench/hybrid-study.mjs writes on stderr ("<variant> <dataset> <acc per seed…>", same seeds for every variant) and
// prints, per variant and dataset, the mean difference to a base variant ± its standard error over seeds, the
// searches that ended at least `--low` points (per dataset) below the best per-seed result of any variant ("low":
// the stuck mode; descriptive only), and the mean difference over the three datasets.
//
//   node bench/hybrid-paired.mjs <per-seed file> [--base "defaults (no escape)"] [--low 0.25,1,1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    base: { type: 'string', default: 'defaults (no escape)' },
    low: { type: 'string', default: '0.25,1,1' },
  },
});
const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
const runs = new Map(); // variant → dataset → accs
for (const line of readFileSync(positionals[0], 'utf8').split('\n')) {
  const m = line.match(new RegExp(`^(.*) (${DATASETS.join('|')}) ([-\\d. ]+)$`));
  if (!m) continue;
  if (!runs.has(m[1])) runs.set(m[1], {});
  runs.get(m[1])[m[2]] = m[3].trim().split(/\s+/).map(Number);
}
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const se = (xs) => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1) / xs.length);
const lowBy = Object.fromEntries(DATASETS.map((d, i) => [d, Number(a.low.split(',')[i])]));
const best = Object.fromEntries(DATASETS.map((d) => [d, Math.max(...[...runs.values()].flatMap((r) => r[d] ?? []))]));
const base = runs.get(a.base);
if (!base) throw new Error(`no variant ${a.base}`);
console.log(`| variant | ${DATASETS.map((d) => `${d} Δ ± se (low)`).join(' | ')} | mean Δ |`);
console.log(`|---|${DATASETS.map(() => '---:').join('|')}|---:|`);
for (const [name, r] of runs) {
  if (!DATASETS.every((d) => r[d]?.length === base[d].length)) continue;
  const diffs = DATASETS.map((d) => r[d].map((x, i) => x - base[d][i]));
  const cells = DATASETS.map((d, j) => {
    const low = r[d].filter((x) => x <= best[d] - lowBy[d]).length;
    return `${mean(diffs[j]) >= 0 ? '+' : ''}${mean(diffs[j]).toFixed(3)} ± ${se(diffs[j]).toFixed(3)} (${low})`;
  });
  const m = mean(diffs.map(mean));
  console.log(`| ${name} | ${cells.join(' | ')} | ${m >= 0 ? '+' : ''}${m.toFixed(3)} |`);
}
