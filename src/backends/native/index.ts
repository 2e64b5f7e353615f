import { availableParallelism } from 'node:os';
import { serializeNetworks } from '../../ir/serialize.js';
import { loadAddon } from '../../native/loader.js';
import { SwapError } from '../../util/errors.js';
import type { Backend, BackendProvider, CountRequest, CountResult } from '../types.js';
import type { NativeAddon } from '../../native/addon.js';

/** The C++ CPU engine: multi-threaded forward pass with fused sign-bit packing and word-based counting. */
export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  constructor(private readonly addon: NativeAddon) {}

  async countPatterns(req: CountRequest): Promise<CountResult> {
    const { program, offsets } = serializeNetworks(req.networks);
    const cancel = new Int32Array(1);
    if (req.signal?.aborted) throw new SwapError('E_CANCELLED', 'scoring cancelled');
    const onAbort = () => {
      cancel[0] = 1;
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const R = req.seeds.length;
    try {
      const flat = await this.addon.countPatterns(
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
      return req.networks.map((_, i) => Array.from(flat.subarray(i * R, (i + 1) * R)));
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'E_CANCELLED') throw new SwapError('E_CANCELLED', 'scoring cancelled', { cause: e });
      throw new SwapError('E_BACKEND', `native backend failed: ${(e as Error).message}`, { cause: e });
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
    }
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
