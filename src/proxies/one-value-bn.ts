/**
 * A train-mode BatchNorm that sees one value per channel: PyTorch raises there ("Expected more than 1 value per
 * channel when training"), so the official code gives no value, while the normalisation itself would be 0/√ε. It
 * happens at one sample per batch (MeCo's one image, synflow_bn's one all-ones input, `--proxy-batch 1`) on flat
 * features (a BatchNorm1d) or on a 1×1 map.
 */
import { bnModeOf, numel } from '../ir/ops.js';
import { perSampleBn } from './vkdnw.js';
import type { Network } from '../ir/types.js';
import type { ProxySettings } from './run.js';
import type { ProxyValue } from './value.js';
import { blockFeatures } from './blocks.js';
import { hasPreGap, preGapNode } from './zen.js';

/** The nodes a pass up to the nodes `ends` evaluates: they and their ancestors. */
function ancestors(net: Network, ends: readonly number[]): Uint8Array {
  const seen = new Uint8Array(net.nodes.length);
  for (const e of ends) seen[e] = 1;
  for (let i = net.nodes.length - 1; i >= 0; i--) if (seen[i]) for (const j of net.nodes[i]!.inputs) seen[j] = 1;
  return seen;
}

/** The nodes whose outputs end a group's passes: zen's map before the global pool, AZ-NAS's block features. */
function passEnds(net: Network, group: string, features: readonly number[] | undefined): number[] {
  if (group === 'zen' && hasPreGap(net)) return [preGapNode(net)];
  if (group === 'az') return [...(features ?? blockFeatures(net))];
  return [net.output];
}

/**
 * The members' null values, with the reason, when a pass of the group that `s` describes would run a train-mode
 * BatchNorm on one value per channel; undefined otherwise. zen's and AZ-NAS's passes end before the head (the
 * official code reads `forward_pre_GAP` / `extract_cell_features`), so a head's BatchNorm1d does not stop them.
 */
export function oneValueBatchNorm(
  net: Network,
  group: string,
  members: readonly string[],
  s: ProxySettings,
  features?: readonly number[],
): Record<string, ProxyValue> | undefined {
  if (s.bn === 'identity' || s.input === 'none') return undefined;
  // VKDNW runs a network with BNs without running statistics one sample at a time (vkdnw.ts), whatever the batch
  const single = s.batch === 1 || (group === 'vkdnw' && perSampleBn(net));
  if (!single) return undefined;
  const run = ancestors(net, passEnds(net, group, features));
  // a BN normalises with batch statistics in train mode, and in eval mode too without running statistics
  const bn = net.nodes.find(
    (n) => n.op === 'bn' && bnModeOf(n, s.bn) === 'train' && run[n.id] && numel(n.shape) === n.shape[0],
  );
  if (!bn) return undefined;
  const what = bn.shape.length === 1 ? 'flat features (a BatchNorm1d)' : 'a 1×1 map';
  const why = `BatchNorm node ${bn.id} normalises ${what} of a batch of one sample in training mode: one value per channel, where PyTorch raises ("Expected more than 1 value per channel when training"), so the official code has no value (a batch of 2 or more has one)`;
  return Object.fromEntries(members.map((m) => [m, { value: null, reason: `${m}: ${why}` }]));
}
