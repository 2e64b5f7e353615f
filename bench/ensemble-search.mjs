// Zero-query search with the ensemble as fitness (issue 14) beside SWAP-NAS (reg-SWAP fitness) and random search
// with 100 table queries, every dataset × seed, default settings, one process. Each finished search is appended to
// <out>/searches.jsonl (resumable: a rerun skips what is there); the summary table is printed on stdout.
// The ensemble's reference set is built on the first search of each (dataset, seed) setting and cached in
// --cache-dir; its build time is recorded apart from the search's own time.
//
//   npm run build && nice -n 15 node bench/ensemble-search.mjs --seeds 10 --out docs/ensemble-study/search \
//        --cache-dir runs/ensemble-cache [--fitness ensemble,reg-swap,random] [--datasets cifar10,cifar100,imagenet16]
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runSearch } from '../dist/search/index.js';
import { Nb201Table } from '../dist/tables/nb201.js';
import { nb201Benchmark } from '../dist/tables/nb201-benchmark.js';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    'first-seed': { type: 'string', default: '0' },
    datasets: { type: 'string', default: 'cifar10,cifar100,imagenet16' },
    fitness: { type: 'string', default: 'ensemble,reg-swap,random' },
    out: { type: 'string', default: 'runs/ensemble-search' },
    'cache-dir': { type: 'string', default: 'runs/ensemble-cache' },
    threads: { type: 'string' },
  },
});
const table = nb201Benchmark(Nb201Table.load());
mkdirSync(a.out, { recursive: true });
const file = join(a.out, 'searches.jsonl');
const done = new Set();
if (existsSync(file))
  for (const line of readFileSync(file, 'utf8').split('\n'))
    if (line.trim()) {
      const r = JSON.parse(line);
      done.add(`${r.fitness}/${r.dataset}/${r.seed}`);
    }
const seeds = Array.from({ length: Number(a.seeds) }, (_, i) => Number(a['first-seed']) + i);
for (const dataset of a.datasets.split(','))
  for (const seed of seeds)
    for (const fitness of a.fitness.split(',')) {
      if (done.has(`${fitness}/${dataset}/${seed}`)) continue;
      let refDone = null;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const opts =
        fitness === 'random'
          ? { strategy: 'random', dataset, seed }
          : {
              strategy: 'swap-nas',
              dataset,
              seed,
              fitness,
              cacheDir: a['cache-dir'],
              onReference: (d, t) => {
                if (d === t) refDone = performance.now();
              },
            };
      if (a.threads) opts.threads = Number(a.threads);
      const r = await runSearch(opts, { table });
      const total = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      const referenceSec = refDone === null ? 0 : (refDone - t0) / 1000;
      const row = {
        fitness,
        dataset,
        seed,
        arch: r.chosen?.arch ?? null,
        test: r.chosen?.test ?? null,
        valid: r.chosen?.valid ?? null,
        signal: r.chosen?.signal ?? null,
        queries: r.queries,
        networksScored: r.networksScored,
        totalSec: total,
        referenceSec,
        searchSec: total - referenceSec,
        // Process CPU (all threads) of the whole search, reference build included when it happened here: on a shared
        // machine the honest measure of what the search costs.
        cpuSec: (cpu.user + cpu.system) / 1e6,
        backend: r.proxy?.backend ?? null,
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
      };
      appendFileSync(file, `${JSON.stringify(row)}\n`);
      process.stderr.write(
        `${fitness} ${dataset} seed ${seed}: test ${row.test} scored ${row.networksScored} search ${row.searchSec.toFixed(1)} s (+ reference ${referenceSec.toFixed(1)} s)\n`,
      );
    }

// Summary: mean ± std of the chosen cell's test accuracy and of the search time per fitness × dataset.
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pm = (xs, d = 2) => `${mean(xs).toFixed(d)} ± ${std(xs).toFixed(d)}`;
const GOAL = { cifar10: 94.0, cifar100: 72.5, imagenet16: 46.0 };
console.log('| fitness | dataset | seeds | test acc. (%) | goal | networks scored | search s | reference build s |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const fitness of a.fitness.split(','))
  for (const dataset of a.datasets.split(',')) {
    const rs = rows.filter((r) => r.fitness === fitness && r.dataset === dataset);
    if (rs.length === 0) continue;
    const built = rs.filter((r) => r.referenceSec > 0).map((r) => r.referenceSec);
    console.log(
      `| ${fitness === 'random' ? 'random-100' : fitness} | ${dataset} | ${rs.length} | ${pm(rs.map((r) => r.test))} | ${GOAL[dataset]} | ${mean(rs.map((r) => r.networksScored)).toFixed(0)} | ${pm(
        rs.map((r) => r.searchSec),
        1,
      )} | ${built.length ? pm(built, 1) : '—'} |`,
    );
  }
