/**
 * A train-mode BatchNorm that sees one value per channel: PyTorch raises there ("Expected more than 1 value per
 * channel when training"), so the official code gives no value, while the normalisation itself would be 0/√ε. It
 * happens at one sample per batch (MeCo's one image, synflow_bn's one all-ones input, `--proxy-batch 1`) on flat
 * features (a BatchNorm1d) or on a 1×1 map.
 */
import { numel } from '../ir/ops.js';
import type { Network } from '../ir/types.js';
import type { ProxySettings } from './run.js';
import type { ProxyValue } from './value.js';
import { preGapNode } from './zen.js';

/** The nodes a pass up to node `last` evaluates: `last` and its ancestors. */
function ancestors(net: Network, last: number): Uint8Array {
  const seen = new Uint8Array(net.nodes.length);
  seen[last] = 1;
  for (let i = last; i >= 0; i--) if (seen[i]) for (const j of net.nodes[i]!.inputs) seen[j] = 1;
  return seen;
}

/**
 * The members' null values, with the reason, when a pass of the group that `s` describes would run a train-mode
 * BatchNorm on one value per channel; undefined otherwise. zen's pass ends at the map before the global pool (a
 * head's BatchNorm1d is not run).
 */
export function oneValueBatchNorm(
  net: Network,
  group: string,
  members: readonly string[],
  s: ProxySettings,
): Record<string, ProxyValue> | undefined {
  if (s.bn !== 'train' || s.input === 'none' || s.batch !== 1) return undefined;
  const hasGap = net.nodes.some((n) => n.op === 'gap');
  const run = ancestors(net, group === 'zen' && hasGap ? preGapNode(net) : net.output);
  const bn = net.nodes.find((n) => n.op === 'bn' && run[n.id] && numel(n.shape) === n.shape[0]);
  if (!bn) return undefined;
  const what = bn.shape.length === 1 ? 'flat features (a BatchNorm1d)' : 'a 1×1 map';
  const why = `BatchNorm node ${bn.id} normalises ${what} of a batch of one sample in training mode: one value per channel, where PyTorch raises ("Expected more than 1 value per channel when training"), so the official code has no value (a batch of 2 or more has one)`;
  return Object.fromEntries(members.map((m) => [m, { value: null, reason: `${m}: ${why}` }]));
}
