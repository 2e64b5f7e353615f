import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAME, keys } from './keys.js';

/** A run's record as its producer keeps it up to date. */
export interface RunRecord {
  readonly id: string;
  readonly kind: string;
  readonly archs: number;
  readonly chunks: number;
  readonly done: number;
  readonly workers: number;
  readonly host: string;
  readonly pid: number;
  readonly updated: string;
}

/** `swapnas queue status`: job counts, live workers, runs in progress and failed jobs with their reasons. */
export interface QueueSummary {
  readonly counts: Readonly<Record<string, number>>;
  readonly workers: readonly string[];
  readonly runs: readonly RunRecord[];
  readonly failed: readonly { readonly id: string; readonly reason: string; readonly attempts: number }[];
}

async function withQueue<T>(redis: Redis, f: (q: Queue) => Promise<T>): Promise<T> {
  const q = new Queue(QUEUE_NAME, { connection: redis });
  q.on('error', () => {});
  try {
    return await f(q);
  } finally {
    await q.close();
  }
}

/** Summarise the queue (at most `maxFailed` failed jobs are listed). */
export async function queueStatus(redis: Redis, maxFailed = 20): Promise<QueueSummary> {
  return withQueue(redis, async (q) => {
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    // Workers name their connections "swapnas-worker-<host:pid:tag>"; ioredis names them again after a reconnect
    // (BullMQ's own CLIENT SETNAME is not repeated, so its getWorkers() forgets workers after a Redis restart).
    const list = String(await redis.call('CLIENT', 'LIST'));
    const workers = [...new Set([...list.matchAll(/ name=swapnas-worker-(\S+)/g)].map((m) => m[1]!))].sort();
    const runs = Object.entries(await redis.hgetall(keys.runs)).map(
      ([id, v]) => ({ id, ...(JSON.parse(v) as Omit<RunRecord, 'id'>) }) as RunRecord,
    );
    const failed = (await q.getFailed(0, maxFailed - 1)).map((j) => ({
      id: String(j.id),
      reason: String(j.failedReason ?? '').slice(0, 300),
      attempts: j.attemptsMade,
    }));
    return { counts, workers, runs, failed };
  });
}

/**
 * Cancel one run (by id) or, without an id, every run: its waiting, delayed and failed jobs are removed, its
 * producer stops with E_CANCELLED at its next check, and jobs already running finish (their results stay valid).
 * Returns the number of jobs removed.
 */
export async function cancelRuns(redis: Redis, run?: string): Promise<number> {
  return withQueue(redis, async (q) => {
    const ids = run ? [run] : Object.keys(await redis.hgetall(keys.runs));
    for (const id of ids) await redis.multi().set(keys.state(id), 'cancelled', 'EX', 3600).hdel(keys.runs, id).exec();
    let removed = 0;
    if (!run) {
      const before = await q.getJobCounts('waiting', 'delayed', 'prioritized');
      await q.drain(true);
      removed += Object.values(before).reduce((a, b) => a + b, 0);
      removed += (await q.clean(0, 0, 'failed')).length;
      return removed;
    }
    const jobs = await q.getJobs(['waiting', 'delayed', 'prioritized', 'failed']);
    for (const j of jobs) {
      if (j.id?.startsWith(`${run}-`)) {
        await j.remove();
        removed++;
      }
    }
    return removed;
  });
}
