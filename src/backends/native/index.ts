import { availableParallelism } from 'node:os';
import { serializeNetworks } from '../../ir/serialize.js';
import { loadAddon } from '../../native/loader.js';
import { SwapError } from '../../util/errors.js';
import type { Backend, BackendProvider, CountRequest, CountResult } from '../types.js';
import type { NativeAddon, NativeCountJob } from '../../native/addon.js';

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
    return split(flat, req);
  }

  /** NWOT log|det K| for every network × seed (−Infinity where K is singular). */
  async nwot(req: CountRequest): Promise<CountResult> {
    return (await this.countAndNwot(req)).nwot;
  }

  /** Both scores from one forward pass per (network, seed). */
  async countAndNwot(req: CountRequest): Promise<CountsAndNwot> {
    const r = await this.run(req, (job, onProgress) => this.addon.countPatterns({ ...job, nwot: true }, onProgress));
    return { counts: split(r.counts, req), nwot: split(r.nwot, req) };
  }

  private async run<T>(req: CountRequest, call: (job: NativeCountJob, onProgress: (done: number, total: number) => void) => Promise<T>): Promise<T> {
    const { program, offsets } = serializeNetworks(req.networks);
    const cancel = new Int32Array(1);
    if (req.signal?.aborted) throw new SwapError('E_CANCELLED', 'scoring cancelled');
    const onAbort = () => {
      cancel[0] = 1;
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await call(
        {
          program,
          offsets,
          input: req.inputs.data,
          n: req.inputs.n,
          c: req.inputs.c,
          h: req.inputs.h,
          w: req.inputs.w,
          seeds: Uint32Array.from(req.seeds),
          threads: Math.max(1, Math.floor(req.threads ?? availableParallelism())),
          cancel,
        },
        (done, total) => req.onProgress?.(done, total),
      );
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'E_CANCELLED') throw new SwapError('E_CANCELLED', 'scoring cancelled', { cause: e });
      throw new SwapError('E_BACKEND', `native backend failed: ${(e as Error).message}`, { cause: e });
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
    }
  }
}

function split(flat: Float64Array, req: CountRequest): CountResult {
  const R = req.seeds.length;
  return req.networks.map((_, i) => Array.from(flat.subarray(i * R, (i + 1) * R)));
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
