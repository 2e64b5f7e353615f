import type { InputBatch } from '../../data/batch.js';
import { fillGaussian } from '../../init/prng.js';
import { softmaxForward } from './softmax.js';
import { gnNormaliseInto } from './groupnorm.js';
import { bnEps, bnMap, type NodeOf, numel, reluValue, sigmoidValue, weightCount } from '../../ir/ops.js';
import type { IRNode, OpName, Shape } from '../../ir/types.js';
import { actFormAt, actValue } from '../../ir/activations.js';
import {
  avgPoolInto,
  bnTrainInto,
  concatInto,
  convAccumulate,
  forEachPoolTap,
  gapInto,
  gatePlane,
  linearInto,
  mulInto,
  shuffleInto,
  upsampleInto,
  expandInto,
  chanpoolInto,
  sliceInto,
} from './loops.js';
import { convForward } from './conv.js';

/** What a reference kernel sees: its inputs' values and shapes, the batch and the weight seed. */
export interface KernelArgs {
  /** Input values, S × per-sample each. */
  readonly xs: readonly Float32Array[];
  /** Per-sample shape of input `i`. */
  readonly inShape: (i: number) => Shape;
  /** Samples in the batch. */
  readonly S: number;
  readonly batch: InputBatch;
  readonly seed: number;
  /** The PRNG tensor id of a conv / linear node's weights (`weightTensorIds`: its own id unless tied or shared). */
  readonly tensor: number;
  /** Zeroed output of S × numel(node shape) floats, which the kernel fills and returns. */
  readonly out: Float32Array;
}

/** One reference kernel per op (float64 accumulation, float32 storage): the definition every backend matches. */
export type ReferenceKernel<K extends OpName> = (n: NodeOf<K>, a: KernelArgs) => Float32Array;

type C3 = [number, number, number];

function batchNorm(n: NodeOf<'bn'>, { xs, S, out }: KernelArgs): Float32Array {
  bnTrainInto(bnMap(n.shape), xs[0]!, S, out, bnEps(n));
  return out;
}

function pool(n: NodeOf<'avgpool' | 'maxpool'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  const x = xs[0]!;
  const y = new Float64Array(out.length);
  if (n.op === 'avgpool') avgPoolInto(n, inShape(0) as C3, n.shape as C3, x, S, y);
  else
    forEachPoolTap(
      n,
      inShape(0) as C3,
      n.shape as C3,
      S,
      (o, i, first) => {
        y[o] = first ? x[i]! : Math.max(y[o]!, x[i]!);
      },
      (o, cnt) => {
        if (cnt === 0) y[o] = -Infinity;
      },
    );
  out.set(y);
  return out;
}

function conv(n: NodeOf<'conv'>, { xs, inShape, S, seed, tensor, out }: KernelArgs): Float32Array {
  const [, OH, OW] = n.shape as C3;
  const wt = fillGaussian(new Float32Array(weightCount(n)), seed, tensor);
  if (n.transposed) {
    // through its adjoint conv in float64, rounded once (src/backends/reference/conv.ts)
    out.set(
      convForward(n, inShape(0) as C3, n.shape as C3, Float64Array.from(xs[0]!), { weight: Float64Array.from(wt) }, S),
    );
    return out;
  }
  const acc = new Float64Array(OH * OW);
  for (let s = 0; s < S; s++)
    for (let oc = 0; oc < n.cout; oc++) {
      acc.fill(0);
      convAccumulate(n, inShape(0) as C3, n.shape as C3, xs[0]!, wt, s, oc, acc);
      out.set(acc, (s * n.cout + oc) * OH * OW);
    }
  return out;
}

function slice(n: NodeOf<'slice'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  sliceInto(n, inShape(0) as C3, n.shape as C3, xs[0]!, S, out);
  return out;
}

function gap(_n: NodeOf<'gap'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  gapInto(inShape(0) as C3, xs[0]!, S, out);
  return out;
}

