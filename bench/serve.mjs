// Per-request cost of `swapnas serve` (stdio and HTTP) against one batched `swapnas score` of the same cells and
// against one CLI process per cell. Usage (after `npm run build`):
//
//   node bench/serve.mjs [--n 1000] [--rounds 3] [--window 64] [--cli-sample 20] [--threads T] [--no-http]
//                        [--pings 200] [--cli-before OLD/dist/cli/main.js]
//
// The same N NB201 cells (bench/native-cells.mjs' list) at the default proxy, the same backend (auto) everywhere:
//   batched:    one `swapnas score --archs FILE --fitness reg-swap` process (start-up included; serve scores SWAP
//               and reg-SWAP, so every CLI run here is asked for those rather than the default ensemble fitness);
//   sequential: one `swapnas serve` process, N requests of one cell each, sent one after another (each waits for
//               its answer, as a plain Python NAS loop does), start-up included; over stdio, and over HTTP
//               (`serve --http 0`, POST /rpc on one keep-alive connection) unless --no-http;
//   pipelined:  stdio with up to --window requests in flight (as `Client.score_each` sends them); the server
//               pools queued requests of equal settings into one backend call;
//   pings:      --pings sequential `health` requests per transport on a warm server (the transport's own round trip);
//   cli:        `swapnas score <cell>` per cell, timed on the first --cli-sample cells and extrapolated to N; with
//               --cli-before, another build's CLI (e.g. a copy of dist/ before a change) is timed call for call
//               alternately with this one, so both see the same load.
// The runs alternate for --rounds rounds (other processes share the machine: the best and the median round are
// reported). Every serve answer is checked against the batched run's row for that cell. Besides wall time, each
// run's CPU time (user + system of the child process, all its threads) is recorded: on a shared machine the wall
// time swings with the others' load, the CPU time much less. Every process gets a fresh $SWAPNAS_CACHE_DIR, so
// the first one computes the data-free μ/σ and the rest read it (as on a user's machine after the first call).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as genotype from '../dist/spaces/nb201/genotype.js';
import { Rng } from '../dist/util/rng.js';
import { benchCells } from './native-cells.mjs';
import { httpClient, stdioClient } from './serve-clients.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const N = Number(arg('n', '1000'));
const ROUNDS = Number(arg('rounds', '3'));
const WINDOW = Number(arg('window', '64'));
const CLI_SAMPLE = Number(arg('cli-sample', '20'));
const PINGS = Number(arg('pings', '200'));
const HTTP = !process.argv.includes('--no-http');
const CLI_BEFORE = arg('cli-before', undefined);
const threads = arg('threads', undefined);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
// Every run here scores SWAP and reg-SWAP only (`--fitness reg-swap`; serve requests say `fitness: 'reg-swap'`).
const extra = ['--no-progress', '--fitness', 'reg-swap', ...(threads ? ['--threads', threads] : [])];
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
/** CPU seconds of this process's finished (reaped) children: cutime + cstime of /proc/self/stat. */
const childCpu = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
};

const archs = benchCells(N, genotype, Rng).map((g) => genotype.formatNb201(g));
const dir = mkdtempSync(join(tmpdir(), 'swapnas-bench-serve-'));
const env = { ...process.env, SWAPNAS_CACHE_DIR: join(dir, 'cache') };
const list = join(dir, 'archs.txt');
writeFileSync(list, `${archs.join('\n')}\n`);

function timeSync(args, cli = CLI) {
  const t = performance.now();
  const c = childCpu();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env });
  if (r.status !== 0) throw new Error(r.stderr);
  return { sec: (performance.now() - t) / 1000, cpu: childCpu() - c, stdout: r.stdout };
}

const start = (kind, sockets = 1) => (kind === 'http' ? httpClient(CLI, env, sockets) : stdioClient(CLI, env));

