/**
 * The producer's side of `ensemble` jobs: member passes of a resolved scoring request fanned out to queue workers,
 * either as a {@link RemoteMembers} source for an ensemble scorer (one queued run per call: its reference set,
 * `correlate`'s and `search`'s networks) or as one streamed run for `score` ({@link openRemoteEnsemble}).
 */
import { spaceEntry } from '../catalog/registry.js';
import { type InputBatch, takeSamples } from '../data/batch.js';
import { checkProxyRequest } from '../proxies/run.js';
import type { ScoringRequest } from '../request/types.js';
import type { MemberPass, MemberRun, RemoteMembers } from '../score/ensemble-members.js';
import { checkInputsFit } from '../score/swap.js';
import { connectRedis, waitReady } from './connect.js';
import { keys, RESULT_TTL_S } from './keys.js';
import { produce } from './producer.js';
import { queueProgress } from './progress.js';
import type { EnsembleJobSettings } from './request-adapter.js';
import { openRemoteRows, type RemoteJob, type RemoteRows, type RemoteScoreOptions, scoreJob } from './score-remote.js';

/** Where an ensemble's member passes fan out to, and how they report. */
export interface RemoteEnsembleOptions {
  readonly url: string;
  /** Architectures per job. */
  readonly chunk: number;
  readonly progress: boolean;
  /** Progress label (`correlate ensemble (queue)`, `search (queue)`). */
  readonly label: string;
  readonly signal?: AbortSignal;
}

/**
 * The `ensemble` job of a member pass over `request`: the request with the pass's seed and SWAP backend, its first
 * S images, and the pass's suite members, engine and labels.
 */
export function ensembleJob(request: ScoringRequest, inputs: InputBatch, pass: MemberPass): RemoteJob {
  const req: ScoringRequest = { ...request, seed: pass.seed, backend: pass.backend };
  const images = takeSamples(inputs, req.batch);
  const { settings, bytes, sha } = scoreJob(req, images);
  const labels = batchLabels(pass, images.n);
  const full: EnsembleJobSettings = { ...settings, suite: [...pass.suite], engine: pass.engine, labels };
  return { kind: 'ensemble', settings: full, backend: pass.backend, bytes, sha };
}

/** The labels of the first `n` input images (the batch a job carries), as a local pass takes them; null: none. */
function batchLabels(pass: MemberPass, n: number): number[] | null {
  return pass.labels ? pass.labels.slice(0, n) : null;
}

/**
 * Refuse here, before anything is queued, what every worker would refuse for the run's first network: inputs that
 * do not fit it (`E_INPUT…`), suite members it cannot run (`E_PROXY_HEAD`, `E_LABELS`) — the codes a local run
 * gives.
 */
function precheck(request: ScoringRequest, inputs: InputBatch, arch: string, pass: MemberPass): void {
  const space = spaceEntry(request.space).space;
  const net = space.build(space.parse(arch), request.network);
  const images = takeSamples(inputs, request.batch);
  checkInputsFit([net], images);
  const given = batchLabels(pass, images.n);
  const labels = given ? Int32Array.from(given) : undefined;
  const run = { protocol: 'swap' as const, seed: pass.seed, images, batch: request.batch };
  checkProxyRequest(net, pass.suite, labels ? { ...run, labels } : run);
}

/**
 * Member passes of `request` on queue workers: each call queues one run of its architectures (chunks of
 * `o.chunk`) and returns their member runs in order; a rerun collects what Redis already holds.
 */
export function remoteMembers(o: RemoteEnsembleOptions, request: ScoringRequest, inputs: InputBatch): RemoteMembers {
  return async (archs, pass) => {
    if (archs.length === 0) return [];
    precheck(request, inputs, archs[0]!, pass);
    const job = ensembleJob(request, inputs, pass);
    const show = queueProgress(o.label, o.progress && !pass.onProgress);
    const redis = connectRedis(o.url, 'swapnas-producer');
    const out: MemberRun[] = [];
    try {
      await waitReady(redis, o.url);
      const runs = produce(redis, {
        kind: 'ensemble',
        settings: job.settings as unknown as Record<string, unknown>,
        archs,
        chunk: o.chunk,
        backend: job.backend,
        prepare: async (r) => void (await r.set(keys.blob(job.sha), job.bytes, 'EX', RESULT_TTL_S)),
        onProgress: (p) => (pass.onProgress ? pass.onProgress(p.done, p.total) : show(p)),
        ...(o.signal ? { signal: o.signal } : {}),
      });
      for await (const c of runs) out.push(...(c.results as MemberRun[]));
      return out;
    } finally {
      redis.disconnect();
    }
  };
}

/**
 * `score --redis` with an ensemble fitness: one queued run of member passes over the whole output (as
 * {@link openRemoteScore} for SWAP), pulled in output order; the producer ranks them.
 */
export async function openRemoteEnsemble(o: RemoteScoreOptions, pass: MemberPass): Promise<RemoteRows<MemberRun>> {
  if (o.archs.length > 0) precheck(o.request, o.inputs, o.archs[0]!, pass);
  return openRemoteRows<MemberRun>(o, ensembleJob(o.request, o.inputs, pass));
}
