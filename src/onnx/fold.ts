/**
 * Constant folding on load: a node of the shape arithmetic below whose inputs are all constants becomes a constant.
 * PyTorch writes `F.pad` / `nn.ZeroPad2d` at opset 13 as such arithmetic on the pad list (Shape of a Constant, then
 * Gather, Sub, ConstantOfShape, Concat, Reshape, Slice with step −1, Transpose, Cast) and does not fold it even with
 * constant folding on, so the Pad's `pads` input is a constant only once this has run. Values are held as doubles
 * (int64 shape values are far below 2^53); arithmetic is folded on integers only; an op, a type, a size or a case
 * outside what is written here is left unfolded, and the importer then says what it cannot read.
 */
import {
  DT_BOOL,
  DT_DOUBLE,
  DT_FLOAT,
  DT_INT32,
  DT_INT64,
  getInt,
  getInts,
  type INodeProto,
  type ITensorProto,
  numelOf,
  tensorDims,
  tensorValues,
} from './proto.js';

/** A constant while it is folded: dims, values (as doubles) and its ONNX data type. */
interface Arr {
  readonly dims: readonly number[];
  readonly v: Float64Array;
  readonly type: number;
}

const TYPES: ReadonlySet<number> = new Set([DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_BOOL]);
const INTS: ReadonlySet<number> = new Set([DT_INT32, DT_INT64, DT_BOOL]);

type Folder = (n: INodeProto, ins: readonly (Arr | undefined)[]) => Arr | undefined;

/**
 * Most elements a fold reads or writes: shape arithmetic is tiny; a bias-free Linear's transposed weight is the
 * largest constant the importer needs folded.
 */
const MAX_ELEMENTS = 1 << 24;

/** The folded value of node `n`'s one output, or undefined when it is not a foldable op on constant inputs. */
export function foldConstant(n: INodeProto, consts: ReadonlyMap<string, ITensorProto>): ITensorProto | undefined {
  const fold = Object.hasOwn(FOLDERS, n.opType ?? '') ? FOLDERS[n.opType!] : undefined;
  const out = n.output?.[0];
  if (!fold || !out || (n.output ?? []).length !== 1) return undefined;
  const names = n.input ?? [];
  const tensors = names.map((name) => (name ? consts.get(name) : undefined));
  if (tensors.some((t, i) => names[i] && (!t || !TYPES.has(t.dataType ?? 0) || numelOf(tensorDims(t)) > MAX_ELEMENTS)))
    return undefined;
  const ins = tensors.map((t) => t && { dims: tensorDims(t), v: tensorValues(t), type: t.dataType ?? 0 });
  const r = fold(n, ins);
  return r && numelOf(r.dims) === r.v.length ? toTensor(out, r) : undefined;
}

/** Dims a fold may create: non-negative integers, within {@link MAX_ELEMENTS}. */
function okDims(dims: readonly number[]): boolean {
  return dims.every((d) => Number.isSafeInteger(d) && d >= 0) && numelOf(dims) <= MAX_ELEMENTS;
}

function toTensor(name: string, a: Arr): ITensorProto {
  const data = Array.from(a.v);
  const base = { name, dims: [...a.dims], dataType: a.type };
  if (a.type === DT_FLOAT) return { ...base, floatData: data };
  if (a.type === DT_DOUBLE) return { ...base, doubleData: data };
  if (a.type === DT_INT64) return { ...base, int64Data: data };
  return { ...base, int32Data: data };
}

/** Row-major strides of `dims`. */
function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** Multi-index of flat position `i` in `dims`. */
function unravel(i: number, dims: readonly number[]): number[] {
  const idx = new Array<number>(dims.length).fill(0);
  for (let k = dims.length - 1; k >= 0; k--) {
    idx[k] = i % dims[k]!;
    i = Math.floor(i / dims[k]!);
  }
  return idx;
}

const axisOf = (a: number, rank: number) => (a < 0 ? a + rank : a);

/**
 * numpy-broadcast integer op (Add, Sub, Mul, Div; Div truncates, as ONNX Runtime's does). Float arithmetic is not
 * folded: on weights (a scaled convolution) it would turn a parameter into a constant product of it.
 */
