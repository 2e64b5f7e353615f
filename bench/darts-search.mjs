// SWAP-NAS on the DARTS space (not a test): seeds × μ=σ variants for CIFAR-10, and ImageNet at 224×224, with the
// genotype found, its parameter count in the evaluation network and the search time. Markdown on stdout.
//
//   npm run build:ts && node bench/darts-search.mjs [--seeds 3] [--targets 10,25,40] [--imagenet-seeds 1] [--fitness F]
// The μ=σ variants are reg-SWAP's, and its rows in bench/RESULTS.md were measured with it: the fitness is reg-SWAP
// unless --fitness names another (the library's default is the ensemble since issue 14).
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { runSearch } from '../dist/search/run.js';
import { defaultBatch } from '../dist/data/cifar.js';
import { defaultLabels } from '../dist/data/labels.js';
import { resizeBatch } from '../dist/data/resize.js';
import { dartsSpace, formatDartsCompact } from '../dist/spaces/darts/index.js';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    targets: { type: 'string', default: '10,25,40' },
    'imagenet-seeds': { type: 'string', default: '1' },
    fitness: { type: 'string', default: 'reg-swap' },
  },
});
const seeds = Array.from({ length: Number(a.seeds) }, (_, i) => i);
const variants = [
  { name: 'data-free μ/σ' },
  ...a.targets.split(',').map((k) => ({ name: `μ=σ=${k}K`, targetParams: Number(k) })),
];
const rows = [];
const run = async (dataset, v, seed, inputs) => {
  const cpu0 = process.cpuUsage();
  const r = await runSearch(
    {
      strategy: 'swap-nas',
      space: 'darts',
      dataset,
      seed,
      fitness: a.fitness,
      // the embedded images' class labels, which the CLI's default inputs carry (ensemble-fit's loss members need them)
      labels: defaultLabels(16),
      ...(v.targetParams ? { targetParams: v.targetParams } : {}),
    },
    { inputs },
  );
  const cpu = process.cpuUsage(cpu0);
  const g = dartsSpace.parse(r.chosen.arch);
  const row = {
    dataset,
    variant: v.name,
    seed,
    compact: formatDartsCompact(g),
    evalParamsM: r.chosen.evalParams / 1e6,
    seconds: r.wallTimeSec,
    cpuSec: (cpu.user + cpu.system) / 1e6,
    scored: r.networksScored,
    mu: r.proxy.regulariser.mu,
    sigma: r.proxy.regulariser.sigma,
  };
  rows.push(row);
  console.error(JSON.stringify(row));
};
for (const v of variants) for (const seed of seeds) await run('cifar10', v, seed, defaultBatch(16));
const imagenet = resizeBatch(defaultBatch(16), 224);
for (let seed = 0; seed < Number(a['imagenet-seeds']); seed++)
  await run('imagenet', { name: 'μ=σ=25K (paper)', targetParams: 25 }, seed, imagenet);

console.log(
  `SWAP-NAS on DARTS (${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, native backend), default search settings, fitness ${a.fitness}, proxy = the space default.\n`,
);
console.log(
  `| dataset | μ/σ | seed | genotype (compact) | eval-network params (M) | networks scored | search time (s) | process CPU (s) |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.dataset} | ${r.variant} (μ=${r.mu.toFixed(1)}) | ${r.seed} | \`${r.compact.replace('|', '\\|')}\` | ${r.evalParamsM.toFixed(2)} | ${r.scored} | ${r.seconds.toFixed(1)} | ${r.cpuSec.toFixed(1)} |`,
  );
