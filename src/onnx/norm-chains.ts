/**
 * The node chains torch.onnx (opset ≤ 17) writes for the normalisations the IR's `gn` op covers, recognised before
 * the import so that each imports as one node:
 *
 * - nn.GroupNorm(G, C): R = Reshape(X, [N or 0, G, −1]); I = InstanceNormalization(R, 1, 0) (G ones, G zeros);
 *   Y = Reshape(I, Shape(X)); then, when affine, Mul(Y, γ) and Add(·, β), γ and β (C, 1, 1) views of the module's
 *   weight and bias;
 * - nn.LayerNorm(F) on flat features, opset < 17: M = ReduceMean(X, [−1]); D = Sub(X, M); V = ReduceMean(Pow(D, 2),
 *   [−1]); Y = Div(D, Sqrt(Add(V, ε))); then Mul(Y, γ), Add(·, β) when affine (on a map, the mean over C, H, W).
 *
 * nn.InstanceNorm2d (one InstanceNormalization) and opset 17's LayerNormalization are single nodes, imported as
 * they come. Every intermediate tensor must be read only inside its chain (the Sub's by the Pow and the Div), and
 * none may be a graph output, so nothing else sees a value the IR does not compute.
 */
import { getFloat, getInt, getInts, type INodeProto, type ITensorProto, tensorDims, tensorValues } from './proto.js';

/** What the matcher reads of the graph. */
export interface NormGraph {
  readonly nodes: readonly INodeProto[];
  readonly consts: ReadonlyMap<string, ITensorProto>;
  readersOf(name: string): readonly number[];
  readonly graphOutputs: ReadonlySet<string>;
}

/** A recognised chain, imported at its last node. */
export interface NormChain {
  readonly kind: 'group' | 'layer';
  /** The normalised tensor. */
  readonly input: string;
  /** GroupNorm's groups (a LayerNorm's: 1). */
  readonly groups: number;
  /** ε as written (float32). */
  readonly eps: number;
  /** The ReduceMean axes a LayerNorm chain averages over (the importer checks them against X's rank). */
  readonly axes?: readonly number[];
  /**
   * A GroupNorm chain's Reshape targets, which the importer checks against X: the first's batch entry (0, or the
   * file's fixed batch: another would mix samples), and the second's values where a constant-folded export wrote
   * it as one (X's own shape), absent where it reads Shape(X).
   */
  readonly batchEntry?: number;
  readonly back?: readonly number[];
  /** γ and β tensors (constants, C or F values) of the affine Mul / Add, when the chain has them. */
  readonly gamma?: string;
  readonly beta?: string;
  /** The chain's nodes but its last. */
  readonly absorbed: readonly number[];
  /** Index of the chain's last node, whose output is the normalised (and scaled) tensor. */
  readonly last: number;
}

/** Every GroupNorm and decomposed LayerNorm chain of the graph, by the index of its last node. */
export function normChains(g: NormGraph): Map<number, NormChain> {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) producer.set(o, i);
  });
  const out = new Map<number, NormChain>();
  g.nodes.forEach((n, i) => {
    const c =
      n.opType === 'Reshape'
        ? groupNormChain(g, producer, n, i)
        : n.opType === 'ReduceMean'
          ? layerNormChain(g, n, i)
          : undefined;
    if (c) out.set(c.last, c);
  });
  return out;
}

/** The only reader of `n`'s one output, when it is of type `op` (and the output no graph output). */
function sole(g: NormGraph, n: INodeProto, op: string): [number, INodeProto] | undefined {
  const y = n.output?.[0];
  if (!y || g.graphOutputs.has(y)) return undefined;
  const rs = g.readersOf(y);
  const m = rs.length === 1 ? g.nodes[rs[0]!] : undefined;
  return m?.opType === op ? [rs[0]!, m] : undefined;
}

