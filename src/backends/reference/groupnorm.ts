/**
 * Group normalisation on the reference engine (the definition; see `GroupNormNode`): per sample, each group of
 * C/G channels is one contiguous run of m = (C/G)·H·W values in NCHW, normalised with its own mean and biased
 * variance in float64 (two passes, as BatchNorm's `bnTrainInto`), then γ, β per channel (`bnAffine`).
 *
 * With x̂ the normalised input, 1/σ = inv of its group and the cotangent of x̂ dx̂ = γ_c · dy:
 * - backward: dx = inv · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)); dγ_c = Σ dy · x̂, dβ_c = Σ dy over samples and plane;
 * - R-operator (GraSP's Hessian-vector product, γ held fixed): R(x̂) = inv · (Rx − mean(Rx) − x̂ · mean(x̂ · Rx)),
 *   R(inv) = −inv² · mean(x̂ · Rx), and R(dx) = R(inv) · h + inv · R(h) for h = dx = inv · h above.
 * Means run over the group.
 */
import type { Floats } from './loops.js';

type F64 = Float64Array;
type S3 = readonly [number, number, number];

/** The layout of a group normalisation: groups per sample, values per group, values per channel. */
interface Groups {
  readonly G: number;
  readonly m: number;
  readonly hw: number;
  readonly C: number;
}

function groupsOf([C, H, W]: S3, G: number): Groups {
  return { G, C, hw: H * W, m: (C / G) * H * W };
}

/** x̂ of every group of `x` (B samples) into `out`; the groups' 1/σ, sample-major. */
export function gnNormaliseInto(shape: S3, G: number, x: Floats, B: number, out: Floats, eps: number): F64 {
  const { m } = groupsOf(shape, G);
  const inv = new Float64Array(B * G);
  for (let g = 0; g < B * G; g++) {
    const o = g * m;
    let sum = 0;
    for (let i = 0; i < m; i++) sum += x[o + i]!;
    const mean = sum / m;
    let sq = 0;
    for (let i = 0; i < m; i++) {
      const d = x[o + i]! - mean;
      sq += d * d;
    }
    inv[g] = 1 / Math.sqrt(sq / m + eps);
    for (let i = 0; i < m; i++) out[o + i] = (x[o + i]! - mean) * inv[g]!;
  }
  return inv;
}

/** The mean over each group of a ⊙ b (b absent: of a). */
function groupMeans(a: F64, b: F64 | undefined, B: number, q: Groups): F64 {
  const out = new Float64Array(B * q.G);
  for (let g = 0; g < out.length; g++) {
    let s = 0;
    for (let i = g * q.m; i < (g + 1) * q.m; i++) s += b ? a[i]! * b[i]! : a[i]!;
    out[g] = s / q.m;
  }
  return out;
}

/** dx̂ = γ_c · dy (dy itself without γ). */
function xhatCotangent(dy: F64, gamma: F64 | undefined, q: Groups): F64 {
  if (!gamma) return dy;
  const out = new Float64Array(dy.length);
  for (let k = 0; k < dy.length; k++) out[k] = gamma[Math.floor(k / q.hw) % q.C]! * dy[k]!;
  return out;
}

/** Backward of a group normalisation with per-channel γ (absent: 1): dx, and dγ, dβ per channel. */
export function gnBackward(
  shape: S3,
  G: number,
  dy: F64,
  B: number,
  xhat: F64,
  inv: F64,
  gamma: F64 | undefined,
): { dx: F64; dgamma: F64; dbeta: F64 } {
  const q = groupsOf(shape, G);
  const dgamma = new Float64Array(q.C);
  const dbeta = new Float64Array(q.C);
  for (let k = 0; k < dy.length; k++) {
    const c = Math.floor(k / q.hw) % q.C;
    dgamma[c]! += dy[k]! * xhat[k]!;
    dbeta[c]! += dy[k]!;
  }
  const dxh = xhatCotangent(dy, gamma, q);
  const mg = groupMeans(dxh, undefined, B, q);
  const mgx = groupMeans(dxh, xhat, B, q);
  const dx = new Float64Array(dy.length);
  for (let k = 0; k < dy.length; k++) {
    const g = Math.floor(k / q.m);
    dx[k] = inv[g]! * (dxh[k]! - mg[g]! - xhat[k]! * mgx[g]!);
  }
  return { dx, dgamma, dbeta };
}

/** R(x̂) from the input's tangent Rx. */
export function gnXhatTangent(shape: S3, G: number, B: number, xhat: F64, inv: F64, rx: F64): F64 {
  const q = groupsOf(shape, G);
  const m = groupMeans(rx, undefined, B, q);
  const mx = groupMeans(xhat, rx, B, q);
  const out = new Float64Array(rx.length);
  for (let k = 0; k < rx.length; k++) {
    const g = Math.floor(k / q.m);
    out[k] = inv[g]! * (rx[k]! - m[g]! - xhat[k]! * mx[g]!);
  }
  return out;
}

/** R(dx) from the cotangent g, its tangent Rg and the input's tangent Rx (either may be absent: zero). */
export function gnCotangentTangent(
  shape: S3,
  G: number,
  B: number,
  xhat: F64,
  inv: F64,
  gamma: F64 | undefined,
  g: F64,
  rg: F64 | undefined,
  rx: F64 | undefined,
): F64 {
  const q = groupsOf(shape, G);
  const zero = new Float64Array(B * G);
  const dxh = xhatCotangent(g, gamma, q);
  const rdxh = rg ? xhatCotangent(rg, gamma, q) : undefined;
  const rxh = rx ? gnXhatTangent(shape, G, B, xhat, inv, rx) : undefined;
  const mg = groupMeans(dxh, undefined, B, q);
  const mgx = groupMeans(dxh, xhat, B, q);
  const mrg = rdxh ? groupMeans(rdxh, undefined, B, q) : zero;
  const mrgx = rdxh ? groupMeans(rdxh, xhat, B, q) : zero;
  const mgrx = rxh ? groupMeans(dxh, rxh, B, q) : zero;
  const mxr = rx ? groupMeans(xhat, rx, B, q) : zero;
  const out = new Float64Array(g.length);
  for (let k = 0; k < g.length; k++) {
    const j = Math.floor(k / q.m);
    const h = dxh[k]! - mg[j]! - xhat[k]! * mgx[j]!;
    const rh = (rdxh ? rdxh[k]! : 0) - mrg[j]! - (rxh ? rxh[k]! : 0) * mgx[j]! - xhat[k]! * (mrgx[j]! + mgrx[j]!);
    out[k] = -inv[j]! * inv[j]! * mxr[j]! * h + inv[j]! * rh;
  }
  return out;
}
