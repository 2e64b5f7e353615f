import { autodlFlops } from '../../ir/analysis.js';
import { defineProxy } from '../types.js';
import { noInput } from '../suite-protocol.js';

/** FLOPs as the NB201 API counts them (conv/linear multiply-adds per sample plus bias adds; no engine pass). */
export const flopsProxy = defineProxy({
  name: 'flops',
  description: 'conv and linear multiply-adds per sample plus one add per biased output (the NB201 API / AutoDL count)',
  consumes: [],
  direction: 'higher',
  protocol: { source: 'baseline of the zero-cost proxy literature (Abdelfattah et al., ICLR 2021)' },
  reduce: ({ network }) => autodlFlops(network),
  suite: {
    group: 'count',
    consumes: ['architecture'],
    backward: false,
    labels: false,
    head: false,
    protocol: noInput('NB201 API'),
  },
});
