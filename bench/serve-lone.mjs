// Where a lone serve request's time goes: in one process, through the server's own scoring path (serve/adapter
// with a WarmState), N cells scored as one batched request and as N one-cell requests, alternating for --rounds
// rounds. Reports wall and process CPU per cell, and the addon's per-stage thread CPU (addon.stats(): weight
// generation, conv, BN, pool, …) per cell, so the difference between the two is attributed. Usage (after
// `npm run build`):
//
//   node bench/serve-lone.mjs [--n 64] [--rounds 2] [--threads 1] [--fitness reg-swap|ensemble|ensemble-fit]
//
// The fitness defaults to reg-swap, as the runs recorded before serve took the CLI's default fitness.
//
// Every lone row is checked equal to the batched row of the same cell.
import { readFileSync } from 'node:fs';
import { WarmState } from '../dist/serve/warm.js';
import { scoreArchs } from '../dist/serve/adapter.js';
import { loadAddon } from '../dist/native/loader.js';
import * as genotype from '../dist/spaces/nb201/genotype.js';
import { Rng } from '../dist/util/rng.js';
import { benchCells } from './native-cells.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const N = Number(arg('n', '64'));
const ROUNDS = Number(arg('rounds', '2'));
const settings = { threads: arg('threads', '1'), fitness: arg('fitness', 'reg-swap') };
const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const { addon } = load;
const archs = benchCells(N, genotype, Rng).map((g) => genotype.formatNb201(g));
const warm = new WarmState();
const signal = new AbortController().signal;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const per = (x) => +(x / N).toFixed(2);
const stages = (s) =>
  Object.fromEntries(
    Object.entries(s)
      .filter(([k]) => k.endsWith('Ms'))
      .map(([k, v]) => [k, per(v)]),
  );

// Start-up (addon, batch, data-free μ/σ) and the weights every cell needs, so every round compares warm with warm.
await scoreArchs(archs, settings, warm, signal);
const rounds = [];
for (let r = 0; r < ROUNDS; r++) {
  addon.stats(true);
  let w = performance.now();
  let c = cpuMs();
  const batched = await scoreArchs(archs, settings, warm, signal);
  const b = { wall: performance.now() - w, cpu: cpuMs() - c, stages: addon.stats(true) };
  w = performance.now();
  c = cpuMs();
  let mismatches = 0;
  for (const [i, a] of archs.entries()) {
    const one = await scoreArchs([a], settings, warm, signal);
    if (JSON.stringify(one.results[0]) !== JSON.stringify(batched.results[i])) mismatches++;
  }
  const l = { wall: performance.now() - w, cpu: cpuMs() - c, stages: addon.stats(true) };
  rounds.push({
    wallMsPerCell: { batched: per(b.wall), lone: per(l.wall) },
    cpuMsPerCell: { batched: per(b.cpu), lone: per(l.cpu), loneOverhead: per(l.cpu - b.cpu) },
    addonCpuMsPerCell: { batched: stages(b.stages), lone: stages(l.stages) },
    weightStore: (await warm.choose('auto')).backend.weights?.stats(),
    mismatches,
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  });
}
console.log(JSON.stringify({ n: N, threads: settings.threads, fitness: settings.fitness, rounds }, null, 1));
await warm.close();
