import { weightTensorIds } from './analysis.js';
import { encodeAttrs, IR_MAGIC, IR_VERSION, OPS } from './ops.js';
import type { Network } from './types.js';

/**
 * Flat Int32 encoding of a {@link Network} for the native addon and GPU backends (the IR crosses the boundary
 * once, not the weights). Layout:
 *
 * `[MAGIC, VERSION, nNodes, output]`, then per node
 * `[opcode, nInputs, ...inputs, rank, ...shape, nAttrs, ...attrs]`, then
 * `[nShared, ...(node, tensor) pairs]`
 *
 * with each op's opcode and attribute words as specified in `ops.ts` (C++: the generated `native/ir_ops.h`).
 * The PRNG tensor id of a conv/linear weight is its node index, but for the nodes listed last, which draw the
 * weights of an earlier node (a tied weight: {@link weightTensorIds}).
 */
export function serializeNetwork(net: Network): Int32Array {
  const out: number[] = [IR_MAGIC, IR_VERSION, net.nodes.length, net.output];
  for (const n of net.nodes) {
    const attrs = encodeAttrs(n);
    out.push(OPS[n.op].opcode, n.inputs.length, ...n.inputs, n.shape.length, ...n.shape, attrs.length);
    // one word at a time: a tail of per-channel constants can exceed the arguments a call may spread
    for (const a of attrs) out.push(a);
  }
  const shared = [...weightTensorIds(net)].flatMap((tensor, node) => (tensor === node ? [] : [node, tensor]));
  out.push(shared.length / 2, ...shared);
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
