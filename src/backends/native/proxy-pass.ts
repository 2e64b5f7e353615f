/**
 * One coarse native call for the zero-cost proxies: a single network, its packed float32 parameters, one input
 * batch, and what the proxy needs back (parameter/input gradients, channel saliency, kept activations, BN batch
 * variances, the NWOT kernel, or extra backward passes seeded at inner nodes with per-sample parameter terms).
 * TypeScript validates everything here; the addon only re-checks bounds.
 */
import { slopeCountAt } from '../../grad/slopes.js';
import type { BnMode, ScalarRef } from '../../grad/types.js';
import { nonModuleWeights, numel } from '../../ir/analysis.js';
import { breaksScaling } from '../../ir/ops.js';
import type { Network } from '../../ir/types.js';
import type { NativeAddon, NativeGradBuffers, NativeGradResult } from '../../native/addon.js';
import { serializeNetworks } from '../../ir/serialize.js';
import { SwapError } from '../../util/errors.js';

const BN_CODES = { train: 0, eval: 1, identity: 2 } as const;
const KIND_CODES = { weight: 0, bias: 1, gamma: 2, beta: 3 } as const;
/**
 * Reductions of kept outputs: MeCo's per-module term (src/proxies/meco.ts; `mecoRows` of a channels-last module),
 * AZ-NAS feature entropy (src/proxies/az.ts).
 */
export const KEEP_REDUCE = { none: 0, meco: 1, entropy: 2, mecoRows: 3 } as const;
export type KeepMode = keyof typeof KEEP_REDUCE;

/** A backward pass seeded at `seed` (batch × numel values) that returns the cotangent at `read` (when given). */
export interface SeededPass {
  readonly seed: number;
  readonly values: Float32Array;
  readonly read?: number;
  /** Reduce the read cotangent with the seed in the addon (AZ-NAS block trainability, `passValues`) instead of returning it. */
  readonly reduce?: 'trainability';
}

export interface ProxyPassRequest {
  readonly bn: BnMode;
  /** Mean cross-entropy objective; without labels the objective is Σ outputs. */
  readonly labels?: ArrayLike<number>;
  readonly wantParams?: boolean;
  readonly wantInput?: boolean;
  readonly wantSaliency?: boolean;
  /** With `wantSaliency`, the per-row sums too (`NativeGradResult.rowSaliency`). */
  readonly wantRowSaliency?: boolean;
  /**
   * ⟨W, H·g⟩ per conv/linear node, H·g the loss's Hessian-vector product along the weight gradient (grasp; needs
   * labels and wantParams). With `float64`, computed in double (native/f64_hvp.cpp, the reference's hvp.ts).
   */
  readonly wantHvp?: boolean;
  readonly keep?: readonly number[];
  /**
   * Reduce the kept outputs in the addon ({@link KEEP_REDUCE}; one mode for all or one per kept node, `none`
   * returning that output) and return one value each (`keptValues`) instead of the tensors.
   */
  readonly keepReduce?: KeepMode | readonly KeepMode[];
  /** Run the output-seeded backward pass (labels or sum objective) as well as the extra passes. */
  readonly outputBackward?: boolean;
  readonly bnVar?: boolean;
  readonly nwot?: boolean;
  /** Replace the output-seeded pass by these. */
  readonly passes?: readonly SeededPass[];
  /** Per-sample terms of these scalars in every extra pass. */
  readonly scalars?: readonly ScalarRef[];
  /**
   * Block floating point for the output-seeded pass of the sum objective with BN as identity (synflow): weight
   * gradients as mantissas with a power-of-two exponent per node (`weightExp`), so values beyond float32's range
   * stay finite.
   */
  readonly blockScale?: boolean;
  /**
   * The pass in float64 (native/f64_pass.h, equal to the float64 reference bit for bit): the weight and / or input
   * gradients (and the channel saliency) of the sum objective, or of the mean cross-entropy with `labels`, in
   * `params64` / `input64` / `saliency64`, and with `wantHvp` grasp's ⟨W, H·g⟩ in `weightHv` (the reference's
   * within 1e-11) — for values float32 cannot hold (synflow_bn, jacov / epe_nas on ill-conditioned Jacobians, zico
   * on a layer whose gradient is zero in exact arithmetic) and for `precision` float64 runs.
   */
  readonly float64?: boolean;
  readonly threads?: number;
  /** Executors kept across passes (the runner's); results are the same with or without. */
  readonly buffers?: NativeGradBuffers;
}

