import type {
  Backend,
  BackendProvider,
  CountRequest,
  CountResult,
  MeasureRequest,
  MeasureResult,
  MeasurementKind,
} from '../types.js';
import type { InputBatch } from '../../data/batch.js';
import type { Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { BACKEND_INFO } from '../info.js';
import { accumulateHammingKernel, logAbsDet, packLayer } from './nwot-kernel.js';
import { PatternCounter } from './patterns.js';
import { referenceForward } from './forward.js';
import { referenceGradients } from './grad-job.js';
import type { GradientJob, NetworkGradients } from '../../grad/types.js';

/**
 * Every requested measurement of one network × seed from one reference forward pass (the definitions
 * `referenceCount` and `referenceNwot` compute one at a time).
 */
export function referenceMeasure(
  net: Network,
  batch: InputBatch,
  seed: number,
  kinds: readonly MeasurementKind[],
): { [K in MeasurementKind]?: number } {
  const S = batch.n;
  const counter = kinds.includes('relu-patterns') ? new PatternCounter(S) : undefined;
  const K = kinds.includes('relu-kernel-logdet') ? new Float64Array(S * S) : undefined;
  referenceForward(net, batch, seed, (_n, data, per) => {
    counter?.addLayer(data, per);
    if (K) accumulateHammingKernel(K, packLayer(data, S, per), Math.ceil(S / 32), S, per);
  });
  return {
    ...(counter ? { 'relu-patterns': counter.count } : {}),
    ...(K ? { 'relu-kernel-logdet': logAbsDet(K, S) } : {}),
  };
}

/** The plain TypeScript backend: the definition every fast path is checked against. Single-threaded. */
export class ReferenceBackend implements Backend {
  readonly name = 'reference' as const;
  readonly capabilities = BACKEND_INFO.reference.capabilities;

  /** Ψ of every network × seed. */
  async countPatterns(req: CountRequest): Promise<CountResult> {
    return (await this.measure({ ...req, measurements: ['relu-patterns'] }))['relu-patterns']!;
  }

  /** Reverse mode in float64 (the definition the native engine is checked against). */
  gradients(job: GradientJob): Promise<NetworkGradients[]> {
    return referenceGradients(job);
  }

  async measure(req: MeasureRequest): Promise<MeasureResult> {
    const total = req.networks.length * req.seeds.length;
    let done = 0;
    const out: { [K in MeasurementKind]?: number[][] } = {};
    for (const k of req.measurements) out[k] = [];
    for (const net of req.networks) {
      const rows = req.measurements.map(() => [] as number[]);
      for (const seed of req.seeds) {
        if (req.signal?.aborted) throw new SwapError('E_CANCELLED', 'scoring cancelled');
        const m = referenceMeasure(net, req.inputs, seed, req.measurements);
        req.measurements.forEach((k, i) => rows[i]!.push(m[k]!));
        req.onProgress?.(++done, total);
        // Yield so the event loop (progress bars, signals) keeps running between evaluations.
        await new Promise<void>((r) => setImmediate(r));
      }
      req.measurements.forEach((k, i) => out[k]!.push(rows[i]!));
    }
    return out;
  }
}

export const referenceProvider: BackendProvider = {
  ...BACKEND_INFO.reference,
  probe: async () => ({ available: true }),
  create: async () => new ReferenceBackend(),
};
