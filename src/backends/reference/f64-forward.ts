/**
 * Float64 forward kernels of the reference gradient path, one per IR op, with explicit parameters. They compute
 * the same functions as `forward.ts` (which stores float32 and uses the PRNG weights implicitly); a test keeps
 * the two in agreement. Layouts NCHW, batch `B` first.
 */
import type { ConvNode, LinearNode, PoolNode, Shape, SliceNode } from '../../ir/types.js';
import type { NodeParams } from '../../grad/types.js';
import { numel } from '../../ir/analysis.js';
import { BN_EPS } from '../../ir/ops.js';

export type F64 = Float64Array;
type S3 = readonly [number, number, number];

/** Convolution `y = conv(x, W) + b` with the node's stride, padding, dilation and groups. */
export function convForward(n: ConvNode, inS: S3, outS: S3, x: F64, p: NodeParams, B: number): F64 {
  const [, H, W] = inS;
  const [, OH, OW] = outS;
  const cinG = n.cin / n.groups;
  const coutG = n.cout / n.groups;
  const w = p.weight!;
  const inPer = n.cin * H * W;
  const outPer = n.cout * OH * OW;
  const y = new Float64Array(B * outPer);
  for (let s = 0; s < B; s++)
    for (let oc = 0; oc < n.cout; oc++) {
      const yo = s * outPer + oc * OH * OW;
      const bias = p.bias ? p.bias[oc]! : 0;
      for (let i = 0; i < OH * OW; i++) y[yo + i] = bias;
      const g = Math.floor(oc / coutG);
      for (let icg = 0; icg < cinG; icg++) {
        const xo = s * inPer + (g * cinG + icg) * H * W;
        for (let kh = 0; kh < n.k; kh++)
          for (let kw = 0; kw < n.k; kw++) {
            const wv = w[((oc * cinG + icg) * n.k + kh) * n.k + kw]!;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * n.stride - n.pad + kh * n.dilation;
              if (ih < 0 || ih >= H) continue;
              for (let ow = 0; ow < OW; ow++) {
                const iw = ow * n.stride - n.pad + kw * n.dilation;
                if (iw >= 0 && iw < W) y[yo + oh * OW + ow]! += wv * x[xo + ih * W + iw]!;
              }
            }
          }
      }
    }
  return y;
}

/** Train-mode BN statistics and normalised input x̂ = (x − μ)/sqrt(σ² + ε). */
export function bnTrainNormalise(shape: S3, x: F64, B: number): { xhat: F64; mean: F64; variance: F64; inv: F64 } {
  const [C, H, W] = shape;
  const hw = H * W;
  const per = C * hw;
  const xhat = new Float64Array(x.length);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const inv = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let s = 0; s < B; s++) for (let i = 0; i < hw; i++) sum += x[s * per + c * hw + i]!;
    const m = sum / (B * hw);
    let sq = 0;
    for (let s = 0; s < B; s++)
      for (let i = 0; i < hw; i++) {
        const d = x[s * per + c * hw + i]! - m;
        sq += d * d;
      }
    mean[c] = m;
    variance[c] = sq / (B * hw);
    inv[c] = 1 / Math.sqrt(variance[c]! + BN_EPS);
    for (let s = 0; s < B; s++)
      for (let i = 0; i < hw; i++) {
        const k = s * per + c * hw + i;
        xhat[k] = (x[k]! - m) * inv[c]!;
      }
  }
  return { xhat, mean, variance, inv };
}

/** Eval-mode x̂ = (x − running mean)/sqrt(running var + ε) (mean 0 / var 1 when the params carry none). */
export function bnEvalNormalise(shape: S3, x: F64, p: NodeParams | undefined, B: number): { xhat: F64; inv: F64 } {
  const [C, H, W] = shape;
  const hw = H * W;
  const inv = new Float64Array(C);
  const xhat = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    inv[c] = 1 / Math.sqrt((p?.runningVar?.[c] ?? 1) + BN_EPS);
    const m = p?.runningMean?.[c] ?? 0;
    for (let s = 0; s < B; s++)
      for (let i = 0; i < hw; i++) {
        const k = (s * C + c) * hw + i;
        xhat[k] = (x[k]! - m) * inv[c]!;
      }
  }
  return { xhat, inv };
}

/** y = γ·x̂ + β per channel (γ = 1, β = 0 when absent). */
export function bnAffine(shape: S3, xhat: F64, p: NodeParams | undefined): F64 {
  if (!p?.gamma && !p?.beta) return xhat.slice();
  const [C, H, W] = shape;
  const hw = H * W;
  const y = new Float64Array(xhat.length);
  for (let k = 0; k < y.length; k++) {
    const c = Math.floor(k / hw) % C;
    y[k] = (p.gamma ? p.gamma[c]! : 1) * xhat[k]! + (p.beta ? p.beta[c]! : 0);
  }
  return y;
}

