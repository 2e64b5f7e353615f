// Hybrid search on NB201 with its defaults (issue 14: PRE-NAS-100's accuracy with ≤ 25 queries), every dataset ×
// seed, one process, features computed live by the engine (default fitness: the ensemble). Each finished search is
// appended to <out>/searches.jsonl (resumable: a rerun skips what is there), seeds in the outer loop so that a
// stopped run has covered every dataset; --summary prints the table from that file.
//
//   npm run build && nice -n 10 node bench/search-hybrid.mjs --seeds 10 --out bench/raw/hybrid-25 --threads 2
//        [--fitness ensemble-fit] [--cache-dir <reference-set cache>]
//   (or two processes: --first-seed 0 --seeds 5 --stride 2 and --first-seed 1 --seeds 5 --stride 2)
//   node bench/search-hybrid.mjs --out bench/raw/hybrid-25 --summary [--seeds 20]   # seeds 0–9 (0–19) only
//   A/B in one run: --warm-start-cycles 30,0 runs each dataset × seed once per value (the order alternating by seed,
//   so neither variant always runs first); --summary then adds one table per variant and the paired ratios.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    'first-seed': { type: 'string', default: '0' },
    stride: { type: 'string', default: '1' },
    datasets: { type: 'string', default: 'cifar10,cifar100,imagenet16' },
    budget: { type: 'string' },
    out: { type: 'string', default: 'runs/hybrid' },
    threads: { type: 'string' },
    dist: { type: 'string', default: 'dist' },
    summary: { type: 'boolean', default: false },
    fitness: { type: 'string' },
    'cache-dir': { type: 'string' },
    'warm-start-cycles': { type: 'string' },
  },
});
/** Variants of an A/B run (warm start cycles), or [undefined]: the defaults only. */
const variants = a['warm-start-cycles'] ? a['warm-start-cycles'].split(',').map(Number) : [undefined];
const dist = resolve(a.dist);
const file = join(a.out, 'searches.jsonl');
const rows = existsSync(file)
  ? readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l))
  : [];
// an A/B run tags its rows with their variant (`abVariant`); rows of a plain run have none, and an A/B run refuses
// a folder that holds them, so they are neither paired nor taken as done
const datasets = a.datasets.split(',');
if (a['warm-start-cycles'] && rows.some((r) => r.abVariant === undefined))
  throw new Error(`${file} holds rows of a plain run: give an A/B run its own --out folder`);
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pm = (xs, d = 2) => `${mean(xs).toFixed(d)} ± ${std(xs).toFixed(d)}`;

// --stride k: every k-th seed from --first-seed, so that k processes (each niced) split one run's seeds.
const seeds = Array.from({ length: Number(a.seeds) }, (_, i) => Number(a['first-seed']) + i * Number(a.stride));

