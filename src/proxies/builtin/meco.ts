import { defineProxy } from '../types.js';
import { realInput } from '../suite-protocol.js';

/** MeCo (Jiang et al., NeurIPS 2023): minimum eigenvalue of the Pearson correlation of each layer's feature maps. */
export const mecoProxy = defineProxy({
  name: 'meco',
  description: "sum over layers of the minimum eigenvalue of the feature maps' Pearson correlation",
  consumes: [],
  direction: 'higher',
  protocol: { batch: 1, source: 'HamsterMimi/MeCo correlation/NAS_Bench_201.py' },
  suite: {
    group: 'meco',
    consumes: ['activations'],
    backward: false,
    labels: false,
    head: false,
    protocol: realInput(1, 'HamsterMimi/MeCo correlation/NAS_Bench_201.py'),
  },
});
