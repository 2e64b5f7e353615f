import type { InputBatch } from '../data/batch.js';

/**
 * Warnings (not errors) for inputs that make every score meaningless while every number stays valid: a batch
 * whose samples are all the same gives Ψ = 1 for every network (one pattern), and so does a batch that saturates
 * the network; a regulariser far from every network's size turns every reg-SWAP into 0.
 */

/** Warnings about an input batch: all samples identical (including an all-constant batch). */
export function batchWarnings(b: InputBatch): string[] {
  const per = b.c * b.h * b.w;
  const d = b.data;
  let constant = true;
  for (let i = 1; i < d.length && constant; i++) constant = d[i] === d[0];
  if (constant)
    return [
      `every value of the input batch ${b.source} is ${d[0]}: all samples are the same, so Ψ = 1 for every network`,
    ];
  if (b.n < 2) return [];
  for (let s = 1; s < b.n; s++) for (let k = 0; k < per; k++) if (d[s * per + k] !== d[k]) return [];
  return [`all ${b.n} samples of the input batch ${b.source} are identical, so Ψ = 1 for every network`];
}

/** Warnings about the scores of a run (at least two networks, or one network over several repeats). */
export function scoreWarnings(
  scores: readonly { swap: number; regSwap: number; perRepeat: readonly number[] }[],
): string[] {
  const w: string[] = [];
  const units = scores.reduce((a, s) => a + s.perRepeat.length, 0);
  if (units >= 2 && scores.every((s) => s.perRepeat.every((p) => p === 1)))
    w.push(
      'Ψ = 1 for every network and repeat: the batch forms a single activation pattern (constant, duplicated or saturating inputs?)',
    );
  if (scores.length >= 2 && scores.every((s) => s.regSwap === 0 && s.swap > 0))
    w.push(
      'reg-SWAP is 0 for every network: the regulariser (μ, σ) is so far from every network size that f(Θ) underflows; check --mu/--sigma (thousands of parameters)',
    );
  return w;
}
