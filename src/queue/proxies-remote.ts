import type { ProxyRequest } from '../proxies/runner.js';
import type { ProxyRunOptions } from '../proxies/run.js';
import { connectRedis, waitReady } from './connect.js';
import { keys, RESULT_TTL_S } from './keys.js';
import { produce } from './producer.js';
import { queueProgress } from './progress.js';
import { proxyJobSettings, type ProxyResult } from './proxy-job.js';
import { batchBytes } from './score-remote.js';

/** Where a proxy run fans out to, and how it reports. */
export interface RemoteProxyOptions {
  readonly url: string;
  /** Architectures per job. */
  readonly chunk: number;
  readonly progress: boolean;
  /** Progress label (`score (queue)`, `correlate (queue)`). */
  readonly label: string;
  readonly signal?: AbortSignal;
}

/** A proxy run to fan out: networks of `space` built with `network`, the resolved proxy request and its inputs. */
export interface RemoteProxyRun {
  readonly space: string;
  readonly network: Readonly<Record<string, unknown>>;
  readonly request: ProxyRequest;
  readonly run: ProxyRunOptions;
}

/**
 * Score `archs` with the run's proxies on queue workers; `onChunk` receives each finished chunk's architectures
 * and rows, in architecture order. Rerunning the same run collects results Redis already holds.
 */
export async function remoteProxyRows(
  o: RemoteProxyOptions,
  job: RemoteProxyRun,
  archs: readonly string[],
  onChunk: (archs: readonly string[], rows: readonly ProxyResult[]) => void,
): Promise<void> {
  if (archs.length === 0) return;
  const { bytes, sha } = batchBytes(job.run.images);
  const settings = proxyJobSettings(job.space, job.network, job.request, job.run, sha);
  const redis = connectRedis(o.url, 'swapnas-producer');
  try {
    await waitReady(redis, o.url);
    const runs = produce(redis, {
      kind: 'proxies',
      settings: settings as unknown as Record<string, unknown>,
      archs,
      chunk: o.chunk,
      backend: settings.engine,
      prepare: async (r) => void (await r.set(keys.blob(sha), bytes, 'EX', RESULT_TTL_S)),
      onProgress: queueProgress(o.label, o.progress),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    for await (const c of runs) onChunk(c.archs, c.results as ProxyResult[]);
  } finally {
    redis.disconnect();
  }
}