if (a.summary) {
  // PRE-NAS-100 over seeds 0–9 (bench/RESULTS.md, issue 5): the goal.
  const GOAL = { cifar10: 94.28, cifar100: 72.99, imagenet16: 46.27 };
  console.log(
    '| dataset | seeds | test acc (%) | valid acc (%) | queries | networks scored | CPU s | wall s | PRE-NAS-100 | gap |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const v of variants)
    for (const d of datasets) {
      const r = rows
        .filter((x) => x.dataset === d && seeds.includes(x.seed) && (v === undefined || x.abVariant === v))
        .sort((p, q) => p.seed - q.seed);
      if (r.length === 0) continue;
      const acc = r.map((x) => x.test);
      const gap = mean(acc) - GOAL[d];
      console.log(
        `| ${d}${v === undefined ? '' : `, cycles ${v}`} | ${r.length} (${r[0].seed}–${r[r.length - 1].seed}) | ${pm(acc)} | ${pm(r.map((x) => x.valid))} | ${Math.max(...r.map((x) => x.queries))} | ${mean(r.map((x) => x.networksScored)).toFixed(0)} | ${pm(
          r.map((x) => x.cpuSec),
          1,
        )} | ${pm(
          r.map((x) => x.wallSec),
          1,
        )} | ${GOAL[d]} | ${gap >= 0 ? '+' : ''}${gap.toFixed(2)} |`,
      );
    }
  if (variants.length > 1) {
    // paired over the dataset × seed searches both variants ran: CPU and wall ratios, accuracy difference
    const key = (x) => `${x.dataset}/${x.seed}`;
    const [base, ...rest] = variants;
    const inRun = (x) => seeds.includes(x.seed) && datasets.includes(x.dataset);
    // first row per search (a resumed run never repeats one, but a hand-merged file might)
    const firstBy = (xs) => new Map([...xs].reverse().map((x) => [key(x), x]));
    const baseRows = firstBy(rows.filter((x) => x.abVariant === base && inRun(x)));
    for (const v of rest) {
      const pairs = [...firstBy(rows.filter((x) => x.abVariant === v && inRun(x))).values()]
        .filter((x) => baseRows.has(key(x)))
        .map((x) => [baseRows.get(key(x)), x]);
      const sum = (f) => pairs.reduce((t, p) => t + f(p), 0);
      console.log(
        `\ncycles ${v} vs ${base}, ${pairs.length} paired searches: CPU ${(sum(([, x]) => x.cpuSec) / sum(([b]) => b.cpuSec)).toFixed(2)}×, wall ${(sum(([, x]) => x.wallSec) / sum(([b]) => b.wallSec)).toFixed(2)}×, networks scored ${(sum(([, x]) => x.networksScored) / sum(([b]) => b.networksScored)).toFixed(2)}×, test accuracy ${(sum(([b, x]) => x.test - b.test) / pairs.length).toFixed(3)} points`,
      );
    }
  }
  process.exit(0);
}

const { runSearch } = await import(join(dist, 'search', 'index.js'));
const { Nb201Table } = await import(join(dist, 'tables', 'nb201.js'));
const { nb201Benchmark } = await import(join(dist, 'tables', 'nb201-benchmark.js'));
const table = nb201Benchmark(Nb201Table.load());
mkdirSync(a.out, { recursive: true });
// a search is done when its dataset × seed × variant (none in a plain run) has a row
const done = new Set(rows.map((r) => `${r.dataset}/${r.seed}/${r.abVariant}`));
for (const seed of seeds)
  for (const dataset of datasets)
    for (const v of seed % 2 ? [...variants].reverse() : variants) {
      if (done.has(`${dataset}/${seed}/${v}`)) continue;
      const c0 = process.cpuUsage();
      const load0 = loadavg()[0];
      const r = await runSearch(
        {
          strategy: 'hybrid',
          dataset,
          seed,
          ...(a.budget ? { budget: Number(a.budget) } : {}),
          ...(a.threads ? { threads: Number(a.threads) } : {}),
          ...(a.fitness ? { fitness: a.fitness } : {}),
          ...(a['cache-dir'] ? { cacheDir: a['cache-dir'] } : {}),
          ...(v !== undefined ? { preNas: { warmStartCycles: v } } : {}),
        },
        { table },
      );
      const c = process.cpuUsage(c0);
      const row = {
        dataset,
        seed,
        ...(v === undefined ? {} : { abVariant: v }),
        arch: r.chosen?.arch ?? null,
        test: r.chosen?.test ?? null,
        valid: r.chosen?.valid ?? null,
        queries: r.queries,
        networksScored: r.networksScored,
        cpuSec: (c.user + c.system) / 1e6,
        wallSec: r.wallTimeSec,
        fitness: r.proxy?.name ?? null,
        backend: r.proxy?.backend ?? null,
        options: r.options.strategyOptions,
        load: [load0, loadavg()[0]],
        cpu: cpus()[0]?.model ?? null,
      };
      appendFileSync(file, `${JSON.stringify(row)}\n`);
      process.stderr.write(
        `${dataset} seed ${seed}${v === undefined ? '' : ` cycles ${v}`}: test ${row.test} queries ${row.queries} scored ${row.networksScored} cpu ${row.cpuSec.toFixed(1)} s wall ${row.wallSec.toFixed(1)} s\n`,
      );
    }
