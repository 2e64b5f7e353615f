import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME } from '../src/queue/keys.js';
import { startRedis, type TestRedis } from './redis-server.js';
import { cliChild as spawnCli, doneJobs, runCli, stopAll, waitFor, worker } from './queue-helpers.js';

/** Tiny proxy networks: a chunk takes milliseconds. */
/** Chunks of 12 of these take a noticeable time (≥ 0.5 s), so a kill lands mid-chunk. */
const SLOWER = [
  '--channels',
  '8',
  '--cells',
  '1',
  '--gaussian',
  '--input-size',
  '16',
  '--batch',
  '8',
  '--repeats',
  '4',
];
const TINY = ['--channels', '4', '--cells', '1', '--gaussian', '--input-size', '8', '--batch', '8', '--repeats', '2'];
/** TINY's network for --proxies runs (which refuse SWAP's --batch and --repeats under their own protocols). */
const TINY_NET = ['--channels', '4', '--cells', '1', '--input-size', '8'];

/** Run the CLI (fitness pinned to reg-SWAP) without blocking the event loop. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(pinRegSwap(args), env);
}

/** A CLI child process (fitness pinned to reg-SWAP) and its eventual outcome. */
const cliChild = (args: string[]) => spawnCli(pinRegSwap(args));

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
      // correlate --redis: the same measurements, table and report (timing aside)
      const corr = ['correlate', '--sample', '24', '--images', 'gaussian', ...TINY.slice(0, 4), '--batch', '8'];
      corr.push('--repeats', '2', '--input-size', '8', '--no-external', '--resamples', '10', '--no-progress');
      const cl = await cli([...corr, '--out', join(dir, 'corr-local')]);
      const cr = await cli([...corr, '--out', join(dir, 'corr-remote'), '--redis', redis.url, '--chunk', '5']);
      expect(cr.status).toBe(0);
      const untimed = (t: string) => t.replace(/; [\d.]+ s\/arch/, '').replace(/wrote .*/, '');
      expect(untimed(cr.stdout)).toBe(untimed(cl.stdout));
      const report = (d: string) => {
        const j = JSON.parse(readFileSync(join(dir, d, 'correlate.json'), 'utf8')) as Record<string, unknown>;
        return { ...j, secondsPerArch: null };
      };
      expect(report('corr-remote')).toEqual(report('corr-local'));
      expect(readFileSync(join(dir, 'corr-remote', 'correlate.md'), 'utf8')).toBe(
        readFileSync(join(dir, 'corr-local', 'correlate.md'), 'utf8'),
      );
      // 7 + 5 jobs in all (40 archs in chunks of 6; csv and json reuse the stored results); no run record is left.
      const done = ws.map((w) => (w.log().match(/ done \(/g) ?? []).length);
      expect(done.reduce((a, b) => a + b, 0)).toBe(12);
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

  it('--proxies fans out: 3 workers + producer equal a local run (score json/jsonl, correlate report and cache)', async () => {
    const ws = [0, 1, 2].map(() => worker(redis.url));
    const net = TINY_NET;
    // Label-free and labelled proxies, both engines' routing (zico, jacov: several batches / per-sample passes).
    const proxies = ['--proxies', 'nwot,synflow,snip,grad_norm,jacov,zico,meco', '--proxy-batch', '8'];
    try {
      await waitFor('3 workers', () => ws.every((w) => /waiting for jobs/.test(w.log())));
      for (const format of ['jsonl', 'json']) {
        const common = ['score', '--sample', '30', '--seed', '21', ...net, ...proxies, '--format', format];
        const local = await cli([...common, '--no-progress']);
        expect(local.status).toBe(0);
        const remote = await cli([...common, '--redis', redis.url, '--chunk', '4']);
        expect(remote.stderr).not.toMatch(/error/);
        expect(remote.stderr).toMatch(/score \(queue\): 30\/30 \(100\.0%\)/);
        expect(remote.stdout).toBe(local.stdout);
      }
      const corr = ['correlate', '--sample', '24', ...net, ...proxies, '--no-external', '--resamples', '10'];
      corr.push('--no-progress');
      const cl = await cli([...corr, '--out', join(dir, 'pcorr-local')]);
      expect(cl.status).toBe(0);
      const cr = await cli([...corr, '--out', join(dir, 'pcorr-remote'), '--redis', redis.url, '--chunk', '5']);
      expect(cr.stderr).not.toMatch(/error/);
      expect(cr.stdout).toBe(cl.stdout);
      const report = (d: string) => ({
        ...JSON.parse(readFileSync(join(dir, d, 'proxies.json'), 'utf8')),
        secondsPerArch: 0,
      });
      expect(report('pcorr-remote')).toEqual(report('pcorr-local'));
      // The producer keeps the resumable cache: the same lines (one per architecture) as a local run. The cache
      // is keyed by architecture, and a local run appends as its in-flight networks finish, so lines compare as a
      // set.
      const cacheOf = (d: string) => {
        const files = readdirSync(join(dir, d, 'cache'));
        return files.map((f) =>
          readFileSync(join(dir, d, 'cache', f), 'utf8')
            .trim()
            .split('\n')
            .sort(),
        );
      };
      expect(cacheOf('pcorr-remote')).toEqual(cacheOf('pcorr-local'));
      expect(cacheOf('pcorr-remote')[0]!).toHaveLength(24);
      // A rerun reads its cache and queues nothing.
      const before = doneJobs(ws).length;
      const again = await cli([...corr, '--out', join(dir, 'pcorr-remote'), '--redis', redis.url, '--chunk', '5']);
      expect(again.stdout).toBe(cl.stdout);
      expect(doneJobs(ws).length).toBe(before);
      // What a worker would refuse is refused by the producer before queueing (labelled proxies, unlabelled images).
      const refused = await cli([
        'score',
        '--sample',
        '3',
        ...net,
        '--gaussian',
        '--proxies',
        'snip',
        '--redis',
        redis.url,
      ]);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/E_LABELS: snip needs class labels/);
      expect(doneJobs(ws).length).toBe(before);
    } finally {
      await stopAll(ws);
    }
  });

  /** Kill -9 the worker holding an active chunk of `common`, start two more: the output equals a local run's. */
  async function killMidChunk(name: string, common: string[], chunk: string): Promise<void> {
    const local = join(dir, `${name}-local.jsonl`);
    const remote = join(dir, `${name}-remote.jsonl`);
    expect((await cli([...common, '-o', local])).status).toBe(0);
    const fast = ['--lock-duration', '1000', '--stalled-interval', '300'];
    const a = worker(redis.url, fast);
    const others: ReturnType<typeof worker>[] = [];
    const r = new Redis(redis.url);
    const q = new Queue(QUEUE_NAME, { connection: r });
    try {
      await waitFor('worker a', () => /waiting for jobs/.test(a.log()));
      const producer = cliChild([...common, '-o', remote, '--redis', redis.url, '--chunk', chunk]);
      let active: string | undefined;
      for (let t = 0; active === undefined && t < 3000; t++) {
        const js = await q.getActive();
        active = js[0]?.id;
        if (!active) await new Promise((res) => setTimeout(res, 20));
      }
      expect(active).toBeDefined();
      a.proc.kill('SIGKILL');
      expect(a.log()).not.toContain(`job ${active} done`);
      others.push(worker(redis.url, fast), worker(redis.url, fast));
      expect(await producer.exit).toBe(0);
      expect(readFileSync(remote, 'utf8')).toBe(readFileSync(local, 'utf8'));
      // The killed worker's chunk was finished by one of the others (stalled-job recovery).
      expect(doneJobs(others)).toContain(`job ${active} done`);
    } finally {
      await q.close();
      r.disconnect();
      await stopAll([a, ...others]);
    }
  }

  it('kill -9 of a worker mid-chunk: another worker takes the stalled job over; no hole, no duplicate', async () => {
    await killMidChunk(
      'kill',
      ['score', '--sample', '36', '--seed', '11', ...SLOWER, '--format', 'jsonl', '--no-progress'],
      '12',
    );
    // The same for a zero-cost proxy run (rows keyed by architecture and proxy settings hash).
    const proxies = ['--proxies', 'all', '--proxy-protocol', 'swap', '--format', 'jsonl', '--no-progress'];
    await killMidChunk(
      'kill-proxies',
      // SWAP's --batch is S under the SWAP protocol; --repeats is SWAP's own (refused with --proxies)
      [
        'score',
        '--sample',
        '24',
        '--seed',
        '14',
        '--channels',
        '8',
        '--cells',
        '1',
        '--input-size',
        '16',
        '--batch',
        '8',
        ...proxies,
      ],
      '6',
    );
  });

  it('kill -9 of the producer, then --resume: finished chunks are not redone and the file is complete', async () => {
    const common = ['score', '--sample', '48', '--seed', '12', ...SLOWER, '--format', 'jsonl', '--no-progress'];
    const local = join(dir, 'resume-local.jsonl');
    const remote = join(dir, 'resume-remote.jsonl');
    expect((await cli([...common, '-o', local])).status).toBe(0);
    const w = worker(redis.url);
    try {
      await waitFor('worker', () => /waiting for jobs/.test(w.log()));
      const args = [...common, '-o', remote, '--redis', redis.url, '--chunk', '6'];
      const first = cliChild(args);
      await waitFor('two finished chunks', () => doneJobs([w]).length >= 2);
      first.proc.kill('SIGKILL');
      await first.exit;
      const again = await cli([...args, '--resume']);
      expect(again.stderr).not.toMatch(/error/);
      expect(again.status).toBe(0);
      expect(readFileSync(remote, 'utf8')).toBe(readFileSync(local, 'utf8'));
      // 48 architectures in chunks of 6: every chunk computed exactly once across both producer runs.
      const done = doneJobs([w]);
      expect(done).toHaveLength(8);
      expect(new Set(done).size).toBe(8);
    } finally {
      await stopAll([w]);
    }
  });

  it('Redis restarted mid-run (empty, no persistence): clients reconnect, lost chunks are requeued, the run completes', async () => {
    const common = ['score', '--sample', '48', '--seed', '13', ...SLOWER, '--format', 'jsonl', '--no-progress'];
    const local = join(dir, 'restart-local.jsonl');
    const remote = join(dir, 'restart-remote.jsonl');
    expect((await cli([...common, '-o', local])).status).toBe(0);
    const ws = [worker(redis.url), worker(redis.url)];
    try {
      await waitFor('workers', () => ws.every((w) => /waiting for jobs/.test(w.log())));
      const producer = cliChild([...common, '-o', remote, '--redis', redis.url, '--chunk', '6']);
      await waitFor('a finished chunk', () => doneJobs(ws).length >= 1);
      await redis.restart();
      expect(await producer.exit).toBe(0);
      expect(readFileSync(remote, 'utf8')).toBe(readFileSync(local, 'utf8'));
      // Both workers are still serving the restarted Redis.
      const status = JSON.parse((await cli(['queue', 'status', '--redis', redis.url, '--json'])).stdout) as {
        workers: string[];
      };
      expect(status.workers).toHaveLength(2);
    } finally {
      await stopAll(ws);
    }
  });

  it('search --redis: the producer killed mid-batch, then --resume: no query is trained twice', async () => {
    const spans = join(dir, 'resume-spans.log');
    const acc = `printf '%s' "$SWAPNAS_ARCH" | cksum | awk '{printf "{\\"accuracy\\": %d, \\"cost\\": 1}\\n", 50 + $1 % 40}'`;
    const train = `s=$(date +%s%N); sleep 1; ${acc}; echo "$s $(date +%s%N)" >> ${spans}`;
    const ws = [worker(redis.url, ['--evaluator', train]), worker(redis.url, ['--evaluator', train])];
    const args = ['search', '--strategy', 'pre-nas', '--budget', '8', '--initial', '4', '--per-generation', '2'];
    args.push('--evaluator', 'command', '--seed', '5', '--no-progress', '--json');
    const journal = join(dir, 'pre-nas-resume.jsonl');
    const trained = () => (existsSync(spans) ? readFileSync(spans, 'utf8').trim().split('\n').length : 0);
    try {
      await waitFor('workers', () => ws.every((w) => /waiting for jobs/.test(w.log())));
      const local = await cli([...args, '--eval-cmd', train]);
      expect(local.status).toBe(0);
      rmSync(spans, { force: true });
      const remote = [...args, '--redis', redis.url, '--journal', journal];
      const first = cliChild(remote);
      await waitFor('a trained query of the initial batch', () => trained() >= 1);
      first.proc.kill('SIGKILL');
      await first.exit;
      const again = await cli([...remote, '--resume']);
      expect(again.stderr).not.toMatch(/error/);
      expect(again.status).toBe(0);
      const pick = (t: string) => {
        const r = JSON.parse(t) as Record<string, unknown>;
        return { chosen: r['chosen'], queries: r['queries'] };
      };
      expect(pick(again.stdout)).toEqual(pick(local.stdout));
      // 8 queries in all, each trained once across both producer runs (the batch's results waited in Redis).
      expect(trained()).toBe(8);
    } finally {
      await stopAll(ws);
    }
  });

  it('search --redis: the population is scored and the hybrid queries are trained on the workers (their own command)', async () => {
    // Deterministic "training": an accuracy from the arch's checksum; the job carries only the arch.
    // Each run appends "start end" (ns) to a log, so the test sees whether queries overlapped.
    const spans = join(dir, 'train-spans.log');
    const acc = `printf '%s' "$SWAPNAS_ARCH" | cksum | awk '{printf "{\\"accuracy\\": %d, \\"cost\\": 1}\\n", 50 + $1 % 40}'`;
    const train = `s=$(date +%s%N); sleep 0.3; ${acc}; echo "$s $(date +%s%N)" >> ${spans}`;
    const ws = [worker(redis.url, ['--evaluator', train]), worker(redis.url, ['--evaluator', train])];
    const proxy = [...TINY, '--no-progress', '--json'];
    const hybrid = ['search', '--strategy', 'hybrid', '--budget', '8', '--initial', '4', '--per-generation', '2'];
    hybrid.push('--warm-start', '0', '--evaluator', 'command', '--seed', '3', ...proxy);
    const swapNas = ['search', '--population', '8', '--cycles', '3', '--sample-size', '4', '--seed', '4', ...proxy];
    const comparable = (text: string) => {
      const r = JSON.parse(text) as Record<string, unknown> & { trajectory: Record<string, unknown>[] };
      return {
        ...r,
        wallTimeSec: 0,
        session: { ...(r['session'] as object), wallTimeSec: 0 },
        trajectory: r.trajectory.map((p) => ({ ...p, t: 0 })),
        // the evaluator (a local command vs the workers') is named in the options and their hash
        options: { ...(r['options'] as object), evaluator: null },
        optionsHash: '',
        evaluator: null,
      };
    };
    try {
      await waitFor('workers', () => ws.every((w) => /waiting for jobs/.test(w.log())));
      for (const args of [swapNas, hybrid]) {
        const local = await cli(
          args[1] === '--strategy' && args[2] === 'hybrid' ? [...args, '--eval-cmd', train] : args,
        );
        expect(local.status).toBe(0);
        rmSync(spans, { force: true });
        const remote = await cli([...args, '--redis', redis.url, '--chunk', '5']);
        expect(remote.stderr).not.toMatch(/error/);
        expect(remote.status).toBe(0);
        expect(comparable(remote.stdout)).toEqual(comparable(local.stdout));
      }
      // The hybrid run's queries of a generation were trained at once by the two workers.
      const runs = readFileSync(spans, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ').map(BigInt));
      expect(runs).toHaveLength(8);
      const overlapping = runs.some(([s0, e0], i) => runs.some(([s1], j) => i !== j && s1! >= s0! && s1! < e0!));
      expect(overlapping).toBe(true);
      const refused = await cli([...hybrid, '--redis', redis.url, '--eval-cmd', 'touch /tmp/x']);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/E_OPTION: with --redis the training command is the workers'/);
    } finally {
      await stopAll(ws);
    }
  });

  it('score --proxies --redis with an output that cannot be written: coded E_OUTPUT (exit 2), not a crash', async () => {
    const ws = [worker(redis.url)];
    try {
      await waitFor('a worker', () => /waiting for jobs/.test(ws[0]!.log()));
      const args = ['score', '--sample', '6', '--seed', '9', ...TINY_NET, '--proxies', 'params', '--format', 'jsonl'];
      // /dev/full takes the open and refuses every write (ENOSPC), as a full disk does
      const r = await cli([...args, '--no-progress', '-o', '/dev/full', '--redis', redis.url, '--chunk', '2']);
      expect(r.stderr).toMatch(/^swapnas: error E_OUTPUT: cannot write \/dev\/full/m);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace of an unhandled rejection
      expect(r.status).toBe(2);
    } finally {
      await stopAll(ws);
    }
  });
});
