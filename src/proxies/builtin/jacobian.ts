import { defineProxy } from '../types.js';
import { realInput, ZC } from '../suite-protocol.js';

/** jacov (Mellor et al., 2020 v1): correlation of the per-sample input Jacobians (sum of the outputs). */
export const jacovProxy = defineProxy({
  name: 'jacov',
  description: 'Jacobian covariance: log-likelihood-style score of the per-sample input-Jacobian correlations',
  consumes: [],
  direction: 'higher',
  protocol: { batch: 64, source: `${ZC}/jacob_cov.py` },
  suite: {
    group: 'jacobian',
    consumes: ['input-jacobian'],
    backward: true,
    labels: false,
    head: false,
    protocol: realInput(64, `${ZC}/jacob_cov.py`),
  },
});

/** EPE-NAS (Lopes et al., 2021): per-class correlations of the per-sample Jacobians. */
export const epeNasProxy = defineProxy({
  name: 'epe_nas',
  description: 'EPE-NAS: per-class Jacobian correlation score',
  consumes: [],
  direction: 'higher',
  protocol: { batch: 32, labels: true, source: 'automl/NASLib measures/epe_nas.py' },
  suite: {
    group: 'jacobian',
    consumes: ['input-jacobian'],
    backward: true,
    labels: true,
    head: true,
    protocol: realInput(32, 'automl/NASLib measures/epe_nas.py'),
  },
});
