import { availableParallelism } from 'node:os';
import { loadAddon } from '../../native/loader.js';
import { SwapError } from '../../util/errors.js';
import { runAddonJob, splitByNetwork } from '../addon-job.js';
import type { Backend, BackendProvider, CountRequest, CountResult } from '../types.js';
import type { NativeAddon, NativeCountJob } from '../../native/addon.js';
import type { GradientJob, NetworkGradients } from '../../grad/types.js';
import { nativeGradients } from './grad.js';

/** SWAP pattern counts and NWOT scores of the same evaluations, both `[network][repeat]`. */
export interface CountsAndNwot {
  readonly counts: CountResult;
  readonly nwot: CountResult;
}

/** The C++ CPU engine: multi-threaded forward pass with fused sign-bit packing and word-based counting. */
export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  constructor(private readonly addon: NativeAddon) {}

  async countPatterns(req: CountRequest): Promise<CountResult> {
    const flat = await this.run(req, (job, onProgress) => this.addon.countPatterns(job, onProgress));
    return splitByNetwork(flat, req);
  }

  /** NWOT log|det K| for every network × seed (−Infinity where K is singular). */
  async nwot(req: CountRequest): Promise<CountResult> {
    return (await this.countAndNwot(req)).nwot;
  }

  /** Both scores from one forward pass per (network, seed). */
  async countAndNwot(req: CountRequest): Promise<CountsAndNwot> {
    const r = await this.run(req, (job, onProgress) => this.addon.countPatterns({ ...job, nwot: true }, onProgress));
    return { counts: splitByNetwork(r.counts, req), nwot: splitByNetwork(r.nwot, req) };
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
    return runAddonJob('native', req, (job, onProgress) => call({ ...job, threads }, onProgress));
  }
}

export const nativeProvider: BackendProvider = {
  name: 'native',
  priority: 20,
  description: 'C++ addon, multi-threaded CPU forward pass with bit-packed counting',
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
