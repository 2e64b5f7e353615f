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
import { scoreJobKey, type ScoreJobSettings } from './request-adapter.js';

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

/** The backend that ran (from the workers' reports) and the scores, pulled in output order. */
export interface RemoteScore {
  readonly ran: { readonly backend: { readonly name: string }; readonly skipped: readonly SkippedBackend[] };
  /** Scores of `archs`, a run of the wanted architectures in order (each wanted occurrence taken once). */
  take(archs: readonly string[]): Promise<NetworkScore[]>;
  close(): Promise<void>;
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
  const redis = connectRedis(o.url, 'swapnas-producer');
  await waitReady(redis, o.url);
  const { settings, bytes, sha } = scoreJob(o.request, o.inputs);
  const gen = produce(redis, {
    kind: 'score',
    settings: settings as unknown as Record<string, unknown>,
    archs: o.archs,
    chunk: o.chunk,
    backend: o.request.backend,
    prepare: async (r) => void (await r.set(keys.blob(sha), bytes, 'EX', RESULT_TTL_S)),
    onProgress: queueProgress('score (queue)', o.progress),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const close = async () => {
    await gen.return(undefined);
    redis.disconnect();
  };
  try {
    const first = await gen.next();
    const ran = await ranOf(redis, scoreJobKey(settings), first.done ? undefined : first.value);
    const uses = new Map<string, number>();
    for (const a of o.wanted ?? o.archs) uses.set(a, (uses.get(a) ?? 0) + 1);
    const got = new Map<string, NetworkScore>();
    const keep = (c: ChunkResult) =>
      c.archs.forEach((a, k) => {
        if (uses.has(a)) got.set(a, c.results[k] as NetworkScore);
      });
    if (!first.done) keep(first.value);
    const take = async (archs: readonly string[]) => {
      const out: NetworkScore[] = [];
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
    return { ran, close, take };
  } catch (e) {
    await close();
    throw e;
  }
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
