import { defineProxy } from '../types.js';
import { gaussianInput } from '../suite-protocol.js';

const SOURCE = 'idstcv/ZenNAS ZeroShotProxy/compute_zen_score.py';

/** Zen-score (Lin et al., ICCV 2021): log of the pre-head feature change under a small input mix, BN-rescaled. */
export const zenProxy = defineProxy({
  name: 'zen',
  description: 'Zen-score: log feature-map change under a Gaussian input perturbation, plus BN scale terms',
  consumes: [],
  direction: 'higher',
  protocol: { batch: 64, source: SOURCE },
  suite: {
    group: 'zen',
    consumes: ['activations'],
    backward: false,
    labels: false,
    head: true,
    protocol: gaussianInput('gaussian', 'train', SOURCE),
  },
});
