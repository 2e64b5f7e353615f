import { countParams } from '../ir/analysis.js';
import type { SearchSpace } from '../spaces/types.js';
import { Rng } from '../util/rng.js';
import { isSwapError, SwapError } from '../util/errors.js';
import type { Regulariser } from '../proxies/regularise.js';

/**
 * Width constant κ of the data-free rule (σ = κ·(Θmax − Θmin)²); see {@link dataFreeRegulariser}.
 */
export const AUTO_REG_KAPPA = 1;

/** Architectures the data-free rule samples by default. */
export const AUTO_REG_SAMPLES = 500;

/** Seed of the data-free rule's sample (fixed: μ/σ depend on the space and network options alone). */
export const AUTO_REG_SEED = 0x5eed;

/**
 * Data-free μ/σ for reg-SWAP, computed from the parameter counts of the space's own proxy networks (no
 * accuracies): Θ is sampled over `samples` random architectures (or every one, for small spaces);
 * μ = max Θ (K) and σ = κ·(max Θ − min Θ)² (K²).
 *
 * Rationale: within a cell space, larger proxy networks are better on average, so μ at the top of the size
 * range makes f(Θ) = exp(−(Θ−μ)²/σ) increase monotonically over the whole space; σ proportional to the squared
 * range makes the rule scale-free (the same κ works for any C, N, classes or space) and bounds the penalty of
 * the smallest network at exp(−1/κ), so Ψ still orders networks of similar size.
 */
export function dataFreeRegulariser<G, N extends object>(
  space: SearchSpace<G, N>,
  networkOptions: Partial<N> = {},
  opts: { samples?: number; seed?: number; kappa?: number } = {},
): Regulariser {
  const samples = opts.samples ?? AUTO_REG_SAMPLES;
  const kappa = opts.kappa ?? AUTO_REG_KAPPA;
  const rng = new Rng(opts.seed ?? AUTO_REG_SEED);
  let lo = Infinity;
  let hi = -Infinity;
  let built = 0;
  let firstError: unknown;
  for (let i = 0; i < samples; i++) {
    let k: number;
    try {
      k = countParams(space.build(space.sample(rng), networkOptions)) / 1000;
    } catch (e) {
      // Some architectures cannot be built under narrow options (an NB101 vertex needs a channel per output
      // edge): they are not part of this proxy's space, so they do not enter its size range.
      if (!isSwapError(e)) throw e;
      firstError ??= e;
      continue;
    }
    built++;
    lo = Math.min(lo, k);
    hi = Math.max(hi, k);
  }
  if (built === 0) throw firstError;
  return rangeRegulariser([lo, hi], kappa, `data-free(max Θ, κ=${kappa}·range², ${samples} samples)`);
}

/**
 * The data-free rule over sizes Θ (K params) of some networks: μ = max Θ, σ = κ·(max Θ − min Θ)² (the range at
 * least 1e-3 K); `source` says where the sizes came from.
 */
export function rangeRegulariser(thetaK: readonly number[], kappa: number, source: string): Regulariser {
  if (thetaK.length === 0) throw new SwapError('E_OPTION', 'the data-free μ/σ rule needs at least one network size');
  const lo = thetaK.reduce((a, b) => Math.min(a, b), Infinity);
  const hi = thetaK.reduce((a, b) => Math.max(a, b), -Infinity);
  const range = Math.max(hi - lo, 1e-3);
  return { mu: hi, sigma: kappa * range * range, source };
}
