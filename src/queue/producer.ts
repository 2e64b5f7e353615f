import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SwapError } from '../util/errors.js';
import { packageVersion } from '../util/version.js';
import { bullConnection } from './connect.js';
import { QUEUE_NAME, RESULT_TTL_S, jobId, keys } from './keys.js';
import { PAYLOAD_VERSION, type JobKind, type JobPayload } from './payload.js';
import { jobKey } from './request-adapter.js';

/** Progress of a queued run, as the producer sees it. */
export interface RunProgress {
  /** Architectures whose results are in (including those found in Redis at the start). */
  readonly done: number;
  readonly total: number;
  /** Architectures per second finished by the workers during this session. */
  readonly rate: number;
  readonly etaSec: number;
  /** Distinct workers that finished a chunk of this run in this session. */
  readonly workers: number;
}

/** One finished chunk, in chunk order. */
export interface ChunkResult {
  readonly chunk: number;
  readonly archs: readonly string[];
  readonly results: readonly unknown[];
  /** Backend each result was computed with. */
  readonly backends: readonly string[];
  /** Backends the worker of the chunk's first result skipped, and why. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

/** A run to fan out: one job kind, its resolved settings, and the architectures (canonical texts). */
export interface RunSpec {
  readonly kind: JobKind;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly archs: readonly string[];
  /** Architectures per job. */
  readonly chunk: number;
  /** Backend the workers should use ("auto": each worker's best). */
  readonly backend?: string;
  readonly dryRun?: boolean;
  /** Attempts per job before it fails for good (default 3; a stalled job is retried without counting). */
  readonly attempts?: number;
  /** Stores what jobs refer to (the input batch); called at the start and again if Redis lost its data. */
  readonly prepare?: (redis: Redis) => Promise<void>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: RunProgress) => void;
  /** How often to check for failed jobs, cancellation and lost Redis data (default 1000 ms). */
  readonly sweepMs?: number;
}

/** Run id: the same settings and architectures give the same id, so a rerun (`--resume`) finds its jobs. */
export function runId(spec: Pick<RunSpec, 'kind' | 'settings' | 'archs' | 'chunk' | 'dryRun'>): string {
  const h = createHash('sha256').update(`${spec.kind}\n${jobKey(spec.kind, spec.settings)}`);
  h.update(`\n${spec.chunk}\n${spec.dryRun ? 'dry' : ''}\n`);
  for (const a of spec.archs) h.update(`${a}\n`);
  return h.digest('hex').slice(0, 16);
}

/**
 * Fan a run out as BullMQ jobs (bulk adds; chunks whose results Redis already holds are not queued) and yield
 * the chunks' results in chunk order, each exactly once. Interrupting it leaves the jobs queued; running it
 * again with the same spec continues where it stopped.
 */
export async function* produce(redis: Redis, spec: RunSpec): AsyncGenerator<ChunkResult> {
  const p = new Producer(redis, spec);
  try {
    yield* p.run();
  } finally {
    await p.close();
  }
}

class Producer {
  readonly hash: string;
  readonly id: string;
  readonly chunks: string[][] = [];
  private readonly queue: Queue;
  private readonly pop: Redis;
  private readonly bull: Redis;
  private readonly ready = new Map<number, ChunkResult>();
  private readonly pending = new Set<number>();
  private readonly settled = new Set<number>();
  private readonly workers = new Set<string>();
  private done = 0;
  private doneInSession = 0;
  private readonly started = Date.now();
  private lastSweep = 0;

  constructor(
    private readonly redis: Redis,
    private readonly spec: RunSpec,
  ) {
    if (!Number.isSafeInteger(spec.chunk) || spec.chunk < 1)
      throw new SwapError('E_OPTION', `chunk must be a positive integer, got ${spec.chunk}`);
    this.hash = jobKey(spec.kind, spec.settings);
    this.id = runId(spec);
    for (let i = 0; i < spec.archs.length; i += spec.chunk) this.chunks.push(spec.archs.slice(i, i + spec.chunk));
    this.bull = bullConnection(redis);
    this.queue = new Queue(QUEUE_NAME, { connection: this.bull });
    this.queue.on('error', () => {});
    this.pop = redis.duplicate();
    this.pop.on('error', () => {});
  }

  async *run(): AsyncGenerator<ChunkResult> {
    if (this.chunks.length === 0) return;
    await this.collectStored(this.chunks.map((_, i) => i));
    await this.start();
    this.report();
    for (let next = 0; next < this.chunks.length; ) {
      const r = this.ready.get(next);
      if (r) {
        this.ready.delete(next);
        next++;
        // The consumer may stop pulling after the last chunk: forget the run before handing it over.
        if (next === this.chunks.length) await this.finish();
        yield r;
        continue;
      }
      await this.waitForChunks();
    }
  }

  private async finish(): Promise<void> {
    await this.redis.multi().hdel(keys.runs, this.id).del(keys.state(this.id), keys.done(this.id)).exec();
  }

  async close(): Promise<void> {
    this.pop.disconnect();
    await this.queue.close();
    this.bull.disconnect();
  }

  /** Check which chunks Redis already holds results for; the rest become pending. */
  private async collectStored(indices: readonly number[]): Promise<void> {
    for (let s = 0; s < indices.length; s += 256) {
      const pipe = this.redis.pipeline();
      const part = indices.slice(s, s + 256);
      for (const i of part) pipe.hmget(keys.results(this.hash), ...this.chunks[i]!);
      const res = (await pipe.exec()) ?? [];
      part.forEach((i, k) => {
        const [err, vals] = res[k] ?? [new Error('no reply'), null];
        if (err) throw err;
        this.settle(i, vals as (string | null)[]);
      });
    }
  }

