/**
 * One ONNX Runtime job: a model, an input batch and a list of weight seeds. The session is created once and
 * run once per seed (weights listed in `weights` are regenerated from the PRNG and fed as inputs); the
 * fetched ReLU outputs of rank 4 are sign-packed and counted with {@link countDistinctPatterns}.
 *
 * Runs in a worker thread (see `pool.ts`) or inline; it only touches plain data, so jobs cross threads by
 * structured clone.
 */
import { createRequire } from 'node:module';
import type * as OrtTypes from 'onnxruntime-node';
import { countDistinctPatterns } from '../../onnx/count.js';
import { generateWeight, type WeightSpec } from '../../onnx/weights.js';
import { onnxError } from '../../onnx/errors.js';
import { SwapError } from '../../util/errors.js';

type Ort = typeof OrtTypes;
let ortModule: Ort | undefined;

/** onnxruntime-node, loaded on first use (so that importing swapnas never fails where its binary does not load). */
export function loadOrt(): Ort {
  if (!ortModule) {
    try {
      ortModule = createRequire(import.meta.url)('onnxruntime-node') as Ort;
    } catch (e) {
      throw new SwapError('E_BACKEND_UNAVAILABLE', `onnxruntime-node does not load: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  return ortModule;
}

export interface OrtJob {
  /** Serialised ONNX model. */
  readonly model: Uint8Array;
  readonly inputName: string;
  /** Input batch, NCHW float32; `inputDims[0]` is S. */
  readonly input: Float32Array;
  readonly inputDims: readonly number[];
  /** ReLU outputs to fetch; those of rank 4 are recorded, the others ignored. */
  readonly outputs: readonly string[];
  /** Weights fed per seed. */
  readonly weights: readonly WeightSpec[];
  /** One run per seed. */
  readonly seeds: readonly number[];
  /** ONNX Runtime intra-op threads. */
  readonly intraOpThreads: number;
  /** Label for error messages. */
  readonly label: string;
}

export interface FetchedOutput {
  readonly name: string;
  readonly dims: readonly number[];
}

export interface OrtJobResult {
  /** Ψ per seed. */
  readonly counts: number[];
  /** Fetched outputs of rank 4 (recorded) and of other ranks (ignored), with their dims. */
  readonly recorded: FetchedOutput[];
  readonly ignored: FetchedOutput[];
}

/**
 * Session options used for every swapnas session. `ConstantSharing` is disabled: it merges equal-valued
 * initialisers (e.g. BN scale = running variance = ones), and ONNX Runtime's training-mode
 * BatchNormalization kernel then updates the shared buffer in place and normalises with a corrupted scale
 * (observed with onnxruntime-node 1.30 at every optimisation level above `disabled`).
 */
export function sessionOptions(threads: number): OrtTypes.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Math.max(1, threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: { optimization: { disable_specified_optimizers: 'ConstantSharing' } },
  };
}

export async function createSession(
  model: Uint8Array,
  threads: number,
  label: string,
): Promise<OrtTypes.InferenceSession> {
  const ort = loadOrt();
  try {
    return await ort.InferenceSession.create(model, sessionOptions(threads));
  } catch (e) {
    throw onnxError('runtime', `ONNX Runtime cannot load ${label}: ${(e as Error).message}`, e);
  }
}

/** Run a job; `onRun` is called after each seed, `stop` before each (true = cancel). */
export async function runOrtJob(job: OrtJob, onRun?: () => void, stop?: () => boolean): Promise<OrtJobResult> {
  const ort = loadOrt();
  const session = await createSession(job.model, job.intraOpThreads, job.label);
  try {
    const S = job.inputDims[0]!;
    const counts: number[] = [];
    let recorded: FetchedOutput[] = [];
    let ignored: FetchedOutput[] = [];
    const input = new ort.Tensor('float32', job.input, [...job.inputDims]);
    for (const seed of job.seeds) {
      if (stop?.()) throw new SwapError('E_CANCELLED', 'scoring cancelled');
      const feeds: Record<string, OrtTypes.Tensor> = { [job.inputName]: input };
      for (const w of job.weights) feeds[w.name] = new ort.Tensor('float32', generateWeight(w, seed), [...w.dims]);
      let res: OrtTypes.InferenceSession.OnnxValueMapType;
      try {
        res = await session.run(feeds, [...job.outputs]);
      } catch (e) {
        throw onnxError('runtime', `ONNX Runtime failed on ${job.label}: ${(e as Error).message}`, e);
      }
      const layers: Float32Array[] = [];
      const per: number[] = [];
      recorded = [];
      ignored = [];
      for (const name of job.outputs) {
        const t = res[name] as OrtTypes.Tensor | undefined;
        if (!t) throw onnxError('runtime', `${job.label}: ONNX Runtime returned no tensor ${name}`);
        const dims = t.dims.map(Number);
        if (dims.length !== 4) {
          ignored.push({ name, dims });
          continue;
        }
        if (t.type !== 'float32')
          throw onnxError(
            'runtime',
            `${job.label}: Relu output ${name} is ${t.type}; only float32 models are supported`,
          );
        if (dims[0] !== S)
          throw onnxError(
            'runtime',
            `${job.label}: Relu output ${name} has shape [${dims.join(', ')}], its first dimension is not the batch (${S})`,
          );
        recorded.push({ name, dims });
        layers.push(t.data as Float32Array);
        per.push(dims[1]! * dims[2]! * dims[3]!);
      }
      if (layers.length === 0) {
        throw onnxError(
          'no-relu',
          `${job.label} has no Relu on a 4-D tensor (${ignored.length} Relu on other ranks ignored): the SWAP-Score is undefined`,
        );
      }
      counts.push(countDistinctPatterns(layers, per, S));
      for (const t of Object.values(res)) (t as OrtTypes.Tensor).dispose?.();
      onRun?.();
    }
    return { counts, recorded, ignored };
  } finally {
    await session.release();
  }
}
