import { SwapError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

export interface StratifiedOptions {
  /**
   * Only the top fraction (by predicted value) of the candidates is stratified (default 1: all of them).
   * PRE-NAS uses a smaller fraction so that every evaluation is spent on a promising candidate while still
   * spreading evaluations over the predictor's ranking.
   */
  readonly topFraction?: number;
  /** Take the best-predicted member of the top stratum instead of a random one (default true). */
  readonly greedyTop?: boolean;
}

/**
 * Percentile-stratified sampling over predicted values: rank the candidates by prediction (best first, ties by
 * index), keep the top `topFraction`, cut that ranking into `k` strata of (almost) equal size — percentile bins —
 * and take one candidate from each stratum (the best of the top stratum when `greedyTop`, otherwise uniformly
 * at random). Returns candidate indices, top stratum first. With `k` ≥ the kept candidates, returns all of them.
 */
export function stratifiedSample(
  predicted: readonly number[],
  k: number,
  rng: Rng,
  opts: StratifiedOptions = {},
): number[] {
  if (!Number.isInteger(k) || k < 0)
    throw new SwapError('E_OPTION', `stratified sample size must be a non-negative integer, got ${k}`);
  const frac = opts.topFraction ?? 1;
  if (!(frac > 0 && frac <= 1)) throw new SwapError('E_OPTION', `topFraction must be in (0, 1], got ${frac}`);
  const n = predicted.length;
  if (k === 0 || n === 0) return [];
  const ranked = Array.from({ length: n }, (_, i) => i).sort((a, b) => predicted[b]! - predicted[a]! || a - b);
  const m = Math.min(n, Math.max(k, Math.ceil(frac * n)));
  if (k >= m) return ranked.slice(0, m);
  const out: number[] = [];
  for (let s = 0; s < k; s++) {
    const lo = Math.floor((s * m) / k);
    const hi = Math.floor(((s + 1) * m) / k);
    const pick = s === 0 && (opts.greedyTop ?? true) ? lo : lo + rng.int(hi - lo);
    out.push(ranked[pick]!);
  }
  return out;
}
