// Every suite proxy and the ensembles on all 15,625 NB201 cells (docs/ranking-study.md, "All NB201 cells"):
// Spearman ρ and Kendall τ-b with bootstrap 95% CIs against CIFAR-10 / CIFAR-100 / ImageNet16-120 test accuracy.
// Proxy values come from bench/ensemble-measure.mjs runs (`--sample all`; several --runs folders are merged by
// architecture, e.g. one per proxy group; a .jsonl or .jsonl.gz file may stand for a folder); SWAP / reg-SWAP from the shipped all-cell run. Published all-cell columns
// (NASLib's Zen, NASWOT-v1's jacob_cov) are correlated beside them from data/nb201_zc_full.csv.
//
//   node bench/all-cells-study.mjs --runs runs/all-s1,runs/all-s2 [--resamples 200] [--json out.json]
//   node bench/all-cells-study.mjs --runs docs/ensemble-study/all-cells-members.jsonl.gz   # the committed values
//   node bench/all-cells-study.mjs --runs … --top    # top-1 / top-10 test accuracy of the ensemble and reg-SWAP
//   node bench/all-cells-study.mjs --runs c100-suite.jsonl --swap c100-swap.jsonl --datasets cifar100
//     # another setting's run: its own SWAP / reg-SWAP (`score --fitness reg-swap --format jsonl` rows), one dataset;
//     # the committed CIFAR-100-image run holds both: --runs and --swap docs/ranking-study/nb201-c100images-suite-all15625.jsonl.gz
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import {
  AZ_NAS_ENSEMBLE,
  LABEL_FREE_ENSEMBLE,
  REG_SWAP_MECO_ENSEMBLE,
  VKDNW_AGG_ENSEMBLE,
  ensembleScore,
  populationLogRank,
  referenceColumn,
} from '../dist/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../dist/proxies/fitted-rule.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';

const { values: a } = parseArgs({
  options: {
    runs: { type: 'string', default: 'runs/ensemble' },
    protocol: { type: 'string', default: 'swap' },
    resamples: { type: 'string', default: '200' },
    json: { type: 'string' },
    top: { type: 'boolean', default: false },
    swap: { type: 'string' },
    datasets: { type: 'string', default: 'cifar10,cifar100,imagenet16' },
  },
});
const DATASETS = a.datasets.split(',');
const entry = spaceEntry('nb201');
const space = entry.space;
const table = entry.loadTable();

/** arch → merged proxy values over every --runs folder. */
function loadValues() {
  const values = new Map();
  for (const path of a.runs.split(',')) {
    const file = /\.jsonl(\.gz)?$/.test(path) ? path : join(path, `all-${a.protocol}.jsonl`);
    if (!existsSync(file)) throw new Error(`no ${file}`);
    const raw = readFileSync(file);
    const text = file.endsWith('.gz') ? gunzipSync(raw).toString() : raw.toString('utf8');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line);
      values.set(r.arch, { ...values.get(r.arch), ...r.proxies });
    }
  }
  return values;
}

/**
 * reg-SWAP / SWAP of the default setting from the shipped all-cell run (rows hold Ψ and Θ), or with --swap from a
 * run's own `score --fitness reg-swap` rows (which hold both).
 */
async function loadSwap(values) {
  if (a.swap) {
    const raw = readFileSync(a.swap);
    for (const line of (a.swap.endsWith('.gz') ? gunzipSync(raw) : raw).toString().split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line);
      const v = values.get(r.arch);
      if (v) Object.assign(v, { swap: r.swap, 'reg-swap': r.regSwap });
    }
    return;
  }
  const { request } = await resolveScoringRequest({ space: 'nb201' });
  const reg = request.regulariser;
  const text = gunzipSync(readFileSync('docs/ranking-study/nb201-default-all15625.jsonl.gz')).toString();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    const v = values.get(r.arch);
    if (!v) continue;
    v.swap = r.swap;
    v['reg-swap'] = r.swap * regFactor(r.params / 1000, reg.mu, reg.sigma);
  }
}

