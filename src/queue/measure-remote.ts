import type { SearchSpace } from '../spaces/types.js';
import type { ScoringRequest } from '../request/types.js';
import type { Measurement, ProxySetting } from '../study/measure.js';
import { measureRequest } from '../study/measure-request.js';
import { connectRedis, waitReady } from './connect.js';
import { keys, RESULT_TTL_S } from './keys.js';
import { produce } from './producer.js';
import { queueProgress } from './progress.js';
import type { MeasureJobSettings } from './request-adapter.js';
import { scoreJob } from './score-remote.js';

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

/** Where and how a correlate run measures through the queue. */
export interface RemoteMeasureOptions {
  readonly url: string;
  /** Architectures per job. */
  readonly chunk: number;
  readonly backend: ScoringRequest['backend'];
  readonly progress: boolean;
  /** The table target and protocol the request names (the builder options already follow them). */
  readonly target: string;
  readonly official: boolean;
}

/**
 * Measure through the queue at `o.url`: each job carries the setting as a resolved scoring request
 * ({@link measureRequest}) and its batch, and results are stored under that request's key.
 */
export function remoteMeasurer(o: RemoteMeasureOptions): RemoteMeasurer {
  let ran = 'unknown';
  return {
    get backendName() {
      return ran;
    },
    async measure(space, genotypes, setting, ctx) {
      const { request, inputs } = measureRequest({
        ...o,
        space: space.name,
        setting,
        ...(ctx.network ? { network: ctx.network } : {}),
      });
      const job = scoreJob(request, inputs);
      const settings: MeasureJobSettings = { ...job.settings, nwot: Boolean(setting.nwot) };
      const redis = connectRedis(o.url, 'swapnas-producer');
      const out = new Map<string, Measurement>();
      const show = queueProgress('correlate (queue)', o.progress);
      try {
        await waitReady(redis, o.url);
        const runs = produce(redis, {
          kind: 'measure',
          settings: settings as unknown as Record<string, unknown>,
          archs: genotypes.map((g) => space.format(g)),
          chunk: o.chunk,
          backend: o.backend,
          prepare: async (r) => void (await r.set(keys.blob(job.sha), job.bytes, 'EX', RESULT_TTL_S)),
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
