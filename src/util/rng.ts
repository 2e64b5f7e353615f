import { mix32 } from './hash.js';

/**
 * Small seeded RNG for sampling and search decisions (not for weights). A 32-bit counter hashed with
 * {@link mix32}; the state is one integer, so it is trivially saved to and restored from a journal.
 */
export class Rng {
  private counter: number;
  constructor(seed: number, counter = 0) {
    this.counter = (mix32((seed ^ 0x6a09e667) >>> 0) + counter) >>> 0;
  }
  get state(): number {
    return this.counter;
  }
  static fromState(state: number): Rng {
    const r = new Rng(0);
    r.counter = state >>> 0;
    return r;
  }
  /** Uniform u32. */
  nextU32(): number {
    this.counter = (this.counter + 0x9e3779b9) >>> 0;
    return mix32(mix32(this.counter) ^ 0x5bd1e995);
  }
  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from empty list');
    return xs[this.int(xs.length)]!;
  }
  /** Standard normal (Box–Muller); for data batches, not weights. */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** k distinct indices from [0, n) (partial Fisher–Yates). */
  sample(n: number, k: number): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    const m = Math.min(k, n);
    for (let i = 0; i < m; i++) {
      const j = i + this.int(n - i);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx.slice(0, m);
  }
}
