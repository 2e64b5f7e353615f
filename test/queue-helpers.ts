import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** The built CLI (queue tests build dist/ first: workers are separate processes). */
export const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');

/** Run the CLI without blocking the event loop (the workers' output keeps flowing meanwhile). */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A `swapnas worker` child process; `log()` is what it printed so far. */
export function worker(url: string, extra: string[] = []): { proc: ChildProcess; log: () => string } {
  let out = '';
  const proc = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1', '--verbose', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, log: () => out };
}

/** Poll `cond` every 50 ms until it holds; throw after `ms`. */
export async function waitFor(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM every child still running and wait for each to exit. */
export async function stopAll(ws: readonly { proc: ChildProcess }[]): Promise<void> {
  await Promise.all(
    ws.map(async ({ proc }) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }),
  );
}

/** A CLI child process and its eventual outcome (its stdout is drained). */
export function cliChild(args: readonly string[]) {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.resume();
  const exit = new Promise<number | null>((r) => proc.on('close', (c) => r(c)));
  return { proc, exit, stderr: () => stderr };
}

/** The "job <id> done" lines the (--verbose) workers printed so far, one per finished job. */
export const doneJobs = (ws: readonly { log: () => string }[]) =>
  ws.flatMap((w) => w.log().match(/job \S+ done/g) ?? []);
