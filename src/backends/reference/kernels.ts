import type { InputBatch } from '../../data/batch.js';
import { fillGaussian } from '../../init/prng.js';
import { BN_EPS, type NodeOf, numel, weightCount } from '../../ir/ops.js';
import type { IRNode, OpName, Shape } from '../../ir/types.js';

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
  /** Zeroed output of S × numel(node shape) floats, which the kernel fills and returns. */
  readonly out: Float32Array;
}

/** One reference kernel per op (float64 accumulation, float32 storage): the definition every backend matches. */
export type ReferenceKernel<K extends OpName> = (n: NodeOf<K>, a: KernelArgs) => Float32Array;

type C3 = [number, number, number];

function batchNorm(n: NodeOf<'bn'>, { xs, S, out }: KernelArgs): Float32Array {
  const [C, H, W] = n.shape as C3;
  const x = xs[0]!;
  const per = C * H * W;
  const hw = H * W;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let s = 0; s < S; s++) for (let i = 0; i < hw; i++) sum += x[s * per + c * hw + i]!;
    const mean = sum / (S * hw);
    let sq = 0;
    for (let s = 0; s < S; s++)
      for (let i = 0; i < hw; i++) {
        const d = x[s * per + c * hw + i]! - mean;
        sq += d * d;
      }
    const inv = 1 / Math.sqrt(sq / (S * hw) + BN_EPS);
    for (let s = 0; s < S; s++)
      for (let i = 0; i < hw; i++) {
        const k = s * per + c * hw + i;
        out[k] = (x[k]! - mean) * inv;
      }
  }
  return out;
}

function pool(n: NodeOf<'avgpool' | 'maxpool'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  const [C, OH, OW] = n.shape as C3;
  const [, H, W] = inShape(0) as C3;
  const x = xs[0]!;
  const per = C * OH * OW;
  const inPer = C * H * W;
  const isMax = n.op === 'maxpool';
  for (let s = 0; s < S; s++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let acc = isMax ? -Infinity : 0;
          let cnt = 0;
          for (let kh = 0; kh < n.k; kh++) {
            const ih = oh * n.stride - n.pad + kh;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < n.k; kw++) {
              const iw = ow * n.stride - n.pad + kw;
              if (iw < 0 || iw >= W) continue;
              const v = x[s * inPer + c * H * W + ih * W + iw]!;
              if (isMax) acc = Math.max(acc, v);
              else acc += v;
              cnt++;
            }
          }
          const div = !isMax && n.countIncludePad ? n.k * n.k : cnt;
          out[s * per + c * OH * OW + oh * OW + ow] = isMax ? acc : acc / div;
        }
  return out;
}

function conv(n: NodeOf<'conv'>, { xs, inShape, S, seed, out }: KernelArgs): Float32Array {
  const [, OH, OW] = n.shape as C3;
  const [, H, W] = inShape(0) as C3;
  const x = xs[0]!;
  const per = n.cout * OH * OW;
  const cinG = n.cin / n.groups;
  const coutG = n.cout / n.groups;
  const wt = fillGaussian(new Float32Array(weightCount(n)), seed, n.id);
  const inPer = n.cin * H * W;
  const acc = new Float64Array(OH * OW);
  for (let s = 0; s < S; s++)
    for (let oc = 0; oc < n.cout; oc++) {
      acc.fill(0);
      const g = Math.floor(oc / coutG);
      for (let icg = 0; icg < cinG; icg++) {
        const ic = g * cinG + icg;
        for (let kh = 0; kh < n.k; kh++)
          for (let kw = 0; kw < n.k; kw++) {
            const wv = wt[((oc * cinG + icg) * n.k + kh) * n.k + kw]!;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * n.stride - n.pad + kh * n.dilation;
              if (ih < 0 || ih >= H) continue;
              for (let ow = 0; ow < OW; ow++) {
                const iw = ow * n.stride - n.pad + kw * n.dilation;
                if (iw < 0 || iw >= W) continue;
                acc[oh * OW + ow]! += wv * x[s * inPer + ic * H * W + ih * W + iw]!;
              }
            }
          }
      }
      out.set(acc, s * per + oc * OH * OW);
    }
  return out;
}

function slice(n: NodeOf<'slice'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  const [C, H, W] = n.shape as C3;
  const [IC, IH, IW] = inShape(0) as C3;
  const x = xs[0]!;
  const per = C * H * W;
  for (let s = 0; s < S; s++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) {
        const src = s * IC * IH * IW + (n.c0 + c) * IH * IW + (n.h0 + h) * IW + n.w0;
        out.set(x.subarray(src, src + W), s * per + (c * H + h) * W);
      }
  return out;
}

function gap(_n: NodeOf<'gap'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  const [C, H, W] = inShape(0) as C3;
  const x = xs[0]!;
  for (let s = 0; s < S; s++)
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let i = 0; i < H * W; i++) sum += x[s * C * H * W + c * H * W + i]!;
      out[s * C + c] = sum / (H * W);
    }
  return out;
}

function linear(n: NodeOf<'linear'>, { xs, S, seed, out }: KernelArgs): Float32Array {
  const x = xs[0]!;
  const wt = fillGaussian(new Float32Array(weightCount(n)), seed, n.id);
  for (let s = 0; s < S; s++)
    for (let o = 0; o < n.fout; o++) {
      let sum = 0;
      for (let i = 0; i < n.fin; i++) sum += wt[o * n.fin + i]! * x[s * n.fin + i]!;
      out[s * n.fout + o] = sum;
    }
  return out;
}

function addAll(_n: NodeOf<'add'>, { xs, out }: KernelArgs): Float32Array {
  const acc = new Float64Array(out.length);
  for (const x of xs) for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
  out.set(acc);
  return out;
}

function concat(n: NodeOf<'concat'>, { xs, inShape, S, out }: KernelArgs): Float32Array {
  const per = numel(n.shape);
  let off = 0;
  for (let k = 0; k < xs.length; k++) {
    const p = numel(inShape(k));
    for (let s = 0; s < S; s++) out.set(xs[k]!.subarray(s * p, (s + 1) * p), s * per + off);
    off += p;
  }
  return out;
}

/** The reference kernels, one per op (a new op fails to compile until it has one). */
export const REFERENCE_KERNELS: { readonly [K in OpName]: ReferenceKernel<K> } = {
  input: (_n, { batch, out }) => {
    out.set(batch.data);
    return out;
  },
  zero: (_n, { out }) => out,
  relu: (_n, { xs, out }) => {
    const x = xs[0]!;
    for (let i = 0; i < out.length; i++) out[i] = Math.max(x[i]!, 0);
    return out;
  },
  add: addAll,
  concat,
  bn: batchNorm,
  avgpool: pool,
  maxpool: pool,
  conv,
  slice,
  gap,
  linear,
};

/** Run the reference kernel of node `n`. */
export function runReferenceKernel(n: IRNode, a: KernelArgs): Float32Array {
  return (REFERENCE_KERNELS[n.op] as ReferenceKernel<OpName>)(n, a);
}
