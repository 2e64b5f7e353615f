/**
 * Rank statistics: Spearman ρ (Pearson on average ranks, ties handled), Kendall τ-b (Knight's O(n log n)
 * algorithm with tie corrections), and percentile bootstrap confidence intervals.
 */

/** Average ranks (1-based); tied values share the mean of their positions. */
export function rankAverage(xs: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]!] === xs[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

/** Spearman's ρ with average ranks for ties (as scipy.stats.spearmanr). NaN when either side is constant. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  checkPaired(x, y);
  return pearson(rankAverage(x), rankAverage(y));
}

function checkPaired(x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new RangeError(`paired samples differ in length: ${x.length} vs ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!) || !Number.isFinite(y[i]!)) throw new RangeError(`non-finite value at ${i}`);
  }
}

/** Count inversions of `a` in place by merge sort (number of pairs i<j with a[i] > a[j]). */
function mergeCount(a: number[]): number {
  const n = a.length;
  let swaps = 0;
  let buf = new Array<number>(n);
  let src = a;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j]! < src[i]!) {
          buf[k++] = src[j++]!;
          swaps += mid - i;
        } else buf[k++] = src[i++]!;
      }
      while (i < mid) buf[k++] = src[i++]!;
      while (j < hi) buf[k++] = src[j++]!;
    }
    [src, buf] = [buf, src];
  }
  if (src !== a) for (let i = 0; i < n; i++) a[i] = src[i]!;
  return swaps;
}

/** Pairs tied within runs of equal values of a sorted array: Σ t(t−1)/2. */
function tiedPairs(sorted: readonly number[]): number {
  let t = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++;
    const m = j - i + 1;
    t += (m * (m - 1)) / 2;
    i = j + 1;
  }
  return t;
}

/**
 * Kendall's τ-b = (P − Q) / sqrt((n0 − n1)(n0 − n2)), n0 = n(n−1)/2, n1/n2 = pairs tied in x / in y
 * (as scipy.stats.kendalltau's default). O(n log n).
 */
export function kendallTauB(x: readonly number[], y: readonly number[]): number {
  checkPaired(x, y);
  const n = x.length;
  if (n < 2) return Number.NaN;
  const idx = x.map((_, i) => i).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  const xs = idx.map((i) => x[i]!);
  const ys = idx.map((i) => y[i]!);
  const n0 = (n * (n - 1)) / 2;
  const n1 = tiedPairs(xs);
  // pairs tied in both x and y
  let n3 = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && xs[j + 1] === xs[i] && ys[j + 1] === ys[i]) j++;
    const m = j - i + 1;
    n3 += (m * (m - 1)) / 2;
    i = j + 1;
  }
  const swaps = mergeCount(ys); // ys now sorted
  const n2 = tiedPairs(ys);
  // concordant − discordant = n0 − n1 − n2 + n3 − 2·swaps
  const num = n0 - n1 - n2 + n3 - 2 * swaps;
  const den = Math.sqrt((n0 - n1) * (n0 - n2));
  return den === 0 ? Number.NaN : num / den;
}

export interface Interval {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
}

/**
 * Percentile bootstrap CI of a paired statistic: `resamples` resamples with replacement, seeded.
 */
export function bootstrapCI(
  x: readonly number[],
  y: readonly number[],
  stat: (a: readonly number[], b: readonly number[]) => number,
  opts: { resamples?: number; level?: number; rng: { int(n: number): number } },
): Interval {
  const B = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const n = x.length;
  const vals: number[] = [];
  const a = new Array<number>(n);
  const b = new Array<number>(n);
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < n; i++) {
      const k = opts.rng.int(n);
      a[i] = x[k]!;
      b[i] = y[k]!;
    }
    const v = stat(a, b);
    if (Number.isFinite(v)) vals.push(v);
  }
  vals.sort((p, q) => p - q);
  const q = (p: number) => vals[Math.min(vals.length - 1, Math.max(0, Math.floor(p * (vals.length - 1) + 0.5)))]!;
  return { estimate: stat(x, y), low: q((1 - level) / 2), high: q(1 - (1 - level) / 2) };
}
