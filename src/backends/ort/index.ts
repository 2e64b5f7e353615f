/**
 * The `ort` backend: each IR network is exported to ONNX (weights as graph inputs, BatchNormalization in
 * training mode, only what the recorded ReLUs depend on, every recorded ReLU output a graph output), loaded
 * once into an onnxruntime-node CPU session, and run once per weight seed with that seed's PRNG weights.
 * Sign bits of the fetched ReLU outputs are counted exactly by `countDistinctPatterns`. Sessions run on
 * worker threads (see `pool.ts`).
 */
import { networkToOnnx } from '../../onnx/export.js';
import { encodeModel } from '../../onnx/proto.js';
import { recordedValues } from '../../ir/analysis.js';
import { SwapError } from '../../util/errors.js';
import { measureCountsOnly } from '../measure.js';
import type { Backend, CountRequest, CountResult, MeasureRequest, MeasureResult, MeasurementKind } from '../types.js';
import type { OrtJob } from './job.js';
import { runOrtJobs } from './pool.js';

export { runOrtJobs, workerScript, type PoolOptions } from './pool.js';
export { ortProvider, probeOrt } from './provider.js';
export { loadOrt, runOrtJob, sessionOptions, type OrtJob, type OrtJobResult } from './job.js';

export class OrtBackend implements Backend {
  readonly name = 'ort' as const;
  readonly capabilities: readonly MeasurementKind[] = ['relu-patterns'];

  measure(req: MeasureRequest): Promise<MeasureResult> {
    return measureCountsOnly('ort', req, (r) => this.countPatterns(r));
  }

  /** Ψ of every network × seed. */
  async countPatterns(req: CountRequest): Promise<CountResult> {
    const { n, c, h, w } = req.inputs;
    const jobs: OrtJob[] = req.networks.map((net, i) => {
      if (recordedValues(net) === 0)
        throw new SwapError(
          'E_IR_SHAPE',
          `network ${net.meta?.['arch'] ?? i} has no ReLU on a 4-D tensor: SWAP is undefined`,
        );
      const ex = networkToOnnx(net, { weights: 'inputs', prune: true, batch: n });
      return {
        model: encodeModel(ex.model),
        inputName: ex.inputName,
        input: req.inputs.data,
        inputDims: [n, c, h, w],
        outputs: ex.recorded.map((r) => r.name),
        weights: ex.weightInputs,
        seeds: req.seeds,
        intraOpThreads: 1,
        label: `network ${net.meta?.['arch'] ?? i}`,
      };
    });
    const results = await runOrtJobs(jobs, {
      ...(req.threads !== undefined ? { threads: req.threads } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
      ...(req.onProgress ? { onProgress: req.onProgress } : {}),
    });
    return results.map((r) => r.counts);
  }
}