/** Visit every (output index, input index) pair of a pooling window that lies inside the input. */
export function forEachPoolTap(
  n: PoolNode,
  inS: S3,
  outS: S3,
  B: number,
  visit: (o: number, i: number, first: boolean) => void,
  done: (o: number, count: number) => void,
): void {
  const [C, H, W] = inS;
  const [, OH, OW] = outS;
  for (let sc = 0; sc < B * C; sc++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const o = (sc * OH + oh) * OW + ow;
        let cnt = 0;
        for (let kh = 0; kh < n.k; kh++) {
          const ih = oh * n.stride - n.pad + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < n.k; kw++) {
            const iw = ow * n.stride - n.pad + kw;
            if (iw < 0 || iw >= W) continue;
            visit(o, (sc * H + ih) * W + iw, cnt === 0);
            cnt++;
          }
        }
        done(o, cnt);
      }
}

/**
 * Average or max pooling. For max pooling also returns, per output, the input index of the first maximum in
 * window order (PyTorch's choice on ties), which routes the gradient.
 */
export function poolForward(n: PoolNode, inS: S3, outS: S3, x: F64, B: number): { y: F64; argmax?: Int32Array } {
  const y = new Float64Array(B * numel(outS));
  if (n.op === 'maxpool') {
    const argmax = new Int32Array(y.length).fill(-1);
    forEachPoolTap(
      n,
      inS,
      outS,
      B,
      (o, i, first) => {
        // Strictly greater keeps the first maximum; a NaN wins, as in PyTorch.
        if (first || x[i]! > y[o]! || Number.isNaN(x[i]!)) {
          y[o] = x[i]!;
          argmax[o] = i;
        }
      },
      () => {},
    );
    return { y, argmax };
  }
  forEachPoolTap(
    n,
    inS,
    outS,
    B,
    (o, i) => {
      y[o]! += x[i]!;
    },
    (o, cnt) => {
      y[o]! /= n.countIncludePad ? n.k * n.k : cnt;
    },
  );
  return { y };
}

/** y = W·x + b for a batch of flat vectors. */
export function linearForward(n: LinearNode, x: F64, p: NodeParams, B: number): F64 {
  const y = new Float64Array(B * n.fout);
  const w = p.weight!;
  for (let s = 0; s < B; s++)
    for (let o = 0; o < n.fout; o++) {
      let sum = p.bias ? p.bias[o]! : 0;
      for (let i = 0; i < n.fin; i++) sum += w[o * n.fin + i]! * x[s * n.fin + i]!;
      y[s * n.fout + o] = sum;
    }
  return y;
}

/** Global average pool: B×C×H×W → B×C. */
export function gapForward(inS: S3, x: F64, B: number): F64 {
  const [C, H, W] = inS;
  const hw = H * W;
  const y = new Float64Array(B * C);
  for (let sc = 0; sc < B * C; sc++) {
    let sum = 0;
    for (let i = 0; i < hw; i++) sum += x[sc * hw + i]!;
    y[sc] = sum / hw;
  }
  return y;
}

/** Index in the input of element `j` (per-sample flat index) of a slice's output. */
export function sliceSource(n: SliceNode, inS: S3, outS: S3, j: number): number {
  const [, H, W] = outS;
  const [, IH, IW] = inS;
  const c = Math.floor(j / (H * W));
  const h = Math.floor(j / W) % H;
  const w = j % W;
  return ((n.c0 + c) * IH + n.h0 + h) * IW + n.w0 + w;
}

/** Window of the input (channels and spatial offsets). */
export function sliceForward(n: SliceNode, inS: S3, outS: S3, x: F64, B: number): F64 {
  const per = numel(outS);
  const inPer = numel(inS);
  const y = new Float64Array(B * per);
  for (let j = 0; j < per; j++) {
    const src = sliceSource(n, inS, outS, j);
    for (let s = 0; s < B; s++) y[s * per + j] = x[s * inPer + src]!;
  }
  return y;
}

/** Channel concatenation of per-sample blocks. */
export function concatForward(shapes: readonly Shape[], xs: readonly F64[], outPer: number, B: number): F64 {
  const y = new Float64Array(B * outPer);
  let off = 0;
  xs.forEach((x, k) => {
    const p = numel(shapes[k]!);
    for (let s = 0; s < B; s++) y.set(x.subarray(s * p, (s + 1) * p), s * outPer + off);
    off += p;
  });
  return y;
}
