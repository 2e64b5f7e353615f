// Per-request cost of `swapnas serve` (stdio) against one batched `swapnas score` of the same cells and against one
// CLI process per cell. Usage (after `npm run build`):
//
//   node bench/serve.mjs [--n 1000] [--rounds 3] [--window 64] [--cli-sample 20] [--threads T]
//
// The same N NB201 cells (bench/native-cells.mjs' list) at the default proxy, the same backend (auto) everywhere:
//   batched:    one `swapnas score --archs FILE` process (start-up included);
//   sequential: one `swapnas serve` process, N requests of one cell each, sent one after another (each waits for
//               its answer, as a plain Python NAS loop does), start-up included;
//   pipelined:  the same, with up to --window requests in flight (as `Client.score_each` sends them); the server
//               pools queued requests of equal settings into one backend call;
//   cli:        `swapnas score <cell>` per cell, timed on the first --cli-sample cells and extrapolated to N.
// batched / sequential / pipelined alternate for --rounds rounds (other processes share the machine: the best and
// the median round are reported). Every serve answer is checked against the batched run's row for that cell.
// Besides wall time, each run's CPU time (user + system of the child process, all its threads) is recorded: on a
// machine shared with other work the wall time swings with their load, the CPU time much less, so the CPU
// overhead per request shows what a lone request costs beyond its share of a batch.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as genotype from '../dist/spaces/nb201/genotype.js';
import { Rng } from '../dist/util/rng.js';
import { benchCells } from './native-cells.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const N = Number(arg('n', '1000'));
const ROUNDS = Number(arg('rounds', '3'));
const WINDOW = Number(arg('window', '64'));
const CLI_SAMPLE = Number(arg('cli-sample', '20'));
const threads = arg('threads', undefined);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const extra = threads ? ['--threads', threads] : [];
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
/** CPU seconds of this process's finished (reaped) children: cutime + cstime of /proc/self/stat. */
const childCpu = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
};

const archs = benchCells(N, genotype, Rng).map((g) => genotype.formatNb201(g));
const dir = mkdtempSync(join(tmpdir(), 'swapnas-bench-serve-'));
const list = join(dir, 'archs.txt');
writeFileSync(list, `${archs.join('\n')}\n`);

function timeSync(args) {
  const t = performance.now();
  const c = childCpu();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return { sec: (performance.now() - t) / 1000, cpu: childCpu() - c, stdout: r.stdout };
}

/** One serve process answering N one-cell requests, at most `window` in flight; wall time from spawn to the last. */
async function serveRun(window, batchRows) {
  const t0 = performance.now();
  const c0 = childCpu();
  const child = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const r = JSON.parse(line);
    waiting.get(r.id)?.(r);
    waiting.delete(r.id);
  });
  const ask = (id, method, params) =>
    new Promise((resolve) => {
      waiting.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ id, method, ...(params ? { params } : {}) })}\n`);
    });
  const ready = await ask(0, 'health');
  if (ready.result?.status !== 'ok') throw new Error(JSON.stringify(ready));
  let mismatches = 0;
  let next = 0;
  const lane = async () => {
    while (next < N) {
      const i = next++;
      const r = await ask(i + 1, 'score', { archs: [archs[i]], ...(threads ? { threads: Number(threads) } : {}) });
      if (r.error) throw new Error(JSON.stringify(r.error));
      const row = r.result.results[0];
      const want = batchRows.get(row.arch);
      if (!want || JSON.stringify(want) !== JSON.stringify(row)) mismatches++;
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const sec = (performance.now() - t0) / 1000;
  const health = await ask(N + 1, 'health');
  child.stdin.end();
  await new Promise((r) => child.once('exit', r));
  // The child's CPU is counted once Node has reaped it, which happens right after 'exit'.
  await new Promise((r) => setTimeout(r, 50));
  return { sec, cpu: childCpu() - c0, mismatches, pooled: health.result.pooled };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const rounds = [];
const loadStart = loadavg();
let batchRows;
for (let k = 0; k < ROUNDS; k++) {
  const batched = timeSync(['score', '--archs', list, '--no-progress', ...extra]);
  batchRows = new Map(JSON.parse(batched.stdout).results.map((r) => [r.arch, r]));
  const seq = await serveRun(1, batchRows);
  const pip = await serveRun(WINDOW, batchRows);
  const over = (s, b = batched.sec) => +(((s - b) / N) * 1000).toFixed(2);
  rounds.push({
    batchedSec: +batched.sec.toFixed(2),
    sequentialSec: +seq.sec.toFixed(2),
    pipelinedSec: +pip.sec.toFixed(2),
    sequentialOverheadMs: over(seq.sec),
    pipelinedOverheadMs: over(pip.sec),
    cpuSec: { batched: +batched.cpu.toFixed(2), sequential: +seq.cpu.toFixed(2), pipelined: +pip.cpu.toFixed(2) },
    sequentialCpuOverheadMs: over(seq.cpu, batched.cpu),
    pipelinedCpuOverheadMs: over(pip.cpu, batched.cpu),
    pooled: pip.pooled,
    mismatches: seq.mismatches + pip.mismatches,
    load: loadavg(),
  });
  console.error(JSON.stringify(rounds.at(-1)));
}

let cliSec = 0;
let cliCpu = 0;
for (let i = 0; i < CLI_SAMPLE; i++) {
  const r = timeSync(['score', archs[i], '--no-progress', ...extra]);
  cliSec += r.sec;
  cliCpu += r.cpu;
}
const cliPerCall = cliSec / CLI_SAMPLE;
const seqBest = Math.min(...rounds.map((r) => r.sequentialSec));
console.log(
  JSON.stringify(
    {
      n: N,
      window: WINDOW,
      machine: `${cpus()[0]?.model}, ${cpus().length} cores`,
      threads: threads ?? 'all',
      rounds,
      sequentialOverheadMs: {
        best: Math.min(...rounds.map((r) => r.sequentialOverheadMs)),
        median: median(rounds.map((r) => r.sequentialOverheadMs)),
      },
      pipelinedOverheadMs: {
        best: Math.min(...rounds.map((r) => r.pipelinedOverheadMs)),
        median: median(rounds.map((r) => r.pipelinedOverheadMs)),
      },
      sequentialCpuOverheadMs: median(rounds.map((r) => r.sequentialCpuOverheadMs)),
      cliCpuPerCallSec: +(cliCpu / CLI_SAMPLE).toFixed(3),
      cliPerCallSec: +cliPerCall.toFixed(3),
      cliSampled: CLI_SAMPLE,
      cliOverSequentialServe: +((cliPerCall * N) / seqBest).toFixed(1),
      loadStart,
      loadEnd: loadavg(),
    },
    null,
    1,
  ),
);
