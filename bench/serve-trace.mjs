// Where the wall time and the CPU of a lone `swapnas serve` request go, stage by stage, against the same cells
// batched. A stdio server loaded with bench/serve-trace-hook.mjs (marks per request, monotonic clock); per block
// of 64 cells, the block as one request and as 64 one-cell requests back to back, the order alternating. Usage
// (after `npm run build`):
//
//   node bench/serve-trace.mjs [--blocks 4] [--block 64] [--compare DIR]
//
// Stages of a request (client marks + the hook's): toServer (client write → server has the text), prepare (parse,
// resolve, build the networks), serialise (job inputs), addonSync (the addon call's synchronous part), job (queued →
// its promise resolved on the main thread), respond (result shaping), back (stringify, stdout, client read),
// client (the client's turn until its next request). Per lone request the median and the mean; per batched cell
// the mean (a batched request's stages divided by its cells). Server CPU per cell by thread from
// /proc/PID/task/*/schedstat (nanoseconds): the main (JavaScript) thread and all others (the count job's threads,
// libuv, V8's helpers). Linux only. Every lone row is checked equal to the batched row of the same cell.
//
// --compare DIR: a second server from another checkout's build (DIR/dist), traced in the same run, block by block,
// the two servers' order alternating too (each idles while the other is measured).
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as genotype from '../dist/spaces/nb201/genotype.js';
import { Rng } from '../dist/util/rng.js';
import { benchCells } from './native-cells.mjs';
import { stdioClient } from './serve-clients.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const BLOCKS = Number(arg('blocks', '4'));
const BLOCK = Number(arg('block', '64'));
const COMPARE = arg('compare', undefined);
const archs = benchCells(BLOCKS * BLOCK, genotype, Rng).map((g) => genotype.formatNb201(g));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const HOOK = join(import.meta.dirname, 'serve-trace-hook.mjs');

/** A traced server of checkout `root`: its client, and the client's marks of every request by id. */
async function server(label, root) {
  const out = join(mkdtempSync(join(tmpdir(), 'swapnas-serve-trace-')), 'marks.json');
  const env = { ...process.env, SWAPNAS_TRACE_OUT: out, SWAPNAS_TRACE_ROOT: root };
  const client = stdioClient(join(root, 'dist', 'cli', 'main.js'), env, ['--import', HOOK]);
  const pid = (await client.ask('health')).result.pid;
  const s = { label, client, pid, out, sent: new Map(), lastId: 1, mismatches: 0 };
  s.cpu = { lone: { main: 0, others: 0 }, batched: { main: 0, others: 0 } };
  return s;
}

/** Server CPU milliseconds so far: the main thread's and the other threads' (threads that ended are not counted). */
function threadCpu(pid) {
  const cpu = { main: 0, others: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ns;
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      continue; // the thread ended meanwhile
    }
    cpu[tid === String(pid) ? 'main' : 'others'] += ns / 1e6;
  }
  return cpu;
}

async function score(s, kind, cells, block = -1) {
  const mark = { kind, block, cells: cells.length, sent: now() };
  s.sent.set(++s.lastId, mark);
  // reg-SWAP, as the recorded runs (the default fitness, the ensemble, adds its second pass to every request)
  const r = await s.client.ask('score', { archs: cells, fitness: 'reg-swap' });
  mark.got = now();
  if (r.error) throw new Error(JSON.stringify(r.error));
  return r.result.results;
}

/** One block on one server: batched and lone in the given order, CPU by thread added to s.cpu. */
async function measureBlock(s, cells, block) {
  const batchedFirst = block % 2 === 0;
  const rows = {};
  for (const kind of batchedFirst ? ['batched', 'lone'] : ['lone', 'batched']) {
    const c0 = threadCpu(s.pid);
    if (kind === 'batched') rows.batched = await score(s, 'batched', cells, block);
    else {
      rows.lone = [];
      for (const c of cells) rows.lone.push((await score(s, 'lone', [c], block))[0]);
    }
    const c1 = threadCpu(s.pid);
    for (const k of ['main', 'others']) s.cpu[kind][k] += c1[k] - c0[k];
  }
  for (const [i, row] of rows.lone.entries())
    if (JSON.stringify(row) !== JSON.stringify(rows.batched[i])) s.mismatches++;
}

/** Each request's stages (milliseconds) from the client's marks and the server's. */
function stagesOf(s) {
  const marks = new Map(JSON.parse(readFileSync(s.out, 'utf8')).map((m) => [m.id, m]));
  const stages = { lone: [], batched: [] };
  for (const [id, c] of s.sent) {
    const m = marks.get(id);
    if (c.kind === 'warm' || !m) continue;
    const next = s.sent.get(id + 1);
    const same = next && next.kind === c.kind && next.block === c.block;
    stages[c.kind].push({
      cells: c.cells,
      toServer: m.recv - c.sent,
      prepare: m.jobStart - m.recv,
      serialise: m.addonCall - m.jobStart,
      addonSync: m.addonReturned - m.addonCall,
      job: m.jobEnd - m.addonReturned,
      respond: m.resolved - m.jobEnd,
      back: c.got - m.resolved,
      client: same ? next.sent - c.got : 0,
      total: (same ? next.sent : c.got) - c.sent,
    });
  }
  return stages;
}

const round = (x) => +x.toFixed(3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const map = (o, f) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v, k)]));
function perCell(rows) {
  const n = rows.reduce((a, r) => a + r.cells, 0);
  const { cells: _, ...first } = rows[0];
  return map(first, (_v, k) => round(rows.reduce((a, r) => a + r[k], 0) / n));
}

function summary(s) {
  const stages = stagesOf(s);
  const lone = perCell(stages.lone);
  const batched = perCell(stages.batched);
  const cells = BLOCKS * BLOCK;
  return {
    wallMs: {
      loneMedianPerRequest: map(lone, (_v, k) => round(median(stages.lone.map((r) => r[k])))),
      loneMeanPerRequest: lone,
      batchedMeanPerCell: batched,
      loneMinusBatchedMean: map(lone, (v, k) => round(v - batched[k])),
    },
    serverCpuMsPerCell: map(s.cpu, (c) => ({ main: round(c.main / cells), others: round(c.others / cells) })),
    mismatches: s.mismatches,
  };
}

const servers = [await server('this', join(import.meta.dirname, '..'))];
if (COMPARE) servers.push(await server(resolve(COMPARE), resolve(COMPARE)));
for (const s of servers) await score(s, 'warm', archs.slice(0, BLOCK)); // batch, μ/σ, weights of every seed
for (let b = 0; b < BLOCKS; b++) {
  const cells = archs.slice(b * BLOCK, (b + 1) * BLOCK);
  for (const s of b % 4 < 2 ? servers : [...servers].reverse()) await measureBlock(s, cells, b);
  console.error(`block ${b + 1}/${BLOCKS}, load ${loadavg()}`);
}
for (const s of servers) await s.client.close();
const [self, other] = servers;
console.log(
  JSON.stringify(
    {
      blocks: BLOCKS,
      block: BLOCK,
      machine: `${cpus()[0]?.model}, ${cpus().length} cores`,
      ...summary(self),
      ...(other ? { compare: { dir: other.label, ...summary(other) } } : {}),
      loadEnd: loadavg(),
    },
    null,
    1,
  ),
);
