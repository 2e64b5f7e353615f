// Native cost of one lone network per count job, with and without a CountPool (parked threads and buffers kept
// across jobs), against the same networks scored as one batched job — all in one process, interleaved per block so
// that a shared machine's load swings cancel. This is the part of a lone `swapnas serve` request that is neither
// transport nor JSON (the adapter builds the same jobs). Usage (after `npm run build`):
//
//   node bench/count-pool.mjs [--blocks 12] [--block 16] [--threads 2]
//
// Per block and mode: wall ms per cell, process CPU ms per cell and minor page faults per cell; the overhead of a
// lone job over its share of the batch is reported per block (median and quartiles over blocks). Every lone count
// is checked equal to the batched count of the same cell and seed.
import { readFileSync } from 'node:fs';
import { addonJobInputs } from '../dist/backends/addon-job.js';
import { loadAddon } from '../dist/native/loader.js';
import { prepareScore } from '../dist/serve/adapter.js';
import { WarmState } from '../dist/serve/warm.js';
import { repeatSeed } from '../dist/init/prng.js';
import * as genotype from '../dist/spaces/nb201/genotype.js';
import { Rng } from '../dist/util/rng.js';
import { benchCells } from './native-cells.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const BLOCKS = Number(arg('blocks', '12'));
const BLOCK = Number(arg('block', '16'));
const THREADS = Number(arg('threads', '2'));
const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const addon = load.addon;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const warm = new WarmState();
const archs = benchCells((BLOCKS + 1) * BLOCK, genotype, Rng).map((g) => genotype.formatNb201(g));
const prepared = await prepareScore(archs, {}, warm);
const { inputs, networks, request } = prepared;
const seeds = Array.from({ length: request.repeats }, (_, r) => repeatSeed(request.seed, r));
const weights = new addon.WeightStore();
const pool = new addon.CountPool();
const job = (nets, withPool) => ({
  ...addonJobInputs(nets, inputs, seeds),
  threads: THREADS,
  weights,
  ...(withPool ? { pool } : {}),
});

const STAGES = ['itemMs', 'convMs', 'bnMs', 'poolMs', 'eltwiseMs', 'packMs', 'countMs', 'prngMs'];

/**
 * Per cell of fn over `cells` cells: wall ms, process CPU ms, minor faults, weight-store misses, and the worker
 * threads' CPU ms per stage (addon.stats: thread CPU time, so less sensitive to other processes); and fn's counts.
 */
async function timed(cells, fn) {
  addon.stats(true);
  const misses = weights.stats().misses;
  const r0 = process.resourceUsage();
  const t = performance.now();
  const counts = await fn();
  const r1 = process.resourceUsage();
  const cpu = (r1.userCPUTime + r1.systemCPUTime - r0.userCPUTime - r0.systemCPUTime) / 1000;
  const st = addon.stats();
  return {
    wall: (performance.now() - t) / cells,
    cpu: cpu / cells,
    faults: (r1.minorPageFault - r0.minorPageFault) / cells,
    misses: (weights.stats().misses - misses) / cells,
    ...Object.fromEntries(STAGES.map((k) => [k, st[k] / cells])),
    counts,
  };
}

const lone = (nets, withPool) =>
  timed(nets.length, async () => {
    const out = [];
    for (const n of nets) out.push(...(await addon.countPatterns(job([n], withPool))));
    return out;
  });
const batched = (nets) => timed(nets.length, async () => [...(await addon.countPatterns(job(nets, true)))]);

await batched(networks.slice(0, BLOCK)); // warm: weights of every seed, pool threads and buffers
const modes = ['batched', 'lone-pool', 'lone-fresh'];
const rows = [];
for (let b = 1; b <= BLOCKS; b++) {
  const nets = networks.slice(b * BLOCK, (b + 1) * BLOCK);
  const order = b % 2 ? modes : [...modes].reverse();
  const got = {};
  for (const m of order) got[m] = m === 'batched' ? await batched(nets) : await lone(nets, m === 'lone-pool');
  for (const m of modes.slice(1)) {
    if (got[m].counts.join() !== got.batched.counts.join())
      throw new Error(`block ${b}: ${m} counts differ from batched`);
  }
  rows.push(got);
  const f = (m) => `${m} ${got[m].wall.toFixed(1)}/${got[m].cpu.toFixed(1)}/${got[m].faults.toFixed(0)}`;
  console.log(`block ${b} (wall/cpu ms/faults per cell): ${modes.map(f).join(' | ')}`);
}
const quart = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))].toFixed(2);
  return `${q(0.5)} [${q(0.25)}, ${q(0.75)}]`;
};
console.log(`load ${loadavg()}; ${THREADS} threads, ${BLOCKS} blocks of ${BLOCK} cells, ${seeds.length} seeds`);
for (const key of ['wall', 'cpu', 'faults', 'misses', ...STAGES]) {
  const over = (m) => quart(rows.map((r) => r[m][key] - r.batched[key]));
  console.log(
    `${key} per cell over batched, median [quartiles]: lone-pool ${over('lone-pool')}, lone-fresh ${over('lone-fresh')}; pool − fresh ${quart(rows.map((r) => r['lone-pool'][key] - r['lone-fresh'][key]))}`,
  );
}
await warm.close();
