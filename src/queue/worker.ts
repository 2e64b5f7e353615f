import { createHash, randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { BackendRegistry, type BackendChoice } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import { makeBatch, type InputBatch } from '../data/batch.js';
import { CommandEvaluator } from '../search/evaluator.js';
import { spaceEntry } from '../catalog/registry.js';
import { SwapError, isSwapError } from '../util/errors.js';
import { packageVersion } from '../util/version.js';
import { bullConnection, connectRedis, waitReady } from './connect.js';
import { QUEUE_NAME, RESULT_TTL_S, keys } from './keys.js';
import { checkPayload, LIMITS, type JobPayload } from './payload.js';
import {
  checkMeasureSettings,
  checkScoreSettings,
  computeMeasure,
  computeScore,
  jobKey,
  type ComputeContext,
  type Computed,
  type EnsembleJobSettings,
  type MeasureJobSettings,
  type ScoreJobSettings,
} from './request-adapter.js';
import {
  checkProxySettings,
  computeProxies,
  proxyRunners,
  type ProxyComputeContext,
  type ProxyJobSettings,
} from './proxy-job.js';
import { checkEnsembleSettings, computeEnsemble } from './ensemble-job.js';

/** Settings of a queue worker process (`swapnas worker`). */
export interface QueueWorkerOptions {
  readonly url: string;
  /** Jobs processed at once by this process (default 1). */
  readonly concurrency?: number;
  /** Threads per scoring call (default: all cores). */
  readonly threads?: number;
  /** Backend to use when a job says "auto" (default: the best available here). */
  readonly backend?: BackendName | 'auto';
  /**
   * Shell command that trains a network for `evaluate` jobs (PRE-NAS / hybrid ground truth). Only this command,
   * configured here, ever runs: jobs carry architecture strings, never commands. Absent: such jobs fail.
   */
  readonly evaluator?: string;
  readonly evalTimeoutSec?: number;
  /** Run directories of the evaluator command (default: a folder under the OS temp dir). */
  readonly runDir?: string;
  /** Bench: answer only dry-run jobs, at once, without scoring. */
  readonly dryRun?: boolean;
  /** BullMQ lock duration and stalled-job check interval, ms (defaults 30 000 each). */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  readonly registry?: BackendRegistry;
  /** One line per failed job, and per finished job when `verbose` (default: stderr). */
  readonly log?: (line: string) => void;
  readonly verbose?: boolean;
}

/** A running worker: its id (host:pid:random) and counters. */
export interface QueueWorker {
  readonly id: string;
  readonly stats: { completed: number; failed: number };
  /** Finish the active jobs, then disconnect. */
  close(): Promise<void>;
}

/** Errors another worker (or a later attempt) may not hit: the job is retried instead of failed for good. */
const RETRYABLE = new Set(['E_BACKEND_UNAVAILABLE', 'E_NATIVE_LOAD', 'E_QUEUE']);

/** Start a worker on the swapnas queue at `o.url`; it runs until `close()` and survives bad jobs. */
export async function startWorker(o: QueueWorkerOptions): Promise<QueueWorker> {
  const id = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  const redis = connectRedis(o.url, `swapnas-worker-${id}`);
  await waitReady(redis, o.url);
  const bull = bullConnection(redis);
  const registry = o.registry ?? new BackendRegistry();
  const backends = new Map<string, Promise<BackendChoice>>();
  const pick = (name: string) => {
    const want = name === 'auto' ? (o.backend ?? 'auto') : name;
    let p = backends.get(want);
    if (!p) {
      p = registry.choose(want as BackendName | 'auto');
      p.catch(() => backends.delete(want));
      backends.set(want, p);
    }
    return p;
  };
  const blobs = new Map<string, InputBatch>();
  const stats = { completed: 0, failed: 0 };
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const ctxFor = (choice: BackendChoice): ComputeContext => ({
    backend: choice.backend,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    inputs: (sha, shape, source) => loadBlob(redis, blobs, sha, shape, source),
  });
  const env: WorkerEnv = {
    o,
    pick,
    ctxFor,
    proxies: {
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      inputs: (sha, shape, source) => loadBlob(redis, blobs, sha, shape, source),
      runner: proxyRunners(o.threads),
    },
  };

  const process_ = async (job: Job) => {
    try {
      const p = checkPayload(job.data);
      const settings = checkDeployment(p, Boolean(o.dryRun));
      const out = p.dryRun ? dryResults(p) : await compute(p, settings, env);
      await storeResults(redis, p, out, id);
      return { worker: id, n: p.archs.length, backend: out.backend };
    } catch (e) {
      if (isSwapError(e) && !RETRYABLE.has(e.code)) throw new UnrecoverableError(`${e.code}: ${e.message}`);
      throw e;
    }
  };
  const worker = new Worker(QUEUE_NAME, process_, {
    connection: bull,
    name: id,
    concurrency: o.concurrency ?? 1,
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: o.stalledIntervalMs ?? 30_000,
    maxStalledCount: 2,
  });
  worker.on('completed', (job) => {
    stats.completed++;
    if (o.verbose) log(`swapnas worker ${id}: job ${job.id} done (${(job.data as JobPayload).archs?.length} archs)`);
  });
  worker.on('failed', (job, err) => {
    stats.failed++;
    log(`swapnas worker ${id}: job ${job?.id ?? '?'} failed: ${err.message.slice(0, 300)}`);
  });
  worker.on('error', () => {}); // connection errors: ioredis reconnects, BullMQ resumes
  await worker.waitUntilReady();
  return {
    id,
    stats,
    close: async () => {
      await worker.close();
      for (const p of backends.values()) await (await p.catch(() => undefined))?.backend.close?.();
      redis.disconnect();
      bull.disconnect();
    },
  };
}

/** A job's settings validated for its kind (score and measure: their request, whose key is the results' key). */
function checkSettings(p: JobPayload): Readonly<Record<string, unknown>> {
  if (p.kind === 'score') return checkScoreSettings(p.settings) as unknown as Record<string, unknown>;
  if (p.kind === 'measure') return checkMeasureSettings(p.settings) as unknown as Record<string, unknown>;
  if (p.kind === 'proxies') return checkProxySettings(p.settings) as unknown as Record<string, unknown>;
  if (p.kind === 'ensemble') return checkEnsembleSettings(p.settings) as unknown as Record<string, unknown>;
  return p.settings;
}

/**
 * Refuse jobs from another package version or whose settings this code keys differently (mixed deployments);
 * settings are validated first (the key of score and measure jobs is their request's).
 */
function checkDeployment(p: JobPayload, dryWorker: boolean): Readonly<Record<string, unknown>> {
  const mine = packageVersion();
  if (p.pkg !== mine)
    throw new SwapError(
      'E_VERSION',
      `job from swapnas ${p.pkg.slice(0, 64)}, this worker runs ${mine}: run one version across producer and workers`,
    );
  const settings = checkSettings(p);
  const h = jobKey(p.kind, settings);
  if (h !== p.hash)
    throw new SwapError(
      'E_VERSION',
      `settings hash mismatch: the producer sent ${p.hash.slice(0, 64)}, this worker (swapnas ${mine}) hashes the same settings to ${h}`,
    );
  if (Boolean(p.dryRun) !== dryWorker)
    throw new SwapError(
      'E_OPTION',
      dryWorker ? 'this is a --dry-run worker; it takes only dry-run jobs' : 'dry-run job sent to a scoring worker',
    );
  return settings;
}

function dryResults(p: JobPayload): Computed<null> {
  return { results: p.archs.map(() => null), backend: 'dry-run', skipped: [] };
}

/** What a worker process lends its jobs: its options, backends by name, and the contexts of each job kind. */
interface WorkerEnv {
  readonly o: QueueWorkerOptions;
  readonly pick: (name: string) => Promise<BackendChoice>;
  readonly ctxFor: (c: BackendChoice) => ComputeContext;
  readonly proxies: ProxyComputeContext;
}

/** A validated job's results (settings were checked before any backend is touched: a bad job costs nothing). */
async function compute(
  p: JobPayload,
  settings: Readonly<Record<string, unknown>>,
  env: WorkerEnv,
): Promise<Computed<unknown>> {
  if (p.kind === 'evaluate') return evaluate(p, env.o);
  if (p.kind === 'proxies') {
    const s = settings as unknown as ProxyJobSettings;
    return { results: await computeProxies(s, p.archs, env.proxies), backend: s.engine, skipped: [] };
  }
  const choice = await env.pick(p.backend);
  const ctx = env.ctxFor(choice);
  const results =
    p.kind === 'score'
      ? await computeScore(settings as unknown as ScoreJobSettings, p.archs, ctx)
      : p.kind === 'ensemble'
        ? await computeEnsemble(settings as unknown as EnsembleJobSettings, p.archs, ctx, env.proxies)
        : await computeMeasure(settings as unknown as MeasureJobSettings, p.archs, ctx);
  return { results, backend: choice.backend.name, skipped: choice.skipped };
}

/** Ground-truth queries: the worker's own command trains each architecture (jobs never carry commands). */
async function evaluate(p: JobPayload, o: QueueWorkerOptions): Promise<Computed<unknown>> {
  if (!o.evaluator)
    throw new SwapError(
      'E_OPTION',
      'this worker has no evaluator command (start it with swapnas worker --evaluator "…")',
    );
  const s = p.settings;
  if (typeof s['space'] !== 'string' || typeof s['dataset'] !== 'string' || !Number.isSafeInteger(s['first']))
    throw new SwapError('E_PAYLOAD', 'evaluate settings need space, dataset and first (query index)');
  const space = spaceEntry(s['space']).space;
  const ev = new CommandEvaluator(space, {
    command: o.evaluator,
    runDir: o.runDir ?? join(tmpdir(), 'swapnas-worker-runs'),
    dataset: s['dataset'],
    ...(Number.isSafeInteger(s['seed']) ? { seed: s['seed'] as number } : {}),
    ...(o.evalTimeoutSec !== undefined ? { timeoutSec: o.evalTimeoutSec } : {}),
  });
  if (p.archs.length !== 1) throw new SwapError('E_PAYLOAD', 'evaluate jobs carry one architecture each');
  // One query per job: the run's first query index plus the job's number.
  const index = (s['first'] as number) + p.chunk;
  return { results: [await ev.evaluate(space.parse(p.archs[0]!), { index })], backend: 'command', skipped: [] };
}

/** The run's input batch, fetched once per process and checked against its hash and shape. */
async function loadBlob(
  redis: Redis,
  cache: Map<string, InputBatch>,
  sha: string,
  shape: readonly number[],
  source: string,
): Promise<InputBatch> {
  const hit = cache.get(sha);
  if (hit) return hit.source === source ? hit : { ...hit, source };
  const buf = await redis.getBuffer(keys.blob(sha));
  if (!buf)
    throw new SwapError('E_QUEUE', `input batch ${sha.slice(0, 16)} is not in Redis (expired, or Redis lost its data)`);
  const [n, c, h, w] = shape as [number, number, number, number];
  if (buf.length > LIMITS.blobBytes || buf.length !== n * c * h * w * 4)
    throw new SwapError(
      'E_PAYLOAD',
      `input batch ${sha.slice(0, 16)} holds ${buf.length} bytes, not ${n}x${c}x${h}x${w} floats`,
    );
  if (createHash('sha256').update(buf).digest('hex') !== sha)
    throw new SwapError('E_PAYLOAD', `input batch ${sha.slice(0, 16)} does not match its hash`);
  const data = new Float32Array(n * c * h * w);
  Buffer.from(data.buffer).set(buf);
  const batch = makeBatch(data, n, c, h, w, source);
  if (cache.size >= 4) cache.delete(cache.keys().next().value!);
  cache.set(sha, batch);
  return batch;
}

/**
 * Results under (architecture, settings hash), the backend's skipped list, and the producer's "chunk done"
 * note, in one transaction: a retried chunk overwrites identical values, so nothing is counted twice.
 */
async function storeResults(redis: Redis, p: JobPayload, out: Computed<unknown>, id: string): Promise<void> {
  const fields: string[] = [];
  // The first result of a chunk also carries the backends skipped (the settings block's skippedBackends).
  p.archs.forEach((a, k) =>
    fields.push(a, JSON.stringify({ b: out.backend, r: out.results[k], ...(k === 0 ? { s: out.skipped } : {}) })),
  );
  await redis
    .multi()
    .hset(keys.results(p.hash), ...fields)
    .expire(keys.results(p.hash), RESULT_TTL_S)
    .hset(keys.ran(p.hash), out.backend, JSON.stringify(out.skipped))
    .expire(keys.ran(p.hash), RESULT_TTL_S)
    .rpush(keys.done(p.run), `${p.chunk} ${id}`)
    .expire(keys.done(p.run), RESULT_TTL_S)
    .exec();
}
