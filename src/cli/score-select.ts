import type { SearchSpace } from '../spaces/types.js';
import { SwapError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { parseArchLines, readArchList } from './arch-list.js';
import { int } from './parse.js';

/** How a `score` run names its architectures (exactly one of them). */
export interface SelectionFlags {
  sample?: string;
  all?: boolean;
  archs?: string;
}

/**
 * The genotypes a `score` run scores: the arch strings of the command line, `--archs FILE` (or `-`), `--sample N`
 * (distinct, seeded) or `--all` of an enumerable space.
 */
export async function selectGenotypes(
  space: SearchSpace<unknown, object>,
  archTexts: readonly string[],
  f: SelectionFlags,
  seed: number,
): Promise<unknown[]> {
  const modes = [archTexts.length > 0, f.sample !== undefined, Boolean(f.all), f.archs !== undefined];
  if (modes.filter(Boolean).length !== 1)
    throw new SwapError('E_OPTION', 'give arch strings, or --archs FILE, or --sample N, or --all (exactly one)');
  if (f.all) {
    if (!space.enumerate)
      throw new SwapError('E_OPTION', `--all needs an enumerable space; ${space.name} is not (use --sample N)`);
    return [...space.enumerate()];
  }
  if (f.sample !== undefined) return sampleGenotypes(space, int('--sample', f.sample, 1), seed);
  if (f.archs !== undefined)
    return parseArchLines(space, await readArchList(f.archs), f.archs === '-' ? 'stdin' : f.archs);
  return archTexts.map((a) => space.parse(a));
}

/** `n` distinct architectures: a seeded sample of an enumerable space, else seeded draws deduplicated by class. */
function sampleGenotypes(space: SearchSpace<unknown, object>, n: number, seed: number): unknown[] {
  const rng = new Rng(seed);
  if (space.enumerate) {
    const all = [...space.enumerate()];
    if (n > all.length)
      throw new SwapError('E_OPTION', `--sample ${n} exceeds the ${all.length} architectures of the space (use --all)`);
    return rng.sample(all.length, n).map((i) => all[i]!);
  }
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (let tries = 0; out.length < n && tries < 100 * n; tries++) {
    const g = space.sample(rng);
    const k = space.canonicalKey(g);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(g);
    }
  }
  return out;
}
