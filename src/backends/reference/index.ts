import type { Backend, BackendProvider, CountRequest, CountResult } from '../types.js';
import { SwapError } from '../../util/errors.js';
import { referenceCount, referenceNwot } from './forward.js';
import { referenceGradients } from './grad-job.js';
import type { GradientJob, NetworkGradients } from '../../grad/types.js';

/** The plain TypeScript backend: the definition every fast path is checked against. Single-threaded. */
export class ReferenceBackend implements Backend {
  readonly name = 'reference' as const;

  countPatterns(req: CountRequest): Promise<CountResult> {
    return this.each(req, referenceCount);
  }

  nwot(req: CountRequest): Promise<CountResult> {
    return this.each(req, referenceNwot);
  }

  /** Reverse mode in float64 (the definition the native engine is checked against). */
  gradients(job: GradientJob): Promise<NetworkGradients[]> {
    return referenceGradients(job);
  }

  private async each(req: CountRequest, f: typeof referenceCount): Promise<CountResult> {
    const total = req.networks.length * req.seeds.length;
    let done = 0;
    const out: CountResult = [];
    for (const net of req.networks) {
      const row: number[] = [];
      for (const seed of req.seeds) {
        if (req.signal?.aborted) throw new SwapError('E_CANCELLED', 'scoring cancelled');
        row.push(f(net, req.inputs, seed));
        req.onProgress?.(++done, total);
        // Yield so the event loop (progress bars, signals) keeps running between evaluations.
        await new Promise<void>((r) => setImmediate(r));
      }
      out.push(row);
    }
    return out;
  }
}

export const referenceProvider: BackendProvider = {
  name: 'reference',
  priority: 0,
  description: 'plain TypeScript reference (slow; the correctness baseline)',
  probe: async () => ({ available: true }),
  create: async () => new ReferenceBackend(),
};
