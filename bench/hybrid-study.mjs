// Offline study of hybrid's features and settings (issue 14): the hybrid strategy itself, run on the NB201 table with
// its proxy served from the committed all-cell values (docs/ensemble-study/all-cells-*.jsonl.gz, SWAP / reg-SWAP from
// docs/ranking-study/nb201-default-all15625.jsonl.gz; CIFAR-10 proxy network, weight seed 0) instead of scoring
// live, so hundreds of searches take minutes. It chose hybrid's defaults (HYBRID_DEFAULTS); the reported runs
// (bench/search-hybrid.mjs) compute every feature live.
//
//   node bench/hybrid-study.mjs [--seeds 20] [--first-seed 0] [--budget 25] [--variants name,…] [--fitness ensemble-fit]
// (seeds first-seed … first-seed + seeds − 1; the issue-14 escape study used --first-seed 20 --seeds 40 so that
// seeds 0–19, on which the live runs are reported, played no part in the choice)
// VARIANTS_JSON='[{"name":"x","preNas":{…},"extra":["zico"]}]' replaces the built-in list (the recorded study:
// VARIANTS_JSON="$(cat bench/hybrid-study-variants.json)", raw output bench/raw/hybrid-study-20seeds.md). Each variant's proxy
// reports the fitness's members (default: the label-free ensemble; their values, in the rule's order) plus its `extra` proxies; PER_SEED=1
// prints each search's test accuracy on stderr; TRACE=1 prints one line per search on stderr: its test accuracy, the
// distinct topologies of its 10 initial and of all its queries, whether the chosen cell's topology was an initial
// one, the best test accuracy its initial topologies allow (the cell of best validation accuracy among them), and
// the test accuracy of the best-by-validation cell it scored in its warm-start pool and among its offspring, queried
// or not (what a perfect predictor would have picked).
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { ensembleScore, memberNames, referenceColumn } from '../dist/proxies/ensemble.js';
import { ensembleProxies } from '../dist/proxies/plugins.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { TableEvaluator } from '../dist/search/evaluator.js';
import { CachedProxy } from '../dist/search/proxy.js';
import { preNas } from '../dist/search/strategies/index.js';
import { Rng } from '../dist/util/rng.js';
import { loadAllCellValues, loadFitCellValues } from './all-cell-values.mjs';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    'first-seed': { type: 'string', default: '0' },
    budget: { type: 'string', default: '25' },
    variants: { type: 'string' },
    fitness: { type: 'string', default: 'ensemble' },
  },
});
const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
const entry = spaceEntry('nb201');
const space = entry.space;
const table = entry.loadTable();
const rule = ensembleProxies().find((p) => p.name === a.fitness)?.ensemble;
if (!rule) throw new Error(`not an ensemble fitness: ${a.fitness}`);

const values = a.fitness === 'ensemble-fit' ? await loadFitCellValues() : await loadAllCellValues();
const ref = referenceGenotypes(space).map((g) => values.get(space.format(g)));
const cols = Object.fromEntries(memberNames(rule).map((m) => [m, referenceColumn(ref.map((v) => v[m] ?? null))]));

/** A score source over the committed values: the ensemble's fitness and members, plus `extra` proxies. */
function lookupSource(extra, scoredLog) {
  return {
    name: rule.name,
    metadata: {},
    async compute(gs) {
      scoredLog.push(...gs);
      return gs.map((g) => {
        const v = values.get(space.format(g));
        if (!v) throw new Error(`no values for ${space.format(g)}`);
        const vals = Object.fromEntries([...memberNames(rule), ...extra].map((m) => [m, v[m] ?? null]));
        return { fitness: ensembleScore(rule, v, cols), swap: v.swap, params: v.params, values: vals };
      });
    },
  };
}

