// Per-request cost of `swapnas serve` (stdio) against one batched `swapnas score` of the same cells and against one
// CLI process per cell. Usage (after `npm run build`):
//
//   node bench/serve.mjs [--n 1000] [--cli-sample 50] [--threads T]
//
// The same N NB201 cells (bench/native-cells.mjs' list) at the default proxy, the same backend (auto) in all three:
//   batched: one `swapnas score --archs FILE` process (start-up included);
//   serve:   one `swapnas serve` process, N requests of one cell each, sent one after another (each waits for its
//            answer, as a Python NAS loop does), start-up included;
//   cli:     `swapnas score <cell>` per cell, timed on the first --cli-sample cells and extrapolated to N.
// Every serve answer is checked against the batched run's row for that cell (same numbers).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
const CLI_SAMPLE = Number(arg('cli-sample', '50'));
const threads = arg('threads', undefined);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const extra = threads ? ['--threads', threads] : [];

const archs = benchCells(N, genotype, Rng).map((g) => genotype.formatNb201(g));
const dir = mkdtempSync(join(tmpdir(), 'swapnas-bench-serve-'));
const list = join(dir, 'archs.txt');
writeFileSync(list, `${archs.join('\n')}\n`);

function timeSync(args) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return { sec: (performance.now() - t) / 1000, stdout: r.stdout };
}

// 1. batched
const batched = timeSync(['score', '--archs', list, '--no-progress', ...extra]);
const batchRows = new Map(JSON.parse(batched.stdout).results.map((r) => [r.arch, r]));

// 2. serve, one request per cell, sequential
const t0 = performance.now();
const child = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const ask = async (req) => {
  child.stdin.write(`${JSON.stringify(req)}\n`);
  const { value } = await lines.next();
  return JSON.parse(value);
};
const ready = await ask({ id: 0, method: 'health' });
const startSec = (performance.now() - t0) / 1000;
if (ready.result?.status !== 'ok') throw new Error(JSON.stringify(ready));
let mismatches = 0;
let firstSec = 0;
for (let i = 0; i < N; i++) {
  const params = { archs: [archs[i]], ...(threads ? { threads: Number(threads) } : {}) };
  const r = await ask({ id: i + 1, method: 'score', params });
  if (r.error) throw new Error(JSON.stringify(r.error));
  const row = r.result.results[0];
  const want = batchRows.get(row.arch);
  if (!want || want.regSwap !== row.regSwap || want.swap !== row.swap) mismatches++;
  if (i === 0) firstSec = (performance.now() - t0) / 1000;
}
const serveSec = (performance.now() - t0) / 1000;
child.stdin.end();
await new Promise((r) => child.once('exit', r));

// 3. CLI per cell, on a sample
let cliSec = 0;
for (let i = 0; i < CLI_SAMPLE; i++) cliSec += timeSync(['score', archs[i], '--no-progress', ...extra]).sec;
const cliPerCall = cliSec / CLI_SAMPLE;

const perReqOverheadMs = ((serveSec - batched.sec) / N) * 1000;
const result = {
  n: N,
  cores: cpus().length,
  threads: threads ?? 'all',
  batchedSec: +batched.sec.toFixed(2),
  serveSec: +serveSec.toFixed(2),
  serveStartSec: +startSec.toFixed(2),
  serveFirstAnswerSec: +firstSec.toFixed(2),
  servePerRequestMs: +((serveSec / N) * 1000).toFixed(2),
  batchedPerCellMs: +((batched.sec / N) * 1000).toFixed(2),
  overheadPerRequestMs: +perReqOverheadMs.toFixed(2),
  cliPerCallSec: +cliPerCall.toFixed(3),
  cliSampled: CLI_SAMPLE,
  cliExtrapolatedSec: +(cliPerCall * N).toFixed(1),
  cliOverServe: +((cliPerCall * N) / serveSec).toFixed(1),
  mismatches,
  load: spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim(),
};
console.log(JSON.stringify(result, null, 1));
