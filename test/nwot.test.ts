import { describe, expect, it } from 'vitest';
import { accumulateHammingKernel, logAbsDet, packLayer } from '../src/backends/reference/nwot-kernel.js';

describe('NWOT kernel', () => {
  it('K_ij counts agreeing units (hand-checked)', () => {
    // 3 samples × 4 units: s0 = 1 0 1 1, s1 = 1 1 0 1, s2 = 0 0 0 0
    const data = Float32Array.from([1, 0, 2, 3, 4, 5, -1, 1, 0, -2, 0, -3]);
    const codes = packLayer(data, 3, 4);
    const K = new Float64Array(9);
    accumulateHammingKernel(K, codes, 1, 3, 4);
    // agreements: (0,0)=4 (0,1): units 0,3 agree → 2; (0,2): unit 1 → 1; (1,2): unit 2 → 1
    expect(Array.from(K)).toEqual([4, 2, 1, 2, 4, 1, 1, 1, 4]);
  });

  it('log|det| matches a hand-computed determinant', () => {
    // det [[4,2,1],[2,4,1],[1,1,4]] = 4(16-1) - 2(8-1) + 1(2-4) = 60 - 14 - 2 = 44
    expect(logAbsDet(Float64Array.from([4, 2, 1, 2, 4, 1, 1, 1, 4]), 3)).toBeCloseTo(Math.log(44), 12);
    expect(logAbsDet(Float64Array.from([0, 1, 1, 0]), 2)).toBeCloseTo(0, 12); // det = −1
    expect(logAbsDet(Float64Array.from([1, 2, 2, 4]), 2)).toBe(-Infinity);
  });
});
