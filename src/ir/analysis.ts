import { convTaps, isRecorded, numel, opSpec, weightCount } from './ops.js';
import type { IRNode, Network, TiedParam } from './types.js';
import { SwapError } from '../util/errors.js';
import { isFunctionFn } from './activations.js';

export { numel };

/** Trainable parameters of one node (PyTorch's `numel` sum: weights, biases, BN γ/β); see `OpSpec.params`. */
export function nodeParams(n: IRNode): number {
  return opSpec(n.op).params(n);
}

/**
 * Θ: total trainable parameters (absolute count); a tensor shared by several nodes counts once, and nn.Parameters
 * the IR holds as constants count too (`Network.constantParams`).
 */
export function countParams(net: Network): number {
  let p = 0;
  for (const n of net.nodes) p += nodeParams(n);
  for (const t of net.tied ?? []) p -= tensorSize(net.nodes[t.node]!, t.kind);
  return p + (net.constantParams?.values ?? 0);
}

/**
 * Refuse shared-parameter records that do not describe one network (E_IR_SHAPE): a tie must name a later node and
 * an earlier, untied one of the same op holding a tensor `kind` of the same size (a BN's running statistics: its
 * channels), and so must a shared draw (conv / linear weights); no weight is listed twice among them; a functional
 * weight must be a conv / linear node's.
 */
export function checkSharedParams(net: Network): void {
  // a shared draw is checked as a tie of the weight (it only leaves the gradients apart)
  const records = [...(net.tied ?? []), ...(net.sharedDraws ?? []).map((d) => ({ ...d, kind: 'weight' as const }))];
  const later = new Set(records.map((t) => `${t.node}:${t.kind}`));
  if (later.size < records.length)
    throw new SwapError('E_IR_SHAPE', 'a tensor is listed twice among the tied and shared ones');
  const size = (n: IRNode, kind: TiedParam['kind']) =>
    kind.startsWith('running') && n.op === 'bn' ? n.shape[0] : tensorSize(n, kind);
  for (const t of records) {
    const [a, b] = [net.nodes[t.of], net.nodes[t.node]];
    if (
      !a ||
      !b ||
      t.of >= t.node ||
      later.has(`${t.of}:${t.kind}`) ||
      a.op !== b.op ||
      size(a, t.kind) === 0 ||
      size(a, t.kind) !== size(b, t.kind)
    )
      throw new SwapError(
        'E_IR_SHAPE',
        `tie of node ${t.node}'s ${t.kind} to node ${t.of} does not name an earlier tensor of its size`,
      );
  }
  for (const id of net.functionalWeights ?? [])
    if (!['conv', 'linear'].includes(net.nodes[id]?.op ?? ''))
      throw new SwapError('E_IR_SHAPE', `functional weight node ${id} is not a conv / linear node`);
}

/**
 * The PRNG tensor id of each node's conv / linear weight, by node id: the node's own id, or for a later use of one
 * tensor (a tied weight, `net.tied`; one shared by two modules, `net.sharedDraws`) its first use's, so it is drawn
 * once on every engine, as the ONNX Runtime path (one initializer fed once) and PyTorch (one parameter) hold it.
 * Refuses records that do not fit the network ({@link checkSharedParams}).
 */
export function weightTensorIds(net: Network): Int32Array {
  const ids = Int32Array.from(net.nodes, (n) => n.id);
  if (!net.tied && !net.sharedDraws) return ids;
  checkSharedParams(net);
  for (const t of net.tied ?? []) if (t.kind === 'weight') ids[t.node] = t.of;
  for (const d of net.sharedDraws ?? []) ids[d.node] = d.of;
  return ids;
}

