import { LABEL_FREE_ENSEMBLE } from '../ensemble.js';
import { defineProxy } from '../types.js';

/**
 * The label-free ensemble (docs/ensemble-study.md): ln F̂ of reg-SWAP + ln F̂ of MeCo + 0.3 ln F̂ of AZ-NAS
 * trainability, each member placed in its distribution over a fixed seeded reference set of the space scored once per
 * settings; MeCo and trainability under the SWAP protocol (the proxy network, its S input images, Gaussian weights of
 * the run's seed). Chosen on NB201 sample A only; the default fitness on images without class labels.
 */
export const ensembleProxy = defineProxy({
  name: 'ensemble',
  description:
    'log-CDF rank aggregation of reg-SWAP, MeCo and 0.3 × AZ-NAS trainability against a fixed reference set of the space',
  consumes: [],
  direction: 'higher',
  protocol: { batch: 16, source: 'this package, docs/ensemble-study.md (chosen on NB201 sample A)' },
  ensemble: LABEL_FREE_ENSEMBLE,
});
