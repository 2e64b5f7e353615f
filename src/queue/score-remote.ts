import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SkippedBackend } from '../backends/registry.js';
import type { InputBatch } from '../data/batch.js';
import type { NetworkScore } from '../score/swap.js';
import type { ScoringRequest } from '../request/types.js';
import { connectRedis, waitReady } from './connect.js';
import { keys, RESULT_TTL_S } from './keys.js';
import { produce, type ChunkResult } from './producer.js';
import { queueProgress } from './progress.js';
import { jobKey, type ScoreJobSettings } from './request-adapter.js';

/** What `swapnas score --redis` hands the queue: the run's resolved pieces and the architectures to score. */
export interface RemoteScoreOptions {
  readonly url: string;
  /** The resolved request and its input batch (what `resolveScoringRequest` returns). */
  readonly request: ScoringRequest;
  readonly inputs: InputBatch;
  /**
   * Canonical architecture texts of the whole run, in output order (the same list on a rerun, so the run keeps its
   * id and its queued jobs); `wanted` are those still to be written (default: all).
   */
  readonly archs: readonly string[];
  readonly wanted?: readonly string[];
  readonly chunk: number;
  readonly progress: boolean;
  readonly signal?: AbortSignal;
}

/** The backend that ran (from the workers' reports) and the results, pulled in output order. */
export interface RemoteRows<R> {
  readonly ran: { readonly backend: { readonly name: string }; readonly skipped: readonly SkippedBackend[] };
  /** Results of `archs`, a run of the wanted architectures in order (each wanted occurrence taken once). */
  take(archs: readonly string[]): Promise<R[]>;
  close(): Promise<void>;
}

/** The SWAP scores of a queued `score` run. */
export type RemoteScore = RemoteRows<NetworkScore>;

/** A job kind's settings for a whole run, and the input batch bytes to store beside its jobs. */
export interface RemoteJob {
  readonly kind: 'score' | 'ensemble';
  readonly settings: ScoreJobSettings;
  /** Backend the workers are asked for. */
  readonly backend: string;
  readonly bytes: Buffer;
  readonly sha: string;
}

/** Float32 bytes of a batch and their SHA-256 (workers fetch the batch once and check it). */
export function batchBytes(b: InputBatch): { bytes: Buffer; sha: string } {
  const bytes = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return { bytes, sha: createHash('sha256').update(bytes).digest('hex') };
}

/** A `score` job's settings for a resolved request, and the batch bytes to store beside the jobs. */
export function scoreJob(
  request: ScoringRequest,
  inputs: InputBatch,
): { settings: ScoreJobSettings; bytes: Buffer; sha: string } {
  const { bytes, sha } = batchBytes(inputs);
  return { settings: { request, inputsSha: sha, inputsShape: [inputs.n, inputs.c, inputs.h, inputs.w] }, bytes, sha };
}

/**
 * Start a queued `score` run and wait for its first chunk, whose worker report fills the settings block's
 * backend (an empty run reports the backend stored with earlier results).
 */
export async function openRemoteScore(o: RemoteScoreOptions): Promise<RemoteScore> {
  const { settings, bytes, sha } = scoreJob(o.request, o.inputs);
  return openRemoteRows<NetworkScore>(o, { kind: 'score', settings, backend: o.request.backend, bytes, sha });
}

/**
 * Start a queued run of `job` over `o.archs` and wait for its first chunk (see {@link openRemoteScore}); results
 * are pulled with `take` in output order.
 */
export async function openRemoteRows<R>(
  o: Omit<RemoteScoreOptions, 'request' | 'inputs'>,
  job: RemoteJob,
): Promise<RemoteRows<R>> {
  const redis = connectRedis(o.url, 'swapnas-producer');
  await waitReady(redis, o.url);
  const settings = job.settings as unknown as Record<string, unknown>;
  const gen = produce(redis, {
    kind: job.kind,
    settings,
    archs: o.archs,
    chunk: o.chunk,
    backend: job.backend,
    prepare: async (r) => void (await r.set(keys.blob(job.sha), job.bytes, 'EX', RESULT_TTL_S)),
    onProgress: queueProgress(`score (queue${job.kind === 'score' ? '' : `, ${job.kind}`})`, o.progress),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const close = async () => {
    await gen.return(undefined);
    redis.disconnect();
  };
  try {
    const first = await gen.next();
    const ran = await ranOf(redis, jobKey(job.kind, settings), first.done ? undefined : first.value);
    return { ran, close, take: taker<R>(gen, o.wanted ?? o.archs, first.done ? undefined : first.value) };
  } catch (e) {
    await close();
    throw e;
  }
}

/** `take` of a run: results of the wanted architectures, pulled from the run's chunks as they are needed. */
function taker<R>(
  gen: AsyncGenerator<ChunkResult>,
  wanted: readonly string[],
  first: ChunkResult | undefined,
): (archs: readonly string[]) => Promise<R[]> {
  const uses = new Map<string, number>();
  for (const a of wanted) uses.set(a, (uses.get(a) ?? 0) + 1);
  const got = new Map<string, R>();
  const keep = (c: ChunkResult) =>
    c.archs.forEach((a, k) => {
      if (uses.has(a)) got.set(a, c.results[k] as R);
    });
  if (first) keep(first);
  return async (archs) => {
    const out: R[] = [];
    for (const a of archs) {
      while (!got.has(a)) {
        const c = await gen.next();
        if (c.done) throw new Error(`queue run ended without a result for ${a.slice(0, 200)}`);
        keep(c.value);
      }
      out.push(got.get(a)!);
      const left = uses.get(a)! - 1;
      if (left > 0) uses.set(a, left);
      else uses.delete(a), got.delete(a);
    }
    return out;
  };
}

async function ranOf(redis: Redis, hash: string, first: ChunkResult | undefined): Promise<RemoteScore['ran']> {
  const all = await redis.hgetall(keys.ran(hash));
  const name = first?.backends[0] ?? Object.keys(all)[0] ?? 'unknown';
  const mixed = new Set(first?.backends ?? []);
  if (mixed.size > 1)
    process.stderr.write(
      `swapnas: workers used several backends (${[...mixed].join(', ')}); counts agree across backends (parity-tested)\n`,
    );
  // The chunk's own report first: the per-settings record may be gone (a Redis restarted without persistence).
  const skipped = first ? first.skipped : (JSON.parse(all[name] ?? '[]') as SkippedBackend[]);
  return { backend: { name }, skipped: skipped as SkippedBackend[] };
}
