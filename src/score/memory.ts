import { cpus } from 'node:os';
import { nodeParams, numel } from '../ir/analysis.js';
import type { Network } from '../ir/types.js';
import { checkMemory, estimateScoreBytes } from '../util/limits.js';

/** Activation values per sample (every node's output) and weight values of a network, for the memory estimate. */
export function networkSize(net: Network): { activations: number; weights: number } {
  let activations = 0;
  let weights = 0;
  for (const n of net.nodes) {
    activations += numel(n.shape);
    weights += nodeParams(n);
  }
  return { activations, weights };
}

/**
 * Check a scoring run against the memory limit before its input batch is allocated: S samples of `input`, the
 * largest of `networks`, evaluated `items` (network × repeat) at a time on up to `threads` workers (default: all
 * cores). Throws `E_MEMORY` naming the estimate.
 */
export function guardScoreMemory(o: {
  batch: number;
  input: readonly [number, number, number];
  networks: readonly Network[];
  items: number;
  threads?: number;
  limit: number;
}): void {
  let largest: { activations: number; weights: number } | undefined;
  for (const net of o.networks) {
    const s = networkSize(net);
    if (!largest || s.activations > largest.activations) largest = s;
  }
  const concurrent = Math.max(1, Math.min(o.threads ?? cpus().length, o.items));
  const est = estimateScoreBytes({
    batch: o.batch,
    input: o.input,
    ...(largest ? { network: largest } : {}),
    concurrent,
  });
  checkMemory(est, o.limit, `scoring with a batch of ${o.batch} (${concurrent} network(s) at a time)`);
}
