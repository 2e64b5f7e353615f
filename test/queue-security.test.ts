import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { QUEUE_NAME, keys } from '../src/queue/keys.js';
import { PAYLOAD_VERSION } from '../src/queue/payload.js';
import { jobKey, settingsHash } from '../src/queue/request-adapter.js';
import { scoreJob } from '../src/queue/score-remote.js';
import { measureRequest } from '../src/study/measure-request.js';
import { packageVersion } from '../src/util/version.js';
import { makeTls, redisHasTls, startRedis, type TestRedis } from './redis-server.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const TINY = ['--channels', '4', '--cells', '1', '--gaussian', '--input-size', '8', '--batch', '8', '--repeats', '2'];

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [CLI, ...pinRegSwap(args)], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function worker(url: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  const proc = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1', '--verbose', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, log: () => out };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await gone;
}

/** A valid `measure` job (a correlate chunk: the setting as a resolved request) and its batch, to derive bad ones from. */
function goodJob(run: string, chunk: number) {
  const { request, inputs } = measureRequest({
    space: 'nb201',
    target: 'cifar10',
    official: false,
    setting: { channels: 4, cells: 1, batch: 4, repeats: 1, images: 'gaussian', seed: 0, inputSize: 8 },
    network: { classes: 10 },
    backend: 'auto',
  });
  const job = scoreJob(request, inputs);
  const settings = { ...job.settings, nwot: false };
  const data = {
    v: PAYLOAD_VERSION,
    pkg: packageVersion(),
    kind: 'measure',
    run,
    chunk,
    hash: jobKey('measure', settings as unknown as Record<string, unknown>),
    settings,
    archs: [ARCH],
    backend: 'auto',
  };
  return { data, blob: { key: keys.blob(job.sha), bytes: job.bytes } };
}

/** A request-carrying job's settings with `change` applied to a JSON copy of its request. */
function withRequest(settings: object, change: (r: Record<string, unknown>) => void): Record<string, unknown> {
  const s = JSON.parse(JSON.stringify(settings)) as { request: Record<string, unknown> };
  change(s.request);
  return s;
}

