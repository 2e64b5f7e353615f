import type { IRNode, Network } from './types.js';

/** Trainable parameters of one node (PyTorch's `numel` sum: weights, biases, BN γ/β). */
export function nodeParams(n: IRNode): number {
  switch (n.op) {
    case 'conv':
      return n.cout * (n.cin / n.groups) * n.k * n.k + (n.bias ? n.cout : 0);
    case 'bn':
      return n.affine ? 2 * (n.shape[0] as number) : 0;
    case 'linear':
      return n.fin * n.fout + (n.bias ? n.fout : 0);
    default:
      return 0;
  }
}

/** Θ: total trainable parameters (absolute count). */
export function countParams(net: Network): number {
  let p = 0;
  for (const n of net.nodes) p += nodeParams(n);
  return p;
}

/** Number of elements per sample. */
export function numel(shape: readonly number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

/**
 * Multiply-accumulates per sample of conv and linear layers (the usual "FLOPs" of NAS papers, which count one
 * MAC as one FLOP); pooling, BN and elementwise ops are not counted.
 */
export function countMacs(net: Network): number {
  let m = 0;
  for (const n of net.nodes) {
    if (n.op === 'conv') m += numel(n.shape) * (n.cin / n.groups) * n.k * n.k;
    else if (n.op === 'linear') m += n.fin * n.fout;
  }
  return m;
}

/** V: scalars per sample over all recorded ReLU outputs (the number of sample-wise patterns formed). */
export function recordedValues(net: Network): number {
  let v = 0;
  for (const n of net.nodes) if (isRecordedRelu(net, n)) v += numel(n.shape);
  return v;
}

/** A ReLU is recorded when it acts on a 4-D (N, C, H, W) tensor, as in the official hooks. */
export function isRecordedRelu(_net: Network, n: IRNode): boolean {
  return n.op === 'relu' && n.shape.length === 3;
}