/** The values of constant `name`, if it is one. */
function values(g: NormGraph, name: string | undefined): Float64Array | undefined {
  const t = name ? g.consts.get(name) : undefined;
  return t ? tensorValues(t) : undefined;
}

/** The input of binary node `m` other than `name` (undefined unless `name` is one of its two inputs). */
function other(m: INodeProto, name: string): string | undefined {
  const [a, b] = m.input ?? [];
  return a === name ? b : b === name ? a : undefined;
}

/**
 * The affine Mul(y, γ) → Add(·, β) after a normalisation's last node `n` (γ, β constants of one shape, one value
 * per channel: (k, 1, 1), (1, k, 1, 1), (k) or (1, k) with k > 1), with the chain's last index; without them, `n`
 * itself. A scalar Mul / Add after a module without affine parameters (torch.onnx's 1 and 0 of shape (1, 1, 1), or
 * the user's `* a + b`) is no γ, β: it imports as the arithmetic it is.
 */
function affineTail(
  g: NormGraph,
  n: INodeProto,
  i: number,
): { last: number; gamma?: string; beta?: string; absorbed: number[] } {
  const mul = sole(g, n, 'Mul');
  const gamma = mul && other(mul[1], n.output![0]!);
  const add = mul && sole(g, mul[1], 'Add');
  const beta = add && other(add[1], mul[1].output![0]!);
  const gt = gamma ? g.consts.get(gamma) : undefined;
  const bt = beta ? g.consts.get(beta) : undefined;
  if (!mul || !add || !gt || !bt || tensorDims(gt).join() !== tensorDims(bt).join() || !perChannel(tensorDims(gt)))
    return { last: i, absorbed: [] };
  return { last: add[0], gamma, beta, absorbed: [i, mul[0]] };
}

/** Whether dims hold one value per channel of a map or per feature: (k, 1, 1), (1, k, 1, 1), (k) or (1, k), k > 1. */
function perChannel(dims: readonly number[]): boolean {
  const d = dims.length === 4 || (dims.length === 2 && dims[0] === 1) ? dims.slice(1) : dims;
  return (
    d[0]! > 1 &&
    (d.length === 1 || (d.length === 3 && d[1] === 1 && d[2] === 1)) &&
    (dims.length !== 4 || dims[0] === 1)
  );
}

function groupNormChain(
  g: NormGraph,
  producer: ReadonlyMap<string, number>,
  r1: INodeProto,
  r1i: number,
): NormChain | undefined {
  const x = r1.input?.[0];
  const t1 = values(g, r1.input?.[1]);
  if (!x || t1?.length !== 3 || t1[2] !== -1 || getInt(r1, 'allowzero', 0) !== 0 || !(t1[1]! >= 1)) return undefined;
  const inorm = sole(g, r1, 'InstanceNormalization');
  if (!inorm) return undefined;
  const [, s, b] = inorm[1].input ?? [];
  const [sv, bv] = [values(g, s), values(g, b)];
  if (
    !sv ||
    !bv ||
    sv.length !== t1[1] ||
    !sv.every((v) => v === 1) ||
    bv.length !== t1[1] ||
    !bv.every((v) => v === 0)
  )
    return undefined;
  const r2 = sole(g, inorm[1], 'Reshape');
  if (!r2) return undefined;
  // back to X's shape: Shape(X), read by this Reshape only (a fixed-shape export may fold it into a constant)
  const shapeNode = producer.get(r2[1].input?.[1] ?? '');
  const sn = shapeNode === undefined ? undefined : g.nodes[shapeNode];
  const fromShape =
    sn?.opType === 'Shape' &&
    sn.input?.[0] === x &&
    getInt(sn, 'start', 0) === 0 &&
    !(sn.attribute ?? []).some((a) => a.name === 'end') &&
    g.readersOf(sn.output?.[0] ?? '').length === 1;
  const back = fromShape ? undefined : values(g, r2[1].input?.[1]);
  if (!fromShape && !back) return undefined;
  const tail = affineTail(g, r2[1], r2[0]);
  const absorbed = new Set([...(fromShape ? [shapeNode!] : []), r1i, inorm[0], r2[0], ...tail.absorbed]);
  return {
    kind: 'group',
    input: x,
    groups: t1[1]!,
    batchEntry: t1[0]!,
    ...(back ? { back: Array.from(back) } : {}),
    eps: getFloat(inorm[1], 'epsilon', 1e-5),
    ...(tail.gamma ? { gamma: tail.gamma, beta: tail.beta! } : {}),
    absorbed: [...absorbed].filter((k) => k !== tail.last),
    last: tail.last,
  };
}

