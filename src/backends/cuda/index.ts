import { availableParallelism } from 'node:os';
import { loadAddon } from '../../native/loader.js';
import { SwapError } from '../../util/errors.js';
import { BACKEND_INFO } from '../info.js';
import type { NativeAddon } from '../../native/addon.js';
import { runAddonJob, splitByNetwork } from '../addon-job.js';
import { measureCountsOnly } from '../measure.js';
import type {
  Backend,
  BackendProbe,
  BackendProvider,
  CountRequest,
  CountResult,
  MeasureRequest,
  MeasureResult,
  MeasurementKind,
} from '../types.js';

/** `cudaProbe()` of the addon (native/cuda/cuda_addon.cpp; a stub saying "built without CUDA" otherwise). */
export interface CudaProbeInfo {
  /** The addon was compiled with the CUDA engine (nvcc found at build time and SWAPNAS_CUDA not 0). */
  readonly compiled: boolean;
  readonly available: boolean;
  /** Why it cannot run, e.g. "cudaGetDeviceCount: no CUDA-capable device is detected"; empty when available. */
  readonly reason: string;
  /** Compiled targets, e.g. "80-real 90" (SASS for sm_80, SASS + PTX for sm_90). */
  readonly architectures?: string;
  readonly devices?: number;
  /** Name of device 0 (the one used). */
  readonly device?: string;
  readonly computeCapability?: string;
  readonly memoryBytes?: number;
  readonly multiprocessors?: number;
  readonly runtimeVersion?: number;
  readonly driverVersion?: number;
  /** Largest batch S the engine takes (one 64-bit pattern word per neuron). */
  readonly maxSamples?: number;
}

/** Job of `cudaCountPatterns`: the native count job with CUDA streams instead of CPU threads. */
export interface CudaCountJob {
  readonly program: Int32Array;
  readonly offsets: Int32Array;
  readonly input: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly seeds: Uint32Array;
  /** Host threads, one CUDA stream each (at most 16 are used). */
  readonly streams: number;
  readonly cancel: Int32Array;
}

/** The CUDA exports of the addon (present when it was compiled with CUDA; `cudaProbe` always). */
export interface CudaAddon {
  cudaProbe?(): CudaProbeInfo;
  cudaCountPatterns?(job: CudaCountJob, onProgress?: (done: number, total: number) => void): Promise<Float64Array>;
}

type CudaReady =
  | { readonly ok: true; readonly addon: Required<CudaAddon> & NativeAddon; readonly info: CudaProbeInfo }
  | { readonly ok: false; readonly reason: string };

/** Addon loaded AND compiled with CUDA AND a usable device; otherwise the precise reason. Never throws. */
export function probeCuda(): CudaReady {
  const r = loadAddon();
  if (!r.ok) return { ok: false, reason: `native addon not loaded: ${r.reason}` };
  const addon = r.addon as NativeAddon & CudaAddon;
  if (typeof addon.cudaProbe !== 'function')
    return {
      ok: false,
      reason: 'not compiled in: the loaded addon has no CUDA entry points (rebuild with npm run build:native)',
    };
  let info: CudaProbeInfo;
  try {
    info = addon.cudaProbe();
  } catch (e) {
    return { ok: false, reason: `cudaProbe failed: ${(e as Error).message}` };
  }
  if (!info.compiled) return { ok: false, reason: `not compiled in: ${info.reason}` };
  if (!info.available) return { ok: false, reason: `no device: ${info.reason}` };
  if (typeof addon.cudaCountPatterns !== 'function')
    return { ok: false, reason: 'not compiled in: cudaCountPatterns is missing' };
  return { ok: true, addon: addon as Required<CudaAddon> & NativeAddon, info };
}

/**
 * The CUDA engine of the addon: forward pass, fused ReLU + sign packing and distinct-pattern counting on the GPU
 * (only the counts come back). Weights come from the CPU PRNG port and are uploaded once per (seed, tensor) per
 * stream. Batches of at most 64 samples. Counts equal the native backend's up to the documented sign-flip rule
 * (float32 convolution sums in a different order; see test/native-fullsize.test.ts).
 */
export class CudaBackend implements Backend {
  readonly name = 'cuda' as const;
  constructor(
    private readonly addon: Required<CudaAddon>,
    readonly info: CudaProbeInfo,
  ) {}

  readonly capabilities: readonly MeasurementKind[] = ['relu-patterns'];

  measure(req: MeasureRequest): Promise<MeasureResult> {
    return measureCountsOnly('cuda', req, (r) => this.countPatterns(r));
  }

  /** Ψ of every network × seed. */
  async countPatterns(req: CountRequest): Promise<CountResult> {
    const max = this.info.maxSamples ?? 64;
    if (req.inputs.n > max)
      throw new SwapError(
        'E_BACKEND',
        `cuda backend: batch of ${req.inputs.n} samples; this engine takes at most ${max} (use the native backend)`,
      );
    const streams = Math.max(1, Math.min(16, Math.floor(req.threads ?? Math.max(4, availableParallelism()))));
    const flat = await runAddonJob('cuda', req, (job, onProgress) =>
      this.addon.cudaCountPatterns({ ...job, streams }, onProgress),
    );
    return splitByNetwork(flat, req);
  }
}

export const cudaProvider: BackendProvider = {
  ...BACKEND_INFO.cuda,
  probe: async (): Promise<BackendProbe> => {
    const r = probeCuda();
    return r.ok ? { available: true } : { available: false, reason: r.reason };
  },
  create: async () => {
    const r = probeCuda();
    if (!r.ok) throw new SwapError('E_BACKEND_UNAVAILABLE', `backend cuda is unavailable: ${r.reason}`);
    return new CudaBackend(r.addon, r.info);
  },
};
