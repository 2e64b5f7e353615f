import type { SearchSpace } from '../../spaces/types.js';
import { SwapError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';

export function checkPositiveInt(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min)
    throw new SwapError('E_OPTION', `${name} must be an integer ≥ ${min}, got ${v}`);
}

export function checkFraction(name: string, v: number): void {
  if (!(typeof v === 'number' && v > 0 && v <= 1))
    throw new SwapError('E_OPTION', `${name} must be in (0, 1], got ${v}`);
}

/**
 * Up to `n` uniformly sampled genotypes of distinct isomorphism classes not in `exclude` (which is extended with
 * the new keys). Stops early only when the space is (nearly) exhausted: after 200·n + 1000 rejected draws.
 */
export function sampleDistinct<G>(space: SearchSpace<G, object>, rng: Rng, n: number, exclude: Set<string>): G[] {
  const out: G[] = [];
  let misses = 0;
  while (out.length < n && misses < 200 * n + 1000) {
    const g = space.sample(rng);
    const k = space.canonicalKey(g);
    if (exclude.has(k)) {
      misses++;
      continue;
    }
    exclude.add(k);
    out.push(g);
  }
  return out;
}
