import { describe, expect, it } from 'vitest';
import { rankAverage } from '../src/stats/rank.js';
import {
  ensembleScore,
  logCdf,
  memberTerm,
  memberValueTerm,
  populationLogRank,
  referenceColumn,
} from '../src/proxies/ensemble.js';
import { Rng } from '../src/util/rng.js';

/** AZ-NAS's aggregation written out directly: Σ_k ln(r_k / N) with average ranks (scipy rankdata). */
function azAggregate(members: number[][]): number[] {
  const n = members[0]!.length;
  const out = new Array<number>(n).fill(0);
  for (const col of members) {
    const r = rankAverage(col.map((v) => (Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v)));
    for (let i = 0; i < n; i++) out[i]! += Math.log(r[i]! / n);
  }
  return out;
}

describe('data-free ensemble (log-CDF aggregation)', () => {
  const rng = new Rng(7);
  const N = 40;
  const members = Array.from({ length: 3 }, (_, k) =>
    Array.from({ length: N }, () => (k === 2 ? Math.round(rng.next() * 5) : rng.next() * 10)),
  );
  members[1]![3] = Number.NaN;
  members[0]![5] = Number.NEGATIVE_INFINITY;

  it('with the population as reference it orders networks exactly as AZ-NAS (ties and failures included)', () => {
    const ours = populationLogRank(members);
    const az = azAggregate(members);
    // Each member's term differs by the constant ln(N/(N+1)) (ties counted alike), so the sums differ by a constant.
    const shift = ours[0]! - az[0]!;
    for (let i = 0; i < N; i++) expect(ours[i]! - az[i]!).toBeCloseTo(shift, 12);
  });

  it('against a fixed reference set a network scores the same whatever population it is in', () => {
    const rule = { name: 't', members: ['a', 'b'], description: '' };
    const reference = { a: referenceColumn(members[0]!), b: referenceColumn(members[1]!) };
    const net = { a: 4.2, b: 7.7 };
    const alone = ensembleScore(rule, net, reference);
    expect(ensembleScore(rule, { ...net }, reference)).toBe(alone);
    // A higher value of one member never lowers the fitness; a failed member counts as the lowest value.
    expect(ensembleScore(rule, { a: 9.9, b: 7.7 }, reference)).toBeGreaterThanOrEqual(alone);
    expect(ensembleScore(rule, { a: null, b: 7.7 }, reference)).toBeLessThan(alone);
    expect(logCdf(reference.a, Number.POSITIVE_INFINITY)).toBeGreaterThan(logCdf(reference.a, 1e9 - 1) - 1e-12);
    expect(logCdf([], 3)).toBeCloseTo(Math.log(0.5), 12);
    expect(logCdf(reference.a, Number.NaN)).toBe(logCdf(reference.a, Number.NEGATIVE_INFINITY));
    // Weights scale each member's ln F̂; between and beyond reference values the CDF keeps ordering networks.
    const weighted = { ...rule, weights: [1, 0.3] };
    expect(ensembleScore(weighted, net, reference)).toBeCloseTo(
      logCdf(reference.a, 4.2) + 0.3 * logCdf(reference.b, 7.7),
      12,
    );
    const top = Math.max(...members[0]!.filter(Number.isFinite));
    expect(logCdf(reference.a, top + 1)).toBeGreaterThan(logCdf(reference.a, top));
    expect(logCdf(reference.a, top + 2)).toBeGreaterThan(logCdf(reference.a, top + 1));
    expect(logCdf(reference.a, top + 2)).toBeLessThan(0);
  });

  it("an `upper` member adds −ln(1 − F̂): it promotes a member's top networks, stays finite and orders like ln F̂", () => {
    const reference = { a: referenceColumn(members[0]!), b: referenceColumn(members[1]!) };
    const lf = logCdf(reference.b, 7.7);
    expect(memberTerm('upper', lf)).toBeCloseTo(-Math.log(1 - Math.exp(lf)), 12);
    expect(memberTerm('log', lf)).toBe(lf);
    expect(memberTerm(undefined, lf)).toBe(lf);
    // F̂ = 1 gives a large but finite term.
    expect(memberTerm('upper', 0)).toBeGreaterThan(700);
    // Above the reference's maximum the upper form saturates at the maximum (no tail extrapolation); log keeps rising.
    const max = reference.b[reference.b.length - 1]!;
    expect(memberValueTerm('upper', reference.b, max + 5)).toBe(memberValueTerm('upper', reference.b, max));
    expect(memberValueTerm('upper', reference.b, 1e300)).toBe(memberValueTerm('upper', reference.b, max));
    expect(memberValueTerm('log', reference.b, max + 5)).toBeGreaterThan(memberValueTerm('log', reference.b, max));
    expect(memberValueTerm('upper', reference.b, 7.7)).toBe(memberTerm('upper', lf));
    const rule = {
      name: 'u',
      members: ['a', 'b'],
      weights: [1, 0.5],
      forms: ['log', 'upper'] as const,
      description: '',
    };
    const net = { a: 4.2, b: 7.7 };
    expect(ensembleScore(rule, net, reference)).toBeCloseTo(
      logCdf(reference.a, 4.2) + 0.5 * -Math.log(-Math.expm1(lf)),
      12,
    );
    // Monotone in the member like the log form, but the gain is concentrated at the top of b's range: moving b from
    // its median to its 90th percentile gains more in the upper form than moving it from the 10th to the median.
    const q = (p: number) => reference.b[Math.floor(p * (reference.b.length - 1))]!;
    const gain = (form: 'log' | 'upper', lo: number, hi: number) =>
      memberTerm(form, logCdf(reference.b, hi)) - memberTerm(form, logCdf(reference.b, lo));
    expect(gain('upper', q(0.5), q(0.9))).toBeGreaterThan(gain('upper', q(0.1), q(0.5)));
    expect(gain('log', q(0.5), q(0.9))).toBeLessThan(gain('log', q(0.1), q(0.5)));
    // populationLogRank applies the same forms.
    const pop = populationLogRank([members[0]!, members[1]!], [1, 0.5], ['log', 'upper']);
    const ra = referenceColumn(members[0]!);
    const rb = referenceColumn(members[1]!);
    for (const i of [0, 7, 20])
      expect(pop[i]).toBeCloseTo(
        logCdf(ra, members[0]![i]!) + 0.5 * memberTerm('upper', logCdf(rb, members[1]![i]!)),
        12,
      );
  });
});
