import type { SearchSpace } from '../types.js';
import {
  NB101_SIZE,
  crossoverNb101,
  encodeNb101,
  formatNb101,
  mutateNb101,
  nb101Hash,
  parseNb101,
  sampleNb101,
  type Nb101Genotype,
} from './genotype.js';
import { NB101_DEFAULT_NETWORK, buildNb101Network, type Nb101NetworkOptions } from './network.js';

export * from './genotype.js';
export * from './network.js';

/**
 * NAS-Bench-101: cells of ≤ 7 vertices and ≤ 9 edges over conv3×3 / conv1×1 / max-pool, in the 3-stack CIFAR
 * network. Genotypes are pruned specs; the text form is the compact `i31mo:1100.011.01.1` (JSON specs parse too);
 * the canonical key is the benchmark's graph hash. Not enumerable here (423,624 cells).
 */
export const nb101Space: SearchSpace<Nb101Genotype, Required<Nb101NetworkOptions>> = {
  name: 'nb101',
  size: NB101_SIZE,
  parse: parseNb101,
  format: formatNb101,
  sample: sampleNb101,
  mutate: (g, rng) => mutateNb101(g, rng),
  crossover: crossoverNb101,
  canonicalKey: nb101Hash,
  encode: encodeNb101,
  build: (g, opts) => buildNb101Network(g, opts),
  defaultNetwork: NB101_DEFAULT_NETWORK,
};
