/**
 * A train-mode BatchNorm that sees one value per channel: PyTorch raises there ("Expected more than 1 value per
 * channel when training"), so the official code gives no value, while the normalisation itself would be 0/√ε. It
 * happens at one sample per batch (MeCo's one image, synflow_bn's one all-ones input, `--proxy-batch 1`) on flat
 * features (a BatchNorm1d) or on a 1×1 map.
 */
import { bnModeOf, convAxes, numel } from '../ir/ops.js';
import type { BnMode } from '../grad/types.js';
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
 * Per node, whether its output is the same at every position of each channel when the network's input is (a batch
 * of one sample of all ones, synflow's): no padding has reached it. Conservative: a conv with padding, an average
 * that counts padding, or a BN ends it (a map made constant otherwise, a max over the whole map, is not seen).
 */
function constantOnOnes(net: Network): Uint8Array {
  const flat = new Uint8Array(net.nodes.length);
  for (const n of net.nodes) {
    const ins = n.inputs.every((j) => flat[j] === 1);
    if (n.op === 'input' || n.op === 'zero') flat[n.id] = 1;
    else if (n.op === 'conv') {
      // (a transposed conv's outputs sum different numbers of taps, or different taps; conservative: only a 1×1 of
      // stride 1 without padding would keep a constant map constant, and it is taken as not)
      const a = convAxes(n);
      flat[n.id] = ins && !n.transposed && a.ph + a.pw + a.pb + a.pr === 0 ? 1 : 0;
    } else if (n.op === 'maxpool')
      flat[n.id] = ins ? 1 : 0; // the padding (−∞) is never the max
    // an average over in-bounds values only, or over windows that never reach the padding
    else if (n.op === 'avgpool') flat[n.id] = ins && (!n.countIncludePad || (n.pad === 0 && !n.ceil)) ? 1 : 0;
    else if (['relu', 'act', 'sigmoid', 'add', 'mul', 'concat', 'slice', 'shuffle', 'upsample'].includes(n.op))
      flat[n.id] = ins ? 1 : 0;
  }
  return flat;
}

/**
 * The first train-mode BN of a pass (`run`, ending at `ends`) whose input map is constant on the all-ones input, if
 * no path avoiding such BNs carries the input to every end; undefined otherwise. Such a BN's normalised value is 0
 * in exact arithmetic (its output β) and rounding amplified by 1/√ε in practice (≈ 1e-13 of its input's scale):
 * where it only adds to a map another path carries (RepVGG's unpadded 1×1 branch beside its 3×3), the value is that
 * path's, as PyTorch's is. A product carries the input only where both its factors do (conservative: a product with
 * a function of such a BN, `x * sigmoid(bn)`, is null though the official value is defined).
 */
function constantMapBn(net: Network, bn: BnMode, run: Uint8Array, ends: readonly number[]): number | undefined {
  const flat = constantOnOnes(net);
  const rounded = net.nodes.map(
    (n) =>
      n.op === 'bn' &&
      run[n.id] === 1 &&
      numel(n.shape) > n.shape[0]! &&
      bnModeOf(n, bn) === 'train' &&
      flat[n.inputs[0]!] === 1,
  );
  const first = rounded.indexOf(true);
  if (first < 0) return undefined;
  const carries = new Uint8Array(net.nodes.length);
  for (const n of net.nodes) {
    const ins = n.inputs.map((j) => carries[j] === 1);
    const carried = n.op === 'mul' ? ins.every(Boolean) : ins.some(Boolean);
    carries[n.id] = n.op === 'input' || (!rounded[n.id] && n.op !== 'zero' && carried) ? 1 : 0;
  }
  return ends.every((e) => carries[e] === 1) ? undefined : first;
}

/**
 * The members' null values, with the reason, when a pass of the group that `s` describes would run a train-mode
 * BatchNorm on one value per channel, or (synflow's all-ones input) on a map that is constant in exact arithmetic;
 * undefined otherwise. The first is what PyTorch refuses, so it is reported where both apply. zen's and AZ-NAS's passes end before the head (the
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
  const ends = passEnds(net, group, features);
  const run = ancestors(net, ends);
  // a BN normalises with batch statistics in train mode, and in eval mode too without running statistics
  const bn = net.nodes.find(
    (n) => n.op === 'bn' && bnModeOf(n, s.bn) === 'train' && run[n.id] && numel(n.shape) === n.shape[0],
  );
  const constant = !bn && s.input === 'ones' ? constantMapBn(net, s.bn, run, ends) : undefined;
  if (!bn && constant === undefined) return undefined;
  const what = bn?.shape.length === 1 ? 'flat features (a BatchNorm1d)' : 'a 1×1 map';
  const why = bn
    ? `BatchNorm node ${bn.id} normalises ${what} of a batch of one sample in training mode: one value per channel, where PyTorch raises ("Expected more than 1 value per channel when training"), so the official code has no value (a batch of 2 or more has one)`
    : `BatchNorm node ${constant} normalises a map that is constant on the all-ones input (no padding reaches it before): its batch variance is 0 in exact arithmetic, so its output, and the value, is amplified rounding (in the official code too)`;
  return Object.fromEntries(members.map((m) => [m, { value: null, reason: `${m}: ${why}` }]));
}
