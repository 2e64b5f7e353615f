import { availableParallelism } from 'node:os';
import { loadAddon } from '../../native/loader.js';
import { SwapError } from '../../util/errors.js';
import { BACKEND_INFO } from '../info.js';
import { runAddonJob, splitByNetwork } from '../addon-job.js';
import type { Backend, BackendProvider, CountRequest, CountResult, MeasureRequest, MeasureResult } from '../types.js';
import type { NativeAddon, NativeCountJob, NativeCountPool, NativeWeightStore } from '../../native/addon.js';
import { poolGate } from '../../native/pool-gate.js';
import type { GradientJob, NetworkGradients } from '../../grad/types.js';
import { nativeGradients } from './grad.js';

/**
 * The C++ CPU engine: multi-threaded forward pass with fused sign-bit packing and word-based counting. An instance
 * keeps the weight tensors it generated (a {@link NativeWeightStore}, bounded) and its parked worker threads with their
 * buffers (a {@link NativeCountPool}) for its later calls, so a long-lived instance (serve, queue worker) neither
 * regenerates weights nor starts threads and faults in fresh buffers per call.
 */
export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly capabilities = BACKEND_INFO.native.capabilities;
  /** Weights kept across this instance's count calls. */
  readonly weights: NativeWeightStore;
  /** Worker threads and their buffers kept across this instance's count calls. */
  readonly pool: NativeCountPool;
  constructor(private readonly addon: NativeAddon) {
    this.weights = new addon.WeightStore();
    this.pool = new addon.CountPool();
  }

  /** Counts, and NWOT when asked (−Infinity where K is singular), from one forward pass per (network, seed). */
  async measure(req: MeasureRequest): Promise<MeasureResult> {
    if (!req.measurements.includes('relu-kernel-logdet')) return { 'relu-patterns': await this.countPatterns(req) };
    const r = await this.run(req, (job, onProgress) => this.addon.countPatterns({ ...job, nwot: true }, onProgress));
    return {
      ...(req.measurements.includes('relu-patterns') ? { 'relu-patterns': splitByNetwork(r.counts, req) } : {}),
      'relu-kernel-logdet': splitByNetwork(r.nwot, req),
    };
  }

  /** Ψ of every network × seed. */
  async countPatterns(req: CountRequest): Promise<CountResult> {
    const flat = await this.run(req, (job, onProgress) => this.addon.countPatterns(job, onProgress));
    return splitByNetwork(flat, req);
  }

  /** Drops the kept weights, threads and buffers (the instance still works; it makes them again). */
  close(): void {
    this.weights.clear();
    this.pool.release();
  }

  /** Reverse mode in float32, one network per work item on `job.threads` threads. */
  gradients(job: GradientJob): Promise<NetworkGradients[]> {
    return nativeGradients(this.addon, job);
  }

  private run<T>(
    req: CountRequest,
    call: (job: NativeCountJob, onProgress: (done: number, total: number) => void) => Promise<T>,
  ): Promise<T> {
    const threads = Math.max(1, Math.floor(req.threads ?? availableParallelism()));
    // a count job holds one libuv thread while its own threads work: it takes a place of the process's gate, so
    // count jobs beside proxy passes (an ensemble score, a warm server) leave a pool thread for file I/O
    const gate = poolGate(this.addon);
    return runAddonJob('native', req, (job, onProgress) =>
      gate.run(() => call({ ...job, threads, weights: this.weights, pool: this.pool }, onProgress), req.signal),
    );
  }
}

export const nativeProvider: BackendProvider = {
  ...BACKEND_INFO.native,
  probe: async () => {
    const r = loadAddon();
    return r.ok ? { available: true } : { available: false, reason: r.reason };
  },
  create: async () => {
    const r = loadAddon();
    if (!r.ok) throw new SwapError('E_NATIVE_LOAD', r.reason);
    return new NativeBackend(r.addon);
  },
};
