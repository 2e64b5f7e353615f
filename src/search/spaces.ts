import { NB201_OPS, nb201Space, type Nb201Genotype, type Nb201Op } from '../spaces/nb201/index.js';
import type { SearchSpace } from '../spaces/types.js';
import { SwapError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { TopologyOps } from './types.js';

/** NB201 topology = the set of edges whose op is not `none`; offspring change ops among the other four. */
export const nb201Topology: TopologyOps<Nb201Genotype> = {
  topologyKey: (g) => g.map((op) => (op === 'none' ? '0' : '1')).join(''),
  mutateOps(g: Nb201Genotype, rng: Rng): Nb201Genotype | undefined {
    const edges = g.flatMap((op, e) => (op === 'none' ? [] : [e]));
    if (edges.length === 0) return undefined;
    const e = rng.pick(edges);
    const others = NB201_OPS.filter((o) => o !== 'none' && o !== g[e]);
    const out = g.slice() as Nb201Op[];
    out[e] = rng.pick(others);
    return Object.freeze(out) as unknown as Nb201Genotype;
  },
};

/** A space the search command knows: the space, its topology operators, and per-dataset proxy-network options. */
export interface SearchSpaceEntry<G> {
  readonly space: SearchSpace<G, object>;
  readonly topology: TopologyOps<G>;
  /** Proxy-network options that depend on the dataset (classifier size). */
  networkFor(dataset: string): Record<string, number>;
}

const NB201_CLASSES: Record<string, number> = { cifar10: 10, cifar100: 100, imagenet16: 120 };

export const SEARCH_SPACES = {
  nb201: {
    space: nb201Space as SearchSpace<Nb201Genotype, object>,
    topology: nb201Topology,
    networkFor: (dataset: string) => ({ classes: NB201_CLASSES[dataset] ?? 10 }),
  } satisfies SearchSpaceEntry<Nb201Genotype>,
} as const;

export type SearchSpaceName = keyof typeof SEARCH_SPACES;

export function searchSpace(name: string): SearchSpaceEntry<Nb201Genotype> {
  if (!Object.hasOwn(SEARCH_SPACES, name)) {
    throw new SwapError('E_SPACE', `unknown search space ${JSON.stringify(name)} (known: ${Object.keys(SEARCH_SPACES).join(', ')})`);
  }
  return SEARCH_SPACES[name as SearchSpaceName];
}
