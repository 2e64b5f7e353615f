/**
 * The proxies' symmetric eigensolver (Householder tridiagonalisation + implicit QR, src/proxies/linalg.ts) recovers
 * known spectra — distinct, repeated, zero and negative eigenvalues, sizes 1 to 128 — and refuses non-finite input.
 */
import { describe, expect, it } from 'vitest';
import { symmetricEigenvalues } from '../src/proxies/linalg.js';
import { Rng } from '../src/util/rng.js';

/** Q·diag(λ)·Qᵀ for a random orthogonal Q (a product of Householder reflections). */
function withSpectrum(lambda: readonly number[], rng: Rng): Float64Array {
  const n = lambda.length;
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let r = 0; r < 3; r++) {
    const v = Float64Array.from({ length: n }, () => rng.next() - 0.5);
    const vv = v.reduce((a, x) => a + x * x, 0);
    for (let row = 0; row < n; row++) {
      let d = 0;
      for (let j = 0; j < n; j++) d += q[row * n + j]! * v[j]!;
      for (let j = 0; j < n; j++) q[row * n + j]! -= (2 * d * v[j]!) / vv;
    }
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k]! * lambda[k]! * q[j * n + k]!;
      a[i * n + j] = s;
    }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i]!;
  return a;
}

describe('symmetricEigenvalues', () => {
  const rng = new Rng(11);
  it.each([1, 2, 3, 7, 32, 128])('recovers a random spectrum of size %i, ascending', (n) => {
    const lambda = Array.from({ length: n }, () => (rng.next() - 0.3) * 10);
    const got = symmetricEigenvalues(withSpectrum(lambda, rng), n);
    const want = [...lambda].sort((a, b) => a - b);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-12 * 10 * n));
  });
  it('recovers repeated and zero eigenvalues (a rank-2 correlation-like matrix)', () => {
    const lambda = [0, 0, 0, 0, 3, 3, 1e-9, 2];
    const got = symmetricEigenvalues(withSpectrum(lambda, rng), lambda.length);
    const want = [...lambda].sort((a, b) => a - b);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-13));
  });
  it('gives the diagonal of a diagonal matrix exactly, and NaN for non-finite input', () => {
    expect([...symmetricEigenvalues([3, 0, 0, 0, -1, 0, 0, 0, 2], 3)]).toEqual([-1, 2, 3]);
    expect([...symmetricEigenvalues([1, Number.NaN, Number.NaN, 1], 2)].every(Number.isNaN)).toBe(true);
  });
});
