import { countMacs } from '../../ir/analysis.js';
import { defineProxy } from '../types.js';
import { noInput } from '../suite-protocol.js';

/** FLOPs as NAS papers count them (multiply-accumulates of conv and linear layers per sample; no engine pass). */
export const flopsProxy = defineProxy({
  name: 'flops',
  description: 'multiply-accumulates per sample of conv and linear layers (the FLOPs of NAS papers)',
  consumes: [],
  direction: 'higher',
  protocol: { source: 'baseline of the zero-cost proxy literature (Abdelfattah et al., ICLR 2021)' },
  reduce: ({ network }) => countMacs(network),
  suite: {
    group: 'count',
    consumes: ['architecture'],
    backward: false,
    labels: false,
    head: false,
    protocol: noInput('NB201 API'),
  },
});
