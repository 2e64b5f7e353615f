import type { InputBatch } from '../data/batch.js';
import type { Network } from '../ir/types.js';
import type { GradientJob, NetworkGradients } from '../grad/types.js';

/** Progress of a batch job: `done` of `total` (network × repeat) evaluations finished. */
export type ProgressFn = (done: number, total: number) => void;

/** One coarse scoring call: every network × every weight seed, on one input batch. */
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

/** Integer pattern counts: `counts[network][repeat]`. */
export type CountResult = number[][];

/** A scoring engine. Implementations trust validated arguments (validation happens in `score/`). */
export interface Backend {
  readonly name: BackendName;
  /** Count distinct sample-wise patterns for every network × seed. */
  countPatterns(req: CountRequest): Promise<CountResult>;
  /**
   * Optional: NWOT log|det K| (Hamming kernel of the standard activation codes over the same recorded ReLUs)
   * for every network × seed, `[network][repeat]`.
   */
  nwot?(req: CountRequest): Promise<CountResult>;
  /** Optional: counts and NWOT from one forward pass per network × seed. */
  countAndNwot?(req: CountRequest): Promise<{ counts: CountResult; nwot: CountResult }>;
  /**
   * Optional reverse mode: one forward and one backward pass per network of the job (see `grad/types.ts`).
   * Backends without it cannot run gradient proxies; {@link gradientSupport} says why.
   */
  gradients?(job: GradientJob): Promise<NetworkGradients[]>;
  /** Release native/GPU resources. */
  close?(): Promise<void> | void;
}

export type BackendName = 'cuda' | 'native' | 'webgpu' | 'ort' | 'reference';

/** Result of probing a backend: either available, or the reason it was skipped. */
export type BackendProbe = { readonly available: true } | { readonly available: false; readonly reason: string };

/** Registry entry: higher priority wins in `auto` selection. */
export interface BackendProvider {
  readonly name: BackendName;
  readonly priority: number;
  readonly description: string;
  probe(): Promise<BackendProbe>;
  create(): Promise<Backend>;
}
