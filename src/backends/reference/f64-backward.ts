/**
 * Float64 vector-Jacobian products of the IR ops (reverse mode of `f64-forward.ts`). Each takes the cotangent
 * `dy` of a node's output and returns the cotangents of its inputs and parameters. Gradients that are not
 * asked for are not computed.
 */
import type { LinearNode, PoolNode, Shape, SliceNode } from '../../ir/types.js';
import { numel } from '../../ir/analysis.js';
import type { F64 } from './f64-forward.js';
import { forEachPoolTap, sliceSource } from './loops.js';

type S3 = readonly [number, number, number];

/** Per-channel Σ over batch and positions (bias / β gradients). */
export function channelSums(dy: F64, C: number, hw: number, B: number): F64 {
  const out = new Float64Array(C);
  for (let s = 0; s < B; s++)
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let i = 0; i < hw; i++) sum += dy[(s * C + c) * hw + i]!;
      out[c]! += sum;
    }
  return out;
}

/**
 * BN VJP. With γ (1 when absent): dγ = Σ dy·x̂, dβ = Σ dy, g = γ·dy. Train mode (batch statistics):
 * dx = inv·(g − mean(g) − x̂·mean(g·x̂)) per channel over batch and positions; eval / fixed statistics:
 * dx = inv·g.
 */
export function bnBackward(
  shape: S3,
  dy: F64,
  B: number,
  xhat: F64,
  inv: F64,
  gamma: F64 | undefined,
  train: boolean,
): { dx: F64; dgamma: F64; dbeta: F64 } {
  const [C, H, W] = shape;
  const hw = H * W;
  const N = B * hw;
  const dx = new Float64Array(dy.length);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sdy = 0;
    let sdyx = 0;
    for (let s = 0; s < B; s++)
      for (let i = 0; i < hw; i++) {
        const k = (s * C + c) * hw + i;
        sdy += dy[k]!;
        sdyx += dy[k]! * xhat[k]!;
      }
    dgamma[c] = sdyx;
    dbeta[c] = sdy;
    const gm = gamma ? gamma[c]! : 1;
    const a = gm * inv[c]!;
    const mg = train ? sdy / N : 0;
    const mgx = train ? sdyx / N : 0;
    for (let s = 0; s < B; s++)
      for (let i = 0; i < hw; i++) {
        const k = (s * C + c) * hw + i;
        dx[k] = a * (dy[k]! - mg - xhat[k]! * mgx);
      }
  }
  return { dx, dgamma, dbeta };
}

/** Pooling VJP: max routes each cotangent to its recorded argmax; average spreads it over the window. */
export function poolBackward(n: PoolNode, inS: S3, outS: S3, dy: F64, B: number, argmax: Int32Array | undefined): F64 {
  const dx = new Float64Array(B * numel(inS));
  if (argmax) {
    for (let o = 0; o < dy.length; o++) if (argmax[o]! >= 0) dx[argmax[o]!]! += dy[o]!;
    return dx;
  }
  const taps: number[] = [];
  forEachPoolTap(
    n,
    inS,
    outS,
    B,
    (_o, i) => taps.push(i),
    (o, cnt, padded) => {
      const v = dy[o]! / (n.countIncludePad ? padded : cnt);
      for (const i of taps) dx[i]! += v;
      taps.length = 0;
    },
  );
  return dx;
}

/** Linear VJP: dx = Wᵀ·dy (when `w` is given), dW = Σ_b dy·xᵀ (when `x` is given), db = Σ_b dy. */
export function linearBackward(
  n: LinearNode,
  dy: F64,
  B: number,
  w: F64 | undefined,
  x: F64 | undefined,
): { dx?: F64; dw?: F64; db?: F64 } {
  const dx = w ? new Float64Array(B * n.fin) : undefined;
  const dw = x ? new Float64Array(n.fout * n.fin) : undefined;
  for (let s = 0; s < B; s++)
    for (let o = 0; o < n.fout; o++) {
      const d = dy[s * n.fout + o]!;
      for (let i = 0; i < n.fin; i++) {
        if (dx) dx[s * n.fin + i]! += w![o * n.fin + i]! * d;
        if (dw) dw[o * n.fin + i]! += x![s * n.fin + i]! * d;
      }
    }
  return { dx, dw, db: n.bias ? channelSums(dy, n.fout, 1, B) : undefined };
}

/** Global-average-pool VJP: dy/(H·W) broadcast over positions. */
export function gapBackward(inS: S3, dy: F64, B: number): F64 {
  const [C, H, W] = inS;
  const hw = H * W;
  const dx = new Float64Array(B * C * hw);
  for (let sc = 0; sc < B * C; sc++) dx.fill(dy[sc]! / hw, sc * hw, (sc + 1) * hw);
  return dx;
}

/** Slice VJP: the cotangent scattered into a zero tensor of the input's shape. */
export function sliceBackward(n: SliceNode, inS: S3, outS: S3, dy: F64, B: number): F64 {
  const per = numel(outS);
  const inPer = numel(inS);
  const dx = new Float64Array(B * inPer);
  for (let j = 0; j < per; j++) {
    const dst = sliceSource(n, inS, outS, j);
    for (let s = 0; s < B; s++) dx[s * inPer + dst]! += dy[s * per + j]!;
  }
  return dx;
}

/** Concat VJP: the cotangent's channel blocks, one per input. */
export function concatBackward(shapes: readonly Shape[], dy: F64, outPer: number, B: number): F64[] {
  let off = 0;
  return shapes.map((sh) => {
    const p = numel(sh);
    const dx = new Float64Array(B * p);
    for (let s = 0; s < B; s++) dx.set(dy.subarray(s * outPer + off, s * outPer + off + p), s * p);
    off += p;
    return dx;
  });
}

/** Per-sample Σ over positions of `a·b` in channel `c` (b = undefined means 1): bias, γ and β per-sample terms. */
export function channelPerSample(a: F64, b: F64 | undefined, C: number, hw: number, B: number, c: number): F64 {
  const out = new Float64Array(B);
  for (let s = 0; s < B; s++) {
    let acc = 0;
    const o = (s * C + c) * hw;
    for (let i = 0; i < hw; i++) acc += a[o + i]! * (b ? b[o + i]! : 1);
    out[s] = acc;
  }
  return out;
}
