import { Rng } from '../util/rng.js';
import { bootstrapCI, kendallTauB, spearman, type Interval } from '../stats/rank.js';

/** Correlation of one metric with the ground truth over the rows where the metric is defined. */
export interface CorrelationRow {
  readonly metric: string;
  /** Rows used (finite metric values). */
  readonly n: number;
  /** Rows dropped because the metric was missing or not finite (e.g. an external proxy's sentinel). */
  readonly dropped: number;
  readonly spearman: Interval;
  readonly kendall: Interval;
  /** "in-house" (computed here on the same networks/inputs) or "external" (read from a published table). */
  readonly origin: 'in-house' | 'external';
}

/**
 * Spearman ρ and Kendall τ-b of `metric` against `truth`, with percentile-bootstrap 95% CIs (seeded).
 * Non-finite metric values are dropped and counted, never silently.
 */
export function correlate(
  metric: string,
  values: readonly (number | undefined)[],
  truth: readonly number[],
  origin: 'in-house' | 'external',
  opts: { resamples?: number; seed?: number } = {},
): CorrelationRow {
  const x: number[] = [];
  const y: number[] = [];
  values.forEach((v, i) => {
    if (v !== undefined && Number.isFinite(v)) {
      x.push(v);
      y.push(truth[i]!);
    }
  });
  const resamples = opts.resamples ?? 1000;
  const seed = opts.seed ?? 0;
  return {
    metric,
    n: x.length,
    dropped: values.length - x.length,
    spearman: bootstrapCI(x, y, spearman, { resamples, rng: new Rng(seed) }),
    kendall: bootstrapCI(x, y, kendallTauB, { resamples: Math.min(resamples, 300), rng: new Rng(seed + 1) }),
    origin,
  };
}

/** Markdown table of correlation rows. */
export function markdownTable(rows: readonly CorrelationRow[], title: string): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
  const lines = [
    `#### ${title}`,
    '',
    '| metric | origin | n | Spearman ρ [95% CI] | Kendall τ-b [95% CI] |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.metric} | ${r.origin} | ${r.n}${r.dropped ? ` (${r.dropped} dropped)` : ''} | ${f(r.spearman.estimate)} [${f(r.spearman.low)}, ${f(r.spearman.high)}] | ${f(r.kendall.estimate)} [${f(r.kendall.low)}, ${f(r.kendall.high)}] |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
