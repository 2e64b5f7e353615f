// Cost per architecture of ensemble fitnesses (default: the label-free ensemble, reg-SWAP + MeCo + 0.3 T) next to reg-SWAP
// alone, in one run: the same N seeded NB201 cells at the default search proxy (C=8, N=3, pruned, S=16, R=8), each
// scored `--rounds` times in alternation; reference sets are built (or read) before timing starts. Wall and process
// CPU time per cell. Fitnesses that read labels get the embedded batch's.
//
//   npm run build && node bench/ensemble-cost.mjs [--n 48] [--rounds 3] [--threads 2] [--cache-dir runs/ensemble-cache]
//        [--fitness ensemble,ensemble-fit]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { defaultLabels } from '../dist/data/labels.js';
import { ensembleProxies } from '../dist/proxies/plugins.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';
import { EnsembleScorer } from '../dist/score/ensemble.js';
import { scoreNetworks } from '../dist/score/swap.js';
import { Rng } from '../dist/util/rng.js';

const { values: a } = parseArgs({
  options: {
    n: { type: 'string', default: '48' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'cache-dir': { type: 'string', default: 'runs/ensemble-cache' },
    fitness: { type: 'string', default: 'ensemble' },
  },
});
const space = spaceEntry('nb201').space;
const { request, inputs } = await resolveScoringRequest({ space: 'nb201' });
const threads = Number(a.threads);
const rng = new Rng(11);
const gs = Array.from({ length: Number(a.n) }, () => space.sample(rng));
const fitnesses = a.fitness.split(',');
const scorers = {};
for (const name of fitnesses) {
  const rule = ensembleProxies().find((p) => p.name === name)?.ensemble;
  if (!rule) throw new Error(`not an ensemble fitness: ${name}`);
  scorers[name] = new EnsembleScorer(space, {
    rule,
    network: request.network,
    inputs,
    batch: request.batch,
    repeats: request.repeats,
    seed: request.seed,
    regulariser: request.regulariser,
    settings: { ...request },
    threads,
    cacheDir: a['cache-dir'],
    labels: defaultLabels(request.batch),
  });
  await scorers[name].loadReference();
}
const swap = async () =>
  scoreNetworks(
    gs.map((g) => space.build(g, request.network)),
    {
      inputs,
      batch: request.batch,
      repeats: request.repeats,
      seed: request.seed,
      regulariser: request.regulariser,
      threads,
    },
  );
const ensemble = (name) => async () => {
  for (let i = 0; i < gs.length; i += 16) await scorers[name].score(gs.slice(i, i + 16));
};
const time = async (f) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
};
const jobs = [['reg-SWAP', swap], ...fitnesses.map((f) => [f, ensemble(f)])];
const sum = Object.fromEntries(jobs.map(([k]) => [k, { wall: 0, cpu: 0 }]));
for (let r = 0; r < Number(a.rounds); r++)
  for (const [k, f] of jobs) {
    const t = await time(f);
    sum[k].wall += t.wall;
    sum[k].cpu += t.cpu;
  }
const per = (k, m) => (1000 * sum[k][m]) / (Number(a.rounds) * gs.length);
console.log(
  `${cpus()[0]?.model ?? '?'} × ${cpus().length}, threads ${threads}, ${gs.length} cells × ${a.rounds} rounds`,
);
console.log('| fitness | wall ms / cell | CPU ms / cell | CPU / reg-SWAP |');
console.log('| --- | ---: | ---: | ---: |');
for (const [k] of jobs)
  console.log(
    `| ${k} | ${per(k, 'wall').toFixed(1)} | ${per(k, 'cpu').toFixed(1)} | ${(sum[k].cpu / sum['reg-SWAP'].cpu).toFixed(2)}x |`,
  );
