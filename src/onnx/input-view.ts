/**
 * A flat (N, F) input that the model views as images before anything else reads it (`x.view(-1, 1, 28, 28)`, the
 * form a model fed flattened images writes): the IR takes the C×H×W map, and ONNX Runtime the file's (N, F).
 */
import type { Shape3 } from '../ir/types.js';
import { getInt, getInts, tensorValues, type IGraphProto, type INodeProto, type ITensorProto } from './proto.js';

/** The batch dimension of a Reshape target computed from the input's own shape (`x.size(0)`). */
const BATCH = 'N';
type Dim = number | typeof BATCH;

/**
 * The C×H×W map every reader of the flat input `name` views it as, or undefined: each reader is a Reshape of the
 * input to [batch, C, H, W] with the same C, H, W (C·H·W = F where F is fixed), or to [batch, H, W] read only by an
 * Unsqueeze on axis 1 (`x.view(-1, 28, 28).unsqueeze(1)`: 1×H×W), or a Shape node (the dynamic `x.size(0)` of
 * such a target). The batch is −1, 0, the file's fixed batch, or `x.size(0)`.
 */
export function flatInputView(
  g: IGraphProto,
  consts: ReadonlyMap<string, ITensorProto>,
  name: string,
  dims: readonly (number | string)[],
): Shape3 | undefined {
  const nodes = g.node ?? [];
  const byOutput = new Map<string, INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) byOutput.set(o, n);
  const readers = nodes.filter((n) => (n.input ?? []).includes(name));
  const views = readers.filter((n) => n.opType !== 'Shape');
  if (views.length === 0 || (g.output ?? []).some((o) => o.name === name)) return undefined;
  let view: Shape3 | undefined;
  for (const n of views) {
    if (n.opType !== 'Reshape' || n.input?.[0] !== name || getInt(n, 'allowzero', 0) !== 0) return undefined;
    const t = targetOf(n.input?.[1] ?? '', consts, byOutput, name);
    const v = t && mapOf(t.length === 3 && unsqueezedOnce(g, nodes, n, consts) ? [t[0]!, 1, t[1]!, t[2]!] : t, dims);
    if (!v || (view && v.join() !== view.join())) return undefined;
    view = v;
  }
  return view;
}

/** Whether Reshape `r`'s output is read only by an Unsqueeze on axis 1 (or −3; and is no graph output). */
function unsqueezedOnce(
  g: IGraphProto,
  nodes: readonly INodeProto[],
  r: INodeProto,
  consts: ReadonlyMap<string, ITensorProto>,
): boolean {
  const y = r.output?.[0] ?? '';
  const readers = nodes.filter((n) => (n.input ?? []).includes(y));
  const u = readers.length === 1 ? readers[0]! : undefined;
  if (u?.opType !== 'Unsqueeze' || u.input?.[0] !== y || (g.output ?? []).some((o) => o.name === y)) return false;
  const axes = u.input?.[1] ? consts.get(u.input[1]) : undefined;
  const ax = axes ? Array.from(tensorValues(axes)) : getInts(u, 'axes');
  // axis 1 of the 4-D result, or −3 (`unsqueeze(-3)`)
  return ax?.length === 1 && (ax[0] === 1 || ax[0] === -3);
}

/** The [batch, C, H, W] a Reshape target gives a flat input of `dims`, as C×H×W; undefined for any other. */
function mapOf(t: readonly Dim[], dims: readonly (number | string)[]): Shape3 | undefined {
  const [b, ...chw] = t;
  const fixed = typeof dims[0] === 'number' && dims[0] > 0 ? dims[0] : undefined;
  if (t.length !== 4 || !(b === BATCH || b === -1 || b === 0 || (fixed !== undefined && b === fixed))) return undefined;
  if (!chw.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0)) return undefined;
  const [c, h, w] = chw as number[];
  const f = dims[1];
  return typeof f === 'number' && f !== c! * h! * w! ? undefined : [c!, h!, w!];
}

/**
 * A Reshape target's values: a constant, or torch.onnx's `x.view(x.size(0), C, H, W)` with a dynamic batch, a
 * Concat of constants and Unsqueeze(Gather(Shape(input), 0)).
 */
function targetOf(
  t: string,
  consts: ReadonlyMap<string, ITensorProto>,
  byOutput: ReadonlyMap<string, INodeProto>,
  input: string,
): Dim[] | undefined {
  const c = consts.get(t);
  if (c) return Array.from(tensorValues(c));
  const n = byOutput.get(t);
  if (n?.opType !== 'Concat' || getInt(n, 'axis', 0) !== 0) return undefined;
  const parts = (n.input ?? []).map(
    (p) => consts.get(p) ?? (isBatchOf(p, byOutput, consts, input) ? BATCH : undefined),
  );
  if (parts.some((p) => p === undefined)) return undefined;
  return parts.flatMap((p): Dim[] => (p === BATCH ? [BATCH] : Array.from(tensorValues(p as ITensorProto))));
}

/** Whether `t` is Unsqueeze(Gather(Shape(input), 0)) on axis 0: the input's batch size as a 1-element vector. */
function isBatchOf(
  t: string,
  byOutput: ReadonlyMap<string, INodeProto>,
  consts: ReadonlyMap<string, ITensorProto>,
  input: string,
): boolean {
  const u = byOutput.get(t);
  if (u?.opType !== 'Unsqueeze') return false;
  const axes = u.input?.[1] ? consts.get(u.input[1]) : undefined;
  const ax = axes ? Array.from(tensorValues(axes)) : getInts(u, 'axes');
  const gather = byOutput.get(u.input?.[0] ?? '');
  const index = gather?.input?.[1] ? consts.get(gather.input[1]) : undefined;
  const shape = byOutput.get(gather?.input?.[0] ?? '');
  return (
    ax?.length === 1 &&
    ax[0] === 0 &&
    gather?.opType === 'Gather' &&
    getInt(gather, 'axis', 0) === 0 &&
    index !== undefined &&
    tensorValues(index)[0] === 0 &&
    shape?.opType === 'Shape' &&
    shape.input?.[0] === input &&
    getInt(shape, 'start', 0) === 0
  );
}
