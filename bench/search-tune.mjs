// Hyper-parameter measurements for the search strategies (not a test). Run after `npm run build:ts`:
//   node bench/search-tune.mjs pre-nas [seeds] [dist]     PRE-NAS variants on the NB201 table (all 3 datasets);
//        PRE_VARIANTS='[{"name":"x","strategy":"pre-nas","preNas":{...}}]' replaces the built-in list
//   node bench/search-tune.mjs swap-nas [seeds] [dist]    SWAP-NAS P/C/S/M driven by a zero-cost surrogate
// The swap-nas study uses a precomputed column over all 15,625 cells as a stand-in fitness (default: the 12-epoch
// CIFAR-10 validation accuracy of data/nb201.csv; FILE=… COLUMN=… choose another, e.g. zen_cifar10 of
// shared/data/nb201_zc_full.csv) because the reference backend is too slow to score thousands of networks. It
// measures how well the evolution finds the fitness optimum for a given number of networks scored, not the
// quality of SWAP itself.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [, , what = 'pre-nas', seedsArg = '20', distArg] = process.argv;
const dist = distArg ?? join(here, '..', 'dist');
const s = await import(join(dist, 'search', 'index.js'));
const { Nb201Table } = await import(join(dist, 'tables', 'nb201.js'));
const { nb201Space } = await import(join(dist, 'spaces', 'nb201', 'index.js'));
const { Rng } = await import(join(dist, 'util', 'rng.js'));
const table = Nb201Table.load();
const { nb201Benchmark } = await import(join(dist, 'tables', 'nb201-benchmark.js'));
const benchmark = nb201Benchmark(table);
const seeds = Array.from({ length: Number(seedsArg) }, (_, i) => i);
const datasets = ['cifar10', 'cifar100', 'imagenet16'];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

async function preNasStudy() {
  const variants = [
    { name: 'random', strategy: 'random' },
    { name: 'default', strategy: 'pre-nas', preNas: {} },
    { name: 'top=1.0', strategy: 'pre-nas', preNas: { topFraction: 1 } },
    { name: 'top=0.5', strategy: 'pre-nas', preNas: { topFraction: 0.5 } },
    { name: 'top=0.1', strategy: 'pre-nas', preNas: { topFraction: 0.1 } },
    { name: 'perGen=10', strategy: 'pre-nas', preNas: { perGeneration: 10 } },
    { name: 'perGen=2', strategy: 'pre-nas', preNas: { perGeneration: 2 } },
    { name: 'init=20', strategy: 'pre-nas', preNas: { initial: 20 } },
    { name: 'parents=1,off=90', strategy: 'pre-nas', preNas: { parents: 1, offspring: 90 } },
    { name: 'parents=6,off=15', strategy: 'pre-nas', preNas: { parents: 6, offspring: 15 } },
    { name: 'maxOp=1', strategy: 'pre-nas', preNas: { maxOpChanges: 1 } },
    { name: 'maxOp=4', strategy: 'pre-nas', preNas: { maxOpChanges: 4 } },
    { name: 'tourn=2', strategy: 'pre-nas', preNas: { tournament: 2 } },
    { name: 'tourn=10', strategy: 'pre-nas', preNas: { tournament: 10 } },
  ];
  if (process.env.PRE_VARIANTS) variants.splice(0, variants.length, ...JSON.parse(process.env.PRE_VARIANTS));
  const only = process.env.VARIANTS?.split(',');
  console.log(`| variant | ${datasets.join(' | ')} | s/search |`);
  console.log(`|---|${datasets.map(() => '---').join('|')}|---|`);
  for (const v of variants) {
    if (only && !only.includes(v.name)) continue;
    const cells = [];
    let time = 0;
    for (const dataset of datasets) {
      const acc = [];
      for (const seed of seeds) {
        const t0 = performance.now();
        const r = await s.runSearch(
          {
            strategy: v.strategy,
            dataset,
            seed,
            ...(v.preNas ? { preNas: v.preNas } : {}),
            ...(v.budget ? { budget: v.budget } : {}),
          },
          { table: benchmark },
        );
        time += performance.now() - t0;
        acc.push(r.chosen.test);
      }
      cells.push(`${mean(acc).toFixed(2)} ± ${std(acc).toFixed(2)}`);
    }
    console.log(`| ${v.name} | ${cells.join(' | ')} | ${(time / 1000 / seeds.length / datasets.length).toFixed(2)} |`);
  }
}

/** A proxy over a precomputed column: fitness by arch string. */
function columnSource(file, col) {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  const ai = head.indexOf('arch');
  const ci = head.indexOf(col);
  const m = new Map(
    lines.slice(1).map((l) => {
      const c = l.split(',');
      const v = Number(c[ci]);
      return [c[ai], Number.isFinite(v) && v > -1e7 ? v : -1e9];
    }),
  );
  return m;
}

async function swapNasStudy() {
  const file = process.env.FILE ?? join(here, '..', 'data', 'nb201.csv');
  const zc = columnSource(file, process.env.COLUMN ?? 'cifar10_valid_12ep');
  const best = [...zc.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
  console.log(`surrogate optimum ${best[1]} at ${best[0]}: test ${table.get(best[0]).test.cifar10}`);
  const variants = [];
  for (const P of [10, 20, 50])
    for (const S of [3, 5, 10])
      for (const M of [2, 4, 8])
        for (const C of [15, 30, 60])
          if (S <= P) variants.push({ population: P, sampleSize: S, mutations: M, cycles: C });
  console.log('| P | S | M | C | networks | fitness gap to optimum | test C10 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const o of variants) {
    const gaps = [];
    const accs = [];
    let nets = 0;
    for (const seed of seeds) {
      const source = {
        name: 'surrogate',
        metadata: {},
        compute: async (gs) => gs.map((g) => ({ fitness: zc.get(nb201Space.format(g)), swap: 0, params: 0 })),
      };
      const proxy = new s.CachedProxy(nb201Space, source);
      let inc;
      const strat = s.swapNas(o);
      const out = await strat.run({
        space: nb201Space,
        rng: new Rng(seed),
        proxy,
        budget: 0,
        seed,
        incumbent: (g) => (inc = g),
        progress: () => {},
      });
      gaps.push(best[1] - out.signal);
      accs.push(table.get(nb201Space.format(out.best)).test.cifar10);
      nets += proxy.scored;
    }
    console.log(
      `| ${o.population} | ${o.sampleSize} | ${o.mutations} | ${o.cycles} | ${(nets / seeds.length).toFixed(0)} | ${mean(gaps).toFixed(1)} | ${mean(accs).toFixed(2)} ± ${std(accs).toFixed(2)} |`,
    );
  }
}

if (what === 'pre-nas') await preNasStudy();
else if (what === 'swap-nas') await swapNasStudy();
else throw new Error(`unknown study ${what}`);