function binary(op: (a: number, b: number) => number): Folder {
  return (n, [a, b]) => {
    if (!a || !b || a.type !== b.type || !INTS.has(a.type)) return undefined;
    if (n.opType === 'Div' && b.v.includes(0)) return undefined;
    const rank = Math.max(a.dims.length, b.dims.length);
    const pad = (d: readonly number[]) => [...new Array<number>(rank - d.length).fill(1), ...d];
    const [da, db] = [pad(a.dims), pad(b.dims)];
    const dims = da.map((d, k) => (d === db[k] || db[k] === 1 ? d : d === 1 ? db[k]! : -1));
    if (!okDims(dims)) return undefined;
    const [sa, sb] = [strides(da), strides(db)];
    const v = new Float64Array(numelOf(dims));
    for (let i = 0; i < v.length; i++) {
      const idx = unravel(i, dims);
      let ia = 0;
      let ib = 0;
      idx.forEach((x, k) => {
        ia += (da[k] === 1 ? 0 : x) * sa[k]!;
        ib += (db[k] === 1 ? 0 : x) * sb[k]!;
      });
      v[i] = Math.trunc(op(a.v[ia]!, b.v[ib]!));
    }
    return { dims, v, type: a.type };
  };
}

function gather(n: INodeProto, [data, ix]: readonly (Arr | undefined)[]): Arr | undefined {
  if (!data || !ix || data.dims.length === 0) return undefined;
  const axis = axisOf(getInt(n, 'axis', 0), data.dims.length);
  if (axis < 0 || axis >= data.dims.length) return undefined;
  const d = data.dims[axis]!;
  const outer = numelOf(data.dims.slice(0, axis));
  const inner = numelOf(data.dims.slice(axis + 1));
  const dims = [...data.dims.slice(0, axis), ...ix.dims, ...data.dims.slice(axis + 1)];
  const v = new Float64Array(numelOf(dims));
  let o = 0;
  for (let a = 0; a < outer; a++)
    for (const raw of ix.v) {
      const j = raw < 0 ? raw + d : raw;
      if (j < 0 || j >= d) return undefined;
      for (let k = 0; k < inner; k++) v[o++] = data.v[(a * d + j) * inner + k]!;
    }
  return { dims, v, type: data.type };
}

function concat(n: INodeProto, ins: readonly (Arr | undefined)[]): Arr | undefined {
  const xs = ins.filter((x): x is Arr => x !== undefined);
  if (xs.length === 0 || xs.some((x) => x.type !== xs[0]!.type || x.dims.length !== xs[0]!.dims.length))
    return undefined;
  const rank = xs[0]!.dims.length;
  const axis = axisOf(getInt(n, 'axis', 0), rank);
  if (axis < 0 || axis >= rank) return undefined;
  if (xs.some((x) => x.dims.some((d, k) => k !== axis && d !== xs[0]!.dims[k]))) return undefined;
  const outer = numelOf(xs[0]!.dims.slice(0, axis));
  const dims = [...xs[0]!.dims];
  dims[axis] = xs.reduce((a, x) => a + x.dims[axis]!, 0);
  const v = new Float64Array(numelOf(dims));
  let o = 0;
  for (let a = 0; a < outer; a++)
    for (const x of xs) {
      const block = numelOf(x.dims.slice(axis));
      v.set(x.v.subarray(a * block, (a + 1) * block), o);
      o += block;
    }
  return { dims, v, type: xs[0]!.type };
}

function reshape(n: INodeProto, [data, shape]: readonly (Arr | undefined)[]): Arr | undefined {
  if (!data || !shape) return undefined;
  const allowZero = getInt(n, 'allowzero', 0) === 1;
  const dims = Array.from(shape.v, (d, k) => (d === 0 && !allowZero ? (data.dims[k] ?? -2) : d));
  const known = dims.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
  const free = dims.filter((d) => d === -1).length;
  if (free > 1 || dims.some((d) => d < -1) || (free === 1 && known === 0)) return undefined;
  const out = dims.map((d) => (d === -1 ? data.v.length / known : d));
  return numelOf(out) === data.v.length && okDims(out) ? { ...data, dims: out } : undefined;
}

/** ONNX Slice, negative steps included (starts/ends clamped as the operator's definition says). */
function slice(_n: INodeProto, [data, st, en, ax, sp]: readonly (Arr | undefined)[]): Arr | undefined {
  if (!data || !st || !en) return undefined;
  const rank = data.dims.length;
  const lo = data.dims.map(() => 0);
  const step = data.dims.map(() => 1);
  const count = [...data.dims];
  const axes = ax ? Array.from(ax.v, (a) => axisOf(a, rank)) : Array.from(st.v, (_, i) => i);
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    const d = data.dims[a]!;
    const s = sp ? sp.v[i]! : 1;
    if (a < 0 || a >= rank || s === 0) return undefined;
    const at = (x: number) => (x < 0 ? x + d : x);
    const [min, max] = s > 0 ? [0, d] : [-1, d - 1];
    const b = Math.min(Math.max(at(st.v[i]!), 0), s > 0 ? d : d - 1);
    const e = Math.min(Math.max(at(en.v[i]!), min), max);
    lo[a] = b;
    step[a] = s;
    count[a] = Math.max(0, Math.ceil((e - b) / s));
  }
  const src = strides(data.dims);
  const v = new Float64Array(numelOf(count));
  for (let i = 0; i < v.length; i++) {
    const idx = unravel(i, count);
    let off = 0;
    idx.forEach((x, k) => {
      off += (lo[k]! + x * step[k]!) * src[k]!;
    });
    v[i] = data.v[off]!;
  }
  return { dims: count, v, type: data.type };
}

