// Offline study of hybrid's features and settings (issue 14): the hybrid strategy itself, run on the NB201 table with
// its proxy served from the committed all-cell values (docs/ensemble-study/all-cells-*.jsonl.gz, SWAP / reg-SWAP from
// docs/ranking-study/nb201-default-all15625.jsonl.gz; CIFAR-10 proxy network, weight seed 0) instead of scoring
// live, so hundreds of searches take minutes. It chose hybrid's defaults (HYBRID_DEFAULTS); the reported runs
// (bench/search-hybrid.mjs) compute every feature live.
//
//   node bench/hybrid-study.mjs [--seeds 20] [--budget 25] [--variants name,…]
// VARIANTS_JSON='[{"name":"x","preNas":{…},"extra":["zico"]}]' replaces the built-in list (the recorded study:
// VARIANTS_JSON="$(cat bench/hybrid-study-variants.json)", raw output bench/raw/hybrid-study-20seeds.md). Each variant's proxy
// reports the default ensemble's members (their values, in the rule's order) plus its `extra` proxies; PER_SEED=1
// prints each search's test accuracy on stderr.
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { DEFAULT_ENSEMBLE, ensembleScore, referenceColumn } from '../dist/proxies/ensemble.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { TableEvaluator } from '../dist/search/evaluator.js';
import { CachedProxy } from '../dist/search/proxy.js';
import { preNas } from '../dist/search/strategies/index.js';
import { Rng } from '../dist/util/rng.js';
import { loadAllCellValues } from './all-cell-values.mjs';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    budget: { type: 'string', default: '25' },
    variants: { type: 'string' },
  },
});
const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
const entry = spaceEntry('nb201');
const space = entry.space;
const table = entry.loadTable();
const rule = DEFAULT_ENSEMBLE;

const values = await loadAllCellValues();
const ref = referenceGenotypes(space).map((g) => values.get(space.format(g)));
const cols = Object.fromEntries(rule.members.map((m) => [m, referenceColumn(ref.map((v) => v[m] ?? null))]));

/** A score source over the committed values: the ensemble's fitness and members, plus `extra` proxies. */
function lookupSource(extra) {
  return {
    name: rule.name,
    metadata: {},
    async compute(gs) {
      return gs.map((g) => {
        const v = values.get(space.format(g));
        if (!v) throw new Error(`no values for ${space.format(g)}`);
        const vals = Object.fromEntries([...rule.members, ...extra].map((m) => [m, v[m] ?? null]));
        return { fitness: ensembleScore(rule, v, cols), swap: v.swap, params: v.params, values: vals };
      });
    },
  };
}

async function runOne(variant, dataset, seed, budget) {
  const strategy = preNas(variant.preNas ?? {}, variant.strategy ?? 'hybrid');
  const proxy = new CachedProxy(space, lookupSource(variant.extra ?? []));
  const ev = new TableEvaluator(space, table, dataset);
  let q = 0;
  const out = await strategy.run({
    space,
    rng: new Rng(seed),
    proxy,
    query: (g) => ev.evaluate(g, { index: q++ }),
    budget,
    topology: entry.topology,
    seed,
    incumbent: () => {},
    progress: () => {},
  });
  return { test: table.get(space.format(out.best)).truth[dataset], scored: proxy.scored, queries: q };
}

const VARIANTS = [
  { name: 'pre-nas-100', strategy: 'pre-nas', budget: 100 },
  { name: 'pre-nas-25', strategy: 'pre-nas' },
  { name: 'members' },
];
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const variants = process.env.VARIANTS_JSON ? JSON.parse(process.env.VARIANTS_JSON) : VARIANTS;
const only = a.variants?.split(',');
const seeds = Array.from({ length: Number(a.seeds) }, (_, i) => i);
console.log(`| variant | ${DATASETS.join(' | ')} | networks scored | queries |`);
console.log(`|---|${DATASETS.map(() => '---:').join('|')}|---:|---:|`);
for (const v of variants) {
  if (only && !only.includes(v.name)) continue;
  const accs = [];
  const scored = [];
  let queries = 0;
  for (const d of DATASETS) {
    const acc = [];
    for (const seed of seeds) {
      const r = await runOne(v, d, seed, v.budget ?? Number(a.budget));
      acc.push(r.test);
      scored.push(r.scored);
      queries = Math.max(queries, r.queries);
    }
    accs.push(mean(acc).toFixed(2));
    if (process.env.PER_SEED) console.error(v.name, d, acc.map((x) => x.toFixed(2)).join(' '));
  }
  console.log(`| ${v.name} | ${accs.join(' | ')} | ${mean(scored).toFixed(0)} | ${queries} |`);
}
