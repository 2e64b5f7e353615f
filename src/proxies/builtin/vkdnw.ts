import { defineProxy } from '../types.js';
import { gaussianInput, VK } from '../suite-protocol.js';

const protocol = { batch: 64, source: VK };

/** VKDNW (Tybl & Neumann, CVPR 2025): entropy of the Fisher information spectrum from per-sample gradients. */
export const vkdnwProxy = defineProxy({
  name: 'vkdnw',
  description: "VKDNW: entropy of the empirical Fisher information matrix's eigenvalue quantiles",
  consumes: [],
  direction: 'higher',
  protocol,
  suite: {
    group: 'vkdnw',
    consumes: ['per-sample-gradients'],
    backward: true,
    labels: false,
    head: true,
    protocol: gaussianInput('kaiming', 'eval', VK),
  },
});

/** VKDNW's dimension term: the number of trainable tensors (VKDNW_agg ranks by it first). */
export const vkdnwDimProxy = defineProxy({
  name: 'vkdnw_dim',
  description: 'VKDNW dimension term: number of trainable tensors',
  consumes: [],
  direction: 'higher',
  protocol,
  suite: {
    group: 'vkdnw',
    consumes: ['architecture'],
    backward: false,
    labels: false,
    head: false,
    protocol: gaussianInput('kaiming', 'eval', VK),
  },
});
