import { describe, expect, it } from 'vitest';
import { loadAddon } from '../src/native/loader.js';

describe('native weight gradient: vectorised lane sums', () => {
  it('sum every accumulator bit for bit as the scalar loop they replace (AVX-512: 16 at once; AVX2: 8)', () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
    const { simd, vectorBits } = load.addon.buildInfo();
    const tiles = 4000;
    const r = load.addon.laneSumCheck(7, tiles);
    // the vector path exists on x86 builds with AVX2; others sum lanes in the scalar loop only, and compare nothing
    const vector = /avx/.test(simd);
    const width = vectorBits / 32;
    // every build sums 16 float lanes per accumulator (one AVX-512 vector, two AVX2 vectors), so all give one value
    expect(r).toEqual({
      accumulators: vector ? (width === 16 ? 16 : 8) : 0,
      lanes: 16,
      compared: vector ? tiles * (width === 16 ? 16 : 8) : 0,
      mismatches: 0,
    });
    // another seed, other values: still exact
    expect(load.addon.laneSumCheck(12345, 500).mismatches).toBe(0);
  });
});
