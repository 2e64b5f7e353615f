/**
 * The official protocols of the proxy suite (src/proxies/run.ts): which initialisation, input, batch and BN mode
 * each proxy's paper or official code scores with. Plug-ins in builtin/ build their `suite` form from these.
 * Definitions and sources: docs/zero-cost-proxies.md.
 */
import type { BnMode } from '../grad/types.js';
import type { InitScheme } from './init.js';

/** Which input a proxy's official protocol feeds. */
export type InputKind = 'none' | 'real' | 'gaussian' | 'ones';

/** The computation a proxy belongs to: proxies of one group share one engine pass. */
export type ProxyGroup =
  | 'count'
  | 'l2_norm'
  | 'nwot'
  | 'meco'
  | 'zen'
  | 'az'
  | 'saliency'
  | 'grasp'
  | 'jacobian'
  | 'synflow'
  | 'synflow_bn'
  | 'zico'
  | 'vkdnw';

/** The official protocol of a suite proxy. */
export interface SuiteProtocol {
  readonly init: InitScheme;
  readonly input: InputKind;
  /** Samples per batch (per batch for zico). */
  readonly batch: number;
  /** Number of batches (zico: 2). */
  readonly batches: number;
  readonly bn: BnMode;
  readonly dtype: 'float64';
  /** Where the protocol comes from (official repository and file). */
  readonly source: string;
}

/** What a suite pass hands a proxy (the declaration of what it consumes). */
export type SuiteInput =
  | 'parameters'
  | 'architecture'
  | 'relu-codes'
  | 'activations'
  | 'block-features'
  | 'weight-gradients'
  | 'hessian-vector-product'
  | 'input-jacobian'
  | 'per-sample-gradients';

/** How a proxy is computed by the suite (its official protocol on the benchmark network, or SWAP's). */
export interface SuiteForm {
  readonly group: ProxyGroup;
  /** What the pass gives it. */
  readonly consumes: readonly SuiteInput[];
  /** Needs reverse mode (gradients), i.e. a backend with gradient support. */
  readonly backward: boolean;
  /** Needs integer class labels (cross-entropy or per-class grouping). */
  readonly labels: boolean;
  /** Needs a classifier head: flat logits (loss, class probabilities); zen also needs a global pool. */
  readonly head: boolean;
  readonly protocol: SuiteProtocol;
}

/** The zero-cost-nas measures folder (SamsungLabs), source of several protocols. */
export const ZC = 'SamsungLabs/zero-cost-nas foresight/pruners/measures';
export const AZ = 'cvlab-yonsei/AZ-NAS NB201/ZeroShotProxy/compute_az_nas_score.py';
export const VK = 'ondratybl/VKDNW NB201/ZeroShotProxy/compute_vkdnw_score.py';

/** A real-image protocol: PyTorch default init, one batch of `batch` labelled images. */
export function realInput(batch: number, source: string, bn: BnMode = 'train'): SuiteProtocol {
  return { init: 'pytorch', input: 'real', batch, batches: 1, bn, dtype: 'float64', source };
}

/** A Gaussian-input protocol (64 samples). */
export function gaussianInput(init: InitScheme, bn: BnMode, source: string): SuiteProtocol {
  return { init, input: 'gaussian', batch: 64, batches: 1, bn, dtype: 'float64', source };
}

/** synflow's all-ones input of one sample. */
export function onesInput(bn: BnMode): SuiteProtocol {
  return { ...realInput(1, `${ZC}/synflow.py`, bn), input: 'ones' };
}

/** No input at all (counts and weight norms). */
export function noInput(source: string): SuiteProtocol {
  return { init: 'pytorch', input: 'none', batch: 0, batches: 0, bn: 'train', dtype: 'float64', source };
}
