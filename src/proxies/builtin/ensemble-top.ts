import { UPPER_PLAIN_ENSEMBLE } from '../ensemble.js';
import { defineProxy } from '../types.js';

/**
 * The label-free ensemble with an upper-tail vote of `plain` (docs/ensemble-study.md, "A rule for the top of the
 * ranking"): the same reference set and members plus plain, whose −ln(1 − F̂) promotes the networks it ranks highest.
 * Chosen on NB201 sample A for the test accuracy of its top cells; needs the batch's class labels (the embedded
 * CIFAR-10 images and CIFAR binary files carry them).
 */
export const ensembleTopProxy = defineProxy({
  name: 'ensemble-top',
  description:
    'the ensemble plus 0.1 × an upper-tail vote of plain (Σ weight × loss gradient): better top cells, labels needed',
  consumes: [],
  direction: 'higher',
  protocol: { batch: 16, labels: true, source: 'this package, docs/ensemble-study.md (chosen on NB201 sample A)' },
  ensemble: UPPER_PLAIN_ENSEMBLE,
});
