import { defineProxy } from '../types.js';
import { realInput, ZC } from '../suite-protocol.js';

/**
 * GraSP as Zero-Cost-NAS scores it (Wang et al., ICLR 2020; Abdelfattah et al., ICLR 2021): Σ −W ⊙ Hg of the
 * conv/linear weights, with an exact Hessian-vector product (src/proxies/grasp.ts).
 */
export const graspProxy = defineProxy({
  name: 'grasp',
  description: 'GraSP: sum of -weight x (Hessian x loss gradient), exact double backward',
  consumes: [],
  direction: 'higher',
  protocol: { batch: 64, labels: true, source: `${ZC}/grasp.py` },
  suite: {
    group: 'grasp',
    consumes: ['weight-gradients', 'hessian-vector-product'],
    backward: true,
    labels: true,
    head: true,
    protocol: realInput(64, `${ZC}/grasp.py`),
  },
});
