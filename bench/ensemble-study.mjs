// The ensemble study (docs/ensemble-study.md): Spearman ρ of every suite proxy and of candidate ensembles against
// NB201 test accuracy on the samples measured by bench/ensemble-measure.mjs. The rule is chosen on sample A only
// (greedy forward selection of members of the log-CDF aggregation, mean ρ over the three datasets; then weighted
// additions), then reported unchanged on B. SWAP / reg-SWAP come from the shipped all-cell run (docs/ranking-study/nb201-default-all15625.jsonl.gz).
//
//   node bench/ensemble-study.mjs --runs runs/ensemble --protocol swap [--choose A] [--report A,B]
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { spearman } from '../dist/stats/rank.js';
import { populationLogRank } from '../dist/proxies/ensemble.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';

const { values: a } = parseArgs({
  options: {
    runs: { type: 'string', default: 'runs/ensemble' },
    protocol: { type: 'string', default: 'swap' },
    choose: { type: 'string', default: 'A' },
    report: { type: 'string', default: 'A,B' },
    'min-gain': { type: 'string', default: '0.002' },
    'weighted-gain': { type: 'string', default: '0.005' },
  },
});
const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
const table = spaceEntry('nb201').loadTable();
// reg-SWAP of the default setting: Ψ × f(Θ) with the data-free μ/σ of that setting (the shipped rows hold Ψ and Θ).
const { request } = await resolveScoringRequest({ space: 'nb201' });
const reg = request.regulariser;
const swapRows = new Map();
for (const line of gunzipSync(readFileSync('docs/ranking-study/nb201-default-all15625.jsonl.gz'))
  .toString()
  .split('\n')) {
  if (!line.trim()) continue;
  const r = JSON.parse(line);
  swapRows.set(r.arch, r);
}

/** Rows of a sample: arch, proxy values (+ swap, reg-swap), truth per dataset. */
function load(sample) {
  const file = join(a.runs, `${sample}-${a.protocol}.jsonl`);
  const text = existsSync(file)
    ? readFileSync(file, 'utf8')
    : existsSync(`${file}.gz`)
      ? gunzipSync(readFileSync(`${file}.gz`)).toString()
      : null;
  if (text === null) return null;
  const rows = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    const rec = table.get(r.arch);
    const s = swapRows.get(r.arch);
    const v = { ...r.proxies };
    if (s) Object.assign(v, { swap: s.swap, 'reg-swap': s.swap * regFactor(s.params / 1000, reg.mu, reg.sigma) });
    rows.push({ arch: r.arch, v, truth: Object.fromEntries(DATASETS.map((d) => [d, rec.truth[d]])) });
  }
  return rows;
}

const finite = (x) => (x === null || x === undefined || Number.isNaN(x) ? Number.NEGATIVE_INFINITY : x);
/** ρ of a score column per dataset (non-finite values rank lowest, as in AZ-NAS). */
function rho(rows, score) {
  const xs = rows.map((r) => {
    const x = finite(score(r));
    return x === Number.NEGATIVE_INFINITY ? -1e300 : x === Number.POSITIVE_INFINITY ? 1e300 : x;
  });
  return Object.fromEntries(
    DATASETS.map((d) => [
      d,
      spearman(
        xs,
        rows.map((r) => r.truth[d]),
      ),
    ]),
  );
}
const mean = (o) => DATASETS.reduce((s, d) => s + o[d], 0) / DATASETS.length;
function ensembleRho(rows, members, weights) {
  const agg = populationLogRank(
    members.map((m) => rows.map((r) => r.v[m] ?? null)),
    weights,
  );
  const idx = new Map(rows.map((r, i) => [r, i]));
  return rho(rows, (r) => agg[idx.get(r)]);
}

const chooseRows = load(a.choose);
if (!chooseRows) throw new Error(`no measurements for sample ${a.choose} in ${a.runs}`);
const names = Object.keys(chooseRows[0].v).filter((n) => chooseRows.every((r) => n in r.v));
// Greedy forward selection on the choice sample only.
const members = [];
let best = -1;
for (;;) {
  let pick = null;
  for (const n of names) {
    if (members.includes(n)) continue;
    const m = mean(ensembleRho(chooseRows, [...members, n]));
    if (!pick || m > pick.m) pick = { n, m };
  }
  if (!pick || pick.m < best + Number(a['min-gain'])) break;
  members.push(pick.n);
  best = pick.m;
  console.error(`+ ${pick.n}: mean ρ ${pick.m.toFixed(4)} on ${a.choose}`);
}
// Second stage, still on the choice sample only: one more member at a weight w < 1 (each of its ln F̂ scaled by w),
// kept when it adds at least --weighted-gain to the mean ρ; repeated until nothing does.
const weights = members.map(() => 1);
for (;;) {
  let pick = null;
  for (const n of names) {
    if (members.includes(n)) continue;
    for (const w of [0.1, 0.2, 0.3, 0.5]) {
      const m = mean(ensembleRho(chooseRows, [...members, n], [...weights, w]));
      if (!pick || m > pick.m) pick = { n, w, m };
    }
  }
  if (!pick || pick.m < best + Number(a['weighted-gain'])) {
    if (pick)
      console.error(`(best weighted addition ${pick.n} × ${pick.w}: mean ρ ${pick.m.toFixed(4)}, below the gain)`);
    break;
  }
  members.push(pick.n);
  weights.push(pick.w);
  best = pick.m;
  console.error(`+ ${pick.w} × ${pick.n}: mean ρ ${pick.m.toFixed(4)} on ${a.choose}`);
}
const rules = {
  chosen: { members, weights },
  'first stage (equal weights)': { members: members.filter((_, i) => weights[i] === 1) },
  'AZ-NAS (E+P+T+C)': { members: ['az_expressivity', 'az_progressivity', 'az_trainability', 'flops'] },
  'VKDNW_agg (C+E+P+T+VKDNW)': {
    members: ['flops', 'az_expressivity', 'az_progressivity', 'az_trainability', 'vkdnw'],
  },
};
const out = { protocol: a.protocol, chosenOn: a.choose, members, weights, samples: {} };
for (const sample of a.report.split(',')) {
  const rows = load(sample);
  if (!rows) continue;
  const res = { n: rows.length, proxies: {}, ensembles: {} };
  for (const n of names) res.proxies[n] = rho(rows, (r) => r.v[n]);
  for (const [k, r] of Object.entries(rules)) res.ensembles[k] = { ...r, rho: ensembleRho(rows, r.members, r.weights) };
  out.samples[sample] = res;
}
console.log(JSON.stringify(out, null, 1));