/** Values in trainable tensor `kind` of node `n` (0 where the node has none). */
export function tensorSize(n: IRNode, kind: TiedParam['kind']): number {
  if (kind === 'weight') return weightCount(n);
  if (kind === 'bias') return n.op === 'conv' && n.bias ? n.cout : n.op === 'linear' && n.bias ? n.fout : 0;
  return (n.op === 'bn' || n.op === 'gn') && n.affine && (kind === 'gamma' || kind === 'beta') ? n.shape[0] : 0;
}

/**
 * Multiply-accumulates per sample of conv and linear layers (the usual "FLOPs" of NAS papers, which count one
 * MAC as one FLOP); pooling, BN and elementwise ops are not counted. See `OpSpec.macs`.
 */
export function countMacs(net: Network): number {
  let m = 0;
  for (const n of net.nodes) m += opSpec(n.op).macs(n);
  return m;
}

/**
 * FLOPs as the NB201 API counts them (AutoDL's `get_model_infos`): conv and linear multiply-adds per sample, plus one
 * add per output for a bias; the `flops` proxy and the suite's `flops` member.
 */
export function autodlFlops(net: Network): number {
  let f = 0;
  for (const n of net.nodes) {
    if (n.op === 'conv' && n.transposed) f += opSpec('conv').macs(n) + (n.bias ? numel(n.shape) : 0);
    else if (n.op === 'conv') f += numel(n.shape) * ((n.cin / n.groups) * convTaps(n) + (n.bias ? 1 : 0));
    else if (n.op === 'linear') f += n.fout * (n.fin + (n.bias ? 1 : 0));
  }
  return f;
}

/** V: scalars per sample over all recorded ReLU outputs (the number of sample-wise patterns formed). */
export function recordedValues(net: Network): number {
  let v = 0;
  for (const n of net.nodes) if (isRecorded(n)) v += numel(n.shape);
  return v;
}

/**
 * The inputs a node passes the network's signal through: all of them, but a product's first only (its second is a
 * gate computed from the signal — a SiLU's sigmoid, a squeeze-and-excitation branch — not a path of its own).
 */
export function pathInputs(n: IRNode): readonly number[] {
  return n.op === 'mul' ? n.inputs.slice(0, 1) : n.inputs;
}

/**
 * Whether `n` is one nonlinearity on a path: a ReLU of any kind, a smooth activation (GELU, Tanh, ELU, SELU,
 * Softplus, Mish), or a product gated by a sigmoid of its own input (SiLU, Hardswish). A squeeze-and-excitation
 * product and the gates themselves are not.
 */
export function isActivation(net: Network, n: IRNode): boolean {
  if (n.op === 'relu') return true;
  if (n.op === 'act') return !isFunctionFn(n.fn);
  if (n.op !== 'mul') return false;
  const g = net.nodes[n.inputs[1]!]!;
  return g.op === 'sigmoid' && g.inputs[0] === n.inputs[0];
}

/**
 * Which nodes must be evaluated: ancestors of recorded ReLUs (the classifier head, which no recorded ReLU
 * depends on, is skipped; it still counts towards Θ).
 */
export function neededNodes(net: Network): Uint8Array {
  const need = new Uint8Array(net.nodes.length);
  for (let i = net.nodes.length - 1; i >= 0; i--) {
    const n = net.nodes[i]!;
    if (isRecorded(n) || need[i]) {
      need[i] = 1;
      for (const j of n.inputs) need[j] = 1;
    }
  }
  return need;
}

/**
 * The conv / linear nodes whose weight is no nn.Conv2d / nn.Linear module's: calls applying a parameter of their
 * caller (`net.functionalWeights`) and transposed convs (an nn.ConvTranspose2d is no nn.Conv2d). The official
 * proxies' `isinstance` tests skip them: they are outside the per-layer sums and GraSP's H, and count in Θ and
 * VKDNW's parameters.
 */
export function nonModuleWeights(net: Network): Set<number> {
  const out = new Set(net.functionalWeights ?? []);
  for (const n of net.nodes) if (n.op === 'conv' && n.transposed) out.add(n.id);
  return out;
}
