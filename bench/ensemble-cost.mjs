// Cost per architecture of the ensemble fitness (reg-SWAP + MeCo + 0.3 T) next to reg-SWAP alone, in one run: the same
// N seeded NB201 cells at the default search proxy (C=8, N=3, pruned, S=16, R=8), each scored `--rounds` times in
// alternation; the reference set is built (or read) before timing starts. Wall and process CPU time per cell.
//
//   npm run build && node bench/ensemble-cost.mjs [--n 48] [--rounds 3] [--threads 2] [--cache-dir runs/ensemble-cache]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { DEFAULT_ENSEMBLE } from '../dist/proxies/ensemble.js';
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
  },
});
const space = spaceEntry('nb201').space;
const { request, inputs } = await resolveScoringRequest({ space: 'nb201' });
const threads = Number(a.threads);
const rng = new Rng(11);
const gs = Array.from({ length: Number(a.n) }, () => space.sample(rng));
const scorer = new EnsembleScorer(space, {
  rule: DEFAULT_ENSEMBLE,
  network: request.network,
  inputs,
  batch: request.batch,
  repeats: request.repeats,
  seed: request.seed,
  regulariser: request.regulariser,
  settings: { ...request },
  threads,
  cacheDir: a['cache-dir'],
});
await scorer.loadReference();
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
const ensemble = async () => {
  for (let i = 0; i < gs.length; i += 16) await scorer.score(gs.slice(i, i + 16));
};
const time = async (f) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
};
const sum = { swap: { wall: 0, cpu: 0 }, ensemble: { wall: 0, cpu: 0 } };
for (let r = 0; r < Number(a.rounds); r++)
  for (const [k, f] of [
    ['swap', swap],
    ['ensemble', ensemble],
  ]) {
    const t = await time(f);
    sum[k].wall += t.wall;
    sum[k].cpu += t.cpu;
  }
const per = (k, m) => (1000 * sum[k][m]) / (Number(a.rounds) * gs.length);
console.log(
  `${cpus()[0]?.model ?? '?'} × ${cpus().length}, threads ${threads}, ${gs.length} cells × ${a.rounds} rounds`,
);
console.log('| fitness | wall ms / cell | CPU ms / cell |');
console.log('| --- | ---: | ---: |');
console.log(`| reg-SWAP | ${per('swap', 'wall').toFixed(1)} | ${per('swap', 'cpu').toFixed(1)} |`);
console.log(
  `| ensemble (reg-SWAP + MeCo + 0.3 T) | ${per('ensemble', 'wall').toFixed(1)} | ${per('ensemble', 'cpu').toFixed(1)} |`,
);
console.log(
  `ratio ensemble / reg-SWAP: wall ${(sum.ensemble.wall / sum.swap.wall).toFixed(2)}x, CPU ${(sum.ensemble.cpu / sum.swap.cpu).toFixed(2)}x`,
);
