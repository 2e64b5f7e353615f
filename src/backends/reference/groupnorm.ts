/**
 * Group normalisation on the reference engine (the definition; see `GroupNormNode`): per sample, each group of
 * C/G channels is one contiguous run of m = (C/G)·H·W values in NCHW, normalised with its own mean and biased
 * variance in float64 (two passes, as BatchNorm's `bnTrainInto`), then γ, β per channel (`bnAffine`). A pixelwise
 * node's groups are each sample's pixel's C/G channel values instead (m = C/G, H·W apart in NCHW).
 *
 * With x̂ the normalised input, 1/σ = inv of its group and the cotangent of x̂ dx̂ = γ_c · dy:
 * - backward: dx = inv · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)); dγ_c = Σ dy · x̂, dβ_c = Σ dy over samples and plane;
 * - R-operator (GraSP's Hessian-vector product, γ held fixed): R(x̂) = inv · (Rx − mean(Rx) − x̂ · mean(x̂ · Rx)),
 *   R(inv) = −inv² · mean(x̂ · Rx), and R(dx) = R(inv) · h + inv · R(h) for h = dx = inv · h above.
 * Means run over the group; every group sum adds its values in NCHW order.
 */
import type { Floats } from './loops.js';

type F64 = Float64Array;
type S3 = readonly [number, number, number];

/** What fixes a normalisation's groups (a `gn` node is one). */
export interface GnForm {
  readonly groups: number;
  readonly pixelwise?: boolean;
}

/** The layout of a group normalisation: groups per sample, values per group, values per channel, group of a value. */
interface Groups {
  readonly G: number;
  readonly m: number;
  readonly hw: number;
  readonly C: number;
  /** Groups per sample (G, or G·H·W when pixelwise). */
  readonly perSample: number;
  /** The group of value k of the batch (sample-major; within a sample group-major, then pixel). */
  readonly of: (k: number) => number;
}

function groupsOf([C, H, W]: S3, f: GnForm): Groups {
  const G = f.groups;
  const hw = H * W;
  const cg = C / G;
  if (!f.pixelwise) return { G, C, hw, m: cg * hw, perSample: G, of: (k) => Math.floor(k / (cg * hw)) };
  return { G, C, hw, m: cg, perSample: G * hw, of: (k) => Math.floor(k / (cg * hw)) * hw + (k % hw) };
}

/** The sum over each group of a ⊙ b (b absent: of a), in NCHW order. */
function groupSums(a: Floats, b: Floats | undefined, B: number, q: Groups): F64 {
  const out = new Float64Array(B * q.perSample);
  const n = B * q.C * q.hw;
  for (let k = 0; k < n; k++) out[q.of(k)]! += b ? a[k]! * b[k]! : a[k]!;
  return out;
}

/** x̂ of every group of `x` (B samples) into `out`; the groups' 1/σ, sample-major. */
export function gnNormaliseInto(shape: S3, f: GnForm, x: Floats, B: number, out: Floats, eps: number): F64 {
  const q = groupsOf(shape, f);
  const mean = groupSums(x, undefined, B, q).map((v) => v / q.m);
  const sq = new Float64Array(mean.length);
  const n = B * q.C * q.hw;
  for (let k = 0; k < n; k++) {
    const d = x[k]! - mean[q.of(k)]!;
    sq[q.of(k)]! += d * d;
  }
  const inv = sq.map((v) => 1 / Math.sqrt(v / q.m + eps));
  for (let k = 0; k < n; k++) out[k] = (x[k]! - mean[q.of(k)]!) * inv[q.of(k)]!;
  return inv;
}

/** The mean over each group of a ⊙ b (b absent: of a). */
function groupMeans(a: F64, b: F64 | undefined, B: number, q: Groups): F64 {
  return groupSums(a, b, B, q).map((v) => v / q.m);
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
  f: GnForm,
  dy: F64,
  B: number,
  xhat: F64,
  inv: F64,
  gamma: F64 | undefined,
): { dx: F64; dgamma: F64; dbeta: F64 } {
  const q = groupsOf(shape, f);
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
    const g = q.of(k);
    dx[k] = inv[g]! * (dxh[k]! - mg[g]! - xhat[k]! * mgx[g]!);
  }
  return { dx, dgamma, dbeta };
}

/** R(x̂) from the input's tangent Rx. */
export function gnXhatTangent(shape: S3, f: GnForm, B: number, xhat: F64, inv: F64, rx: F64): F64 {
  const q = groupsOf(shape, f);
  const m = groupMeans(rx, undefined, B, q);
  const mx = groupMeans(xhat, rx, B, q);
  const out = new Float64Array(rx.length);
  for (let k = 0; k < rx.length; k++) {
    const g = q.of(k);
    out[k] = inv[g]! * (rx[k]! - m[g]! - xhat[k]! * mx[g]!);
  }
  return out;
}

/** R(dx) from the cotangent g, its tangent Rg and the input's tangent Rx (either may be absent: zero). */
export function gnCotangentTangent(
  shape: S3,
  f: GnForm,
  B: number,
  xhat: F64,
  inv: F64,
  gamma: F64 | undefined,
  g: F64,
  rg: F64 | undefined,
  rx: F64 | undefined,
): F64 {
  const q = groupsOf(shape, f);
  const zero = new Float64Array(B * q.perSample);
  const dxh = xhatCotangent(g, gamma, q);
  const rdxh = rg ? xhatCotangent(rg, gamma, q) : undefined;
  const rxh = rx ? gnXhatTangent(shape, f, B, xhat, inv, rx) : undefined;
  const mg = groupMeans(dxh, undefined, B, q);
  const mgx = groupMeans(dxh, xhat, B, q);
  const mrg = rdxh ? groupMeans(rdxh, undefined, B, q) : zero;
  const mrgx = rdxh ? groupMeans(rdxh, xhat, B, q) : zero;
  const mgrx = rxh ? groupMeans(dxh, rxh, B, q) : zero;
  const mxr = rx ? groupMeans(xhat, rx, B, q) : zero;
  const out = new Float64Array(g.length);
  for (let k = 0; k < g.length; k++) {
    const j = q.of(k);
    const h = dxh[k]! - mg[j]! - xhat[k]! * mgx[j]!;
    const rh = (rdxh ? rdxh[k]! : 0) - mrg[j]! - (rxh ? rxh[k]! : 0) * mgx[j]! - xhat[k]! * (mrgx[j]! + mgrx[j]!);
    out[k] = -inv[j]! * inv[j]! * mxr[j]! * h + inv[j]! * rh;
  }
  return out;
}
