/**
 * NWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021): with c_i ∈ {0,1}^V the
 * standard activation code of sample i over all recorded ReLUs, K_ij = #units where c_i and c_j agree
 * = V − Hamming(c_i, c_j), and the score is log|det K|.
 *
 * K is accumulated from the same per-neuron sample-wise patterns that SWAP counts: neuron with pattern p adds 1
 * to K_ij whenever bits i and j of p are equal.
 */

/** Accumulate K (S×S, row-major) from per-neuron patterns (`words` u32 words per neuron, S bits used). */
export function accumulateHammingKernel(
  K: Float64Array,
  codes: Uint32Array,
  words: number,
  S: number,
  neurons: number,
): void {
  const bit = (n: number, s: number) => (codes[n * words + (s >>> 5)]! >>> (s & 31)) & 1;
  for (let n = 0; n < neurons; n++) {
    for (let i = 0; i < S; i++) {
      const bi = bit(n, i);
      for (let j = i; j < S; j++) {
        if (bi === bit(n, j)) {
          K[i * S + j]! += 1;
          if (j !== i) K[j * S + i]! += 1;
        }
      }
    }
  }
}

/** log|det A| of a square matrix (row-major, copied) by LU with partial pivoting; −Infinity when singular. */
export function logAbsDet(A: Float64Array, n: number): number {
  const a = Float64Array.from(A);
  let logdet = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]!) > Math.abs(a[p * n + k]!)) p = i;
    const piv = a[p * n + k]!;
    if (piv === 0) return -Infinity;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j]!;
        a[k * n + j] = a[p * n + j]!;
        a[p * n + j] = t;
      }
    }
    logdet += Math.log(Math.abs(piv));
    for (let i = k + 1; i < n; i++) {
      const f = a[i * n + k]! / piv;
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) a[i * n + j]! -= f * a[k * n + j]!;
    }
  }
  return logdet;
}

/** Pack a recorded layer (S × perSample values, sample-major) into per-neuron patterns. */
export function packLayer(data: Float32Array, S: number, perSample: number): Uint32Array {
  const words = Math.ceil(S / 32);
  const codes = new Uint32Array(perSample * words);
  for (let s = 0; s < S; s++) {
    const w = s >>> 5;
    const m = 1 << (s & 31);
    for (let j = 0; j < perSample; j++) if (data[s * perSample + j]! > 0) codes[j * words + w]! |= m;
  }
  return codes;
}
