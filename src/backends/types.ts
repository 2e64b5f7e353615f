import type { InputBatch } from '../data/batch.js';
import type { Network } from '../ir/types.js';
import type { GradientJob, NetworkGradients } from '../grad/types.js';

/** Progress of a batch job: `done` of `total` (network × repeat) evaluations finished. */
export type ProgressFn = (done: number, total: number) => void;

/**
 * What one engine evaluation (one network × one weight seed) can produce, and the type of one value. Proxies
 * declare which of these they consume (src/proxies/); backends declare which they compute ({@link Backend.capabilities}).
 * Values come back per network × seed as plain numbers, never activations: reductions happen in TypeScript.
 * A new kind (activations, gradients w.r.t. weights or inputs, per-sample gradients, …) is one entry here plus
 * the backends that compute it.
 */
export interface MeasurementValues {
  /** Ψ of one seed: distinct sample-wise sign patterns over every recorded ReLU output (an integer). */
  'relu-patterns': number;
  /**
   * NWOT of one seed: log|det K| of the Hamming kernel of the samples' binary activation codes over the same
   * recorded ReLUs (−Infinity when K is singular).
   */
  'relu-kernel-logdet': number;
}

/** A measurement an engine pass can produce. */
export type MeasurementKind = keyof MeasurementValues;

/** Every measurement kind, in a fixed order. */
export const MEASUREMENT_KINDS: readonly MeasurementKind[] = Object.freeze(['relu-patterns', 'relu-kernel-logdet']);

/** One coarse engine call: every network × every weight seed, on one input batch. */
export interface CountRequest {
  readonly networks: readonly Network[];
  readonly inputs: InputBatch;
  /** One weight seed per repeat (see `repeatSeed`); every network is evaluated once per seed. */
  readonly seeds: readonly number[];
  /** Worker threads for backends that use them (default: all cores). */
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressFn;
}

/** A {@link CountRequest} plus the measurements wanted from the same forward pass of each network × seed. */
export interface MeasureRequest extends CountRequest {
  /** Non-empty; every kind must be in the backend's capabilities. */
  readonly measurements: readonly MeasurementKind[];
}

/** Integer pattern counts: `counts[network][repeat]`. */
export type CountResult = number[][];

/** Values of each requested measurement, `[network][repeat]` (kinds not requested are absent). */
export type MeasureResult = { [K in MeasurementKind]?: MeasurementValues[K][][] };

/**
 * A scoring engine. One coarse call ({@link measure}) evaluates every network × seed once and returns every
 * requested measurement of that pass. Implementations trust validated arguments (validation happens in the
 * request resolver and the proxy engine).
 */
export interface Backend {
  readonly name: BackendName;
  /** The measurements {@link measure} can produce. */
  readonly capabilities: readonly MeasurementKind[];
  measure(req: MeasureRequest): Promise<MeasureResult>;
  /**
   * Optional reverse mode: one forward and one backward pass per network of the job (see `grad/types.ts`).
   * Backends without it cannot run gradient proxies; {@link gradientSupport} says why.
   */
  gradients?(job: GradientJob): Promise<NetworkGradients[]>;
  /** Release native/GPU resources. */
  close?(): Promise<void> | void;
}

/** Every backend name `--backend` takes besides `auto`. */
export const BACKEND_NAMES = ['cuda', 'native', 'webgpu', 'ort', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Result of probing a backend: either available, or the reason it was skipped. */
export type BackendProbe = { readonly available: true } | { readonly available: false; readonly reason: string };

/** Registry entry: higher priority wins in `auto` selection. */
export interface BackendProvider {
  readonly name: BackendName;
  readonly priority: number;
  readonly description: string;
  /** What the backend's {@link Backend.measure} computes (known without creating it, for routing). */
  readonly capabilities: readonly MeasurementKind[];
  probe(): Promise<BackendProbe>;
  create(): Promise<Backend>;
}
