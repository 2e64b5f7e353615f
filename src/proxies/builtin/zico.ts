import { defineProxy } from '../types.js';
import { realInput } from '../suite-protocol.js';

const SOURCE = 'SLDGroup/ZiCo ZeroShotProxy/compute_zico.py';

/** ZiCo (Li et al., ICLR 2023): per layer, log of Σ mean|g| / std(g) of the weight gradients over ≥ 2 batches. */
export const zicoProxy = defineProxy({
  name: 'zico',
  description: "ZiCo: log of the layers' mean/std ratio of weight gradients across batches",
  consumes: [],
  direction: 'higher',
  protocol: { batch: 64, labels: true, source: SOURCE },
  suite: {
    group: 'zico',
    consumes: ['weight-gradients'],
    backward: true,
    labels: true,
    head: true,
    protocol: { ...realInput(64, SOURCE), batches: 2 },
  },
});
