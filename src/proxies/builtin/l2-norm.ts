import { defineProxy } from '../types.js';
import { noInput, ZC } from '../suite-protocol.js';

/** l2_norm (Abdelfattah et al., ICLR 2021): sum of the L2 norms of the initial weight tensors. */
export const l2NormProxy = defineProxy({
  name: 'l2_norm',
  description: 'sum of the L2 norms of the weight tensors at initialisation',
  consumes: [],
  direction: 'higher',
  protocol: { source: `${ZC}/l2_norm.py` },
  suite: {
    group: 'l2_norm',
    consumes: ['parameters'],
    backward: false,
    labels: false,
    head: false,
    protocol: noInput(`${ZC}/l2_norm.py`),
  },
});
