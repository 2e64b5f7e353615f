/**
 * Exact distinct-pattern counting for recorded ReLU outputs (the SWAP-Score Ψ), in plain TypeScript.
 *
 * Neuron j of a layer holds S values (one per sample, sample-major layout `data[s * perSample + j]`); its
 * pattern is the S-bit word whose bit s is 1 when the value is > 0 (NaN and ±0 give 0, as `sign() > 0` in
 * the official code). Patterns are packed into `ceil(S/32)` u32 words and counted distinct exactly:
 * a 2^S bitmap for S ≤ 20, otherwise an open-addressing hash set over a flat Uint32Array (any S).
 *
 * This is the one entry point ({@link countDistinctPatterns}) a native counter may later replace.
 */

const CHUNK = 4096;

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Open-addressing hash set of fixed-width multi-word keys. */
class WordSet {
  private keys: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;

  constructor(
    private readonly W: number,
    capacity = 1 << 12,
  ) {
    this.keys = new Uint32Array(capacity * W);
    this.used = new Uint8Array(capacity);
    this.mask = capacity - 1;
  }

  private hash(src: Uint32Array, off: number): number {
    let h = 0x9e3779b9;
    for (let k = 0; k < this.W; k++) h = mix32((h ^ src[off + k]!) >>> 0);
    return h;
  }

  add(src: Uint32Array, off: number): void {
    const W = this.W;
    let i = this.hash(src, off) & this.mask;
    for (;;) {
      if (!this.used[i]) {
        this.used[i] = 1;
        for (let k = 0; k < W; k++) this.keys[i * W + k] = src[off + k]!;
        if (++this.size * 2 > this.used.length) this.grow();
        return;
      }
      let same = true;
      for (let k = 0; k < W; k++) {
        if (this.keys[i * W + k] !== src[off + k]) {
          same = false;
          break;
        }
      }
      if (same) return;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldUsed = this.used;
    const cap = oldUsed.length * 2;
    this.keys = new Uint32Array(cap * this.W);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < oldUsed.length; i++) if (oldUsed[i]) this.add(oldKeys, i * this.W);
  }
}

/**
 * Ψ over several recorded layers: `layers[l]` holds `S × perSample[l]` values (sample-major). Returns the
 * number of distinct sample-wise patterns over all neurons of all layers.
 */
export function countDistinctPatterns(
  layers: readonly Float32Array[],
  perSample: readonly number[],
  S: number,
): number {
  if (layers.length !== perSample.length)
    throw new RangeError(`countDistinctPatterns: ${layers.length} layers but ${perSample.length} sizes`);
  if (!Number.isInteger(S) || S < 1) throw new RangeError(`countDistinctPatterns: bad sample count ${S}`);
  layers.forEach((d, l) => {
    if (d.length !== S * perSample[l]!)
      throw new RangeError(`countDistinctPatterns: layer ${l} has ${d.length} values, expected ${S} × ${perSample[l]}`);
  });
  const W = (S + 31) >>> 5;
  const bitmap = S <= 20 ? new Uint32Array(Math.max(1, (1 << S) >>> 5)) : undefined;
  const set = bitmap ? undefined : new WordSet(W);
  let distinct = 0;
  const codes = new Uint32Array(CHUNK * W);
  for (let l = 0; l < layers.length; l++) {
    const data = layers[l]!;
    const per = perSample[l]!;
    for (let j0 = 0; j0 < per; j0 += CHUNK) {
      const n = Math.min(CHUNK, per - j0);
      codes.fill(0, 0, n * W);
      for (let s = 0; s < S; s++) {
        const bit = (1 << (s & 31)) >>> 0;
        const word = s >>> 5;
        const base = s * per + j0;
        if (W === 1) {
          for (let j = 0; j < n; j++) if (data[base + j]! > 0) codes[j] = (codes[j]! | bit) >>> 0;
        } else {
          for (let j = 0; j < n; j++) if (data[base + j]! > 0) codes[j * W + word] = (codes[j * W + word]! | bit) >>> 0;
        }
      }
      if (bitmap) {
        for (let j = 0; j < n; j++) {
          const c = codes[j]!;
          const m = (1 << (c & 31)) >>> 0;
          const w = bitmap[c >>> 5]!;
          if ((w & m) === 0) {
            bitmap[c >>> 5] = (w | m) >>> 0;
            distinct++;
          }
        }
      } else {
        for (let j = 0; j < n; j++) set!.add(codes, j * W);
      }
    }
  }
  return bitmap ? distinct : set!.size;
}
