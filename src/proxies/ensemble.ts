/**
 * Data-free ensembles of zero-cost proxies: each member's value is placed in the empirical distribution of that
 * member over a fixed reference set of architectures (scored once per settings, no accuracy used), and the
 * network's fitness is Σ_m ln F̂_m(v_m) — the non-linear rank aggregation of AZ-NAS, made independent of the
 * population a network happens to be ranked in (with the population itself as the reference set it orders
 * networks exactly as AZ-NAS's Σ ln(rank/N) does). Members and their directions come from the proxy plug-ins.
 */

/** One member's reference values, sorted ascending (a failed value — null or NaN — is kept as −∞). */
export type ReferenceColumn = readonly number[];

/** A failed value (missing, NaN) ranks lowest, as AZ-NAS turns NaN into −∞. */
function orLowest(v: number | null | undefined): number {
  return v === null || v === undefined || Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v;
}

/** Sort a member's values over the reference set (the column {@link logCdf} looks values up in). */
export function referenceColumn(values: readonly (number | null)[]): ReferenceColumn {
  return values.map(orLowest).sort((a, b) => a - b);
}

/** Number of entries of the sorted column below `v` (lower bound) and at most `v` (upper bound). */
function bounds(col: ReferenceColumn, v: number): [number, number] {
  let lo = 0;
  let hi = col.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (col[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  let up = lo;
  hi = col.length;
  while (up < hi) {
    const mid = (up + hi) >> 1;
    if (col[mid]! <= v) up = mid + 1;
    else hi = mid;
  }
  return [lo, up];
}

/** The mid-rank CDF of a value whose [lo, up) bounds in a column of n are known, shrunk into (0, 1). */
function midRank(lo: number, up: number, n: number): number {
  return (lo + (up - lo) / 2 + 0.5) / (n + 1);
}

/** The mid-rank CDF at the column's entry `i` (a knot of the interpolated CDF). */
function knot(col: ReferenceColumn, i: number): number {
  const [lo, up] = bounds(col, col[i]!);
  return midRank(lo, up, col.length);
}

/**
 * Scale of an exponential tail beyond the column's end: the mean gap over the last (up to) 8 finite values at that
 * end, so the tail continues the reference set's spacing; 1 when they are all equal.
 */
function tailScale(col: ReferenceColumn, first: number, upper: boolean): number {
  const finite = col.length - first;
  const k = Math.min(8, finite - 1);
  const gap = upper ? (col[col.length - 1]! - col[col.length - 1 - k]!) / k : (col[first + k]! - col[first]!) / k;
  return k > 0 && Number.isFinite(gap) && gap > 0 ? gap : 1;
}

/**
 * ln F̂(v): the mid-rank empirical CDF of `v` in the reference column, shrunk into (0, 1) as (below + ties/2 + ½)/(n + 1)
 * so that no value gets ln 0. A missing value or NaN (a proxy that failed on this network) counts as −∞, the lowest.
 * Between reference values the CDF is interpolated linearly, and beyond the extremes it continues with exponential
 * tails at the spacing of the extreme values, so networks better (or worse) than every reference network still
 * rank among themselves instead of tying; at reference values it is exactly the mid-rank CDF.
 */
export function logCdf(col: ReferenceColumn, v: number | null): number {
  const n = col.length;
  const x = orLowest(v);
  const [lo, up] = bounds(col, x);
  const first = bounds(col, Number.NEGATIVE_INFINITY)[1]; // index of the first finite value
  if (up > lo || x === Number.NEGATIVE_INFINITY || first === n) return Math.log(midRank(lo, up, n));
  if (lo === n) {
    const rest = 1 - knot(col, n - 1);
    return Math.log1p(-rest * Math.exp(-(x - col[n - 1]!) / tailScale(col, first, true)));
  }
  if (lo === first) {
    const floor = first > 0 ? knot(col, 0) : 0; // the failed reference values' CDF, or 0
    const decay = -(col[first]! - x) / tailScale(col, first, false);
    return first > 0
      ? Math.log(floor + (knot(col, first) - floor) * Math.exp(decay))
      : Math.log(knot(col, first)) + decay;
  }
  const a = col[lo - 1]!;
  const b = col[lo]!;
  const fa = knot(col, lo - 1);
  return Math.log(fa + ((knot(col, lo) - fa) * (x - a)) / (b - a));
}

/**
 * How a member's CDF enters the fitness: `log` adds ln F̂ (AZ-NAS's term: steep for low values, so a member mostly
 * vetoes networks it ranks low); `upper` adds −ln(1 − F̂) (steep for high values, so a member mostly promotes the
 * networks it ranks highest and leaves the rest of the order to the other members).
 */
export type MemberForm = 'log' | 'upper';

/** A named ensemble: its members (proxy names, each ranked "higher is better") and how their CDFs combine. */
export interface EnsembleRule {
  readonly name: string;
  /** One proxy name per term; a proxy may appear more than once (e.g. in both forms): see {@link memberNames}. */
  readonly members: readonly string[];
  /** Weight of each member's term (default 1 each: AZ-NAS's plain sum). */
  readonly weights?: readonly number[];
  /** Form of each member's term (default `log` each). */
  readonly forms?: readonly MemberForm[];
  /** One line for reports. */
  readonly description: string;
}

/**
 * A member's term from its ln F̂: ln F̂ itself, or −ln(1 − F̂) for `upper` (1 − F̂ floored at the smallest double, so
 * the term stays finite).
 */
export function memberTerm(form: MemberForm | undefined, logF: number): number {
  return form === 'upper' ? -Math.log(Math.max(-Math.expm1(logF), Number.MIN_VALUE)) : logF;
}

/**
 * A member's term for one value against its reference column. In the `upper` form a value above the whole reference
 * set counts as the reference's top value: the reference says nothing about ranks beyond its maximum, and the tail's
 * extrapolation there would let the member's raw magnitude, not its rank, decide the very top (with NB201's 256-cell
 * reference the uncapped term promoted outliers of plain: top-1 92.77 vs 94.30 capped, docs/ensemble-study.md).
 */
export function memberValueTerm(form: MemberForm | undefined, col: ReferenceColumn, v: number | null): number {
  const top = col[col.length - 1];
  const x = form === 'upper' && v !== null && top !== undefined && v > top ? top : v;
  return memberTerm(form, logCdf(col, x));
}

/**
 * A member's weighted term. A `log` term with a negative weight counts a finite value below the whole reference set
 * as the reference's lowest finite value: its lower tail is extrapolated without bound, which a negative weight would
 * turn into an unbounded reward for being worse than every reference network. A failed value (null or NaN) gives the
 * member's worst term, the lower of its weighted terms at the bottom (a failed rank) and at the top of the reference
 * set: with a positive weight that is the failed rank, as in AZ-NAS; with a negative weight it is the top, so a proxy
 * that failed never raises a network's fitness.
 */
export function weightedTerm(w: number, form: MemberForm | undefined, col: ReferenceColumn, v: number | null): number {
  if (v === null || Number.isNaN(v)) {
    const failed = w * memberValueTerm(form, col, null);
    const top = col[col.length - 1];
    return top === undefined ? failed : Math.min(failed, w * memberValueTerm(form, col, top));
  }
  if (w < 0 && form !== 'upper' && Number.isFinite(v)) {
    const low = col.find((x) => Number.isFinite(x));
    if (low !== undefined && v < low) return w * memberValueTerm(form, col, low);
  }
  return w * memberValueTerm(form, col, v);
}

/**
 * The distinct proxies a rule reads, in first-appearance order: what is measured, cached in its reference set and
 * reported per network (a member may enter a rule twice, e.g. in both forms).
 */
export function memberNames(rule: EnsembleRule): readonly string[] {
  return [...new Set(rule.members)];
}

/** How a rule is written in results' settings: its name, members, weights (1 each by default) and forms where set. */
export function ruleSettings(rule: EnsembleRule): {
  rule: string;
  members: readonly string[];
  weights: readonly number[];
  forms?: readonly MemberForm[];
} {
  return {
    rule: rule.name,
    members: rule.members,
    weights: rule.weights ?? rule.members.map(() => 1),
    ...(rule.forms ? { forms: rule.forms } : {}),
  };
}

/** The ensemble fitness of one network: Σ over members of w_m · term_m(ln F̂_m(value)) ({@link weightedTerm}). */
export function ensembleScore(
  rule: EnsembleRule,
  values: Readonly<Record<string, number | null | undefined>>,
  reference: Readonly<Record<string, ReferenceColumn>>,
): number {
  let s = 0;
  rule.members.forEach((m, i) => {
    s += weightedTerm(rule.weights?.[i] ?? 1, rule.forms?.[i], reference[m] ?? [], values[m] ?? null);
  });
  return s;
}

/**
 * AZ-NAS's aggregation over a population (cvlab-yonsei/AZ-NAS): each member ranked ascending among the population
 * (average ranks r for ties), fitness Σ_m ln(r_m / N). Here each term is ln(r_m / (N + 1)), which differs by the
 * constant ln(N / (N + 1)) per member and so orders networks identically. Population-relative: a network's value
 * depends on the others.
 */
export function populationLogRank(
  members: readonly (readonly (number | null)[])[],
  weights?: readonly number[],
  forms?: readonly MemberForm[],
): number[] {
  const n = members[0]?.length ?? 0;
  const out = new Array<number>(n).fill(0);
  members.forEach((col, k) => {
    const ref = referenceColumn(col);
    const w = weights?.[k] ?? 1;
    for (let i = 0; i < n; i++) out[i]! += weightedTerm(w, forms?.[k], ref, col[i] ?? null);
  });
  return out;
}

/** AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity, trainability and complexity (FLOPs). */
export const AZ_NAS_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'az-nas',
  members: ['az_expressivity', 'az_progressivity', 'az_trainability', 'flops'],
  description: "AZ-NAS's rank aggregation of its four components (E + P + T + FLOPs)",
});

