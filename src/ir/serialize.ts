import type { Network } from './types.js';

/**
 * Flat Int32 encoding of a {@link Network} for the native addon and GPU backends (the IR crosses the boundary
 * once, not the weights). Layout:
 *
 * `[MAGIC, VERSION, nNodes, output]`, then per node
 * `[opcode, nInputs, ...inputs, rank, ...shape, nAttrs, ...attrs]` with
 *
 * | op       | code | attrs                                              |
 * |----------|------|----------------------------------------------------|
 * | input    | 0    | —                                                  |
 * | conv     | 1    | cin, cout, k, stride, pad, dilation, groups, bias  |
 * | bn       | 2    | affine                                             |
 * | relu     | 3    | recorded (1 when the input is 4-D)                 |
 * | avgpool  | 4    | k, stride, pad, countIncludePad                    |
 * | maxpool  | 5    | k, stride, pad                                     |
 * | add      | 6    | —                                                  |
 * | concat   | 7    | —                                                  |
 * | zero     | 8    | —                                                  |
 * | gap      | 9    | —                                                  |
 * | linear   | 10   | fin, fout, bias                                    |
 * | slice    | 11   | c0, h0, w0 (the window's size is the node's shape) |
 *
 * The PRNG tensor id of a conv/linear weight is its node index.
 */
export const IR_MAGIC = 0x53574150; // "SWAP"
export const IR_VERSION = 1;
export const OPCODES = {
  input: 0,
  conv: 1,
  bn: 2,
  relu: 3,
  avgpool: 4,
  maxpool: 5,
  add: 6,
  concat: 7,
  zero: 8,
  gap: 9,
  linear: 10,
  slice: 11,
} as const;

export function serializeNetwork(net: Network): Int32Array {
  const out: number[] = [IR_MAGIC, IR_VERSION, net.nodes.length, net.output];
  for (const n of net.nodes) {
    out.push(OPCODES[n.op], n.inputs.length, ...n.inputs, n.shape.length, ...n.shape);
    let attrs: number[] = [];
    switch (n.op) {
      case 'conv':
        attrs = [n.cin, n.cout, n.k, n.stride, n.pad, n.dilation, n.groups, n.bias ? 1 : 0];
        break;
      case 'bn':
        attrs = [n.affine ? 1 : 0];
        break;
      case 'relu':
        attrs = [n.shape.length === 3 ? 1 : 0];
        break;
      case 'avgpool':
        attrs = [n.k, n.stride, n.pad, n.countIncludePad ? 1 : 0];
        break;
      case 'maxpool':
        attrs = [n.k, n.stride, n.pad];
        break;
      case 'linear':
        attrs = [n.fin, n.fout, n.bias ? 1 : 0];
        break;
      case 'slice':
        attrs = [n.c0, n.h0, n.w0];
        break;
      default:
        break;
    }
    out.push(attrs.length, ...attrs);
  }
  return Int32Array.from(out);
}

/** Concatenate several networks' programs; `offsets[i]` is where network i starts, `offsets[n]` the end. */
export function serializeNetworks(nets: readonly Network[]): { program: Int32Array; offsets: Int32Array } {
  const parts = nets.map(serializeNetwork);
  const offsets = new Int32Array(nets.length + 1);
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i]! + parts[i]!.length;
  const program = new Int32Array(offsets[nets.length]!);
  parts.forEach((p, i) => program.set(p, offsets[i]!));
  return { program, offsets };
}
