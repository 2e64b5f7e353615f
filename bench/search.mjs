// Search benchmark (not a test): every strategy × dataset × seed with the default settings, then a markdown table
// of mean ± std test accuracy of the chosen cell, queries, networks scored and wall time on this machine.
//
//   npm run build:ts && node bench/search.mjs [--seeds 10] [--datasets cifar10,cifar100,imagenet16]
//        [--strategies swap-nas,pre-nas,hybrid,random] [--out FILE.md] [--threads N] [--dist dist] [--fitness F]
// --fitness (swap-nas, hybrid): the default is the library's (the ensemble since issue 14); the SWAP-NAS rows of
// bench/RESULTS.md before it were measured with reg-SWAP (`--fitness reg-swap` reproduces them).
// The table is printed on stdout and, with --out, written to a file (the search issue wants it in bench/RESULTS.md).
//
// swap-nas and hybrid score networks with the search proxy (SEARCH_PROXY_DEFAULTS) on the best available backend;
// on the TypeScript reference backend they are far too slow for 10 seeds — build the native backend first.
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    'first-seed': { type: 'string', default: '0' },
    datasets: { type: 'string', default: 'cifar10,cifar100,imagenet16' },
    strategies: { type: 'string', default: 'swap-nas,pre-nas,hybrid,random' },
    out: { type: 'string' },
    threads: { type: 'string' },
    fitness: { type: 'string' },
    dist: { type: 'string', default: join(here, '..', 'dist') },
    quiet: { type: 'boolean', default: false },
  },
});
const dist = resolve(a.dist);
const { runSearch, DEFAULT_BUDGETS } = await import(join(dist, 'search', 'index.js'));
const { Nb201Table } = await import(join(dist, 'tables', 'nb201.js'));
const table = Nb201Table.load();
const { nb201Benchmark } = await import(join(dist, 'tables', 'nb201-benchmark.js'));
const benchmark = nb201Benchmark(table);

const seeds = Array.from({ length: Number(a.seeds) }, (_, i) => Number(a['first-seed']) + i);
const datasets = a.datasets.split(',');
const strategies = a.strategies.split(',');
// Targets of the search issue (test accuracy, %). hybrid: ≥ PRE-NAS's measured mean at half the queries.
const TARGETS = {
  'swap-nas': { cifar10: 93.5, cifar100: 70.5, imagenet16: 44.0 },
  'pre-nas': { cifar10: 94.0, cifar100: 72.0, imagenet16: 45.3 },
};
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pm = (xs, d = 2) => `${mean(xs).toFixed(d)} ± ${std(xs).toFixed(d)}`;

const rows = [];
const measured = {};
let backend = null;
for (const strategy of strategies) {
  for (const dataset of datasets) {
    const acc = [];
    const valid = [];
    const queries = [];
    const scored = [];
    const wall = [];
    for (const seed of seeds) {
      const r = await runSearch(
        {
          strategy,
          dataset,
          seed,
          ...(a.threads ? { threads: Number(a.threads) } : {}),
          ...(a.fitness && (strategy === 'swap-nas' || strategy === 'hybrid') ? { fitness: a.fitness } : {}),
        },
        { table: benchmark },
      );
      backend = r.proxy?.backend ?? backend;
      acc.push(r.chosen?.test ?? NaN);
      valid.push(r.chosen?.valid ?? NaN);
      queries.push(r.queries);
      scored.push(r.networksScored);
      wall.push(r.wallTimeSec);
      if (!a.quiet)
        process.stderr.write(
          `${strategy} ${dataset} seed ${seed}: test ${r.chosen?.test?.toFixed(2)} queries ${r.queries} scored ${r.networksScored} ${r.wallTimeSec.toFixed(1)} s\n`,
        );
    }
    measured[`${strategy}/${dataset}`] = mean(acc);
    let target = TARGETS[strategy]?.[dataset];
    if (strategy === 'hybrid') target = measured[`pre-nas/${dataset}`];
    const gap =
      target === undefined
        ? ''
        : mean(acc) >= target
          ? `met (≥ ${target.toFixed(2)})`
          : `missed by ${(target - mean(acc)).toFixed(2)} (target ${target.toFixed(2)})`;
    rows.push(
      `| ${strategy} | ${dataset} | ${pm(acc)} | ${pm(valid)} | ${mean(queries).toFixed(0)} | ${mean(scored).toFixed(0)} | ${pm(wall, 1)} | ${gap} |`,
    );
  }
}

const optimum = datasets.map((d) => `${d} ${table.best(d).test[d].toFixed(2)}`).join(', ');
const md = [
  `## Search results (${seeds.length} seeds: ${seeds[0]}–${seeds[seeds.length - 1]})`,
  '',
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores; scoring backend: ${backend ?? 'n/a (no proxy)'}; Node ${process.version}.`,
  `Defaults: query budgets ${JSON.stringify(DEFAULT_BUDGETS)}; table optimum (test) ${optimum}. Accuracy = NB201 test accuracy of the chosen cell (mean ± sample std over seeds);`,
  'queries = ground-truth table lookups spent by the search (the final report lookup is not counted); wall time per search in seconds.',
  '',
  '| strategy | dataset | test acc (%) | valid acc (%) | queries | networks scored | wall time (s) | target |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
if (a.out) writeFileSync(a.out, md);
process.stdout.write(md);