  /** A chunk is done when every one of its results is stored (chunks are stored in one transaction). */
  private settle(i: number, vals: readonly (string | null)[]): void {
    if (this.settled.has(i)) return;
    if (vals.includes(null)) {
      this.pending.add(i);
      return;
    }
    const parsed = vals.map((v) => JSON.parse(v!) as { b: string; r: unknown; s?: ChunkResult['skipped'] });
    const wasPending = this.pending.delete(i);
    this.settled.add(i);
    this.ready.set(i, {
      chunk: i,
      archs: this.chunks[i]!,
      results: parsed.map((x) => x.r),
      backends: parsed.map((x) => x.b),
      skipped: parsed[0]?.s ?? [],
    });
    this.done += this.chunks[i]!.length;
    if (wasPending) this.doneInSession += this.chunks[i]!.length;
  }

  /** Register the run, drop this run's failed jobs (a rerun retries them) and queue the pending chunks. */
  private async start(): Promise<void> {
    await this.spec.prepare?.(this.redis);
    await this.redis.set(keys.state(this.id), 'running', 'EX', RESULT_TTL_S);
    await this.writeRecord();
    const failed = await this.queue.getFailed(0, -1);
    for (const j of failed) {
      const m = j.id?.startsWith(`${this.id}-`) ? Number(j.id.slice(this.id.length + 1)) : Number.NaN;
      if (this.pending.has(m)) await j.remove();
    }
    await this.enqueue([...this.pending]);
  }

  private async writeRecord(): Promise<void> {
    const rec = {
      kind: this.spec.kind,
      hash: this.hash,
      archs: this.spec.archs.length,
      chunks: this.chunks.length,
      done: this.done,
      workers: this.workers.size,
      host: hostname(),
      pid: process.pid,
      updated: new Date().toISOString(),
    };
    await this.redis.hset(keys.runs, this.id, JSON.stringify(rec));
  }

  private async enqueue(indices: readonly number[]): Promise<void> {
    const attempts = this.spec.attempts ?? 3;
    for (let s = 0; s < indices.length; s += 500) {
      const jobs = indices.slice(s, s + 500).map((i) => {
        const data: JobPayload = {
          v: PAYLOAD_VERSION,
          pkg: packageVersion(),
          kind: this.spec.kind,
          run: this.id,
          chunk: i,
          hash: this.hash,
          settings: this.spec.settings,
          archs: this.chunks[i]!,
          backend: this.spec.backend ?? 'auto',
          ...(this.spec.dryRun ? { dryRun: true } : {}),
        };
        return {
          name: this.spec.kind,
          data,
          opts: {
            jobId: jobId(this.id, i),
            attempts,
            backoff: { type: 'exponential', delay: 500 },
            // Finished jobs are kept a while (not their results: those live under the settings hash) so a
            // rerun that re-adds a chunk finishing at that moment finds its id and does not queue it again.
            removeOnComplete: { count: 1000 },
            removeOnFail: false,
          },
        };
      });
      await this.queue.addBulk(jobs);
    }
  }

  /** Block (≤ 0.5 s) for "chunk done" notes from the workers; sweep for failures and lost data now and then. */
  private async waitForChunks(): Promise<void> {
    const first = await this.pop.blpop(keys.done(this.id), 0.5);
    const notes = first ? [first[1]] : [];
    if (first) notes.push(...((await this.pop.lpop(keys.done(this.id), 1000)) ?? []));
    const fresh: number[] = [];
    for (const n of notes) {
      const [c, w] = n.split(' ');
      const i = Number(c);
      if (w) this.workers.add(w);
      if (this.pending.has(i)) fresh.push(i);
    }
    if (fresh.length > 0) {
      await this.collectStored(fresh);
      this.report();
    }
    if (Date.now() - this.lastSweep >= (this.spec.sweepMs ?? 1000)) await this.sweep();
  }

  private report(): void {
    const secs = (Date.now() - this.started) / 1000;
    const rate = this.doneInSession / Math.max(secs, 1e-3);
    const total = this.spec.archs.length;
    this.spec.onProgress?.({
      done: this.done,
      total,
      rate,
      etaSec: rate > 0 ? (total - this.done) / rate : Number.POSITIVE_INFINITY,
      workers: this.workers.size,
    });
  }

  /** Cancellation, failed jobs of this run, and a Redis that lost its data (restart without persistence). */
  private async sweep(): Promise<void> {
    this.lastSweep = Date.now();
    if (this.spec.signal?.aborted)
      throw new SwapError(
        'E_CANCELLED',
        'interrupted; the queued chunks stay with the workers: rerun the same command with --resume to collect them',
      );
    const state = await this.redis.get(keys.state(this.id));
    if (state === 'cancelled')
      throw new SwapError('E_CANCELLED', `run ${this.id} was cancelled (swapnas queue cancel)`);
    if (state === null) {
      // Redis restarted without persistence (or the run expired): re-store and re-queue what is missing.
      await this.collectStored([...this.pending]);
      await this.start();
    }
    await this.writeRecord();
    if ((await this.queue.getFailedCount()) > 0) await this.checkFailed();
  }

  private async checkFailed(): Promise<void> {
    const reasons: string[] = [];
    for (const j of await this.queue.getFailed(0, -1)) {
      if (!j.id?.startsWith(`${this.id}-`)) continue;
      const i = Number(j.id.slice(this.id.length + 1));
      if (this.pending.has(i)) reasons.push(`chunk ${i}: ${j.failedReason}`);
    }
    if (reasons.length > 0)
      throw new SwapError(
        'E_QUEUE',
        `${reasons.length} chunk(s) failed on the workers: ${reasons.slice(0, 3).join('; ').slice(0, 600)} (see swapnas queue status; fix and rerun with --resume)`,
      );
  }
}
