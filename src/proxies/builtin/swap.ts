import { defineProxy } from '../types.js';

/** Mean of the repeats' values (summed in repeat order, so results equal the historical scorer's bit for bit). */
export function meanOf(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * SWAP-Score Ψ (Peng et al., "SWAP-NAS", ICLR 2024): distinct sample-wise ReLU sign patterns over every recorded
 * ReLU output, averaged over the weight initialisations.
 */
export const swapProxy = defineProxy({
  name: 'swap',
  description: 'SWAP-Score Ψ: distinct sample-wise ReLU activation patterns, mean over weight initialisations',
  consumes: ['relu-patterns'],
  direction: 'higher',
  protocol: { batch: 16, repeats: 32, source: 'SWAP-NAS (ICLR 2024) official code, NAS-Bench-201 C=16 N=5' },
  reduce: ({ measured }) => meanOf(measured['relu-patterns']),
});
