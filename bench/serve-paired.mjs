// Per-request wall overhead of lone `swapnas serve` requests, measured paired so that a shared machine's load
// swings cancel: one warm server (stdio, or HTTP with --http), and for each block of 64 cells, the block scored as
// one request (as one batched `score` scores it: 64 networks per backend call) and as 64 one-cell requests sent
// one after another, back to back, the order alternating between blocks. Usage (after `npm run build`):
//
//   node bench/serve-paired.mjs [--blocks 16] [--block 64] [--http]
//
// The overhead of a lone request over its share of a batch is (lone − batched) / block per block; the median and
// the quartiles over blocks are reported, with the server process's CPU per cell for both (from /proc/PID/stat;
// Linux). Every lone row is checked equal to the batched row of the same cell. Process start-up is not part of
// either (a batched CLI run and a serve process start the same way, once).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as genotype from '../dist/spaces/nb201/genotype.js';
import { Rng } from '../dist/util/rng.js';
import { benchCells } from './native-cells.mjs';
import { httpClient, stdioClient } from './serve-clients.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const BLOCKS = Number(arg('blocks', '16'));
const BLOCK = Number(arg('block', '64'));
const HTTP = process.argv.includes('--http');
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const archs = benchCells(BLOCKS * BLOCK, genotype, Rng).map((g) => genotype.formatNb201(g));
const client = HTTP ? await httpClient(CLI, process.env) : stdioClient(CLI, process.env);
const pid = (await client.ask('health')).result.pid;
/** CPU seconds of the server process so far (utime + stime). */
const serverCpu = () => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

async function timed(fn) {
  const t = performance.now();
  const c = serverCpu();
  const out = await fn();
  return { ms: performance.now() - t, cpu: (serverCpu() - c) * 1000, out };
}

const score = async (cells) => {
  const r = await client.ask('score', { archs: cells });
  if (r.error) throw new Error(JSON.stringify(r.error));
  return r.result.results;
};
await score(archs.slice(0, BLOCK)); // warm: batch, μ/σ, weights of every seed
const blocks = [];
let mismatches = 0;
for (let b = 0; b < BLOCKS; b++) {
  const cells = archs.slice(b * BLOCK, (b + 1) * BLOCK);
  const batched = () => timed(() => score(cells));
  const lone = () =>
    timed(async () => {
      const rows = [];
      for (const c of cells) rows.push((await score([c]))[0]);
      return rows;
    });
  const [first, second] = b % 2 === 0 ? [await batched(), await lone()] : [await lone(), await batched()];
  const [bt, lt] = b % 2 === 0 ? [first, second] : [second, first];
  for (const [i, row] of lt.out.entries()) if (JSON.stringify(row) !== JSON.stringify(bt.out[i])) mismatches++;
  blocks.push({
    batchedMsPerCell: +(bt.ms / BLOCK).toFixed(2),
    loneMsPerCell: +(lt.ms / BLOCK).toFixed(2),
    overheadMs: +((lt.ms - bt.ms) / BLOCK).toFixed(2),
    cpuOverheadMs: +((lt.cpu - bt.cpu) / BLOCK).toFixed(2),
    load: loadavg(),
  });
  console.error(JSON.stringify(blocks.at(-1)));
}
await client.close();
const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round(p * (s.length - 1))];
};
const summary = (key) => {
  const xs = blocks.map((b) => b[key]);
  return {
    q1: q(xs, 0.25),
    median: q(xs, 0.5),
    q3: q(xs, 0.75),
    mean: +(xs.reduce((a, x) => a + x, 0) / xs.length).toFixed(2),
  };
};
console.log(
  JSON.stringify(
    {
      transport: HTTP ? 'http' : 'stdio',
      blocks: BLOCKS,
      block: BLOCK,
      machine: `${cpus()[0]?.model}, ${cpus().length} cores`,
      overheadMs: summary('overheadMs'),
      cpuOverheadMs: summary('cpuOverheadMs'),
      batchedMsPerCell: summary('batchedMsPerCell'),
      loneMsPerCell: summary('loneMsPerCell'),
      mismatches,
      blocksDetail: blocks,
    },
    null,
    1,
  ),
);