/** VKDNW_agg (Tybl & Neumann, CVPR 2025): AZ-NAS's four components plus the VKDNW entropy. */
export const VKDNW_AGG_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'vkdnw-agg',
  members: ['flops', 'az_expressivity', 'az_progressivity', 'az_trainability', 'vkdnw'],
  description: "VKDNW_agg: AZ-NAS's components and VKDNW, rank-aggregated",
});

/** The published aggregations reimplemented here, reported beside their members where all are measured. */
export function publishedEnsembles(): EnsembleRule[] {
  return [AZ_NAS_ENSEMBLE, VKDNW_AGG_ENSEMBLE];
}

/**
 * The first stage of docs/ensemble-study.md on NB201 sample A only (greedy forward selection over every suite proxy,
 * SWAP and reg-SWAP, all under the SWAP protocol): reg-SWAP and MeCo. Both are forward-only.
 */
export const REG_SWAP_MECO_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'reg-swap+meco',
  members: ['reg-swap', 'meco'],
  description: 'log-CDF aggregation of reg-SWAP and MeCo (chosen on NB201 sample A)',
});

/**
 * `--fitness ensemble-top` (docs/ensemble-study.md, "A rule for the top of the ranking"): the label-free ensemble plus
 * 0.1 × −ln(1 − F̂) of `plain` (Σ weight × loss gradient, one backward pass with the batch's labels), chosen on NB201
 * sample A by the mean test accuracy of the top-1 and top-3 cells within 0.005 of the default's mean ρ. The upper
 * form lets `plain` promote only the networks it ranks highest, so the rest of the order stays the default's.
 */
export const UPPER_PLAIN_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'reg-swap+meco+0.3t+0.1plain-upper',
  members: ['reg-swap', 'meco', 'az_trainability', 'plain'],
  weights: [1, 1, 0.3, 0.1],
  forms: ['log', 'log', 'log', 'upper'] as const,
  description:
    'the label-free ensemble + 0.1 × −ln(1 − F̂) of plain (chosen on NB201 sample A for the quality of its top cells)',
});

/**
 * The label-free ensemble of `--fitness ensemble` (docs/ensemble-study.md, chosen on NB201 sample A only): reg-SWAP
 * and MeCo, then AZ-NAS's trainability at weight 0.3 — the best weighted addition to the pair on A (a gradient-flow
 * signal that demotes deep cells without skip connections); no further member gains ≥ 0.005 mean ρ on A. The default
 * fitness on images without class labels (the default itself, `ensemble-fit`, reads them).
 */
export const LABEL_FREE_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'reg-swap+meco+0.3t',
  members: ['reg-swap', 'meco', 'az_trainability'],
  weights: [1, 1, 0.3],
  description: 'ln F̂ of reg-SWAP + ln F̂ of MeCo + 0.3 ln F̂ of AZ-NAS trainability (chosen on NB201 sample A)',
});
