import type { SearchSpace } from '../types.js';
import {
  NB201_OPS,
  NB201_SIZE,
  crossoverNb201,
  enumerateNb201,
  formatNb201,
  mutateNb201,
  nb201CanonicalKey,
  parseNb201,
  sampleNb201,
  type Nb201Genotype,
} from './genotype.js';
import { NB201_DEFAULT_NETWORK, buildNb201Network, type Nb201NetworkOptions } from './network.js';

export * from './genotype.js';
export * from './network.js';

/** NAS-Bench-201: 6 edges × 5 ops, the TinyNetwork macro skeleton. */
export const nb201Space: SearchSpace<Nb201Genotype, Required<Nb201NetworkOptions>> = {
  name: 'nb201',
  size: NB201_SIZE,
  parse: parseNb201,
  format: formatNb201,
  enumerate: enumerateNb201,
  sample: sampleNb201,
  mutate: mutateNb201,
  crossover: crossoverNb201,
  canonicalKey: nb201CanonicalKey,
  encode: (g) => g.flatMap((op) => NB201_OPS.map((o) => (o === op ? 1 : 0))),
  build: (g, opts) => buildNb201Network(g, opts),
  defaultNetwork: NB201_DEFAULT_NETWORK,
};