/** Published all-cell columns by arch (NaN / −1e8 = not computable → lowest). */
function loadPublished() {
  const lines = readFileSync('data/nb201_zc_full.csv', 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  const out = new Map();
  for (const l of lines.slice(1)) {
    const c = l.split(',');
    const row = {};
    head.forEach((h, i) => {
      if (i > 1) row[h] = Number(c[i]);
    });
    out.set(c[1], row);
  }
  return out;
}

const clean = (x) => (x === null || x === undefined || Number.isNaN(x) || x <= -1e8 ? -1e300 : x);
const resamples = Number(a.resamples);

/** ρ and τ-b with CIs of one score column against each dataset. */
function correlate(archs, score, datasets = DATASETS) {
  const xs = archs.map((arch, i) => clean(score(arch, i)));
  const out = {};
  for (const d of datasets) {
    const ys = archs.map((arch) => table.get(arch).truth[d]);
    out[d] = {
      rho: bootstrapCI(xs, ys, spearman, { resamples, rng: new Rng(1) }),
      tau: bootstrapCI(xs, ys, kendallTauB, { resamples, rng: new Rng(2) }),
    };
  }
  return out;
}

/** Fitness with the space's fixed 256-cell reference set (the values of those cells taken from this run). */
function referenceFitness(rule, values) {
  const ref = referenceGenotypes(space).map((g) => values.get(space.format(g)));
  if (ref.some((v) => !v)) return undefined;
  const cols = Object.fromEntries(rule.members.map((m) => [m, referenceColumn(ref.map((v) => v[m] ?? null))]));
  return (arch) => ensembleScore(rule, values.get(arch), cols);
}

const values = loadValues();
await loadSwap(values);
const archs = [...values.keys()].filter((x) => table.get(x));
console.error(`${archs.length} cells with values`);
const names = [...new Set(archs.flatMap((x) => Object.keys(values.get(x))))].filter((n) =>
  archs.every((x) => n in values.get(x)),
);
if (a.top) {
  // Zero-query picks over the whole space: the test accuracy of the best-scored cell and the mean of the top 10.
  const fit = referenceFitness(LABEL_FREE_ENSEMBLE, values);
  const scores = {
    [`${LABEL_FREE_ENSEMBLE.name} (256-cell reference set)`]: fit,
    'reg-swap': (x) => values.get(x)['reg-swap'],
  };
  console.log('| score | dataset | best cell of the space | top-1 test acc. | top-10 mean |');
  console.log('|---|---|---:|---:|---:|');
  for (const [name, score] of Object.entries(scores)) {
    const order = [...archs].sort((p, q) => clean(score(q)) - clean(score(p)));
    for (const d of DATASETS) {
      const acc = (x) => table.get(x).truth[d];
      const best = Math.max(...archs.map(acc));
      const top10 = order.slice(0, 10).reduce((t, x) => t + acc(x), 0) / 10;
      console.log(`| ${name} | ${d} | ${best.toFixed(2)} | ${acc(order[0]).toFixed(2)} | ${top10.toFixed(2)} |`);
    }
  }
  process.exit(0);
}
const result = { n: archs.length, resamples, proxies: {}, ensembles: {}, published: {} };
for (const n of names) result.proxies[n] = correlate(archs, (x) => values.get(x)[n]);
for (const rule of [
  FITTED_ENSEMBLE,
  LABEL_FREE_ENSEMBLE,
  REG_SWAP_MECO_ENSEMBLE,
  AZ_NAS_ENSEMBLE,
  VKDNW_AGG_ENSEMBLE,
]) {
  if (!rule.members.every((m) => names.includes(m))) continue;
  const pop = populationLogRank(
    rule.members.map((m) => archs.map((x) => values.get(x)[m] ?? null)),
    rule.weights,
    rule.forms,
  );
  result.ensembles[`${rule.name} (population)`] = correlate(archs, (_, i) => pop[i]);
  const fit = referenceFitness(rule, values);
  if (fit) result.ensembles[`${rule.name} (256-cell reference set)`] = correlate(archs, fit);
}
const pub = loadPublished();
for (const [col, ds] of [
  ['zen', DATASETS],
  ['naswot_v1_jacov', ['cifar10']],
]) {
  for (const d of ds.filter((x) => DATASETS.includes(x))) {
    const key = `${col}_${d}`;
    result.published[key] = correlate(archs, (x) => pub.get(x)?.[key], [d]);
  }
}
const f = (c) => `${c.estimate.toFixed(3)} [${c.low.toFixed(3)}, ${c.high.toFixed(3)}]`;
const lines = [`| metric | ${DATASETS.map((d) => `ρ ${d} | τ-b ${d}`).join(' | ')} |`];
lines.push(`|---|${DATASETS.map(() => '---|---').join('|')}|`);
for (const [group, rows] of Object.entries({ ...result.ensembles, ...result.proxies })) {
  lines.push(`| ${group} | ${DATASETS.map((d) => `${f(rows[d].rho)} | ${f(rows[d].tau)}`).join(' | ')} |`);
}
for (const [key, rows] of Object.entries(result.published)) {
  const d = Object.keys(rows)[0];
  lines.push(`| published ${key} | ${f(rows[d].rho)} | ${f(rows[d].tau)} |`);
}
console.log(lines.join('\n'));
if (a.json) writeFileSync(a.json, `${JSON.stringify(result, null, 1)}\n`);
