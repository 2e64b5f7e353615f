import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchSpace } from '../spaces/types.js';
import type { BenchmarkTable } from '../tables/types.js';
import { SwapError } from '../util/errors.js';
import type { Evaluation, EvaluationRequest, Evaluator } from './types.js';

/**
 * Ground truth from a benchmark table. The search selects on the **validation** value (NB201 CIFAR-10:
 * `cifar10-valid` x-valid; tables that only have validation values use them), as NAS benchmarks prescribe; the
 * test accuracy is returned for reporting only. An arch missing from the table is a failed evaluation.
 */
export class TableEvaluator<G> implements Evaluator<G> {
  readonly name = 'table';
  readonly metadata: Readonly<Record<string, unknown>>;

  constructor(
    private readonly space: SearchSpace<G, object>,
    private readonly table: BenchmarkTable,
    private readonly dataset: string,
  ) {
    this.metadata = { evaluator: 'table', table: table.name, dataset, selectOn: 'valid' };
  }

  async evaluate(g: G): Promise<Evaluation> {
    const arch = this.space.format(g);
    const r = this.table.get(arch);
    if (!r) return { ok: false, error: `arch ${arch} is not in the table` };
    const truth = r.truth[this.dataset];
    const valid = r.valid?.[this.dataset] ?? truth;
    if (truth === undefined || valid === undefined)
      return { ok: false, error: `arch ${arch} has no ${this.dataset} value in ${this.table.name}` };
    return { ok: true, accuracy: valid, valid, test: truth };
  }
}

/** Settings of a {@link CommandEvaluator}. */
export interface CommandEvaluatorOptions {
  /**
   * Shell command (run with `/bin/sh -c`). `{arch}` and `{dir}` are replaced by the shell-quoted arch string and
   * run directory; the same values are in the environment as `SWAPNAS_ARCH` and `SWAPNAS_RUN_DIR` (plus
   * `SWAPNAS_QUERY`, `SWAPNAS_DATASET`, `SWAPNAS_SEED`).
   */
  readonly command: string;
  /** Folder under which each query gets its own run directory `q<index>-<hash>` (created). */
  readonly runDir: string;
  /** Kill the command (its whole process group) after this many seconds (default 0 = no limit). */
  readonly timeoutSec?: number;
  readonly dataset?: string;
  readonly seed?: number;
}

const MAX_STDOUT = 1 << 20;
const TAIL = 2000;

/** Quote a string for /bin/sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Parse the accuracy a training command printed: the **last non-empty line of stdout** must be a plain number
 * (`93.4` or `93.4%`), `name: number` / `name=number`, or a JSON object with a numeric `accuracy` (optional
 * `valid`, `test`, `cost` in seconds). Accuracies are percentages in [0, 100]. Returns an error string otherwise.
 */
export function parseAccuracy(stdout: string): Evaluation {
  const lines = stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const last = lines[lines.length - 1];
  if (last === undefined) return { ok: false, error: 'the command printed nothing on stdout' };
  const shown = JSON.stringify(last.length > 200 ? `${last.slice(0, 200)}…` : last);
  const inRange = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;
  if (last.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(last);
    } catch {
      return { ok: false, error: `unparsable JSON on the last stdout line: ${shown}` };
    }
    const o = obj as Record<string, unknown>;
    if (!inRange(o['accuracy']))
      return { ok: false, error: `JSON output needs a numeric "accuracy" in [0, 100]: ${shown}` };
    const opt = (k: string) => (inRange(o[k]) ? { [k]: o[k] as number } : {});
    const cost =
      typeof o['cost'] === 'number' && Number.isFinite(o['cost']) && o['cost'] >= 0 ? { cost: o['cost'] } : {};
    return { ok: true, accuracy: o['accuracy'], ...opt('valid'), ...opt('test'), ...cost, extra: o };
  }
  const m = /^(?:[A-Za-z_][\w .-]*\s*[:=]\s*)?([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*%?$/.exec(last);
  if (!m) return { ok: false, error: `no accuracy on the last stdout line: ${shown}` };
  const v = Number(m[1]);
  if (!inRange(v)) return { ok: false, error: `accuracy ${v} is outside [0, 100] (percent expected): ${shown}` };
  return { ok: true, accuracy: v };
}

/** What a finished shell command left: exit code or signal, stdout (capped), stderr tail, timeout or spawn failure. */
interface ShellResult {
  code: number | null;
  sig: string | null;
  out: string;
  err: string;
  timedOut: boolean;
  spawnError?: string;
}

/**
 * Run `cmd` with /bin/sh in its own process group; the whole group is killed after `tSec` seconds (0 = never)
 * or when `signal` aborts. Never rejects: failures are in the result.
 */
function runShell(cmd: string, env: NodeJS.ProcessEnv, tSec: number, signal: AbortSignal | undefined) {
  return new Promise<ShellResult>((resolve) => {
    let out = '';
    let err = '';
    let timedOut = false;
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn('/bin/sh', ['-c', cmd], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ code: null, sig: null, out, err, timedOut, spawnError: (e as Error).message });
      return;
    }
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = tSec > 0 ? setTimeout(() => ((timedOut = true), killGroup()), tSec * 1000) : undefined;
    const onAbort = () => killGroup();
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < MAX_STDOUT) out += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString('utf8')).slice(-16 * TAIL);
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ code: null, sig: null, out, err, timedOut, spawnError: e.message });
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ code, sig, out, err, timedOut });
    });
  });
}

