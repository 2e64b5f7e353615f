#!/usr/bin/env node
// Queue (BullMQ on Redis) overhead and ceiling, in one run, against a private redis-server on a free loopback port
// (temporary folder, no persistence). Needs `npm run build` and redis-server on PATH. Usage:
//   node bench/queue.mjs [--cells 1000] [--threads 2] [--chunk 64] [--jobs 3000] [--configs 4x8,2x16,1x32|none]
//                        [--proxies LIST [--proxy-protocol official|swap]]
// (`--proxies LIST`: the overhead runs score those zero-cost proxies instead of SWAP; `--configs none`: no ceiling
// and no projection.)
// 1. Overhead: `swapnas score --sample N` with T threads locally vs one `swapnas worker --threads T` fed by
//    `swapnas score --redis` (same cells, same settings; the outputs are checked to be byte-identical). The two
//    runs alternate (local, queue, local, queue) and the ratio uses the sums. Wall and CPU time (user + system
//    of every process involved: the local run; the producer and the worker) are both reported: on a machine
//    shared with other work the wall time swings with their load, the CPU time much less.
// 2. Ceiling: for each PxC in --configs, P worker processes × C concurrency = 32 dry-run workers
//    (`swapnas worker --dry-run`: validate, key, store, return) and a producer of `jobs` one-architecture chunks:
//    jobs/s, wall ms per job, and CPU ms per job of the workers, Redis and the producer.
// 3. Projection (by calculation from 2 and the per-cell times, not measured): wall time of 1.5 M evaluations,
//    with the queue's job rate capped by the measured ceiling, and where one Redis (single-threaded) saturates
//    from its CPU per job.
// Prints one JSON object.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'dist', 'cli', 'main.js');
const dist = (p) => import(join(root, 'dist', p));
const { produce } = await dist('queue/producer.js');
const { connectRedis, waitReady } = await dist('queue/connect.js');
const { nb201Space } = await dist('spaces/nb201/index.js');
const { resolveScoringRequest } = await dist('request/resolve.js');
const { scoreJob } = await dist('queue/score-remote.js');
const { Rng } = await dist('util/rng.js');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const cells = opt('cells', 1000);
const threads = opt('threads', 2);
const chunk = opt('chunk', 64);
const jobs = opt('jobs', 3000);
const configsArg = argv.includes('--configs') ? argv[argv.indexOf('--configs') + 1] : '4x8,2x16,1x32';
const configs = configsArg === 'none' ? [] : configsArg.split(',').map((c) => c.split('x').map(Number));
const flag = (name) => (argv.includes(`--${name}`) ? [`--${name}`, argv[argv.indexOf(`--${name}`) + 1]] : []);
const proxies = [...flag('proxies'), ...flag('proxy-protocol')];
/** CPU ms (user + system) of a live process, from /proc. */
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
/** CPU ms of this process's reaped children (cutime + cstime) and of this process itself. */
const childCpu = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
};
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'swapnas-bench-queue-'));
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
  {
    stdio: 'ignore',
  },
);
const url = `redis://127.0.0.1:${port}`;
const children = [redis];
const sh = (args) => execFileSync(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
const startWorker = (extra) =>
  new Promise((res) => {
    const w = spawn(process.execPath, [CLI, 'worker', '--redis', url, ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(w);
    let log = '';
    w.stderr.on('data', (d) => {
      log += d;
      if (log.includes('waiting for jobs')) res(w);
    });
  });
const stop = async (w) => {
  const gone = new Promise((r) => w.once('exit', r));
  w.kill('SIGTERM');
  await gone;
};

try {
  const conn = connectRedis(url);
  await waitReady(conn, url);
  const load0 = loadavg()[0];

  // 1. Overhead of the queue on real scoring (default NB201 proxy).
  const common = [
    'score',
    '--sample',
    String(cells),
    '--seed',
    '7',
    '--threads',
    String(threads),
    '--format',
    'jsonl',
    '--no-progress',
    ...proxies,
  ];
  const w1 = await startWorker(['--threads', String(threads)]);
  const times = { local: [], queue: [] };
  const cpu = { local: [], queue: [] };
  for (let round = 0; round < 2; round++) {
    for (const mode of ['local', 'queue']) {
      await conn.flushdb(); // a second queue round must score again, not reuse the first round's results
      const out = join(dir, `${mode}.jsonl`);
      const t0 = performance.now();
      const wcpu = () => (mode === 'queue' ? cpuOf(w1.pid) : 0);
      const c0 = childCpu() + wcpu();
      sh([...common, '-o', out, ...(mode === 'queue' ? ['--redis', url, '--chunk', String(chunk)] : [])]);
      times[mode].push((performance.now() - t0) / 1000);
      cpu[mode].push((childCpu() + wcpu() - c0) / 1000);
    }
    if (readFileSync(join(dir, 'local.jsonl'), 'utf8') !== readFileSync(join(dir, 'queue.jsonl'), 'utf8'))
      throw new Error('queue output differs from the local output');
  }
  await stop(w1);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const overhead = sum(times.queue) / sum(times.local) - 1;

  // 2. Ceiling: dry-run workers, one-architecture jobs, for each processes x concurrency configuration.
  const rng = new Rng(1);
  const archs = Array.from({ length: jobs }, (_, i) => `${nb201Space.format(nb201Space.sample(rng))}#${i}`);
  // Real score-job settings (the default request): workers validate and key each job as they would a real one.
  const { request, inputs } = await resolveScoringRequest({ reg: false });
  const { settings } = scoreJob(request, inputs);
  const ceilings = [];
  for (const [procs, concurrency] of configs) {
    await conn.flushdb();
    const dry = [];
    for (let i = 0; i < procs; i++) dry.push(await startWorker(['--dry-run', '--concurrency', String(concurrency)]));
    const c0 = { w: dry.map((w) => cpuOf(w.pid)), r: cpuOf(redis.pid), p: selfCpu() };
    const t1 = performance.now();
    let got = 0;
    for await (const c of produce(conn, { kind: 'score', settings, archs, chunk: 1, dryRun: true, sweepMs: 5000 }))
      got += c.archs.length;
    const seconds = (performance.now() - t1) / 1000;
    const per = (ms) => +(ms / jobs).toFixed(3);
    const cpuMsPerJob = {
      workers: per(dry.reduce((s, w, i) => s + cpuOf(w.pid) - c0.w[i], 0)),
      redis: per(cpuOf(redis.pid) - c0.r),
      producer: per(selfCpu() - c0.p),
    };
    if (got !== jobs) throw new Error(`dry run returned ${got} of ${jobs} jobs`);
    for (const w of dry) await stop(w);
    ceilings.push({
      workers: procs * concurrency,
      procs,
      concurrency,
      jobs,
      seconds: +seconds.toFixed(2),
      jobsPerSec: +(jobs / seconds).toFixed(0),
      msPerJob: +((1000 * seconds) / jobs).toFixed(3),
      cpuMsPerJob: {
        ...cpuMsPerJob,
        total: +(cpuMsPerJob.workers + cpuMsPerJob.redis + cpuMsPerJob.producer).toFixed(3),
      },
      load: loadavg()[0],
    });
    console.error(JSON.stringify(ceilings.at(-1)));
  }
  conn.disconnect();
  const best = ceilings.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a), ceilings[0]);
  const jobsPerSec = best?.jobsPerSec ?? Number.NaN;
  // One Redis runs its commands on one thread: its CPU per job bounds the job rate of any number of workers.
  const redisJobsPerSec = best ? Math.round(1000 / Math.max(...ceilings.map((c) => c.cpuMsPerJob.redis))) : null;
  const projected = best ? Object.entries({ default: 0.024, official: 0.3 }) : [];

  // 3. Projection by calculation: compute-bound time N·t/W, unless the queue's jobs/s caps the rate.
  const N = 1_500_000;
  const projection = [];
  for (const [protocol, t] of projected) {
    for (const W of [1, 10, 100, 1000]) {
      const compute = (N * t) / W;
      const queueBound = N / chunk / jobsPerSec;
      const redisBound = N / chunk / redisJobsPerSec;
      projection.push({
        protocol,
        workers: W,
        secPerCell: t,
        chunk,
        hours: +(Math.max(compute, queueBound) / 3600).toFixed(3),
        hoursRedisOnly: +(Math.max(compute, redisBound) / 3600).toFixed(3),
        queueBound: queueBound >= compute,
        jobsPerSecNeeded: +(W / (t * chunk)).toFixed(1),
      });
    }
  }
  console.log(
    JSON.stringify(
      {
        machine: { cpus: cpus().length, loadavgAtStart: load0, loadavgAtEnd: loadavg()[0] },
        overhead: {
          cells,
          threads,
          chunk,
          scores: proxies.length > 0 ? proxies.join(' ') : 'SWAP (default request)',
          localSec: times.local,
          queueSec: times.queue,
          ratio: 1 + overhead,
          localCpuSec: cpu.local,
          queueCpuSec: cpu.queue,
          cpuRatio: sum(cpu.queue) / sum(cpu.local),
        },
        ceilings,
        best: best ? { workers: best.workers, procs: best.procs, jobsPerSec, msPerJob: best.msPerJob } : null,
        redisJobsPerSec,
        projection,
      },
      null,
      1,
    ),
  );
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
