/**
 * Float64 forward kernels of the reference gradient path, one per IR op, with explicit parameters. They compute
 * the same functions as `forward.ts` (which stores float32 and uses the PRNG weights implicitly) through the same
 * index loops (`loops.ts`); a test keeps the two in agreement. Layouts NCHW, batch `B` first.
 */
import type { LinearNode, PoolNode, Shape, SliceNode } from '../../ir/types.js';
import type { NodeParams } from '../../grad/types.js';
import { numel } from '../../ir/analysis.js';
import { BN_EPS } from '../../ir/ops.js';
import { avgPoolInto, bnTrainInto, concatInto, forEachPoolTap, gapInto, linearInto, sliceInto } from './loops.js';

export type F64 = Float64Array;
type S3 = readonly [number, number, number];

/** Train-mode BN statistics and normalised input x̂ = (x − μ)/sqrt(σ² + ε). */
export function bnTrainNormalise(
  shape: S3,
  x: F64,
  B: number,
  eps = BN_EPS,
): { xhat: F64; mean: F64; variance: F64; inv: F64 } {
  const xhat = new Float64Array(x.length);
  return { xhat, ...bnTrainInto(shape, x, B, xhat, eps) };
}

/** Eval-mode x̂ = (x − running mean)/sqrt(running var + ε) (mean 0 / var 1 when the params carry none). */
export function bnEvalNormalise(
  shape: S3,
  x: F64,
  p: NodeParams | undefined,
  B: number,
  eps = BN_EPS,
): { xhat: F64; inv: F64 } {
  const [C, H, W] = shape;
  const hw = H * W;
  const inv = new Float64Array(C);
  const xhat = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    inv[c] = 1 / Math.sqrt((p?.runningVar?.[c] ?? 1) + eps);
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

/**
 * Average or max pooling. For max pooling also returns, per output, the input index of the first maximum in
 * window order (PyTorch's choice on ties), which routes the gradient.
 */
export function poolForward(n: PoolNode, inS: S3, outS: S3, x: F64, B: number): { y: F64; argmax?: Int32Array } {
  const y = new Float64Array(B * numel(outS));
  if (n.op !== 'maxpool') {
    avgPoolInto(n, inS, outS, x, B, y);
    return { y };
  }
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

/** y = W·x + b for a batch of flat vectors. */
export function linearForward(n: LinearNode, x: F64, p: NodeParams, B: number): F64 {
  const y = new Float64Array(B * n.fout);
  linearInto(n, x, p.weight!, p.bias ?? undefined, B, y);
  return y;
}

/** Global average pool: B×C×H×W → B×C. */
export function gapForward(inS: S3, x: F64, B: number): F64 {
  const y = new Float64Array(B * inS[0]);
  gapInto(inS, x, B, y);
  return y;
}

/** Window of the input (channels and spatial offsets). */
export function sliceForward(n: SliceNode, inS: S3, outS: S3, x: F64, B: number): F64 {
  const y = new Float64Array(B * numel(outS));
  sliceInto(n, inS, outS, x, B, y);
  return y;
}

/** Channel concatenation of per-sample blocks. */
export function concatForward(shapes: readonly Shape[], xs: readonly F64[], outPer: number, B: number): F64 {
  const y = new Float64Array(B * outPer);
  concatInto(shapes, xs, outPer, B, y);
  return y;
}