/**
 * Ground truth from a user command that trains the network and prints its accuracy. Non-zero exit, a signal,
 * a timeout or unparsable output is a failed evaluation (recorded, never thrown). The command's stdout and
 * stderr are kept in its run directory (`stdout.txt`, `stderr.txt`).
 */
export class CommandEvaluator<G> implements Evaluator<G> {
  readonly name = 'command';
  readonly metadata: Readonly<Record<string, unknown>>;

  constructor(
    private readonly space: SearchSpace<G, object>,
    private readonly opts: CommandEvaluatorOptions,
  ) {
    if (typeof opts.command !== 'string' || opts.command.trim() === '')
      throw new SwapError('E_OPTION', 'the command evaluator needs a command (--eval-cmd)');
    const t = opts.timeoutSec ?? 0;
    if (!Number.isFinite(t) || t < 0)
      throw new SwapError('E_OPTION', `evaluator timeout must be a non-negative number of seconds, got ${t}`);
    this.metadata = { evaluator: 'command', command: opts.command, timeoutSec: t };
  }

  async evaluate(g: G, req: EvaluationRequest): Promise<Evaluation> {
    const arch = this.space.format(g);
    const dir = join(
      this.opts.runDir,
      `q${String(req.index).padStart(4, '0')}-${createHash('sha256').update(arch).digest('hex').slice(0, 8)}`,
    );
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      return { ok: false, error: `cannot create run directory ${dir}: ${(e as Error).message}` };
    }
    const cmd = this.opts.command.replaceAll('{arch}', shellQuote(arch)).replaceAll('{dir}', shellQuote(dir));
    const env = {
      ...process.env,
      SWAPNAS_ARCH: arch,
      SWAPNAS_RUN_DIR: dir,
      SWAPNAS_QUERY: String(req.index),
      ...(this.opts.dataset !== undefined ? { SWAPNAS_DATASET: this.opts.dataset } : {}),
      ...(this.opts.seed !== undefined ? { SWAPNAS_SEED: String(this.opts.seed) } : {}),
    };
    const started = Date.now();
    const res = await runShell(cmd, env, this.opts.timeoutSec ?? 0, req.signal);
    try {
      writeFileSync(join(dir, 'stdout.txt'), res.out);
      writeFileSync(join(dir, 'stderr.txt'), res.err);
    } catch {
      // logs are best effort
    }
    if (req.signal?.aborted) throw new SwapError('E_CANCELLED', 'search cancelled');
    const secs = (Date.now() - started) / 1000;
    const tail = res.err.trim().slice(-TAIL);
    const why = (s: string) => ({ ok: false as const, error: tail ? `${s}; stderr: ${tail}` : s });
    if (res.spawnError) return why(`cannot run the command: ${res.spawnError}`);
    if (res.timedOut) return why(`timed out after ${this.opts.timeoutSec}s`);
    if (res.sig) return why(`killed by ${res.sig}`);
    if (res.code !== 0) return why(`exit code ${res.code}`);
    const parsed = parseAccuracy(res.out);
    if (!parsed.ok) return parsed;
    return { ...parsed, cost: parsed.cost ?? secs };
  }
}