describe('queue: validation, mixed deployments, password and TLS (real redis-server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-queue-sec-'));
  let redis: TestRedis;

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a malformed, foreign or oversized job fails alone with a coded reason; the worker keeps serving', async () => {
    const w = worker(redis.url);
    const r = new Redis(redis.url);
    const q = new Queue(QUEUE_NAME, { connection: r });
    try {
      await waitFor('worker', () => /waiting for jobs/.test(w.log()));
      const { data: good, blob } = goodJob('sec', 0);
      await r.set(blob.key, blob.bytes);
      const reasons: Record<string, RegExp> = {
        'not-object': /^E_PAYLOAD: job data must be an object/,
        command: /^E_PAYLOAD: unknown job field "command"/,
        'bad-arch': /^E_ARCH_SYNTAX: /,
        'too-many': /^E_PAYLOAD: job field archs must be a list of 1\.\.10000/,
        'too-big': /^E_PAYLOAD: job data is \d+ bytes, over the 1048576-byte limit/,
        version: /^E_VERSION: job from swapnas 0\.0\.0-old, this worker runs /,
        hash: /^E_VERSION: settings hash mismatch/,
        huge: /^E_OPTION: network\.channels must be an integer in \[1, 4096\]/,
        'no-evaluator': /^E_OPTION: this worker has no evaluator command/,
        space: /^E_SPACE: /,
      };
      const huge = withRequest(good.settings, (q) => ((q['network'] as Record<string, unknown>)['channels'] = 1e6));
      const space = withRequest(good.settings, (q) => (q['space'] = 'nope'));
      const evalSettings = { space: 'nb201', dataset: 'cifar10', seed: 0, first: 0 };
      const jobs: [string, unknown][] = [
        ['not-object', 'touch /tmp/swapnas-pwned'],
        ['command', { ...good, command: 'touch /tmp/swapnas-pwned' }],
        ['bad-arch', { ...good, archs: ['|nor_conv_3x3~0|+|bogus'] }],
        ['too-many', { ...good, archs: Array.from({ length: 10_001 }, () => ARCH) }],
        ['too-big', { ...good, archs: Array.from({ length: 400 }, () => ARCH.repeat(30)) }],
        ['version', { ...good, pkg: '0.0.0-old' }],
        ['hash', { ...good, hash: 'f'.repeat(32) }],
        ['huge', { ...good, settings: huge, hash: jobKey('measure', huge) }],
        ['space', { ...good, settings: space, hash: jobKey('measure', space) }],
        [
          'no-evaluator',
          { ...good, kind: 'evaluate', settings: evalSettings, hash: settingsHash('evaluate', evalSettings) },
        ],
      ];
      for (const [id, data] of jobs) await q.add('measure', data, { jobId: id, attempts: 3 });
      await waitFor('the bad jobs to fail', async () => (await q.getFailedCount()) === jobs.length);
      // The same worker then scores a good job.
      await q.add('measure', good, { jobId: 'good' });
      await waitFor('the good job', async () => (await r.hexists(keys.results(good.hash), ARCH)) === 1);
      const status = await cli(['queue', 'status', '--redis', redis.url, '--json']);
      const failed = (JSON.parse(status.stdout) as { failed: { id: string; reason: string; attempts: number }[] })
        .failed;
      expect(failed).toHaveLength(jobs.length);
      for (const f of failed) {
        expect(f.reason).toMatch(reasons[f.id]!);
        expect(f.attempts).toBe(1); // refused for good, not retried
      }
      const text = await cli(['queue', 'status', '--redis', redis.url]);
      expect(text.stdout).toMatch(/failed version \(1 attempt\(s\)\): E_VERSION: job from swapnas 0\.0\.0-old/);
      expect(existsSync('/tmp/swapnas-pwned')).toBe(false);
      const stored = JSON.parse((await r.hget(keys.results(good.hash), ARCH))!) as { r: { perRepeat: number[] } };
      expect(stored.r.perRepeat).toHaveLength(1);
      // drain removes the failed jobs too
      expect((await cli(['queue', 'drain', '--redis', redis.url])).stdout).toMatch(/drained: 10 job\(s\) removed/);
      expect(await q.getFailedCount()).toBe(0);
    } finally {
      await q.close();
      r.disconnect();
      await stop(w.proc);
    }
  });

  it('cancel stops a producer whose jobs nobody takes, and removes its jobs', async () => {
    const producer = cli(['score', '--sample', '20', ...TINY, '--redis', redis.url, '--chunk', '5', '--no-progress']);
    const r = new Redis(redis.url);
    try {
      let run = '';
      await waitFor('the run record', async () => {
        run = Object.keys(await r.hgetall(keys.runs))[0] ?? '';
        return run !== '';
      });
      const c = await cli(['queue', 'cancel', run, '--redis', redis.url]);
      expect(c.stdout).toBe(`cancelled run ${run}: 4 job(s) removed\n`);
      const p = await producer;
      expect(p.status).toBe(2);
      expect(p.stderr).toMatch(new RegExp(`E_CANCELLED: run ${run} was cancelled`));
      const s = JSON.parse((await cli(['queue', 'status', '--redis', redis.url, '--json'])).stdout) as {
        counts: Record<string, number>;
        runs: unknown[];
      };
      expect(s.counts['waiting']).toBe(0);
      expect(s.runs).toEqual([]);
    } finally {
      r.disconnect();
    }
  });

  it('password auth: a wrong password is a clear error; the right one scores like a local run', async () => {
    const pw = 'p@ss word:/x';
    const secured = await startRedis({ password: pw });
    const w = worker(secured.url);
    try {
      const wrong = secured.url.replace(encodeURIComponent(pw), 'nope');
      const bad = await cli(['queue', 'status', '--redis', wrong]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/E_QUEUE: .*(WRONGPASS|invalid username-password)/);
      expect(bad.stderr).not.toContain('nope'); // the password is masked in messages
      await waitFor('worker', () => /waiting for jobs/.test(w.log()));
      const args = ['score', ARCH, ...TINY, '--format', 'jsonl'];
      const remote = await cli([...args, '--redis', secured.url]);
      expect(remote.status).toBe(0);
      expect(remote.stdout).toBe((await cli([...args, '--no-progress'])).stdout);
      // producer progress: done/total, rate, ETA, workers seen
      expect(remote.stderr).toMatch(/score \(queue\): 1\/1 \(100\.0%\) [\d.]+\/s eta 0s, 1 worker\(s\) seen/);
    } finally {
      await stop(w.proc);
      await secured.stop();
    }
  });

  it.runIf(redisHasTls())('rediss:// with a self-signed CA (NODE_EXTRA_CA_CERTS) and a password', async () => {
    const tls = makeTls(dir);
    const secured = await startRedis({ password: 'secret', tls });
    const env = { NODE_EXTRA_CA_CERTS: tls.ca };
    const w = worker(secured.url, [], env);
    try {
      expect(secured.url.startsWith('rediss://')).toBe(true);
      await waitFor('worker', () => /waiting for jobs/.test(w.log()));
      const args = ['score', ARCH, ...TINY, '--format', 'jsonl', '--no-progress'];
      const remote = await cli([...args, '--redis', secured.url], env);
      expect(remote.stderr).not.toMatch(/error/);
      expect(remote.stdout).toBe((await cli(args)).stdout);
      // Without the CA the certificate is refused.
      const untrusted = await cli(['queue', 'status', '--redis', secured.url]);
      expect(untrusted.status).toBe(2);
      expect(untrusted.stderr).toMatch(/E_QUEUE: .*(certificate|self.signed)/i);
      expect(readFileSync(tls.ca, 'utf8')).toContain('BEGIN CERTIFICATE');
    } finally {
      await stop(w.proc);
      await secured.stop();
    }
  });
});
