import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detLog, fillGaussian, gaussian, mix32, repeatSeed } from '../src/index.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/prng.json', import.meta.url), 'utf8')) as {
  gaussian: { seed: number; tensor: number; index: number; bits: string }[];
  mix32: { x: number; mix32: number }[];
  repeatSeed: { seed: number; repeat: number; derived: number }[];
};

function bits(v: number): string {
  const d = new DataView(new ArrayBuffer(4));
  d.setFloat32(0, v);
  return d.getUint32(0).toString(16).padStart(8, '0');
}

describe('counter-based PRNG', () => {
  it('reproduces the pinned vector file bit for bit', () => {
    for (const c of vectors.gaussian) expect(bits(gaussian(c.seed, c.tensor, c.index))).toBe(c.bits);
    for (const c of vectors.mix32) expect(mix32(c.x)).toBe(c.mix32);
    for (const c of vectors.repeatSeed) expect(repeatSeed(c.seed, c.repeat)).toBe(c.derived);
  });

  it('depends on every key part and not on draw order', () => {
    const a = fillGaussian(new Float32Array(1000), 5, 9);
    const rev = Float32Array.from({ length: 1000 }, (_, i) => gaussian(5, 9, 999 - i)).reverse();
    expect(rev).toEqual(a);
    expect(fillGaussian(new Float32Array(1000), 6, 9)).not.toEqual(a);
    expect(fillGaussian(new Float32Array(1000), 5, 10)).not.toEqual(a);
    expect(repeatSeed(0, 0)).not.toBe(repeatSeed(0, 1));
    expect(repeatSeed(0, 0)).not.toBe(repeatSeed(1, 0));
  });

  it('is N(0,1): moments and tail mass of 200k draws', () => {
    const x = fillGaussian(new Float32Array(200_000), 1, 2);
    let m = 0;
    let v = 0;
    let k = 0;
    let tail = 0;
    for (const t of x) m += t;
    m /= x.length;
    for (const t of x) {
      v += (t - m) ** 2;
      k += (t - m) ** 4;
      if (Math.abs(t) > 1.959964) tail++;
    }
    v /= x.length;
    k /= x.length * v * v;
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.01);
    expect(Math.abs(k - 3)).toBeLessThan(0.05);
    expect(Math.abs(tail / x.length - 0.05)).toBeLessThan(0.003);
  });

  it('detLog agrees with Math.log to ~1 ulp over (0, 1)', () => {
    for (const s of [1e-19, 1e-10, 0.001, 0.1, 0.25, 0.5, 0.70710678, 0.7071068, 0.9, 0.999999, 1 - 2 ** -40]) {
      expect(Math.abs(detLog(s) - Math.log(s))).toBeLessThanOrEqual(
        4 * Number.EPSILON * Math.max(1, Math.abs(Math.log(s))),
      );
    }
  });
});