/**
 * The conv / linear weight ties of `net` as the addon's (node, first use) pairs, and its weights that are no module's
 * (functional calls, transposed convs: {@link nonModuleWeights}) as (node, -1) (held fixed: outside GraSP's H), where
 * it has any.
 */
function tiedWeights(net: Network): { tiedWeights?: Int32Array } {
  const fixed = nonModuleWeights(net);
  const pairs = [
    ...(net.tied ?? [])
      .filter((t) => t.kind === 'weight' && !fixed.has(t.node) && !fixed.has(t.of))
      .flatMap((t) => [t.node, t.of]),
    ...[...fixed].flatMap((id) => [id, -1]),
  ];
  return pairs.length > 0 ? { tiedWeights: Int32Array.from(pairs) } : {};
}

/** `id` names a node of `net` (from `min`: 1 where the input node cannot serve, 0 where it can). */
function checkNode(net: Network, id: number, what: string, min = 1): void {
  if (!Number.isInteger(id) || id < min || id >= net.nodes.length)
    throw new SwapError('E_OPTION', `${what} node ${id} does not exist in a ${net.nodes.length}-node network`);
}

/** The passes' flat arrays, validated against `net` and `batch`. */
function passArrays(net: Network, batch: number, passes: readonly SeededPass[]) {
  const seedOffsets = new Int32Array(passes.length + 1);
  passes.forEach((p, i) => {
    checkNode(net, p.seed, 'seed');
    if (p.read !== undefined) checkNode(net, p.read, 'read', 0);
    const want = batch * numel(net.nodes[p.seed]!.shape);
    if (p.values.length !== want)
      throw new SwapError('E_INPUT_SHAPE', `seed of node ${p.seed} has ${p.values.length} values, expected ${want}`);
    seedOffsets[i + 1] = seedOffsets[i]! + want;
  });
  const seeds = new Float32Array(seedOffsets[passes.length]!);
  passes.forEach((p, i) => seeds.set(p.values, seedOffsets[i]!));
  return {
    passSeedNodes: Int32Array.from(passes, (p) => p.seed),
    passReadNodes: Int32Array.from(passes, (p) => p.read ?? -1),
    passSeedOffsets: seedOffsets,
    passSeeds: seeds,
  };
}

function scalarArray(net: Network, scalars: readonly ScalarRef[]): Int32Array {
  const out = new Int32Array(scalars.length * 3);
  scalars.forEach((r, q) => {
    const op = net.nodes[r.node]?.op ?? '';
    const slopes = r.kind === 'slope' ? slopeCountAt(net, r.node) : undefined;
    const holds =
      r.kind === 'slope' ? slopes !== undefined && r.index < slopes : ['conv', 'linear', 'bn', 'gn'].includes(op);
    if (!holds || !Number.isInteger(r.index) || r.index < 0)
      throw new SwapError('E_OPTION', `no parameter scalar ${r.kind}[${r.index}] on node ${r.node}`);
    // a slope is code 4 with one per channel, 5 with one for the whole node
    const code = r.kind === 'slope' ? (slopes === 1 ? 5 : 4) : KIND_CODES[r.kind];
    out.set([r.node, code, r.index], q * 3);
  });
  return out;
}

function keepModes(keep: readonly number[], modes: KeepMode | readonly KeepMode[]): Int32Array {
  if (typeof modes === 'string') return new Int32Array(keep.length).fill(KEEP_REDUCE[modes]);
  if (modes.length !== keep.length)
    throw new SwapError('E_OPTION', `${modes.length} keep reductions for ${keep.length} kept nodes`);
  return Int32Array.from(modes, (m) => KEEP_REDUCE[m]);
}

/** Whether `req` asks for more than the weight gradients of the sum objective (block scaling does not). */
function beyondSumWeights(req: ProxyPassRequest): boolean {
  return Boolean(
    req.labels ||
      req.passes?.length ||
      req.keep?.length ||
      req.nwot ||
      req.bnVar ||
      req.scalars?.length ||
      req.wantInput ||
      req.wantSaliency ||
      req.wantHvp,
  );
}