function transpose(n: INodeProto, [x]: readonly (Arr | undefined)[]): Arr | undefined {
  if (!x) return undefined;
  const rank = x.dims.length;
  const perm = getInts(n, 'perm') ?? x.dims.map((_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort().some((p, i) => p !== i)) return undefined;
  const dims = perm.map((p) => x.dims[p]!);
  const v = new Float64Array(x.v.length);
  if (rank === 2 && perm[0] === 1) {
    // a bias-free Linear's weight, the large case: a plain loop
    const [r, c] = x.dims as [number, number];
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) v[j * r + i] = x.v[i * c + j]!;
    return { dims, v, type: x.type };
  }
  const src = strides(x.dims);
  for (let i = 0; i < v.length; i++) {
    const idx = unravel(i, dims);
    let off = 0;
    idx.forEach((j, k) => {
      off += j * src[perm[k]!]!;
    });
    v[i] = x.v[off]!;
  }
  return { dims, v, type: x.type };
}

/** Cast to a type this file holds; float → integer truncates toward zero, as ONNX Runtime does. */
function cast(n: INodeProto, [x]: readonly (Arr | undefined)[]): Arr | undefined {
  const to = getInt(n, 'to', 0);
  if (!x || !TYPES.has(to)) return undefined;
  const conv =
    to === DT_BOOL
      ? (v: number) => (v === 0 ? 0 : 1)
      : INTS.has(to)
        ? Math.trunc
        : to === DT_FLOAT
          ? Math.fround
          : (v: number) => v;
  return { dims: x.dims, v: x.v.map(conv), type: to };
}

/** Unsqueeze (axes from input 1, or the attribute before opset 13) and Squeeze (no axes: every unit axis). */
function unsqueeze(n: INodeProto, [x, ax]: readonly (Arr | undefined)[]): Arr | undefined {
  if (!x) return undefined;
  const list = ax ? Array.from(ax.v) : getInts(n, 'axes');
  if (!list) return undefined;
  const rank = x.dims.length + list.length;
  const at = new Set(list.map((a) => axisOf(a, rank)));
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(at.has(i) ? 1 : x.dims[k++]!);
  return k === x.dims.length ? { ...x, dims } : undefined;
}

function squeeze(n: INodeProto, [x, ax]: readonly (Arr | undefined)[]): Arr | undefined {
  if (!x) return undefined;
  const list = ax ? Array.from(ax.v) : getInts(n, 'axes');
  const at = new Set((list ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => axisOf(a, x.dims.length)));
  if ([...at].some((a) => x.dims[a] !== 1)) return undefined;
  return { ...x, dims: x.dims.filter((_, i) => !at.has(i)) };
}

function shapeOf(n: INodeProto, [x]: readonly (Arr | undefined)[]): Arr | undefined {
  if (!x) return undefined;
  const r = x.dims.length;
  const at = (a: number) => Math.min(r, Math.max(0, axisOf(a, r)));
  const dims = x.dims.slice(at(getInt(n, 'start', 0)), at(getInt(n, 'end', r)));
  return { dims: [dims.length], v: Float64Array.from(dims), type: DT_INT64 };
}

function constantOfShape(n: INodeProto, [shape]: readonly (Arr | undefined)[]): Arr | undefined {
  if (shape?.dims.length !== 1) return undefined;
  const t = n.attribute?.find((a) => a.name === 'value')?.t;
  const type = t?.dataType ?? DT_FLOAT;
  if (!TYPES.has(type)) return undefined;
  const fill = t ? (tensorValues(t)[0] ?? 0) : 0;
  const dims = Array.from(shape.v);
  if (!okDims(dims)) return undefined;
  return { dims, v: new Float64Array(numelOf(dims)).fill(fill), type };
}

const FOLDERS: Readonly<Record<string, Folder>> = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b),
  Gather: gather,
  Concat: concat,
  Reshape: reshape,
  Slice: slice,
  Transpose: transpose,
  Cast: cast,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Shape: shapeOf,
  ConstantOfShape: constantOfShape,
};
