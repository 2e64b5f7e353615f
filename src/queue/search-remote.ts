import type { Redis } from 'ioredis';
import type { NetworkScore } from '../score/swap.js';
import type { ScoringRequest } from '../request/types.js';
import type { RemoteSwapRequest, RemoteSwapScorer } from '../search/proxy.js';
import type { Evaluation, EvaluationRequest, Evaluator } from '../search/types.js';
import type { SearchSpace } from '../spaces/types.js';
import { isSwapError } from '../util/errors.js';
import { connectRedis, waitReady } from './connect.js';
import { keys, RESULT_TTL_S } from './keys.js';
import { produce } from './producer.js';
import { queueProgress } from './progress.js';
import { scoreJob } from './score-remote.js';
import { remoteMembers } from './ensemble-remote.js';

/**
 * `search --redis`: the proxy's population scoring (reg-SWAP, or an ensemble's member passes) and the ground-truth
 * queries, all on queue workers.
 */
export interface RemoteSearch {
  readonly scorer: RemoteSwapScorer;
  evaluator<G>(space: SearchSpace<G, object>, dataset: string, seed: number): Evaluator<G>;
  close(): void;
}

/** Connect to the queue at `url` for one search. */
export async function openRemoteSearch(o: {
  url: string;
  chunk: number;
  backend: string;
  progress: boolean;
  signal?: AbortSignal;
}): Promise<RemoteSearch> {
  const redis = connectRedis(o.url, 'swapnas-producer');
  await waitReady(redis, o.url);
  const show = queueProgress('search (queue)', o.progress);
  const scorer: RemoteSwapScorer = {
    score: async (req, archs) => scoreOn(redis, o, req, archs, show),
    members: (req) => remoteMembers({ ...o, label: 'search (queue)' }, req.request, req.inputs),
  };
  return {
    scorer,
    evaluator: <G>(space: SearchSpace<G, object>, dataset: string, seed: number): Evaluator<G> => ({
      name: 'remote',
      metadata: { evaluator: 'remote', dataset, note: "each worker's own --evaluator command" },
      evaluate: (g: G, req: EvaluationRequest) => evaluateOn(redis, space.name, space.format(g), dataset, seed, req),
      evaluateMany: (gs: readonly G[], reqs: readonly EvaluationRequest[]) =>
        evaluateManyOn(
          redis,
          { space: space.name, dataset, seed },
          gs.map((g) => space.format(g)),
          reqs,
        ),
    }),
    close: () => redis.disconnect(),
  };
}

async function scoreOn(
  redis: Redis,
  o: { chunk: number; backend: string; signal?: AbortSignal },
  req: RemoteSwapRequest,
  archs: readonly string[],
  show: ReturnType<typeof queueProgress>,
): Promise<{ scores: NetworkScore[]; backend: string }> {
  // The search's resolved request, with the backend asked for on its command line.
  const request: ScoringRequest = { ...req.request, backend: o.backend as ScoringRequest['backend'] };
  const { settings, bytes, sha } = scoreJob(request, req.inputs);
  const scores: NetworkScore[] = [];
  let backend = 'unknown';
  for await (const c of produce(redis, {
    kind: 'score',
    settings: settings as unknown as Record<string, unknown>,
    archs,
    chunk: o.chunk,
    backend: o.backend,
    prepare: async (r) => void (await r.set(keys.blob(sha), bytes, 'EX', RESULT_TTL_S)),
    onProgress: show,
    ...(o.signal ? { signal: o.signal } : {}),
  })) {
    scores.push(...(c.results as NetworkScore[]));
    backend = c.backends[0] ?? backend;
  }
  return { scores, backend };
}

/**
 * Consecutive training queries as one run of one-architecture jobs, trained in parallel by the workers (query
 * index = `first` + job number). A job that fails on the queue (not a failed training: that is a result) makes the
 * queries not yet collected failed queries.
 */
async function evaluateManyOn(
  redis: Redis,
  at: { space: string; dataset: string; seed: number },
  archs: readonly string[],
  reqs: readonly EvaluationRequest[],
): Promise<Evaluation[]> {
  const first = reqs[0]!.index;
  if (reqs.some((r, k) => r.index !== first + k)) throw new Error('queries of a batch must be consecutive');
  const out: Evaluation[] = [];
  const signal = reqs[0]!.signal;
  try {
    const runs = produce(redis, {
      kind: 'evaluate',
      settings: { ...at, first },
      archs,
      chunk: 1,
      attempts: 1,
      ...(signal ? { signal } : {}),
    });
    for await (const c of runs) out.push(c.results[0] as Evaluation);
  } catch (e) {
    if (isSwapError(e) && e.code === 'E_CANCELLED') throw e;
    const error = `the queue failed: ${(e as Error).message.slice(0, 300)}`;
    while (out.length < archs.length) out.push({ ok: false, error });
  }
  return out;
}

/** One training query as one job; the worker runs its configured command (the job carries only the arch). */
async function evaluateOn(
  redis: Redis,
  space: string,
  arch: string,
  dataset: string,
  seed: number,
  req: EvaluationRequest,
): Promise<Evaluation> {
  const runs = produce(redis, {
    kind: 'evaluate',
    settings: { space, dataset, seed, first: req.index },
    archs: [arch],
    chunk: 1,
    attempts: 1,
    ...(req.signal ? { signal: req.signal } : {}),
  });
  for await (const c of runs) return c.results[0] as Evaluation;
  return { ok: false, error: 'the queue returned no result' };
}
