import { defineProxy } from '../types.js';
import { realInput, type SuiteForm, ZC } from '../suite-protocol.js';

/** The pruning-at-init saliencies (Abdelfattah et al., ICLR 2021): one labelled batch, one backward pass. */
const form = (file: string): SuiteForm => ({
  group: 'saliency',
  consumes: ['weight-gradients'],
  backward: true,
  labels: true,
  head: true,
  protocol: realInput(64, `${ZC}/${file}`),
});
const protocol = (file: string) => ({ batch: 64, labels: true, source: `${ZC}/${file}` });

export const gradNormProxy = defineProxy({
  name: 'grad_norm',
  description: "sum of the L2 norms of the loss gradient's weight tensors",
  consumes: [],
  direction: 'higher',
  protocol: protocol('grad_norm.py'),
  suite: form('grad_norm.py'),
});

export const snipProxy = defineProxy({
  name: 'snip',
  description: 'SNIP: sum of |weight × loss gradient|',
  consumes: [],
  direction: 'higher',
  protocol: protocol('snip.py'),
  suite: form('snip.py'),
});

export const plainProxy = defineProxy({
  name: 'plain',
  description: 'sum of weight × loss gradient',
  consumes: [],
  direction: 'higher',
  protocol: protocol('plain.py'),
  suite: form('plain.py'),
});

export const fisherProxy = defineProxy({
  name: 'fisher',
  description: 'Fisher: squared activation × activation-gradient sums at the ReLUs, per channel',
  consumes: [],
  direction: 'higher',
  protocol: protocol('fisher.py'),
  suite: form('fisher.py'),
});