async function runOne(variant, dataset, seed, budget) {
  const strategy = preNas(variant.preNas ?? {}, variant.strategy ?? 'hybrid');
  const scored = [];
  const proxy = new CachedProxy(space, lookupSource(variant.extra ?? [], scored));
  const ev = new TableEvaluator(space, table, dataset);
  let q = 0;
  const asked = [];
  let warm = 0; // cells scored before the first query: the warm-start pool
  const out = await strategy.run({
    space,
    rng: new Rng(seed),
    proxy,
    query: (g) => (q === 0 && (warm = scored.length), asked.push(g), ev.evaluate(g, { index: q++ })),
    budget,
    topology: entry.topology,
    seed,
    incumbent: () => {},
    progress: () => {},
  });
  const test = table.get(space.format(out.best)).truth[dataset];
  if (process.env.TRACE) trace(dataset, seed, test, asked, out.best, [scored.slice(0, warm), scored.slice(warm)]);
  return { test, scored: proxy.scored, queries: q };
}

const traced = [];
/**
 * TRACE summary of one variant's searches (then cleared), per dataset: mean test accuracy reached, allowed by the
 * initial topologies, and of the better of the chosen cell and the best-by-validation offspring.
 */
function traceSummary(name) {
  for (const d of DATASETS) {
    const t = traced.filter((x) => x.dataset === d);
    if (t.length === 0) continue;
    const m = (f) => mean(t.map(f)).toFixed(2);
    const missed = t.filter((x) => x.off > x.test).length;
    console.error(
      `trace-summary ${name} | ${d} searches ${t.length} test ${m((x) => x.test)} initCeiling ${m((x) => x.reach)} ` +
        `warmPoolBest ${m((x) => x.warm)} bestScored ${m((x) => Math.max(x.test, x.off))} ` +
        `offspringBetterThanChosen ${missed}`,
    );
  }
  traced.length = 0;
}

/** topology key → the test accuracy of its cell of best validation accuracy, per dataset (for TRACE). */
const ceilings = new Map();
function ceiling(dataset) {
  if (!ceilings.has(dataset)) {
    const best = new Map();
    for (const r of table.records) {
      const k = entry.topology.topologyKey(space.parse(r.arch));
      const v = r.valid?.[dataset] ?? r.truth[dataset];
      if (!best.has(k) || v > best.get(k).v) best.set(k, { v, t: r.truth[dataset] });
    }
    ceilings.set(dataset, best);
  }
  return ceilings.get(dataset);
}

/** The test accuracy of the best-by-validation cell of `gs` ('-' when empty). */
function bestTest(dataset, gs) {
  const rec = (g) => table.get(space.format(g));
  const v = (g) => rec(g).valid?.[dataset] ?? rec(g).truth[dataset];
  return gs.length ? rec(gs.reduce((x, y) => (v(y) > v(x) ? y : x))).truth[dataset].toFixed(2) : '-';
}

function trace(dataset, seed, test, asked, chosen, [warm, offspring]) {
  const key = (g) => entry.topology.topologyKey(g);
  const init = new Set(asked.slice(0, 10).map(key));
  const top = ceiling(dataset);
  const reach = Math.max(...[...init].map((k) => top.get(k).t));
  const all = new Set(asked.map(key)).size;
  traced.push({
    dataset,
    test,
    reach,
    warm: Number(bestTest(dataset, warm)),
    off: Number(bestTest(dataset, offspring)),
  });
  console.error(
    `trace ${dataset} ${seed} test ${test.toFixed(2)} initTopos ${init.size} allTopos ${all} chosenInInit ${init.has(key(chosen))} initCeiling ${reach.toFixed(2)} ` +
      `warmPoolBest ${bestTest(dataset, warm)} offspringBest ${bestTest(dataset, offspring)}`,
  );
}

const VARIANTS = [
  { name: 'pre-nas-100', strategy: 'pre-nas', budget: 100 },
  { name: 'pre-nas-25', strategy: 'pre-nas' },
  { name: 'members' },
];
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const variants = process.env.VARIANTS_JSON ? JSON.parse(process.env.VARIANTS_JSON) : VARIANTS;
const only = a.variants?.split(',');
const seeds = Array.from({ length: Number(a.seeds) }, (_, i) => Number(a['first-seed']) + i);
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
  if (process.env.TRACE) traceSummary(v.name);
}
