/** Wellons' lowbias32 hash: a bijection on u32 with good avalanche (the PRNG of init/prng.ts and `Rng` build on it). */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}
