/**
 * Counter-based Gaussian generator shared by every backend.
 *
 * Every weight is a pure function of `(seed, tensor, index)`; no state is carried between draws, so the
 * TypeScript reference, the C++ addon and the CUDA kernels regenerate bit-identical float32 weights in any
 * order and on any number of threads. The definition, which `native/prng.h` reproduces line for line:
 *
 * 1. `mix32(x)` is Wellons' "lowbias32" integer hash on unsigned 32-bit words:
 *    `x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16` (multiplications mod 2^32).
 * 2. The stream key is `h = mix32(mix32(mix32(seed ^ 0x9e3779b9) ^ tensor) ^ index)`.
 * 3. Attempt `a = 0, 1, 2, …` draws two words `u = mix32(h + (2a+1)·0x9e3779b9)`, `v = mix32(h + (2a+2)·0x9e3779b9)`
 *    (sums and products mod 2^32) and maps them to doubles in (-1, 1): `x = (u + 0.5)·2^-31 − 1`, `y` likewise.
 * 4. Marsaglia's polar method: `s = x·x + y·y`; the attempt is rejected when `s ≥ 1` (≈21% of attempts).
 *    Otherwise `z = x · sqrt(−2·ln(s) / s)` and the weight is `fround(z)`.
 * 5. `ln` is {@link detLog}: only IEEE-754 double `+ − × ÷` in a fixed order (no library `log`, whose last bit
 *    differs between platforms), so every implementation that avoids fused multiply-add gets the same bits.
 *
 * Tensors are numbered by the id of the IR node that owns them; elements in PyTorch's layout order
 * (conv `[out][in/groups][kh][kw]`, linear `[out][in]`).
 */

import { mix32 } from '../util/hash.js';

export { mix32 };

const GOLDEN = 0x9e3779b9;

const LN2 = Math.LN2;
const SQRT_HALF = Math.SQRT1_2;

/**
 * Deterministic natural logarithm for 0 < s < 1 using only + − × ÷ on doubles.
 * Range reduction by exact doublings to m ∈ [√½, √2), then ln m = 2·atanh(t), t = (m−1)/(m+1), |t| < 0.1716,
 * summed as an odd series to t^27 (truncation error < 1e-21 relative).
 */
export function detLog(s: number): number {
  let e = 0;
  let m = s;
  while (m < SQRT_HALF) {
    m *= 2;
    e -= 1;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  // Horner over 1/(2k+1), k = 13 … 0
  let p = 1 / 27;
  p = p * t2 + 1 / 25;
  p = p * t2 + 1 / 23;
  p = p * t2 + 1 / 21;
  p = p * t2 + 1 / 19;
  p = p * t2 + 1 / 17;
  p = p * t2 + 1 / 15;
  p = p * t2 + 1 / 13;
  p = p * t2 + 1 / 11;
  p = p * t2 + 1 / 9;
  p = p * t2 + 1 / 7;
  p = p * t2 + 1 / 5;
  p = p * t2 + 1 / 3;
  p = p * t2 + 1;
  return 2 * t * p + e * LN2;
}

/** Key of one tensor's streams: the part of {@link streamKey} shared by all its elements (hoisted out of loops). */
export function tensorKey(seed: number, tensor: number): number {
  return mix32(mix32((seed ^ GOLDEN) >>> 0) ^ tensor);
}

/** Key of one element's stream (step 2 above). */
export function streamKey(seed: number, tensor: number, index: number): number {
  return mix32(tensorKey(seed, tensor) ^ index);
}

/** The float32 N(0,1) value for `(seed, tensor, index)`. */
export function gaussian(seed: number, tensor: number, index: number): number {
  const h = streamKey(seed, tensor, index);
  for (let a = 0; ; a++) {
    const u = mix32((h + Math.imul(2 * a + 1, GOLDEN)) >>> 0);
    const v = mix32((h + Math.imul(2 * a + 2, GOLDEN)) >>> 0);
    const x = (u + 0.5) * 4.656612873077393e-10 - 1; // 2^-31
    const y = (v + 0.5) * 4.656612873077393e-10 - 1;
    const s = x * x + y * y;
    if (s < 1) return Math.fround(x * Math.sqrt((-2 * detLog(s)) / s));
  }
}

/**
 * Fills `out` with the PRNG's N(0,1) float32 values of tensor `tensor` under `seed`, indices 0 … out.length − 1:
 * {@link fillGaussian} or a faster bit-identical generator (the native addon's `prngFill`).
 */
export type GaussianFill = (out: Float32Array, seed: number, tensor: number) => Float32Array;

/** Fill `out` with the tensor's elements `0 … out.length-1`. */
export function fillGaussian(out: Float32Array, seed: number, tensor: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = gaussian(seed, tensor, i);
  return out;
}

/** Seed of repeat `r` (0-based) derived from one user seed; repeats are independent streams. */
export function repeatSeed(userSeed: number, r: number): number {
  return mix32((mix32((userSeed ^ 0x2545f491) >>> 0) + Math.imul(r + 1, GOLDEN)) >>> 0);
}
