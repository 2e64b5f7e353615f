/**
 * Small dense linear algebra in float64 for the proxy reductions (matrices of at most a few hundred rows):
 * Pearson correlation of rows, eigenvalues of symmetric matrices (Householder + implicit QR), quantiles.
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
 * ascending order: Householder reduction to tridiagonal form, then implicit QR steps with Wilkinson shifts
 * ({@link tridiagonalEigenvalues}). Returns NaNs when `a` holds a non-finite value.
 */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    const v = a[i]!;
    if (!Number.isFinite(v)) return new Float64Array(n).fill(Number.NaN);
    m[i] = v;
  }
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  tridiagonalise(m, n, d, e);
  return tridiagonalEigenvalues(d, e).sort();
}

/**
 * Householder similarity transforms H_k = I − 2vvᵀ that zero column k below the subdiagonal, k = 0 … n−3; the
 * trailing block is updated as A ← A − 2(v wᵀ + w vᵀ), w = Av − (vᵀAv)v. Writes the diagonal to `d` and the
 * subdiagonal to `e`; `m` (row-major, symmetric) is overwritten.
 */
function tridiagonalise(m: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  const v = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += m[i * n + k]! ** 2;
    const x0 = m[(k + 1) * n + k]!;
    const alpha = -(x0 >= 0 ? 1 : -1) * Math.sqrt(norm2);
    d[k] = m[k * n + k]!;
    e[k] = alpha;
    const vnorm2 = norm2 - x0 * x0 + (x0 - alpha) ** 2;
    if (norm2 === 0 || vnorm2 === 0) {
      e[k] = x0;
      continue;
    }
    const scale = 1 / Math.sqrt(vnorm2);
    v[k + 1] = (x0 - alpha) * scale;
    for (let i = k + 2; i < n; i++) v[i] = m[i * n + k]! * scale;
    let K = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += m[i * n + j]! * v[j]!;
      w[i] = s;
      K += v[i]! * s;
    }
    for (let i = k + 1; i < n; i++) w[i]! -= K * v[i]!;
    for (let i = k + 1; i < n; i++)
      for (let j = k + 1; j < n; j++) m[i * n + j]! -= 2 * (v[i]! * w[j]! + w[i]! * v[j]!);
  }
  if (n >= 2) {
    d[n - 2] = m[(n - 2) * n + n - 2]!;
    e[n - 2] = m[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) d[n - 1] = m[(n - 1) * n + n - 1]!;
}

const EPS = 2 ** -52;

/**
 * Eigenvalues (unordered, in `d`) of the symmetric tridiagonal matrix with diagonal `d` and subdiagonal `e` (both
 * overwritten): implicit symmetric QR steps with the Wilkinson shift on the lowest unreduced block, chasing the
 * bulge with Givens rotations, until every subdiagonal entry is negligible next to its diagonal neighbours.
 */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  let hi = n - 1;
  for (let iter = 0; hi > 0 && iter < 60 * n; iter++) {
    while (hi > 0 && negligible(d, e, hi - 1)) {
      e[hi - 1] = 0;
      hi--;
    }
    if (hi === 0) break;
    let lo = hi - 1;
    while (lo > 0 && !negligible(d, e, lo - 1)) lo--;
    qrStep(d, e, lo, hi);
  }
  return d;
}

function negligible(d: Float64Array, e: Float64Array, i: number): boolean {
  const t = Math.abs(e[i]!);
  return t <= EPS * (Math.abs(d[i]!) + Math.abs(d[i + 1]!)) || t < 1e-300;
}

/** One implicit QR step with Wilkinson shift on rows lo … hi of the tridiagonal (d, e). */
function qrStep(d: Float64Array, e: Float64Array, lo: number, hi: number): void {
  const f = e[hi - 1]!;
  const dd = (d[hi - 1]! - d[hi]!) / 2;
  const mu = d[hi]! - (f * f) / (dd + (dd >= 0 ? 1 : -1) * radius(dd, f));
  let x = d[lo]! - mu;
  let z = e[lo]!;
  for (let k = lo; k < hi; k++) {
    const r = radius(x, z);
    const c = r === 0 ? 1 : x / r;
    const s = r === 0 ? 0 : -z / r;
    if (k > lo) e[k - 1] = r;
    const a = d[k]!;
    const b = d[k + 1]!;
    const g = e[k]!;
    d[k] = c * c * a - 2 * c * s * g + s * s * b;
    d[k + 1] = s * s * a + 2 * c * s * g + c * c * b;
    e[k] = c * s * (a - b) + (c * c - s * s) * g;
    if (k + 1 < hi) {
      z = -s * e[k + 1]!;
      e[k + 1] = c * e[k + 1]!;
    }
    x = e[k]!;
  }
}

/** √(x² + z²) without overflow or underflow of the squares. */
function radius(x: number, z: number): number {
  const r = Math.sqrt(x * x + z * z);
  return r > 1e-150 && r < 1e150 ? r : Math.hypot(x, z);
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
