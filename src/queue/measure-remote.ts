import type { SearchSpace } from '../spaces/types.js';
import type { Measurement, ProxySetting } from '../study/measure.js';
import { connectRedis, waitReady } from './connect.js';
import { produce } from './producer.js';
import { queueProgress } from './progress.js';

/** What `measure` is given besides the space, genotypes and setting (the backend stays with the workers). */
export interface RemoteMeasureContext {
  readonly network?: Readonly<Record<string, unknown>>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

/** A drop-in for `measure` (correlate) that fans the chunks out to queue workers. */
export interface RemoteMeasurer {
  /** Backend the workers reported (after `measure` returned). */
  readonly backendName: string;
  measure<G, N extends object>(
    space: SearchSpace<G, N>,
    genotypes: readonly G[],
    setting: ProxySetting,
    ctx: RemoteMeasureContext,
  ): Promise<Map<string, Measurement>>;
}

/** Measure through the queue at `url`, `chunk` architectures per job. */
export function remoteMeasurer(o: { url: string; chunk: number; backend: string; progress: boolean }): RemoteMeasurer {
  let ran = 'unknown';
  return {
    get backendName() {
      return ran;
    },
    async measure(space, genotypes, setting, ctx) {
      const redis = connectRedis(o.url, 'swapnas-producer');
      const out = new Map<string, Measurement>();
      const show = queueProgress('correlate (queue)', o.progress);
      try {
        await waitReady(redis, o.url);
        const runs = produce(redis, {
          kind: 'measure',
          settings: { space: space.name, setting, network: ctx.network ?? {} },
          archs: genotypes.map((g) => space.format(g)),
          chunk: o.chunk,
          backend: o.backend,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          onProgress: (p) => {
            show(p);
            ctx.onProgress?.(p.done, p.total);
          },
        });
        for await (const c of runs) {
          c.archs.forEach((a, k) => out.set(a, c.results[k] as Measurement));
          ran = c.backends[0] ?? ran;
        }
        return out;
      } finally {
        redis.disconnect();
      }
    },
  };
}
