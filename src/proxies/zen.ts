/**
 * Zen-score (idstcv/ZenNAS `compute_zen_score.py`; NASLib `zen` is the same formula): with N(0, 1) weights
 * (protocol), two train-mode forward passes to the map before global average pooling, on x and on the mixed input
 * x + γ·x₂ (γ = 0.01): Δ = mean_b Σ_chw |f(x) − f(x + γx₂)|; every 2-D BatchNorm's running variance after those two
 * passes (PyTorch's update with momentum m, 0.1 unless the model says otherwise, and the unbiased batch variance:
 * rv = (1−m)²·rv₀ + m(1−m)·v₁ + m·v₂, e.g. 0.81·rv₀ + 0.09·v₁ + 0.1·v₂) gives Σ ln sqrt(mean_c rv); S = ln Δ + Σ.
 * A BN not on the path to the map keeps rv₀. A BN module called more than once (`net.tied`) has one running variance,
 * updated by every call in call order, and counts once.
 */
import { forwardTape } from '../backends/reference/tape.js';
import { isTiedUse, tensorUses } from '../grad/params.js';
import type { NetParams } from '../grad/types.js';
import { numel, pathInputs } from '../ir/analysis.js';
import type { NodeOf } from '../ir/ops.js';
import type { IRNode, Network } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import { finite, type ProxyValue } from './value.js';

const NO_MAP =
  'zen reads the feature map before the global average pool (the official code calls forward_pre_GAP), and this network has none: it takes flat (N, F) inputs';
const NO_PRE_GAP =
  'zen reads the feature map before the global average pool (the official code calls forward_pre_GAP), and this network has none: its head flattens a map into a Linear layer';

/**
 * zen's value on a classifier without a global pool (a LeNet / VGG head that flattens its map into a Linear
 * layer): null with the reason, since there is no map before global pooling to read. Undefined when it has one.
 */
export function withoutPreGap(net: Network): ProxyValue | undefined {
  if (hasPreGap(net)) return undefined;
  // a flat (N, F) input (an MLP): its first node flattens the F×1×1 input
  const flatInput = net.nodes.some((n) => n.op === 'flatten' && n.inputs[0] === 0 && net.nodes[0]!.shape[1] === 1);
  return { value: null, reason: flatInput ? NO_MAP : NO_PRE_GAP };
}

/** A classifier's global pool: a `gap` to flat features (a squeeze-and-excitation block's keeps its map). */
function headGaps(net: Network) {
  return net.nodes.filter((n) => n.op === 'gap' && !n.keep);
}

/** Whether `net` has a map before a classifier's global average pool (the official `forward_pre_GAP`). */
export function hasPreGap(net: Network): boolean {
  return headGaps(net).length > 0;
}

/**
 * The node whose output is the map before global pooling: the input of the last classifier `gap` node, or, where
 * that reads a pooled C×1×1 map through ops of one input (`gap(x) * 2 - 1`, a ReLU or a 1×1 conv on the pooled map
 * before the flatten), the map that pool read. A pool whose one window covers its whole input (`F.avg_pool2d(out,
 * 4)` on a 4×4 map: the head of the common CIFAR ResNets; a max pool so) is that global pool too, and so are such
 * pools of one map concatenated (fastai's AdaptiveConcatPool2d).
 */
export function preGapNode(net: Network): number {
  const gaps = headGaps(net);
  if (gaps.length === 0) throw new SwapError('E_PROXY_HEAD', NO_PRE_GAP);
  const read = gaps[gaps.length - 1]!.inputs[0]!;
  const pooled = (n: IRNode) => n.shape.length === 3 && n.shape[1] === 1 && n.shape[2] === 1;
  const isPool = (n: IRNode) => n.op === 'gap' || wholeMapPool(net, n);
  for (let n = net.nodes[read]!; pooled(n); n = net.nodes[pathInputs(n)[0]!]!) {
    // a pool of a larger map: the head's (a squeeze-and-excitation gate's pool on a 1×1 tail pools nothing)
    if (isPool(n)) return pooled(net.nodes[n.inputs[0]!]!) ? read : n.inputs[0]!;
    const ins = pathInputs(n).map((i) => net.nodes[i]!);
    // pools of one map side by side (fastai's AdaptiveConcatPool2d: its max and average pools concatenated)
    const maps = new Set(ins.map((p) => p.inputs[0]));
    if (ins.length > 1 && ins.every(isPool) && maps.size === 1 && !pooled(net.nodes[ins[0]!.inputs[0]!]!))
      return ins[0]!.inputs[0]!;
    if (ins.length !== 1) break;
  }
  return read;
}

/**
 * Whether `n` is a pool whose one window covers its whole input map (k − pad ≥ H, W; a 1×1 output): a global pool,
 * average or max (`F.avg_pool2d(out, 4)`, `F.max_pool2d(out, 4)`, padded or not).
 */
function wholeMapPool(net: Network, n: IRNode): boolean {
  if (n.op !== 'avgpool' && n.op !== 'maxpool') return false;
  const x = net.nodes[n.inputs[0]!]!.shape;
  return x.length === 3 && n.k - n.pad >= x[1]! && n.k - n.pad >= x[2]!;
}

