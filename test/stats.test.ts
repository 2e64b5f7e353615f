import { describe, expect, it } from 'vitest';
import { bootstrapCI, kendallTauB, rankAverage, spearman } from '../src/stats/rank.js';
import { Rng } from '../src/util/rng.js';

/** O(n²) τ-b straight from the definition, for cross-checking. */
function tauBSlow(x: number[], y: number[]): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const sx = Math.sign(x[i]! - x[j]!);
      const sy = Math.sign(y[i]! - y[j]!);
      if (sx === 0 && sy === 0) continue;
      if (sx === 0) tx++;
      else if (sy === 0) ty++;
      else if (sx === sy) c++;
      else d++;
    }
  }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

describe('rank statistics', () => {
  it('average ranks share ties', () => {
    expect(rankAverage([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it('Kendall τ-b matches hand-computed values', () => {
    // x = 1,2,3,4,5; y = 3,1,2,5,4: pairs (10): concordant 7, discordant 3 → τ = 4/10
    expect(kendallTauB([1, 2, 3, 4, 5], [3, 1, 2, 5, 4])).toBeCloseTo(0.4, 12);
    // with ties: x = 1,1,2,3; y = 1,2,2,3. Pairs: (1,2) tied in x only; (1,3) C; (1,4) C; (2,3) tied in y only;
    // (2,4) C; (3,4) C → P=4, Q=0, n0=6, n1=1, n2=1 → τ-b = 4/sqrt(5·5) = 0.8
    expect(kendallTauB([1, 1, 2, 3], [1, 2, 2, 3])).toBeCloseTo(0.8, 12);
    // perfect reversal
    expect(kendallTauB([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // a pair tied in both counts in neither: x=1,1,2 y=5,5,6 → P=2, n0=3, n1=n2=1 → 2/2 = 1
    expect(kendallTauB([1, 1, 2], [5, 5, 6])).toBeCloseTo(1, 12);
  });

  it('Kendall τ-b (O(n log n)) equals the O(n²) definition on random tied data', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 30; t++) {
      const n = 2 + rng.int(60);
      const x = Array.from({ length: n }, () => rng.int(6));
      const y = Array.from({ length: n }, () => rng.int(6));
      const slow = tauBSlow(x, y);
      if (Number.isNaN(slow)) continue;
      expect(kendallTauB(x, y)).toBeCloseTo(slow, 12);
    }
  });

  it('Spearman ρ matches a hand-computed value', () => {
    // ranks x: 1..5, y: 3,1,2,5,4 → d² = 4+1+1+1+1 = 8 → ρ = 1 − 6·8/(5·24) = 0.6
    expect(spearman([1, 2, 3, 4, 5], [3, 1, 2, 5, 4])).toBeCloseTo(0.6, 12);
    expect(spearman([1, 2, 3], [1, 1, 1])).toBeNaN();
  });

  it('bootstrap CI brackets the estimate and is reproducible', () => {
    const rng = new Rng(2);
    const x = Array.from({ length: 200 }, () => rng.next());
    const y = x.map((v) => v + 0.3 * rng.next());
    const a = bootstrapCI(x, y, spearman, { resamples: 300, rng: new Rng(9) });
    const b = bootstrapCI(x, y, spearman, { resamples: 300, rng: new Rng(9) });
    expect(a).toEqual(b);
    expect(a.low).toBeLessThanOrEqual(a.estimate);
    expect(a.high).toBeGreaterThanOrEqual(a.estimate);
    expect(a.high - a.low).toBeGreaterThan(0);
    expect(a.high - a.low).toBeLessThan(0.2);
  });
});
