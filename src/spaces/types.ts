import type { Network } from '../ir/types.js';
import type { Rng } from '../util/rng.js';

/**
 * A search space: genotypes are plain immutable data; everything else is a pure function of them.
 * `N` is the space's network-builder option bag (channels, cells, input size, …).
 */
export interface SearchSpace<G, N extends object = object> {
  readonly name: string;
  /** Parse the space's text form; throws a coded `SwapError` naming what is wrong and where. */
  parse(text: string): G;
  format(g: G): string;
  /** Total number of genotypes when enumerable. */
  readonly size?: number;
  enumerate?(): Iterable<G>;
  sample(rng: Rng): G;
  mutate(g: G, rng: Rng): G;
  crossover(a: G, b: G, rng: Rng): G;
  /** Equal for genotypes that compute the same function (isomorphism classes). */
  canonicalKey(g: G): string;
  /** Numeric features for predictors (one-hot ops, …). */
  encode(g: G): number[];
  /** The network whose score stands for `g`. */
  build(g: G, opts?: Partial<N>): Network;
  /** Default network options of the scoring proxy. */
  readonly defaultNetwork: Readonly<N>;
}

/**
 * Space-specific knowledge PRE-NAS needs: a genotype's topology (which edges are not `none`), and a mutation
 * that changes operations but keeps the topology.
 */
export interface TopologyOps<G> {
  /** Equal for genotypes with the same set of non-`none` edges. */
  topologyKey(g: G): string;
  /** Change one non-`none` edge to another non-`none` op; `undefined` when `g` has no such edge. */
  mutateOps(g: G, rng: Rng): G | undefined;
}
