// Per-request wall overhead of lone `swapnas serve` requests, measured paired so that a shared machine's load
// swings cancel: one warm server (stdio, or HTTP with --http), and for each block of 64 cells, the block scored as
// one request (as one batched `score` scores it: 64 networks per backend call) and as 64 one-cell requests sent
// one after another, back to back, the order alternating between blocks. Usage (after `npm run build`):
//
//   node bench/serve-paired.mjs [--blocks 16] [--block 64] [--http] [--compare DIR]
//
// The overhead of a lone request over its share of a batch is (lone − batched) / block per block; the median and
// the quartiles over blocks are reported, with the server process's CPU per cell for both (from /proc/PID/stat;
// Linux). Every lone row is checked equal to the batched row of the same cell. Process start-up is not part of
// either (a batched CLI run and a serve process start the same way, once).
//
// --compare DIR: a second server from another checkout's build (DIR/dist/cli/main.js, e.g. the previous commit)
// measured in the same run, block by block, the two servers' order alternating too; the per-block difference of
// their overheads (this − DIR) is reported as well. Each server idles while the other is measured.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
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
const COMPARE = arg('compare', undefined);
const cliOf = (root) => join(root, 'dist', 'cli', 'main.js');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const archs = benchCells(BLOCKS * BLOCK, genotype, Rng).map((g) => genotype.formatNb201(g));

/** A started server: its client, label and a reader of its process CPU seconds (utime + stime). */
async function server(label, root) {
  const client = HTTP ? await httpClient(cliOf(root), process.env) : stdioClient(cliOf(root), process.env);
  const pid = (await client.ask('health')).result.pid;
  const cpu = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  return { label, client, cpu, blocks: [], mismatches: 0 };
}

async function timed(s, fn) {
  const t = performance.now();
  const c = s.cpu();
  const out = await fn();
  return { ms: performance.now() - t, cpu: (s.cpu() - c) * 1000, out };
}

const score = async (s, cells) => {
  // reg-SWAP, as the recorded runs (the default fitness, the ensemble, adds its second pass to every request)
  const r = await s.client.ask('score', { archs: cells, fitness: 'reg-swap' });
  if (r.error) throw new Error(JSON.stringify(r.error));
  return r.result.results;
};

/** One block on one server: batched and lone in the given order; appends the block's row to s.blocks. */
async function measureBlock(s, cells, batchedFirst) {
  const batched = () => timed(s, () => score(s, cells));
  const lone = () =>
    timed(s, async () => {
      const rows = [];
      for (const c of cells) rows.push((await score(s, [c]))[0]);
      return rows;
    });
  const [first, second] = batchedFirst ? [await batched(), await lone()] : [await lone(), await batched()];
  const [bt, lt] = batchedFirst ? [first, second] : [second, first];
  for (const [i, row] of lt.out.entries()) if (JSON.stringify(row) !== JSON.stringify(bt.out[i])) s.mismatches++;
  s.blocks.push({
    batchedMsPerCell: +(bt.ms / BLOCK).toFixed(2),
    loneMsPerCell: +(lt.ms / BLOCK).toFixed(2),
    overheadMs: +((lt.ms - bt.ms) / BLOCK).toFixed(2),
    cpuOverheadMs: +((lt.cpu - bt.cpu) / BLOCK).toFixed(2),
    load: loadavg(),
  });
  console.error(s.label, JSON.stringify(s.blocks.at(-1)));
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round(p * (s.length - 1))];
};
const summarize = (xs) => ({
  q1: q(xs, 0.25),
  median: q(xs, 0.5),
  q3: q(xs, 0.75),
  mean: +(xs.reduce((a, x) => a + x, 0) / xs.length).toFixed(2),
});
const summaryOf = (s) => {
  const of = (key) => summarize(s.blocks.map((b) => b[key]));
  return {
    overheadMs: of('overheadMs'),
    cpuOverheadMs: of('cpuOverheadMs'),
    batchedMsPerCell: of('batchedMsPerCell'),
    loneMsPerCell: of('loneMsPerCell'),
    mismatches: s.mismatches,
  };
};

const servers = [await server('this', join(import.meta.dirname, '..'))];
if (COMPARE) servers.push(await server(resolve(COMPARE), resolve(COMPARE)));
for (const s of servers) await score(s, archs.slice(0, BLOCK)); // warm: batch, μ/σ, weights of every seed
for (let b = 0; b < BLOCKS; b++) {
  const cells = archs.slice(b * BLOCK, (b + 1) * BLOCK);
  const order = b % 4 < 2 ? servers : [...servers].reverse();
  for (const s of order) await measureBlock(s, cells, b % 2 === 0);
}
for (const s of servers) await s.client.close();
const [self, other] = servers;
const diff = (key) => summarize(self.blocks.map((b, i) => +(b[key] - other.blocks[i][key]).toFixed(2)));
console.log(
  JSON.stringify(
    {
      transport: HTTP ? 'http' : 'stdio',
      blocks: BLOCKS,
      block: BLOCK,
      machine: `${cpus()[0]?.model}, ${cpus().length} cores`,
      ...summaryOf(self),
      ...(other
        ? {
            compare: { dir: other.label, ...summaryOf(other) },
            minusCompare: { overheadMs: diff('overheadMs'), cpuOverheadMs: diff('cpuOverheadMs') },
          }
        : {}),
      blocksDetail: self.blocks,
      ...(other ? { compareBlocksDetail: other.blocks } : {}),
    },
    null,
    1,
  ),
);
