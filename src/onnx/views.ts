/**
 * Constants that view an initializer: a Reshape / Unsqueeze / Squeeze / Identity / Flatten of it, an element or a
 * window of it (Gather, Slice: `self.temp[0]`, `self.offset[:, :4]`) or a Cast (or any of these of another such
 * view), which the loader folds into a constant of its own name (`self.gamma.view(1, -1, 1, 1)`, torch.onnx's
 * Unsqueeze of a GroupNorm's weight). What a parameter or buffer is, in a file that holds it only through such views.
 */
import type { INodeProto, ITensorProto } from './proto.js';

/** Ops that view a tensor in another shape (folded on load where the tensor is a constant). */
const VIEW_OPS: ReadonlySet<string> = new Set([
  'Reshape',
  'Unsqueeze',
  'Squeeze',
  'Identity',
  'Flatten',
  'Gather',
  'Slice',
  'Cast',
]);

/** Each folded view of an initializer (in graph order), by name: the initializer it views. */
export function initializerViews(
  nodes: readonly INodeProto[],
  consts: ReadonlyMap<string, ITensorProto>,
  initializers: ReadonlySet<string>,
): Map<string, string> {
  const viewOf = new Map<string, string>();
  for (const n of nodes) {
    const [x, out] = [n.input?.[0] ?? '', n.output?.[0] ?? ''];
    if (VIEW_OPS.has(n.opType ?? '') && consts.has(out) && (initializers.has(x) || viewOf.has(x)))
      viewOf.set(out, viewOf.get(x) ?? x);
  }
  return viewOf;
}

/** View ops that keep the element order (the same values, flat, in the same order): the others pick or reorder. */
const IN_ORDER_OPS: ReadonlySet<string> = new Set(['Reshape', 'Unsqueeze', 'Squeeze', 'Identity', 'Flatten', 'Cast']);

/**
 * The folded views of initializers (as {@link initializerViews}) made by {@link IN_ORDER_OPS} only: all of the
 * initializer's values in its own order, so flat index 0 of the view is the initializer's (a reversing Slice or a
 * permuting Gather of as many values is not one).
 */
export function inOrderViews(
  nodes: readonly INodeProto[],
  consts: ReadonlyMap<string, ITensorProto>,
  initializers: ReadonlySet<string>,
): Set<string> {
  const inOrder = new Set<string>();
  for (const n of nodes) {
    const [x, out] = [n.input?.[0] ?? '', n.output?.[0] ?? ''];
    if (IN_ORDER_OPS.has(n.opType ?? '') && consts.has(out) && (initializers.has(x) || inOrder.has(x)))
      inOrder.add(out);
  }
  return inOrder;
}

/**
 * Whether initializer `name` carries its state_dict key, as torch.onnx names a module's parameters and buffers
 * (`layer1.0.conv1.weight`), rather than a name it made up: a folded constant (`onnx::Mul_7`) or a Constant node's
 * output (`/Constant_output_0`).
 */
export function isStateDictName(name: string): boolean {
  return !name.includes('::') && !name.startsWith('/');
}
