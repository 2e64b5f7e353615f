import { SwapError } from '../../util/errors.js';
import type { Strategy, StrategyContext, StrategyOutcome } from '../types.js';
import { checkPositiveInt, sampleDistinct } from './common.js';

/** SWAP-NAS hyper-parameters (the paper does not give values; ours are measured, see {@link SWAP_NAS_DEFAULTS}). */
export interface SwapNasOptions {
  /** Population size P. */
  readonly population?: number;
  /** Evolution cycles C (each scores 1 crossover child + M mutants). */
  readonly cycles?: number;
  /** Candidates S drawn uniformly from the population per cycle (the best two are the crossover parents). */
  readonly sampleSize?: number;
  /** Mutations M of the parent per cycle (each child is one mutation of the parent). */
  readonly mutations?: number;
  /** Try the crossover child of the two best candidates as parent (default true, as in the paper). */
  readonly crossover?: boolean;
}

/**
 * Defaults, chosen by measurement (`node bench/search-tune.mjs swap-nas`, 20 seeds). The papers give no values.
 * SWAP itself was too slow to score thousands of networks on the reference backend, so the evolution was driven
 * by a stand-in fitness known for all 15,625 cells (the 12-epoch CIFAR-10 validation accuracy of NB201); this
 * measures how reliably the evolution reaches the fitness optimum per network scored, not SWAP's ranking quality.
 * Over P ∈ {10, 20, 50} × S ∈ {3, 5, 10} × M ∈ {2, 4, 8} × C ∈ {15, 30, 60}:
 * - P = 20, S = 5, M = 8, C = 30 reached a mean fitness gap of 0.1 (points of 12-epoch accuracy) to the optimum
 *   with ≈ 143 distinct networks scored (20 + 30·9 = 290 requests, the rest cache hits by isomorphism class);
 *   doubling C (≈ 190 networks) closed the gap to 0.0, P = 50 needed ≈ 300 networks for the same.
 * - P = 10 converged prematurely (population collapses onto one class; S = 10 of 10 is pure elitism);
 *   M = 2 needed twice the cycles.
 * ≈ 150 networks keeps a search well inside the 2-minute budget with the search proxy (SEARCH_PROXY_DEFAULTS).
 */
export const SWAP_NAS_DEFAULTS = Object.freeze({
  population: 20,
  cycles: 30,
  sampleSize: 5,
  mutations: 8,
  crossover: true,
});

interface Member<G> {
  readonly g: G;
  readonly key: string;
  readonly fit: number;
}

/**
 * SWAP-NAS (Peng et al., ICLR 2024, Algorithm 1 as summarised in algorithms.md §2): evolution with reg-SWAP as
 * fitness and no ground-truth queries. Each cycle: draw S candidates; parent = the best, or the crossover child
 * of the two best if it scores higher; score M mutants of the parent; add the best mutant that is not already
 * in the population (by isomorphism class) and remove the worst member. Returns the top of the population.
 */
export function swapNas<G>(opts: SwapNasOptions = {}): Strategy<G> {
  const o = { ...SWAP_NAS_DEFAULTS, ...opts };
  checkPositiveInt('population', o.population, 2);
  checkPositiveInt('cycles', o.cycles, 0);
  checkPositiveInt('sample size', o.sampleSize, 2);
  checkPositiveInt('mutations', o.mutations, 1);
  if (o.sampleSize > o.population)
    throw new SwapError('E_OPTION', `sample size ${o.sampleSize} exceeds the population ${o.population}`);
  return {
    name: 'swap-nas',
    usesProxy: true,
    usesQueries: false,
    options: o,
    async run(ctx: StrategyContext<G>): Promise<StrategyOutcome<G>> {
      const proxy = ctx.proxy;
      if (!proxy) throw new SwapError('E_OPTION', 'swap-nas needs a proxy');
      const { space, rng } = ctx;
      if (space.size !== undefined && o.population > space.size)
        throw new SwapError('E_OPTION', `population ${o.population} exceeds the space size ${space.size}`);
      const total = o.population + o.cycles * (o.mutations + (o.crossover ? 1 : 0));
      let done = 0;
      const tick = (n: number) => ctx.progress((done += n), total);

      const init = sampleDistinct(space, rng, o.population, new Set());
      const fits = await proxy.scoreGenotypes(init);
      tick(init.length);
      const pop: Member<G>[] = init.map((g, i) => ({ g, key: space.canonicalKey(g), fit: fits[i]! }));
      const top = () => pop.reduce((b, m) => (m.fit > b.fit ? m : b));
      let inc = top();
      ctx.incumbent(inc.g, inc.fit);
      let crossoverWins = 0;
      let added = 0;

      for (let c = 0; c < o.cycles; c++) {
        if (ctx.signal?.aborted) throw new SwapError('E_CANCELLED', 'search cancelled');
        const cands = rng
          .sample(pop.length, o.sampleSize)
          .map((i) => pop[i]!)
          .sort((a, b) => b.fit - a.fit);
        let parent = cands[0]!.g;
        if (o.crossover) {
          const child = space.crossover(cands[0]!.g, cands[1]!.g, rng);
          const [fc] = await proxy.scoreGenotypes([child]);
          tick(1);
          if (fc! > cands[0]!.fit) {
            parent = child;
            crossoverWins++;
          }
        }
        const kids = Array.from({ length: o.mutations }, () => space.mutate(parent, rng));
        const kf = await proxy.scoreGenotypes(kids);
        tick(kids.length);
        const inPop = new Set(pop.map((m) => m.key));
        let best: Member<G> | undefined;
        kids.forEach((g, i) => {
          const key = space.canonicalKey(g);
          if (inPop.has(key)) return;
          if (!best || kf[i]! > best.fit) best = { g, key, fit: kf[i]! };
        });
        if (best) {
          pop.push(best);
          added++;
          let w = 0;
          for (let i = 1; i < pop.length; i++) if (pop[i]!.fit < pop[w]!.fit) w = i;
          pop.splice(w, 1);
        }
        const t = top();
        if (t.key !== inc.key) {
          inc = t;
          ctx.incumbent(inc.g, inc.fit);
        }
      }
      const t = top();
      return { best: t.g, signal: t.fit, stats: { crossoverWins, added } };
    },
  };
}
