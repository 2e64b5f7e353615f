/**
 * Reverse mode: the backend-neutral vocabulary of gradient computations.
 *
 * A gradient job runs one forward pass of a {@link Network} with explicit {@link NetParams} (PRNG weights, a
 * transformation of them, or a model's own weights), keeps on a tape only what the requested backward passes
 * need, and then runs one or more backward passes seeded with cotangents at any nodes (the gradient of a loss
 * w.r.t. the logits, all-ones for d(Σ logits), Rademacher noise at a block output, …).
 *
 * Layouts follow PyTorch: activations NCHW (batch first; per-sample shape from the IR), conv weights
 * `[out][in/groups][kh][kw]`, linear weights `[out][in]`.
 */

import type { Network } from '../ir/types.js';

/** Trainable tensors (and BN running statistics) of one IR node, float64, PyTorch layouts. */
export interface NodeParams {
  /** conv `[cout][cin/groups][k][k]`, linear `[fout][fin]`. */
  readonly weight?: Float64Array;
  /** conv / linear bias, present only when the node has one. */
  readonly bias?: Float64Array;
  /** BN scale γ (affine BN only; a non-affine BN behaves as γ = 1). */
  readonly gamma?: Float64Array;
  /** BN shift β (affine BN only; a non-affine BN behaves as β = 0). */
  readonly beta?: Float64Array;
  /** BN running mean, used only in `eval` BN mode (default 0). */
  readonly runningMean?: Float64Array;
  /** BN running variance, used only in `eval` BN mode (default 1). */
  readonly runningVar?: Float64Array;
}

/** Parameters of a network, indexed by IR node id (undefined for nodes without parameters). */
export type NetParams = readonly (NodeParams | undefined)[];

/** The trainable tensors of a node, in PyTorch `named_parameters` order within a module. */
export type ParamKind = 'weight' | 'bias' | 'gamma' | 'beta';

/** One trainable tensor of a network. */
export interface ParamRef {
  readonly node: number;
  readonly kind: ParamKind;
}

/**
 * What a per-sample scalar may be: a {@link ParamKind} of the node's parameters, or `slope`, a learned constant the
 * node holds as an attribute (`ReluNode.learned`, `ActNode.learned`): an nn.PReLU's slope, or an arithmetic's
 * nn.Parameter such as a layer scale (one per channel, or one).
 */
export type ScalarKind = ParamKind | 'slope';

/** One scalar of one trainable tensor (flat index in its PyTorch layout). */
export interface ScalarRef {
  readonly node: number;
  readonly kind: ScalarKind;
  readonly index: number;
}

/**
 * How BatchNorm behaves:
 * - `train`: normalise with the batch's own mean and biased variance (PyTorch `model.train()`); couples samples;
 * - `eval`: normalise with the running statistics in {@link NodeParams} (mean 0 / var 1 when absent) —
 *   samples are independent (VKDNW's Fisher);
 * - `identity`: BN removed (y = x), as synflow without BN.
 */
export type BnMode = 'train' | 'eval' | 'identity';

/** What a forward pass must keep for the backward passes that follow it. */
export interface TapeOptions {
  /** BatchNorm behaviour (default `train`). */
  readonly bn?: BnMode;
  /** Nodes whose forward outputs are returned in {@link Tape.activations} (e.g. pre-BN conv outputs, ReLU maps). */
  readonly keep?: readonly number[];
  /**
   * Gradients that backward passes on this tape may ask for. Omitted = forward only (nothing kept beyond `keep`).
   * `params: false` drops the inputs of conv/linear nodes, which only weight gradients need.
   */
  readonly backward?: { readonly params: boolean };
}

/** Batch statistics a train-mode BN node computed: per-channel mean and biased variance. */
export interface BnStats {
  readonly mean: Float64Array;
  readonly variance: Float64Array;
}

/** What one backward pass should return. */
export interface BackwardRequest {
  /**
   * Cotangents (∂objective/∂output of the node), each batch × numel(shape) long. The usual seed is the logits
   * node (`net.output`) with {@link crossEntropy}'s gradient or all ones.
   */
  readonly seeds: ReadonlyMap<number, Float64Array>;
  /** Gradients of every trainable tensor (default false). */
  readonly params?: boolean;
  /** Gradient w.r.t. the network input (default false). */
  readonly input?: boolean;
  /** Gradients w.r.t. these nodes' outputs (the total derivative through every later node). */
  readonly nodes?: readonly number[];
  /**
   * Per-sample gradients of these parameter scalars: entry `i` of the result holds, for each sample b, the part
   * of the weight gradient that sample b's activations contribute. With `eval`/`identity` BN the samples are
   * independent and this is ∂objective_b/∂θ exactly; under `train` BN it is the per-sample term of the
   * batch-coupled gradient (the terms sum to the batch gradient).
   */
  readonly perSample?: readonly ScalarRef[];
}

/** Result of one backward pass (all float64). */
export interface Gradients {
  /** Per node id, gradients of its trainable tensors (same shapes as {@link NodeParams}); only when asked. */
  readonly params?: NetParams;
  /** ∂/∂input, batch × C × H × W; only when asked. */
  readonly input?: Float64Array;
  /** ∂/∂(node output) for each requested node. */
  readonly nodes: ReadonlyMap<number, Float64Array>;
  /** `perSample[i][b]` for the i-th requested scalar. */
  readonly perSample?: readonly Float64Array[];
}

/**
 * One coarse gradient job: every network with its own parameters on one input batch. The objective is the mean
 * cross-entropy against `labels`, or — without labels — the sum of the output node's values (all-ones cotangent:
 * jacov's d(Σ logits)/dx, synflow's d(Σ logits)/dθ).
 */
export interface GradientJob {
  readonly networks: readonly Network[];
  /** One parameter set per network. */
  readonly params: readonly NetParams[];
  /** Input batch, batch × C × H × W. */
  readonly input: ArrayLike<number>;
  readonly batch: number;
  readonly labels?: ArrayLike<number>;
  readonly bn?: BnMode;
  /** Gradients of every trainable tensor (default true). */
  readonly wantParams?: boolean;
  /** Gradient w.r.t. the input (default false). */
  readonly wantInput?: boolean;
  /**
   * Per-sample channel saliency of every conv/linear output a (default false): s[b][c] = Σ_positions a·∂obj/∂a,
   * what fisher reduces (ZC's `fisher`, before squaring and averaging).
   */
  readonly wantChannelSaliency?: boolean;
  /** Per network, nodes whose forward outputs are returned in {@link NetworkGradients.activations}. */
  readonly keep?: readonly (readonly number[])[];
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What a {@link GradientJob} returns per network. */
export interface NetworkGradients {
  /** Mean cross-entropy (0 for the sum objective). */
  readonly loss: number;
  /** Output node values, batch × numel. */
  readonly outputs: Float32Array | Float64Array;
  readonly params?: NetParams;
  readonly input?: Float32Array | Float64Array;
  /** Node id → its forward output (batch × numel) for the nodes listed in {@link GradientJob.keep}. */
  readonly activations?: ReadonlyMap<number, Float32Array | Float64Array>;
  /** Conv/linear node id → batch × channels saliency (when asked). */
  readonly channelSaliency?: ReadonlyMap<number, Float32Array | Float64Array>;
  /** Largest activation + gradient memory held at once (bytes), where the backend measures it. */
  readonly peakBytes?: number;
  /** Most threads one op was split over, where the backend splits a lone network's ops (values do not depend on it). */
  readonly threads?: number;
}