/**
 * The readers of mean `m1` if they are one or two Subs `x − m1` (the second an identical copy) and nothing else
 * reads it; none otherwise.
 */
function deviations(g: NormGraph, m1: INodeProto, x: string): (readonly [number, INodeProto])[] {
  const u = m1.output?.[0];
  if (!u || g.graphOutputs.has(u)) return [];
  const subs = g.readersOf(u).map((k) => [k, g.nodes[k]!] as const);
  const ok = subs.every(([, n]) => n.opType === 'Sub' && n.input?.[0] === x && n.input?.[1] === u);
  return ok && subs.length >= 1 && subs.length <= 2 ? subs : [];
}

function layerNormChain(g: NormGraph, m1: INodeProto, m1i: number): NormChain | undefined {
  const x = m1.input?.[0];
  const axes = getInts(m1, 'axes') ?? Array.from(values(g, m1.input?.[1]) ?? []);
  if (!x || axes.length === 0 || getInt(m1, 'keepdims', 1) !== 1) return undefined;
  // x − mean, once, or twice where the file keeps both of the model's `(x - u)` (an export without torch.onnx's
  // common-subexpression pass, as the Python client's): each read by the Pow or the Div only
  const subs = deviations(g, m1, x);
  const ds = new Set(subs.map(([, n]) => n.output?.[0] ?? ''));
  const readers = [...ds]
    .flatMap((d) => (g.graphOutputs.has(d) ? [] : g.readersOf(d)))
    .map((k) => [k, g.nodes[k]!] as const);
  const pow = readers.find(([, r]) => r.opType === 'Pow');
  const div = readers.find(([, r]) => r.opType === 'Div');
  if (readers.length !== 2 || !pow || !div || !ds.has(pow[1].input?.[0] ?? '') || !ds.has(div[1].input?.[0] ?? ''))
    return undefined;
  if (values(g, pow[1].input?.[1])?.[0] !== 2) return undefined;
  const m2 = sole(g, pow[1], 'ReduceMean');
  const m2axes = m2 && (getInts(m2[1], 'axes') ?? Array.from(values(g, m2[1].input?.[1]) ?? []));
  if (!m2 || m2axes?.join() !== axes.join() || getInt(m2[1], 'keepdims', 1) !== 1) return undefined;
  const add = sole(g, m2[1], 'Add');
  const eps = add && values(g, other(add[1], m2[1].output![0]!));
  const sqrt = add && sole(g, add[1], 'Sqrt');
  if (eps?.length !== 1 || !sqrt || div[1].input?.[1] !== sqrt[1].output?.[0]) return undefined;
  if (g.readersOf(sqrt[1].output![0]!).length !== 1 || g.graphOutputs.has(sqrt[1].output![0]!)) return undefined;
  const tail = affineTail(g, div[1], div[0]);
  const absorbed = [m1i, ...subs.map(([k]) => k), pow[0], m2[0], add[0], sqrt[0], div[0], ...tail.absorbed];
  return {
    kind: 'layer',
    input: x,
    groups: 1,
    eps: eps[0]!,
    axes,
    ...(tail.gamma ? { gamma: tail.gamma, beta: tail.beta! } : {}),
    absorbed: absorbed.filter((k) => k !== tail.last),
    last: tail.last,
  };
}
