import { defineProxy } from '../types.js';
import { AZ, gaussianInput, type SuiteForm } from '../suite-protocol.js';

/** AZ-NAS (Lee & Ham, CVPR 2024): its components come from one pass over the block features. */
const form = (backward: boolean, consumes: SuiteForm['consumes']): SuiteForm => ({
  group: 'az',
  consumes,
  backward,
  labels: false,
  head: false,
  protocol: gaussianInput('kaiming', 'train', AZ),
});
const protocol = { batch: 64, source: AZ };

/** Expressivity: isotropy (entropy of normalised eigenvalues) of each block's feature covariance. */
export const azExpressivityProxy = defineProxy({
  name: 'az_expressivity',
  description: "AZ-NAS expressivity: entropy of the blocks' feature-covariance spectra",
  consumes: [],
  direction: 'higher',
  protocol,
  suite: form(false, ['block-features']),
});

/** Progressivity: the smallest increase of expressivity from one block to the next. */
export const azProgressivityProxy = defineProxy({
  name: 'az_progressivity',
  description: 'AZ-NAS progressivity: minimum expressivity gain between consecutive blocks',
  consumes: [],
  direction: 'higher',
  protocol,
  suite: form(false, ['block-features']),
});

/** Trainability: spectral norms of each block's Jacobian, estimated with Rademacher probes through reverse mode. */
export const azTrainabilityProxy = defineProxy({
  name: 'az_trainability',
  description: "AZ-NAS trainability: closeness of the blocks' Jacobian spectral norms to 1",
  consumes: [],
  direction: 'higher',
  protocol,
  suite: form(true, ['block-features', 'weight-gradients']),
});
