import { defineProxy } from '../types.js';
import { realInput } from '../suite-protocol.js';

/**
 * NWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021): log|det K| of the Hamming
 * kernel of the samples' binary codes over the recorded ReLUs, at one weight initialisation (the first seed, as in
 * the paper; further seeds of the same pass are ignored).
 */
export const nwotProxy = defineProxy({
  name: 'nwot',
  description: 'NWOT: log|det K| of the Hamming kernel of ReLU activation codes (first weight initialisation)',
  consumes: ['relu-kernel-logdet'],
  direction: 'higher',
  protocol: { batch: 128, repeats: 1, source: 'Mellor et al., ICML 2021, official code (batch 128, one init)' },
  reduce: ({ measured }) => measured['relu-kernel-logdet'][0]!,
  suite: {
    group: 'nwot',
    consumes: ['relu-codes'],
    backward: false,
    labels: false,
    head: false,
    protocol: realInput(32, 'automl/NASLib measures/nwot.py'),
  },
});