function linear(n: NodeOf<'linear'>, { xs, S, seed, tensor, out }: KernelArgs): Float32Array {
  const wt = fillGaussian(new Float32Array(weightCount(n)), seed, tensor);
  linearInto(n, xs[0]!, wt, undefined, S, out);
  return out;
}

function addAll(_n: NodeOf<'add'>, { xs, out }: KernelArgs): Float32Array {
  const acc = new Float64Array(out.length);
  for (const x of xs) for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
  out.set(acc);
  return out;
}

function concat(n: NodeOf<'concat'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  concatInto(
    xs.map((_, k) => inShape(k)),
    xs,
    numel(n.shape),
    S,
    out,
  );
  return out;
}

/** The reference kernels, one per op (a new op fails to compile until it has one). */
export const REFERENCE_KERNELS: { readonly [K in OpName]: ReferenceKernel<K> } = {
  input: (_n, { batch, out }) => {
    out.set(batch.data);
    return out;
  },
  zero: (_n, { out }) => out,
  relu: (n, { xs, out }) => {
    const x = xs[0]!;
    // float32 storage: a leaky slope multiplies as the float32 PyTorch holds (the product of two floats is exact in
    // double, so one rounding gives the float32 product)
    const form = n.slope === undefined ? n : { slope: Math.fround(n.slope) };
    for (let i = 0; i < out.length; i++) out[i] = reluValue(x[i]!, form);
    return out;
  },
  add: addAll,
  concat,
  bn: batchNorm,
  // PRNG weights: γ = 1, β = 0
  gn: (n, { xs, S, out }) => {
    gnNormaliseInto(bnMap(n.shape), n, xs[0]!, S, out, bnEps(n));
    return out;
  },
  avgpool: pool,
  maxpool: pool,
  conv,
  slice,
  gap,
  linear,
  // NCHW is already the flat order
  flatten: (_n, { xs, out }) => {
    out.set(xs[0]!);
    return out;
  },
  view: (_n, { xs, out }) => {
    out.set(xs[0]!);
    return out;
  },
  shuffle: (n, { xs, S, out }) => {
    shuffleInto(n.groups, n.shape as C3, xs[0]!, S, out);
    return out;
  },
  chanpool: (n, { xs, S, inShape, out }) => {
    chanpoolInto(n.max === true, inShape(0) as C3, xs[0]!, S, out);
    return out;
  },
  upsample: (n, { xs, S, inShape, out }) => {
    upsampleInto(n, inShape(0) as C3, xs[0]!, S, out);
    return out;
  },
  expand: (n, { xs, S, inShape, out }) => {
    expandInto(inShape(0) as C3, n.shape as C3, xs[0]!, S, out);
    return out;
  },
  sigmoid: (n, { xs, out }) => {
    const x = xs[0]!;
    for (let i = 0; i < out.length; i++) out[i] = sigmoidValue(x[i]!, n.hard);
    return out;
  },
  act: (n, { xs, out }) => {
    const x = xs[0]!;
    // float32 storage: ELU's α (or each channel's constant) as the float32 PyTorch holds (as a LeakyReLU's slope)
    const form = actFormAt(n, n.shape, Math.fround);
    for (let i = 0; i < out.length; i++) out[i] = actValue(x[i]!, form(i));
    return out;
  },
  softmax: (n, { xs, S, out }) => {
    out.set(softmaxForward(xs[0]!, S, n.shape[0]!, n.log === true));
    return out;
  },
  mul: (_n, { xs, inShape, out }) => {
    mulInto(xs[0]!, xs[1]!, gatePlane(inShape(0), inShape(1)), out);
    return out;
  },
};

/** Run the reference kernel of node `n`. */
export function runReferenceKernel(n: IRNode, a: KernelArgs): Float32Array {
  return (REFERENCE_KERNELS[n.op] as ReferenceKernel<OpName>)(n, a);
}
