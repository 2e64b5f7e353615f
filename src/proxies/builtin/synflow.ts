import { defineProxy } from '../types.js';
import { onesInput, ZC } from '../suite-protocol.js';

const protocol = { batch: 1, source: `${ZC}/synflow.py` };

/** SynFlow (Tanaka et al., NeurIPS 2020): |θ|-linearised network, all-ones input, sum of |θ ⊙ ∂R/∂θ|; BN off. */
export const synflowProxy = defineProxy({
  name: 'synflow',
  description: 'SynFlow: sum of |θ ⊙ ∂R/∂θ| of the |θ|-linearised network on an all-ones input (BN as identity)',
  consumes: [],
  direction: 'higher',
  protocol,
  suite: {
    group: 'synflow',
    consumes: ['weight-gradients'],
    backward: true,
    labels: false,
    head: false,
    protocol: onesInput('identity'),
  },
});

/** SynFlow with BatchNorm kept in training mode (the zero-cost-nas `synflow_bn` variant). */
export const synflowBnProxy = defineProxy({
  name: 'synflow_bn',
  description: 'SynFlow with BatchNorm in training mode',
  consumes: [],
  direction: 'higher',
  protocol,
  suite: {
    group: 'synflow_bn',
    consumes: ['weight-gradients'],
    backward: true,
    labels: false,
    head: false,
    protocol: onesInput('train'),
  },
});
