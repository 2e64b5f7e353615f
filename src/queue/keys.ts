/** The BullMQ queue every swapnas producer feeds and every worker drains (one per Redis database). */
export const QUEUE_NAME = 'swapnas';

/** Seconds that results, input batches and run records live in Redis after their last write (30 days). */
export const RESULT_TTL_S = 30 * 24 * 3600;

/** Redis keys of our own data beside BullMQ's (`bull:swapnas:*`). */
export const keys = {
  /** Hash: architecture key → JSON result, for one settings hash. */
  results: (hash: string) => `swapnas:res:${hash}`,
  /** Hash: backend name → JSON list of the backends that worker skipped (for the settings block). */
  ran: (hash: string) => `swapnas:ran:${hash}`,
  /** String: a float32 input batch, by the SHA-256 of its bytes. */
  blob: (sha: string) => `swapnas:blob:${sha}`,
  /** List: "chunk worker" entries pushed as chunks finish (the producer pops them). */
  done: (run: string) => `swapnas:run:${run}:done`,
  /** String: "running" | "cancelled". */
  state: (run: string) => `swapnas:run:${run}:state`,
  /** Hash: run id → JSON run record (for `queue status`). */
  runs: 'swapnas:runs',
} as const;

/** BullMQ job id of a chunk (ids are strings without ":"). */
export function jobId(run: string, chunk: number): string {
  return `${run}-${chunk}`;
}
