/**
 * The (log-)softmax of B rows of K features (the `softmax` op) in float64: its value, its vector-Jacobian product,
 * and the two pieces of Pearlmutter's R-operator (the tangent forward and the tangent of the cotangent) the
 * Hessian-vector products need. With `log`, y = x − max − log Σ e^(x − max) and s = e^y is the softmax.
 */
type F64 = Float64Array;

/** y = softmax(x) (or log-softmax) row by row, with the maximum subtracted first (PyTorch's order). */
export function softmaxForward(x: ArrayLike<number>, B: number, K: number, log: boolean): F64 {
  const y = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    const o = b * K;
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, x[o + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(x[o + k]! - m);
    const lse = Math.log(sum);
    for (let k = 0; k < K; k++) y[o + k] = log ? x[o + k]! - m - lse : Math.exp(x[o + k]! - m) / sum;
  }
  return y;
}

/** Σ_k a_k·b_k of row `b` (b omitted: Σ_k a_k). */
function rowDot(a: ArrayLike<number>, b: ArrayLike<number> | undefined, o: number, K: number): number {
  let t = 0;
  for (let k = 0; k < K; k++) t += a[o + k]! * (b ? b[o + k]! : 1);
  return t;
}

/** The softmax s of row values `y` (s = y, or e^y after a log-softmax). */
function probabilities(y: F64, log: boolean): F64 {
  return log ? y.map(Math.exp) : y;
}

/** dx from dy: softmax y ⊙ (dy − ⟨dy, y⟩); log-softmax dy − s·Σ dy. */
export function softmaxBackward(y: F64, dy: F64, B: number, K: number, log: boolean): F64 {
  const s = probabilities(y, log);
  const dx = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    const o = b * K;
    const t = log ? rowDot(dy, undefined, o, K) : rowDot(dy, y, o, K);
    for (let k = 0; k < K; k++) dx[o + k] = log ? dy[o + k]! - s[o + k]! * t : y[o + k]! * (dy[o + k]! - t);
  }
  return dx;
}

/** The tangent Ry of the output along the input's tangent Rx: the Jacobian applied forward (s ⊙ (Rx − ⟨s, Rx⟩)). */
export function softmaxTangent(y: F64, rx: F64, B: number, K: number, log: boolean): F64 {
  const s = probabilities(y, log);
  const ry = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    const o = b * K;
    const t = rowDot(s, rx, o, K);
    for (let k = 0; k < K; k++) ry[o + k] = log ? rx[o + k]! - t : s[o + k]! * (rx[o + k]! - t);
  }
  return ry;
}

/**
 * R(dx): the tangent of the input's cotangent, from the cotangent g = dy, its tangent r (absent: 0) and the
 * input's tangent rx (absent: 0). Softmax: R(y ⊙ (g − ⟨g, y⟩)) = Ry ⊙ (g − ⟨g, y⟩) + y ⊙ (r − ⟨r, y⟩ − ⟨g, Ry⟩);
 * log-softmax: R(g − s·Σg) = r − Rs·Σg − s·Σr, with Rs = s ⊙ (Rx − ⟨s, Rx⟩).
 */
export function softmaxCotangentTangent(
  y: F64,
  g: F64,
  r: F64 | undefined,
  rx: F64 | undefined,
  B: number,
  K: number,
  log: boolean,
): F64 | undefined {
  if (!r && !rx) return undefined;
  const s = probabilities(y, log);
  const zero = new Float64Array(B * K);
  const rr = r ?? zero;
  const rs = rx ? softmaxTangent(s, rx, B, K, false) : zero;
  const out = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    const o = b * K;
    if (log) {
      const [sg, sr] = [rowDot(g, undefined, o, K), rowDot(rr, undefined, o, K)];
      for (let k = 0; k < K; k++) out[o + k] = rr[o + k]! - rs[o + k]! * sg - s[o + k]! * sr;
    } else {
      const [gy, ry, gRy] = [rowDot(g, y, o, K), rowDot(rr, y, o, K), rowDot(g, rs, o, K)];
      for (let k = 0; k < K; k++) out[o + k] = rs[o + k]! * (g[o + k]! - gy) + y[o + k]! * (rr[o + k]! - ry - gRy);
    }
  }
  return out;
}
