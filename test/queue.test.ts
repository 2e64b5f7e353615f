import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './redis-server.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
/** Tiny proxy networks: a chunk takes milliseconds. */
const TINY = ['--channels', '4', '--cells', '1', '--gaussian', '--input-size', '8', '--batch', '8', '--repeats', '2'];

/** Run the CLI without blocking the event loop (the workers' output keeps flowing meanwhile). */
function cli(
  args: string[],
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
function worker(url: string, extra: string[] = []): { proc: ChildProcess; log: () => string } {
  let out = '';
  const proc = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1', '--verbose', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, log: () => out };
}

async function waitFor(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopAll(ws: { proc: ChildProcess }[]): Promise<void> {
  await Promise.all(
    ws.map(async ({ proc }) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }),
  );
}

describe('queue: producer and workers on a real redis-server', () => {
  let redis: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-queue-'));

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('3 workers + producer write exactly the bytes of a local run (jsonl, csv, json)', async () => {
    const ws = [0, 1, 2].map(() => worker(redis.url));
    try {
      await waitFor('3 workers', () => ws.every((w) => /waiting for jobs/.test(w.log())));
      const status = await cli(['queue', 'status', '--redis', redis.url, '--json']);
      expect(status.status).toBe(0);
      expect((JSON.parse(status.stdout) as { workers: string[] }).workers).toHaveLength(3);
      for (const format of ['jsonl', 'csv', 'json']) {
        const common = ['score', '--sample', '40', '--seed', '5', ...TINY, '--format', format, '--no-progress'];
        const local = join(dir, `local.${format}`);
        const remote = join(dir, `remote.${format}`);
        expect((await cli([...common, '-o', local])).status).toBe(0);
        const r = await cli([...common, '-o', remote, '--redis', redis.url, '--chunk', '6']);
        expect(r.stderr).not.toMatch(/error/);
        expect(r.status).toBe(0);
        expect(readFileSync(remote, 'utf8')).toBe(readFileSync(local, 'utf8'));
        if (format === 'csv')
          expect(readFileSync(`${remote}.settings.json`, 'utf8')).toBe(readFileSync(`${local}.settings.json`, 'utf8'));
      }
      // 7 jobs in all (40 archs in chunks of 6; csv and json reuse the stored results); no run record is left.
      const done = ws.map((w) => (w.log().match(/ done \(/g) ?? []).length);
      expect(done.reduce((a, b) => a + b, 0)).toBe(7);
      const after = JSON.parse((await cli(['queue', 'status', '--redis', redis.url, '--json'])).stdout) as {
        runs: unknown[];
        counts: Record<string, number>;
      };
      expect(after.runs).toEqual([]);
      expect(after.counts['waiting']).toBe(0);
    } finally {
      await stopAll(ws);
    }
  });
});
