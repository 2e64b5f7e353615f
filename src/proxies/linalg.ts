/**
 * Small dense linear algebra in float64 for the proxy reductions (matrices of at most a few hundred rows):
 * Pearson correlation of rows, eigenvalues of symmetric matrices (cyclic Jacobi), quantiles.
 */

/** A row-major `rows × cols` matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/**
 * Pearson correlation of the rows of `m` (`numpy.corrcoef` / `torch.corrcoef`): `rows × rows`, entries clipped to
 * [−1, 1] as torch does. A constant row has zero variance and yields NaN in its row and column, as in numpy.
 */
export function corrcoefRows(m: Matrix): Float64Array {
  const { rows: R, cols: C, data } = m;
  const centred = new Float64Array(R * C);
  const norm = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += data[r * C + c]!;
    mean /= C;
    let ss = 0;
    for (let c = 0; c < C; c++) {
      const d = data[r * C + c]! - mean;
      centred[r * C + c] = d;
      ss += d * d;
    }
    norm[r] = Math.sqrt(ss);
  }
  const out = new Float64Array(R * R);
  for (let i = 0; i < R; i++)
    for (let j = i; j < R; j++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += centred[i * C + c]! * centred[j * C + c]!;
      const v = Math.max(-1, Math.min(1, s / (norm[i]! * norm[j]!)));
      out[i * R + j] = v;
      out[j * R + i] = v;
    }
  return out;
}

/**
 * Eigenvalues of the symmetric `n × n` matrix `a` (row-major; only symmetry is assumed, not definiteness), in
 * ascending order, by cyclic Jacobi rotations. Returns NaNs when `a` holds a non-finite value.
 */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number): Float64Array {
  const m = Float64Array.from({ length: n * n }, (_, i) => a[i]!);
  if (m.some((v) => !Number.isFinite(v))) return new Float64Array(n).fill(Number.NaN);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += m[i * n + i]! ** 2;
      for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) rotate(m, n, p, q);
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = m[i * n + i]!;
  return out.sort();
}

/** One Jacobi rotation zeroing m[p][q] (and m[q][p]). */
function rotate(m: Float64Array, n: number, p: number, q: number): void {
  const apq = m[p * n + q]!;
  if (apq === 0) return;
  const app = m[p * n + p]!;
  const aqq = m[q * n + q]!;
  const theta = (aqq - app) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < n; k++) {
    const mkp = m[k * n + p]!;
    const mkq = m[k * n + q]!;
    m[k * n + p] = c * mkp - s * mkq;
    m[k * n + q] = s * mkp + c * mkq;
  }
  for (let k = 0; k < n; k++) {
    const mpk = m[p * n + k]!;
    const mqk = m[q * n + k]!;
    m[p * n + k] = c * mpk - s * mqk;
    m[q * n + k] = s * mpk + c * mqk;
  }
}

/** `aᵀ·b` for row-major `a` (rows × ca) and `b` (rows × cb): a `ca × cb` matrix. */
export function gramT(a: Float64Array, ca: number, b: Float64Array, cb: number, rows: number): Float64Array {
  const out = new Float64Array(ca * cb);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < ca; i++) {
      const v = a[r * ca + i]!;
      if (v === 0) continue;
      for (let j = 0; j < cb; j++) out[i * cb + j]! += v * b[r * cb + j]!;
    }
  return out;
}

/**
 * `aᵀ·b` over positions for batch-first channel planes: a is B × ca × hw, b is B × cb × hw (NCHW), and
 * out[i][j] = Σ_b Σ_pos a[b][i][pos]·b[b][j][pos] — {@link gramT} of the positions-by-channels views without
 * forming them (contiguous dot products, one batch block at a time). With `symmetric` (a = b) only j ≤ i is
 * summed and mirrored.
 */
export function planeGram(
  a: ArrayLike<number>,
  ca: number,
  b: ArrayLike<number>,
  cb: number,
  B: number,
  hw: number,
  symmetric = false,
): Float64Array {
  const out = new Float64Array(ca * cb);
  for (let n = 0; n < B; n++)
    for (let i = 0; i < ca; i++) {
      const ai = (n * ca + i) * hw;
      for (let j = 0; j < (symmetric ? i + 1 : cb); j++) {
        const bj = (n * cb + j) * hw;
        let acc = 0;
        for (let p = 0; p < hw; p++) acc += a[ai + p]! * b[bj + p]!;
        out[i * cb + j]! += acc;
      }
    }
  if (symmetric) for (let i = 0; i < ca; i++) for (let j = i + 1; j < cb; j++) out[i * cb + j] = out[j * cb + i]!;
  return out;
}

/** Largest singular value of the row-major `r × c` matrix `m`: sqrt of the largest eigenvalue of mᵀm. */
export function largestSingularValue(m: Float64Array, r: number, c: number): number {
  const ev = symmetricEigenvalues(gramT(m, c, m, c, r), c);
  return Math.sqrt(Math.max(0, ev[c - 1]!));
}

/** Quantile `q` ∈ [0, 1] of `v` with linear interpolation between order statistics (`torch.quantile`). */
export function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}