/** Run one proxy pass of `net` on the addon. */
export async function nativeProxyPass(
  addon: NativeAddon,
  net: Network,
  params: Float32Array | Float64Array,
  input: Float32Array,
  batch: number,
  req: ProxyPassRequest,
): Promise<NativeGradResult> {
  const [c, h, w] = net.nodes[0]!.shape as [number, number, number];
  if (input.length !== batch * c * h * w)
    throw new SwapError('E_INPUT_SHAPE', `${input.length} input values do not form ${batch} samples of ${c}x${h}x${w}`);
  for (const id of req.keep ?? []) checkNode(net, id, 'kept');
  if (
    req.blockScale &&
    (beyondSumWeights(req) || (req.bn !== 'identity' && net.nodes.some((n) => n.op === 'bn')) || breaksScaling(net))
  )
    throw new SwapError(
      'E_OPTION',
      'block scaling is for the weight gradients of the sum objective with BN as identity (or none), without capped ReLUs or gates, and nothing else',
    );
  if (
    req.float64 &&
    (beyondSumWeights({ ...req, wantInput: false, labels: undefined, wantSaliency: false, wantHvp: false }) ||
      !(req.wantParams || req.wantInput) ||
      req.blockScale ||
      req.outputBackward ||
      req.keepReduce)
  )
    throw new SwapError(
      'E_OPTION',
      "the float64 pass computes the weight and input gradients, the channel saliency and the Hessian-vector product of the sum objective or the labels' loss, and nothing else",
    );
  if (params instanceof Float64Array !== Boolean(req.float64))
    throw new SwapError(
      'E_OPTION',
      'parameters must be packed as float64 for the float64 pass, and as float32 otherwise',
    );
  if (req.wantHvp && (!req.labels || !req.wantParams || (req.passes?.length && !req.outputBackward)))
    throw new SwapError(
      'E_OPTION',
      'a Hessian-vector product needs labels, the weight gradients (wantParams) and the output-seeded backward pass',
    );
  // Int32Array.from would truncate 2.7 to 2 and NaN to 0: labels are integers, as the reference's crossEntropy holds
  const bad = req.labels ? Array.from(req.labels).findIndex((y) => !Number.isInteger(y)) : -1;
  if (bad >= 0)
    throw new SwapError(
      'E_OPTION',
      `label ${String(req.labels![bad]).slice(0, 20)} of sample ${bad} is not an integer`,
    );
  const { program, offsets } = serializeNetworks([net]);
  const res = await addon.gradients({
    program,
    offsets,
    input,
    n: batch,
    c,
    h,
    w,
    seeds: new Uint32Array(0),
    cancel: new Int32Array(1),
    threads: req.threads ?? 1,
    params,
    paramOffsets: Int32Array.of(0, params.length),
    labels: req.labels ? Int32Array.from(req.labels) : new Int32Array(0),
    bn: BN_CODES[req.bn],
    wantParams: req.wantParams ?? false,
    wantInput: req.wantInput ?? false,
    wantSaliency: req.wantSaliency ?? false,
    ...(req.wantRowSaliency ? { wantRowSaliency: true } : {}),
    ...(req.wantHvp ? { wantHvp: true, ...tiedWeights(net) } : {}),
    ...(req.keep ? { keepNodes: Int32Array.from(req.keep), keepOffsets: Int32Array.of(0, req.keep.length) } : {}),
    wantBnVar: req.bnVar ?? false,
    wantNwot: req.nwot ?? false,
    ...(req.passes ? passArrays(net, batch, req.passes) : {}),
    ...(req.scalars ? { scalars: scalarArray(net, req.scalars) } : {}),
    ...(req.keep && req.keepReduce ? { keepReduce: keepModes(req.keep, req.keepReduce) } : {}),
    ...(req.passes?.some((p) => p.reduce)
      ? { passReduce: Int32Array.from(req.passes, (p) => (p.reduce ? 1 : 0)) }
      : {}),
    ...(req.outputBackward ? { outputBackward: true } : {}),
    ...(req.blockScale ? { blockScale: true } : {}),
    ...(req.float64 ? { float64: true } : {}),
    ...(req.buffers ? { buffers: req.buffers } : {}),
  });
  return res[0]!;
}
