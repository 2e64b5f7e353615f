import { SwapError } from '../../util/errors.js';
import type { Strategy, StrategyContext, StrategyOutcome } from '../types.js';
import { sampleDistinct } from './common.js';

/**
 * Random search, the baseline: evaluate `budget` uniformly sampled architectures of distinct isomorphism
 * classes (the same query budget as PRE-NAS) and return the one with the best evaluated accuracy.
 */
export function randomSearch<G>(): Strategy<G> {
  return {
    name: 'random',
    usesProxy: false,
    usesQueries: true,
    options: {},
    async run(ctx: StrategyContext<G>): Promise<StrategyOutcome<G>> {
      const query = ctx.query;
      if (!query) throw new SwapError('E_OPTION', 'random search needs an evaluator');
      const gs = sampleDistinct(ctx.space, ctx.rng, ctx.budget, new Set());
      let best: { g: G; acc: number } | undefined;
      let failed = 0;
      // All at once where the evaluator can (queue workers); taken in order below.
      const many = ctx.queryMany && gs.length > 1 ? await ctx.queryMany(gs) : undefined;
      for (let i = 0; i < gs.length; i++) {
        const g = gs[i]!;
        const r = many ? many[i]! : await query(g);
        ctx.progress(i + 1, gs.length);
        if (!r.ok) {
          failed++;
          continue;
        }
        if (!best || r.accuracy > best.acc) {
          best = { g, acc: r.accuracy };
          ctx.incumbent(g, r.accuracy);
        }
      }
      return { best: best?.g, signal: best?.acc, stats: { queries: gs.length, failed } };
    },
  };
}
