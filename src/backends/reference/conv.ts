/**
 * The reference engine's convolutions, ordinary and transposed (float64, explicit parameters). A transposed conv
 * (nn.ConvTranspose2d) runs through its adjoint (`adjointConv` in src/ir/ops.ts), the ordinary conv from its output
 * map back to its input map with the same weight tensor: its forward is the adjoint's backward-data (then the bias),
 * its backward-data the adjoint's forward, its weight gradient the adjoint's with input and cotangent swapped. The
 * native passes do the same (`adjointOf` in native/ir.h).
 */
import type { ConvNode } from '../../ir/types.js';
import type { NodeParams } from '../../grad/types.js';
import { adjointConv, convAxes } from '../../ir/ops.js';
import type { F64 } from './f64-forward.js';
import { channelSums } from './f64-backward.js';
import { convAccumulate } from './loops.js';

type S3 = readonly [number, number, number];

/** Convolution `y = conv(x, W) + b` (a transposed conv's: the adjoint's backward-data of x, then b). */
export function convForward(n: ConvNode, inS: S3, outS: S3, x: F64, p: NodeParams, B: number): F64 {
  if (!n.transposed) return plainForward(n, inS, outS, x, p, B);
  const y = plainBackward(adjointConv(n), outS, inS, x, B, p.weight!, undefined).dx!;
  const plane = outS[1] * outS[2];
  if (p.bias) for (let i = 0; i < y.length; i++) y[i]! += p.bias[Math.floor(i / plane) % n.cout]!;
  return y;
}

/** Conv VJP: dx (when `w` is given), dW (when `x` is given), db = Σ dy; a transposed conv's through its adjoint. */
export function convBackward(
  n: ConvNode,
  inS: S3,
  outS: S3,
  dy: F64,
  B: number,
  w: F64 | undefined,
  x: F64 | undefined,
): { dx?: F64; dw?: F64; db?: F64 } {
  if (!n.transposed) return plainBackward(n, inS, outS, dy, B, w, x);
  const adj = adjointConv(n);
  return {
    dx: w ? plainForward(adj, outS, inS, dy, { weight: w }, B) : undefined,
    dw: x ? plainBackward(adj, outS, inS, x, B, undefined, dy).dw : undefined,
    db: n.bias ? channelSums(dy, n.cout, outS[1] * outS[2], B) : undefined,
  };
}

/**
 * Per-sample terms Σ_{oh,ow} dy_b[oc, oh, ow] · x_b[ic, ih, iw] of weight scalar `index` of a conv node (weights
 * enter linearly); a transposed conv's are its adjoint's, with x and dy swapped.
 */
export function convWeightPerSample(n: ConvNode, inS: S3, outS: S3, dy: F64, x: F64, B: number, index: number): F64 {
  if (!n.transposed) return plainWeightPerSample(n, inS, outS, dy, x, B, index);
  return plainWeightPerSample(adjointConv(n), outS, inS, x, dy, B, index);
}

/** Convolution `y = conv(x, W) + b` with the node's stride, padding, dilation and groups. */
function plainForward(n: ConvNode, inS: S3, outS: S3, x: F64, p: NodeParams, B: number): F64 {
  const plane = outS[1] * outS[2];
  const y = new Float64Array(B * n.cout * plane);
  for (let s = 0; s < B; s++)
    for (let oc = 0; oc < n.cout; oc++) {
      const acc = y.subarray((s * n.cout + oc) * plane, (s * n.cout + oc + 1) * plane);
      if (p.bias) acc.fill(p.bias[oc]!);
      convAccumulate(n, inS, outS, x, p.weight!, s, oc, acc);
    }
  return y;
}

/** Conv VJP: dx = convᵀ(dy, W) (when `w` is given), dW = Σ_b dy ⋆ x (when `x` is given), db = Σ dy. */
function plainBackward(
  n: ConvNode,
  inS: S3,
  outS: S3,
  dy: F64,
  B: number,
  w: F64 | undefined,
  x: F64 | undefined,
): { dx?: F64; dw?: F64; db?: F64 } {
  const [, H, W] = inS;
  const [, OH, OW] = outS;
  const cinG = n.cin / n.groups;
  const coutG = n.cout / n.groups;
  const inPer = n.cin * H * W;
  const outPer = n.cout * OH * OW;
  const dx = w ? new Float64Array(B * inPer) : undefined;
  const a = convAxes(n);
  const dw = x ? new Float64Array(n.cout * cinG * a.kh * a.kw) : undefined;
  for (let s = 0; s < B; s++)
    for (let oc = 0; oc < n.cout; oc++) {
      const yo = s * outPer + oc * OH * OW;
      const g = Math.floor(oc / coutG);
      for (let icg = 0; icg < cinG; icg++) {
        const xo = s * inPer + (g * cinG + icg) * H * W;
        for (let kh = 0; kh < a.kh; kh++)
          for (let kw = 0; kw < a.kw; kw++) {
            const wi = ((oc * cinG + icg) * a.kh + kh) * a.kw + kw;
            const wv = w ? w[wi]! : 0;
            let acc = 0;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * a.sh - a.ph + kh * a.dh;
              if (ih < 0 || ih >= H) continue;
              for (let ow = 0; ow < OW; ow++) {
                const iw = ow * a.sw - a.pw + kw * a.dw;
                if (iw < 0 || iw >= W) continue;
                const d = dy[yo + oh * OW + ow]!;
                if (dx) dx[xo + ih * W + iw]! += wv * d;
                if (x) acc += x[xo + ih * W + iw]! * d;
              }
            }
            if (dw) dw[wi]! += acc;
          }
      }
    }
  return { dx, dw, db: n.bias ? channelSums(dy, n.cout, OH * OW, B) : undefined };
}

/**
 * Per-sample contribution to the gradient of one weight scalar of a conv node: for each sample b,
 * Σ_{oh,ow} dy_b[oc, oh, ow] · x_b[ic, ih, iw] (plus nothing else: weights enter linearly).
 */
function plainWeightPerSample(n: ConvNode, inS: S3, outS: S3, dy: F64, x: F64, B: number, index: number): F64 {
  const [, H, W] = inS;
  const [, OH, OW] = outS;
  const cinG = n.cin / n.groups;
  const a = convAxes(n);
  const kw = index % a.kw;
  const kh = Math.floor(index / a.kw) % a.kh;
  const icg = Math.floor(index / (a.kh * a.kw)) % cinG;
  const oc = Math.floor(index / (a.kh * a.kw * cinG));
  const ic = Math.floor(oc / (n.cout / n.groups)) * cinG + icg;
  const out = new Float64Array(B);
  for (let s = 0; s < B; s++) {
    let acc = 0;
    for (let oh = 0; oh < OH; oh++) {
      const ih = oh * a.sh - a.ph + kh * a.dh;
      if (ih < 0 || ih >= H) continue;
      for (let ow = 0; ow < OW; ow++) {
        const iw = ow * a.sw - a.pw + kw * a.dw;
        if (iw >= 0 && iw < W)
          acc += dy[((s * n.cout + oc) * OH + oh) * OW + ow]! * x[((s * n.cin + ic) * H + ih) * W + iw]!;
      }
    }
    out[s] = acc;
  }
  return out;
}
