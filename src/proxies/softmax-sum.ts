import type { Network } from '../ir/types.js';
import type { ProxyValue } from './value.js';

/** The groups whose objective is the sum of the network's outputs (d Σ y / dx, d Σ y / dθ). */
const SUM_GROUPS: ReadonlySet<string> = new Set(['jacobian', 'synflow', 'synflow_bn']);

/**
 * The members' null values, with the reason, when the group differentiates the sum of the outputs of a network
 * that ends in a softmax: the probabilities sum to 1, so that gradient is 0 in exact arithmetic and any value,
 * the official code's included, is rounding noise. Undefined otherwise (a log-softmax's sum is not constant).
 */
export function softmaxSum(
  net: Network,
  group: string,
  members: readonly string[],
): Record<string, ProxyValue> | undefined {
  const out = net.nodes[net.output]!;
  if (!SUM_GROUPS.has(group) || out.op !== 'softmax' || out.log) return undefined;
  const why =
    'the network ends in a softmax, whose outputs sum to 1: the gradient of their sum is 0 in exact arithmetic, so any value (the official code gives one) measures rounding';
  return Object.fromEntries(members.map((m) => [m, { value: null, reason: `${m}: ${why}` }]));
}
