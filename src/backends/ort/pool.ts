/**
 * Runs ONNX Runtime jobs on worker threads (one session per worker at a time), so the event loop stays free.
 *
 * Threads: `threads` workers at most (one per job), each session with `floor(threads / workers)` intra-op
 * threads. When the compiled worker script is not available (running from TypeScript sources, e.g. under
 * vitest), jobs run inline on the calling thread, one after another, with the same code.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SwapError, type ErrorCode } from '../../util/errors.js';
import { runOrtJob, type OrtJob, type OrtJobResult } from './job.js';

export interface PoolOptions {
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /** Called with the number of runs (job × seed) finished so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Force inline execution (no worker threads). */
  readonly inline?: boolean;
}

/** The compiled worker script next to this module, or undefined when running from sources. */
export function workerScript(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const url = new URL('./worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

function cancelled(): SwapError {
  return new SwapError('E_CANCELLED', 'scoring cancelled');
}

/**
 * Run the jobs (each over all its seeds) on up to `threads` worker threads, or inline when no compiled worker
 * script exists; results in job order. Cancellation (`signal`) and the first failure stop every worker.
 */
export async function runOrtJobs(jobs: readonly OrtJob[], opts: PoolOptions = {}): Promise<OrtJobResult[]> {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const total = jobs.reduce((a, j) => a + j.seeds.length, 0);
  let done = 0;
  const tick = () => opts.onProgress?.(++done, total);
  if (opts.signal?.aborted) throw cancelled();
  if (jobs.length === 0) return [];
  const script = opts.inline ? undefined : workerScript();
  if (!script) {
    const results: OrtJobResult[] = new Array(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      results[i] = await runOrtJob({ ...jobs[i]!, intraOpThreads: threads }, tick, () => opts.signal?.aborted === true);
    }
    return results;
  }
  const nWorkers = Math.min(threads, jobs.length);
  const intra = Math.max(1, Math.floor(threads / Math.max(1, nWorkers)));
  return runOnWorkers(script, jobs, { nWorkers, intra, tick, ...(opts.signal ? { signal: opts.signal } : {}) });
}

/** Feed `jobs` to `nWorkers` worker threads (each session with `intra` intra-op threads), one job per worker at a time. */
function runOnWorkers(
  script: URL,
  jobs: readonly OrtJob[],
  { nWorkers, intra, tick, signal }: { nWorkers: number; intra: number; tick: () => void; signal?: AbortSignal },
): Promise<OrtJobResult[]> {
  const results: OrtJobResult[] = new Array(jobs.length);
  // Cancellation is cooperative: a worker is never terminated inside onnxruntime (that aborts the process);
  // it checks this flag before each run, and idle workers are asked to exit.
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  return new Promise<OrtJobResult[]>((resolve, reject) => {
    let error: unknown;
    let next = 0;
    const busy = new Set<Worker>();
    const leaving = new Set<Worker>();
    const live = new Set<Worker>();
    const dismiss = (w: Worker) => {
      if (leaving.has(w)) return;
      leaving.add(w);
      w.postMessage({ type: 'exit' });
    };
    const settle = () => {
      if (live.size > 0) return;
      signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(error);
      else resolve(results);
    };
    const fail = (e: unknown) => {
      if (error === undefined) error = e;
      Atomics.store(cancel, 0, 1);
      for (const w of live) if (!busy.has(w)) dismiss(w);
    };
    const onAbort = () => fail(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    const feed = (w: Worker) => {
      if (error !== undefined || next >= jobs.length) {
        dismiss(w);
        return;
      }
      const i = next++;
      busy.add(w);
      const onMessage = (m: { type: string; result?: OrtJobResult; code?: string; message?: string }) => {
        if (m.type === 'run') {
          if (error === undefined) tick();
          return;
        }
        w.off('message', onMessage);
        busy.delete(w);
        if (m.type === 'done') {
          results[i] = m.result!;
        } else {
          fail(
            m.code === 'E_CANCELLED' && error !== undefined
              ? error
              : new SwapError((m.code ?? 'E_BACKEND') as ErrorCode, m.message ?? 'ONNX Runtime worker failed'),
          );
        }
        feed(w);
      };
      w.on('message', onMessage);
      w.postMessage({ type: 'job', job: { ...jobs[i]!, intraOpThreads: intra }, cancel });
    };
    for (let k = 0; k < nWorkers; k++) {
      const w = new Worker(script);
      live.add(w);
      w.on('error', (e) => {
        busy.delete(w);
        fail(new SwapError('E_BACKEND', `ONNX Runtime worker crashed: ${e.message}`, { cause: e }));
      });
      w.on('exit', (code) => {
        live.delete(w);
        busy.delete(w);
        if (!leaving.has(w)) fail(new SwapError('E_BACKEND', `ONNX Runtime worker exited unexpectedly (code ${code})`));
        settle();
      });
      feed(w);
    }
  });
}