/** One serve process answering N one-cell requests, at most `window` in flight; wall time from spawn to the last. */
async function serveRun(kind, window, batchRows) {
  const t0 = performance.now();
  const c0 = childCpu();
  const client = await start(kind, window);
  const ready = await client.ask('health');
  if (ready.result?.status !== 'ok') throw new Error(JSON.stringify(ready));
  let mismatches = 0;
  let next = 0;
  const lane = async () => {
    while (next < N) {
      const i = next++;
      const r = await client.ask('score', {
        archs: [archs[i]],
        fitness: 'reg-swap',
        ...(threads ? { threads: Number(threads) } : {}),
      });
      if (r.error) throw new Error(JSON.stringify(r.error));
      const row = r.result.results[0];
      const want = batchRows.get(row.arch);
      if (!want || JSON.stringify(want) !== JSON.stringify(row)) mismatches++;
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const sec = (performance.now() - t0) / 1000;
  const health = await client.ask('health');
  await client.close();
  // The child's CPU is counted once Node has reaped it, which happens right after 'exit'.
  await new Promise((r) => setTimeout(r, 50));
  return { sec, cpu: childCpu() - c0, mismatches, pooled: health.result.pooled };
}

/** Milliseconds per sequential `health` round trip on a warm server of each transport. */
async function pings() {
  const out = {};
  for (const kind of HTTP ? ['stdio', 'http'] : ['stdio']) {
    const client = await start(kind);
    for (let i = 0; i < 20; i++) await client.ask('health');
    const t = performance.now();
    for (let i = 0; i < PINGS; i++) await client.ask('health');
    out[kind] = +((performance.now() - t) / PINGS).toFixed(3);
    await client.close();
  }
  return out;
}

/** Per-call wall and CPU of `score <cell>`, this build's CLI alternating with --cli-before's when given. */
function cliCalls() {
  const clis = { now: CLI, ...(CLI_BEFORE ? { before: CLI_BEFORE } : {}) };
  const sum = Object.fromEntries(Object.keys(clis).map((k) => [k, { sec: 0, cpu: 0 }]));
  // One untimed call each first: this build's writes the data-free μ/σ cache the timed calls read.
  for (const cli of Object.values(clis)) timeSync(['score', archs[0], ...extra], cli);
  for (let i = 0; i < CLI_SAMPLE; i++)
    for (const [k, cli] of Object.entries(clis)) {
      const r = timeSync(['score', archs[i], ...extra], cli);
      sum[k].sec += r.sec;
      sum[k].cpu += r.cpu;
    }
  const per = (x) => +(x / CLI_SAMPLE).toFixed(3);
  return Object.fromEntries(Object.entries(sum).map(([k, s]) => [k, { wallSec: per(s.sec), cpuSec: per(s.cpu) }]));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const stat = (key) => ({
  best: Math.min(...rounds.map((r) => r[key])),
  median: median(rounds.map((r) => r[key])),
});
const rounds = [];
const loadStart = loadavg();
for (let k = 0; k < ROUNDS; k++) {
  const load0 = loadavg();
  const batched = timeSync(['score', '--archs', list, ...extra]);
  const batchRows = new Map(JSON.parse(batched.stdout).results.map((r) => [r.arch, r]));
  const seq = await serveRun('stdio', 1, batchRows);
  const pip = await serveRun('stdio', WINDOW, batchRows);
  const http = HTTP ? await serveRun('http', 1, batchRows) : undefined;
  const over = (s, b = batched.sec) => +(((s - b) / N) * 1000).toFixed(2);
  rounds.push({
    batchedSec: +batched.sec.toFixed(2),
    sequentialSec: +seq.sec.toFixed(2),
    pipelinedSec: +pip.sec.toFixed(2),
    ...(http ? { httpSec: +http.sec.toFixed(2) } : {}),
    sequentialOverheadMs: over(seq.sec),
    pipelinedOverheadMs: over(pip.sec),
    ...(http ? { httpOverheadMs: over(http.sec) } : {}),
    cpuSec: {
      batched: +batched.cpu.toFixed(2),
      sequential: +seq.cpu.toFixed(2),
      pipelined: +pip.cpu.toFixed(2),
      ...(http ? { http: +http.cpu.toFixed(2) } : {}),
    },
    sequentialCpuOverheadMs: over(seq.cpu, batched.cpu),
    pipelinedCpuOverheadMs: over(pip.cpu, batched.cpu),
    ...(http ? { httpCpuOverheadMs: over(http.cpu, batched.cpu) } : {}),
    pooled: pip.pooled,
    mismatches: seq.mismatches + pip.mismatches + (http?.mismatches ?? 0),
    load: `${load0} → ${loadavg()}`,
  });
  console.error(JSON.stringify(rounds.at(-1)));
}

const pingMs = await pings();
const loadCli = loadavg();
const cli = cliCalls();
const seqBest = Math.min(...rounds.map((r) => r.sequentialSec));
const batchedBest = Math.min(...rounds.map((r) => r.batchedSec));
console.log(
  JSON.stringify(
    {
      n: N,
      window: WINDOW,
      machine: `${cpus()[0]?.model}, ${cpus().length} cores`,
      threads: threads ?? 'all',
      rounds,
      sequentialOverheadMs: stat('sequentialOverheadMs'),
      pipelinedOverheadMs: stat('pipelinedOverheadMs'),
      ...(HTTP ? { httpOverheadMs: stat('httpOverheadMs') } : {}),
      sequentialCpuOverheadMs: median(rounds.map((r) => r.sequentialCpuOverheadMs)),
      ...(HTTP ? { httpCpuOverheadMs: median(rounds.map((r) => r.httpCpuOverheadMs)) } : {}),
      pingMs,
      cli,
      cliSampled: CLI_SAMPLE,
      cliLoad: `${loadCli} → ${loadavg()}`,
      cliOverSequentialServe: +((cli.now.wallSec * N) / seqBest).toFixed(1),
      cliOverheadMs: +((cli.now.wallSec - batchedBest / N) * 1000).toFixed(1),
      // The goal's ratio: a CLI call's overhead over the batched per-cell time against a sequential serve
      // request's (median round; none when that overhead is not above zero at this load).
      cliOverheadOverServe:
        stat('sequentialOverheadMs').median > 0
          ? +(((cli.now.wallSec - batchedBest / N) * 1000) / stat('sequentialOverheadMs').median).toFixed(1)
          : null,
      loadStart,
      loadEnd: loadavg(),
    },
    null,
    1,
  ),
);
