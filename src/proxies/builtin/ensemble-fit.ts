import { FITTED_ENSEMBLE } from '../fitted-rule.js';
import { defineProxy } from '../types.js';

/**
 * The fitted rule, the default fitness (docs/ensemble-study.md, "A fitted rule", "Path members"): 20 suite members
 * (16 from proxy passes, 4 path statistics of the network graph), each as ln F̂ and −ln(1 − F̂) against the space's
 * reference set, weighted by a ridge fit on NB201 sample A's accuracies shrunk toward the label-free ensemble. Reads
 * the batch's class labels (the saliencies), which the embedded CIFAR-10 images and CIFAR binary files carry.
 */
export const ensembleFitProxy = defineProxy({
  name: 'ensemble-fit',
  description:
    'ridge-fitted weights of 20 suite members (16 pass-based, 4 graph-path) in both rank forms, shrunk toward the label-free ensemble (chosen on NB201 sample A): labels needed',
  consumes: [],
  direction: 'higher',
  protocol: { batch: 16, labels: true, source: 'this package, docs/ensemble-study.md (fitted on NB201 sample A)' },
  ensemble: FITTED_ENSEMBLE,
});