/** Mixed input x + γ·x₂ in float32, as the official code forms it from float32 tensors. */
export function mixInputs(x: ArrayLike<number>, x2: ArrayLike<number>, gamma = 1e-2): Float32Array {
  const g = Math.fround(gamma);
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! + Math.fround(g * x2[i]!);
  return out;
}

export function zen(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  mixed: ArrayLike<number>,
  batch: number,
): ProxyValue {
  const feat = preGapNode(net);
  const a = forwardTape(net, params, x, batch, { keep: [feat] });
  const b = forwardTape(net, params, mixed, batch, { keep: [feat] });
  const variance = (t: typeof a) => (id: number) => t.bnStats.get(id)?.variance;
  return zenFromPasses(
    net,
    params,
    { feature: a.activations.get(feat)!, variance: variance(a) },
    { feature: b.activations.get(feat)!, variance: variance(b) },
    batch,
  );
}

/** What zen reads of one forward pass: the pre-pool map and each BN node's biased batch variance. */
export interface ZenPass {
  readonly feature: ArrayLike<number>;
  readonly variance: (bnNode: number) => ArrayLike<number> | undefined;
}

/** Zen-score from its two forward passes (any engine's). */
export function zenFromPasses(net: Network, params: NetParams, a: ZenPass, b: ZenPass, batch: number): ProxyValue {
  const fa = a.feature;
  const fb = b.feature;
  let delta = 0;
  for (let i = 0; i < fa.length; i++) delta += Math.abs(fa[i]! - fb[i]!);
  delta /= batch;
  let logBn = 0;
  const tied = tensorUses(net, 'runningVar');
  for (const n of net.nodes) {
    if (n.op !== 'bn' || n.shape.length !== 3) continue;
    // the official zen reads every BatchNorm2d's running variance, which a BN without running statistics lacks (it
    // raises there)
    if (n.batchStats)
      return {
        value: null,
        reason: `zen: BatchNorm node ${n.id} has no running statistics (track_running_stats=False), whose running variance zen reads`,
      };
    const m = n.momentum ?? 0.1;
    // ONNX holds momentum 0 both for PyTorch's momentum=None (a cumulative average: (v₁ + v₂)/2) and for 1 (v₂);
    // a BN off the path to the map keeps rv₀ either way
    if (m === 1 && a.variance(n.id) && b.variance(n.id))
      return {
        value: null,
        reason: `zen: BatchNorm node ${n.id} has ONNX momentum 0, which PyTorch writes for momentum=None (cumulative average) and for momentum=1; their running variances differ, so zen is undefined`,
      };
    if (isTiedUse(net, n.id, 'runningVar')) continue; // a BN module called again: its one running variance, below
    const users = tied.get(n.id);
    const rv = users ? tiedRunningVar(net, params, users, [a, b], batch, m) : runningVar(n, params, a, b, batch, m);
    let mean = 0;
    for (let c = 0; c < rv.length; c++) mean += rv[c]!;
    logBn += Math.log(Math.sqrt(mean / rv.length));
  }
  return finite('zen', Math.log(delta) + logBn);
}

/** Per channel c of BN node `n`'s biased batch variance `v` on `batch` samples: the unbiased one PyTorch keeps. */
function unbiased(n: IRNode, v: ArrayLike<number>, batch: number, c: number): number {
  const count = (batch * numel(n.shape)) / n.shape[0];
  return (v[c]! * count) / (count - 1);
}

/**
 * A BN node's running variance after the two passes, one update each with momentum `m` (rv₀ where it is off the
 * map's path).
 */
function runningVar(
  n: NodeOf<'bn'>,
  params: NetParams,
  a: ZenPass,
  b: ZenPass,
  batch: number,
  m: number,
): Float64Array {
  // PyTorch's default as the literals the values have always been computed with
  const [w0, w1, w2] = n.momentum === undefined ? [0.81, 0.09, 0.1] : [(1 - m) * (1 - m), m * (1 - m), m];
  const rv0 = params[n.id]?.runningVar;
  const va = a.variance(n.id);
  const vb = b.variance(n.id);
  return Float64Array.from({ length: n.shape[0] }, (_, c) => {
    const r0 = rv0 ? rv0[c]! : 1;
    return !va || !vb ? r0 : w0 * r0 + w1 * unbiased(n, va, batch, c) + w2 * unbiased(n, vb, batch, c);
  });
}

/**
 * The running variance of a BN module called at nodes `users` (first use first): every call of every pass
 * updates it, in call order, rv ← (1 − m)·rv + m·v.
 */
function tiedRunningVar(
  net: Network,
  params: NetParams,
  users: readonly number[],
  passes: readonly ZenPass[],
  batch: number,
  m: number,
): Float64Array {
  const rv = Float64Array.from(
    params[users[0]!]?.runningVar ?? new Float64Array(net.nodes[users[0]!]!.shape[0]).fill(1),
  );
  for (const pass of passes)
    for (const u of users) {
      const v = pass.variance(u);
      if (v) for (let c = 0; c < rv.length; c++) rv[c] = (1 - m) * rv[c]! + m * unbiased(net.nodes[u]!, v, batch, c);
    }
  return rv;
}
