import { countParams } from '../../ir/analysis.js';
import { defineProxy } from '../types.js';
import { noInput } from '../suite-protocol.js';

/** Θ: trainable parameters of the scored network (a size baseline; needs no engine pass). */
export const paramsProxy = defineProxy({
  name: 'params',
  description: 'trainable parameters of the scored network (size baseline)',
  consumes: [],
  direction: 'higher',
  protocol: { source: 'baseline of the zero-cost proxy literature (Abdelfattah et al., ICLR 2021)' },
  reduce: ({ network }) => countParams(network),
  suite: {
    group: 'count',
    consumes: ['architecture'],
    backward: false,
    labels: false,
    head: false,
    protocol: noInput('NB201 API'),
  },
});
