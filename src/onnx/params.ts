/**
 * A model's own weights as {@link NetParams} of its imported IR network, so that gradient proxies can run on
 * them (the forward-scoring IR backends only use PRNG weights).
 */
import type { NetParams, NodeParams, ParamKind, ParamRef } from '../grad/types.js';
import { convTaps } from '../ir/ops.js';
import type { Network, TiedParam } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import { PARAM_KINDS } from '../grad/params.js';
import type { LoadedModel } from './load.js';
import { callScope } from './module-scopes.js';
import { tensorDims, tensorValues, type INodeProto } from './proto.js';
import { isStateDictName } from './views.js';

/** Parameters read from a model, and the ONNX tensor each trainable IR tensor came from. */
export interface OnnxParams {
  readonly params: NetParams;
  /**
   * ONNX initializer name → the IR tensor holding its values; `transposed` when the ONNX tensor is a `[in][out]`
   * matrix (MatMul, Gemm with transB = 0) stored in the IR as `[out][in]` (see {@link toOnnxLayout}).
   */
  readonly names: ReadonlyMap<string, OnnxParamRef>;
  /**
   * Trainable tensors more than one node reads (a module called again): each later use, with the node of its first
   * use, which holds the tensor (`Network.tied`). Both uses hold the same Float64Array.
   */
  readonly tied: readonly TiedParam[];
}

export interface OnnxParamRef extends ParamRef {
  readonly transposed: boolean;
}

/** A tensor in IR layout (e.g. its gradient) in the layout of the ONNX initializer `ref` came from. */
export function toOnnxLayout(net: Network, ref: OnnxParamRef, values: Float64Array): Float64Array {
  const n = net.nodes[ref.node]!;
  if (!ref.transposed || ref.kind !== 'weight') return values;
  // a MatMul's weight: a linear node's, or the 1×1 conv of an nn.Linear over a channels-last map
  if (n.op === 'linear') return transpose(values, [n.fout, n.fin]);
  return n.op === 'conv' ? transpose(values, [n.cout, n.cin]) : values;
}

type MutableParams = { -readonly [K in keyof NodeParams]: NodeParams[K] };

/**
 * The γ and β of an affine `gn` node (GroupNorm, InstanceNorm, LayerNorm) as the import found them: their
 * initializers' names (a torch.onnx Unsqueeze view names its source) and the ONNX node that reads them (its scope).
 */
export interface NormRead {
  readonly node: number;
  readonly gamma: string;
  readonly beta: string;
  readonly from: string;
}

/**
 * One tensor an IR node reads: the ONNX tensor's name, the IR node and role, whether it is stored `[in][out]`, and
 * the ONNX node that reads it (its name carries the module scope).
 */
interface TensorRead {
  readonly name: string;
  readonly node: number;
  readonly kind: TiedParam['kind'];
  readonly transposed: boolean;
  readonly from: string;
}

/** A tensor in the parameter order: a {@link TensorRead}, or an nn.PReLU's slope tensor. */
type OrderRead = Omit<TensorRead, 'kind'> & { readonly kind: TensorRead['kind'] | 'slope' };

/**
 * The trainable tensors of the import's IR nodes, by ONNX name: conv / Gemm / MatMul weights and biases (ids from
 * `weightIds` of {@link importOnnxModel}), then BatchNormalization scales and biases, matched to the IR `bn` nodes in
 * graph order (the importer creates one per imported BatchNormalization, in order).
 */
function trainableReads(
  m: LoadedModel,
  net: Network,
  weightIds: ReadonlyMap<number, number>,
  norms: readonly NormRead[] = [],
): TensorRead[] {
  const nodes = m.model.graph?.node ?? [];
  const reads: TensorRead[] = [];
  const viewed = transposedInitializers(m);
  nodes.forEach((n, idx) => {
    const node = weightIds.get(idx);
    if (node === undefined) return;
    // a MatMul reading the Transpose of an nn.Linear's weight (torch.onnx's form of a Linear on a >2-D input) reads
    // the module's [out][in] weight itself
    const source = n.opType === 'MatMul' ? viewed.get(n.input?.[1] ?? '') : undefined;
    const transposed = !source && (n.opType === 'MatMul' || (n.opType === 'Gemm' && !gemmTransB(n)));
    const from = n.name ?? '';
    reads.push({ name: source ?? n.input?.[1] ?? '', node, kind: 'weight', transposed, from });
    const bias = n.opType === 'MatMul' ? matmulBiasName(m, nodes, n) : n.input?.[2];
    if (bias) reads.push({ name: bias, node, kind: 'bias', transposed: false, from });
  });
  bnPairs(m, net).forEach(([n, node]) => {
    reads.push({ name: n.input?.[1] ?? '', node, kind: 'gamma', transposed: false, from: n.name ?? '' });
    reads.push({ name: n.input?.[2] ?? '', node, kind: 'beta', transposed: false, from: n.name ?? '' });
  });
  for (const r of norms) {
    reads.push({ name: r.gamma, node: r.node, kind: 'gamma', transposed: false, from: r.from });
    reads.push({ name: r.beta, node: r.node, kind: 'beta', transposed: false, from: r.from });
  }
  return reads;
}

/** The names of the initializers the import's layers read as their trainable tensors ({@link trainableReads}). */
export function trainableNames(
  m: LoadedModel,
  net: Network,
  weightIds: ReadonlyMap<number, number>,
  norms: readonly NormRead[] = [],
): ReadonlySet<string> {
  return new Set(trainableReads(m, net, weightIds, norms).map((r) => r.name));
}

/**
 * The ONNX BatchNormalization nodes with their IR `bn` nodes, matched in graph order (the importer creates one per
 * imported BatchNormalization, in order); none where the import folded its BNs into the convolutions.
 */
function bnPairs(m: LoadedModel, net: Network): [INodeProto, number][] {
  const bnIr = net.nodes.filter((n) => n.op === 'bn').map((n) => n.id);
  const bnOnnx = (m.model.graph?.node ?? []).filter((n) => n.opType === 'BatchNormalization');
  return bnOnnx.length === bnIr.length ? bnOnnx.map((n, k) => [n, bnIr[k]!]) : [];
}

/** The running statistics each BN reads from the file (a BN computing its batch statistics in the graph reads none). */
function statisticReads(m: LoadedModel, net: Network): TensorRead[] {
  return bnPairs(m, net).flatMap(([n, node]) =>
    (['runningMean', 'runningVar'] as const)
      .map((kind, i) => ({ name: n.input?.[3 + i] ?? '', node, kind, transposed: false, from: n.name ?? '' }))
      .filter((r) => m.consts.has(r.name)),
  );
}

/**
 * Whether two reads of one tensor tie: the nodes are calls of one module (their torch.onnx scopes equal but for a
 * repeat's suffix, {@link callScope}). Without scopes only a conv / linear weight ties (random values, which no
 * optimiser merges; zero biases and BN ones it may).
 */
function ties(a: TensorRead, b: TensorRead): boolean {
  const [sa, sb] = [callScope(a.from), callScope(b.from)];
  return sa === undefined && sb === undefined ? b.kind === 'weight' : sa === sb;
}

/**
 * Tensors that more than one IR node reads as calls of one module (a PyTorch module called again: torch.onnx gives
 * every call the module's one initializer, in scopes equal but for a repeat's suffix): each later read, with the
 * node of its first read (`Network.tied`). Trainable tensors and BN running statistics (a reused BN module has one
 * running variance). Not tied: a tensor read in two roles or layouts, or by two modules (an optimiser that merged
 * equal initializers: a fresh BN's γ with a running variance of ones, the zero biases of two convolutions).
 */
export function onnxTies(
  m: LoadedModel,
  net: Network,
  weightIds: ReadonlyMap<number, number>,
  norms: readonly NormRead[] = [],
): TiedParam[] {
  const reads = [...trainableReads(m, net, weightIds, norms), ...statisticReads(m, net)];
  const roles = new Map<string, Set<string>>();
  for (const r of reads) roles.set(r.name, (roles.get(r.name) ?? new Set()).add(`${r.kind}${r.transposed ? 'T' : ''}`));
  const first = new Map<string, TensorRead>();
  const tied: TiedParam[] = [];
  for (const r of reads) {
    const f = first.get(r.name);
    if (!f) first.set(r.name, r);
    else if (r.name && roles.get(r.name)!.size === 1 && f.node < r.node && ties(f, r))
      tied.push({ node: r.node, kind: r.kind, of: f.node });
  }
  return tied;
}

/**
 * Conv / linear weights that later nodes read from the same initializer, in the same layout, without being calls of
 * the first one's module (those are {@link onnxTies}): each later read with its first (`Network.sharedDraws`).
 */
export function onnxSharedDraws(
  m: LoadedModel,
  net: Network,
  weightIds: ReadonlyMap<number, number>,
  tied: readonly TiedParam[],
  norms: readonly NormRead[] = [],
): { node: number; of: number }[] {
  const isTied = new Set(tied.filter((t) => t.kind === 'weight').map((t) => t.node));
  const first = new Map<string, TensorRead>();
  const shared: { node: number; of: number }[] = [];
  for (const r of trainableReads(m, net, weightIds, norms).filter((x) => x.kind === 'weight' && x.name)) {
    const f = first.get(r.name);
    if (!f) first.set(r.name, r);
    else if (!isTied.has(r.node) && f.transposed === r.transposed && f.node < r.node)
      shared.push({ node: r.node, of: f.node });
  }
  return shared;
}

/**
 * The trainable tensors in the file's initializer order (torch.onnx writes the `state_dict` order, that of
 * `named_parameters()`), one per tensor (its first read), or undefined where that is node order already. Tensors
 * without a state_dict name take their place from their neighbours ({@link fileRanks}).
 */
export function onnxParameterOrder(
  m: LoadedModel,
  net: Network,
  weightIds: ReadonlyMap<number, number>,
  norms: readonly NormRead[] = [],
  slopes: ReadonlyMap<string, number> = new Map(),
): Network['parameterOrder'] {
  const seen = new Set<string>();
  // nn.PReLU slope initializers (each at its first call's node) take their places too
  const slopeReads = [...slopes].map(
    ([name, node]): OrderRead => ({ name, node, kind: 'slope', transposed: false, from: '' }),
  );
  const reads = [...(trainableReads(m, net, weightIds, norms) as OrderRead[]), ...slopeReads].filter(
    (r) => !seen.has(r.name) && seen.add(r.name),
  );
  const kindRank = (k: string) => PARAM_KINDS.indexOf(k as ParamKind);
  const byNode = [...reads].sort((a, b) => a.node - b.node || kindRank(a.kind) - kindRank(b.kind));
  const rank = fileRanks(m, reads, byNode);
  const byFile = [...reads].sort((a, b) => rank.get(a)! - rank.get(b)!);
  if (byFile.every((r, i) => r === byNode[i])) return undefined;
  return byFile.map((r) => ({ node: r.node, kind: r.kind as ParamKind | 'slope' }));
}

/** The initializer each 2-D Transpose of one reads (its output's name → the initializer). */
function transposedInitializers(m: LoadedModel): Map<string, string> {
  const inits = new Set((m.model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const out = new Map<string, string>();
  for (const n of m.model.graph?.node ?? []) {
    const perm = (n.attribute ?? []).find((a) => a.name === 'perm')?.ints?.map(Number);
    const x = n.input?.[0] ?? '';
    if (n.opType === 'Transpose' && inits.has(x) && (!perm || perm.join() === '1,0')) out.set(n.output?.[0] ?? '', x);
  }
  return out;
}

/**
 * Each read's place in the file's `state_dict` order: its initializer's index where that is a state_dict entry (a
 * name of torch.onnx's `module.weight` form). A weight without one (torch.onnx's folded `onnx::MatMul_k`, written
 * after every state_dict entry) goes just before its node's bias where that has one; any other read (an eval-mode
 * export's `Identity` of an equal initializer it merged, a folded γ / β) just before the next read in node order
 * that has a place (a module's parameters come before the next module's: a folded channels_first LayerNorm's γ, β
 * before the conv after it, where the official ConvNeXt registers its downsampling layers ahead of its stages).
 */
function fileRanks(m: LoadedModel, reads: readonly OrderRead[], byNode: readonly OrderRead[]): Map<OrderRead, number> {
  const index = new Map((m.model.graph?.initializer ?? []).map((t, i) => [t.name ?? '', i]));
  const own = (name: string) => (isStateDictName(name) ? index.get(name) : undefined);
  const biasOf = new Map(reads.filter((r) => r.kind === 'bias').map((r) => [r.node, r]));
  const rank = new Map<OrderRead, number>();
  for (const r of reads) {
    const bias = r.kind === 'weight' && own(r.name) === undefined ? biasOf.get(r.node) : undefined;
    const at = own(r.name) ?? (bias && own(bias.name) !== undefined ? own(bias.name)! - 0.5 : undefined);
    if (at !== undefined) rank.set(r, at);
  }
  let next = index.size;
  let k = 0;
  for (const r of [...byNode].reverse()) {
    const at = rank.get(r);
    if (at !== undefined) [next, k] = [at, 0];
    else rank.set(r, next - ++k * 1e-6);
  }
  return rank;
}

/**
 * Read conv/Gemm/MatMul weights and biases and BatchNormalization scale/bias/mean/var of `m` into the IR node
 * ids of its import (`weightIds` from {@link importOnnxModel}). A tensor `net.tied` shares (the import's
 * {@link onnxTies}) is one Float64Array in every node that reads it. Throws E_ONNX_FORMAT when the model's tensors
 * do not line up with the network.
 */
export function onnxParams(
  m: LoadedModel,
  net: Network,
  weightIds: ReadonlyMap<number, number>,
  norms: readonly NormRead[] = [],
): OnnxParams {
  const nodes = m.model.graph?.node ?? [];
  const params: (MutableParams | undefined)[] = net.nodes.map(() => undefined);
  const names = new Map<string, OnnxParamRef>();
  const valuesOf = (name: string, what: string): Float64Array => {
    const t = m.consts.get(name);
    if (!t) throw new SwapError('E_ONNX_FORMAT', `${m.source}: ${what} ${name.slice(0, 80)} is not a constant`);
    return tensorValues(t);
  };
  const bnIr = net.nodes.filter((n) => n.op === 'bn').map((n) => n.id);
  const bnOnnx = nodes.filter((n) => n.opType === 'BatchNormalization');
  if (bnIr.length !== bnOnnx.length)
    throw new SwapError(
      'E_ONNX_FORMAT',
      `${m.source}: ${bnOnnx.length} BatchNormalization nodes but ${bnIr.length} imported`,
    );
  for (const r of trainableReads(m, net, weightIds, norms)) {
    const w = valuesOf(r.name, `${net.nodes[r.node]!.op} ${r.kind}`);
    (params[r.node] ??= {})[r.kind] = r.transposed ? transpose(w, tensorDims(m.consts.get(r.name)!)) : w;
    const kind = r.kind as ParamKind; // trainable reads only
    if (r.name && !names.has(r.name)) names.set(r.name, { node: r.node, kind, transposed: r.transposed });
  }
  for (const [n, id] of bnPairs(m, net)) {
    const p = params[id]!;
    const c = net.nodes[id]!.shape[0]!;
    // a BN without running statistics (its mean / var computed in the graph) normalises with batch statistics in
    // every mode: its running statistics are never read, and are 0 / 1
    const stats = (i: number, fill: number) =>
      m.consts.has(n.input?.[i] ?? '') ? tensorValues(m.consts.get(n.input![i]!)!) : new Float64Array(c).fill(fill);
    p.runningMean = stats(3, 0);
    p.runningVar = stats(4, 1);
  }
  const tied = net.tied ?? [];
  for (const t of tied) params[t.node]![t.kind] = params[t.of]![t.kind];
  checkSizes(net, params);
  return { params, names, tied };
}

function gemmTransB(n: INodeProto): boolean {
  return (n.attribute ?? []).some((a) => a.name === 'transB' && Number(a.i) === 1);
}

/** `[in][out]` → `[out][in]` (PyTorch linear layout). */
function transpose(w: Float64Array, dims: readonly number[]): Float64Array {
  const [fin, fout] = dims as [number, number];
  const out = new Float64Array(w.length);
  for (let i = 0; i < fin; i++) for (let o = 0; o < fout; o++) out[o * fin + i] = w[i * fout + o]!;
  return out;
}

/** The constant added to a MatMul's output by the Add the importer absorbed as its bias, if any. */
function matmulBiasName(m: LoadedModel, nodes: readonly INodeProto[], mm: INodeProto): string | undefined {
  const out = mm.output?.[0];
  const users = nodes.filter((n) => (n.input ?? []).includes(out ?? ''));
  if (users.length !== 1 || users[0]!.opType !== 'Add') return undefined;
  const other = users[0]!.input!.find((i) => i !== out);
  return other && m.consts.has(other) ? other : undefined;
}

function checkSizes(net: Network, params: readonly (NodeParams | undefined)[]): void {
  for (const n of net.nodes) {
    const p = params[n.id];
    const want: Partial<Record<keyof NodeParams, number>> =
      n.op === 'conv'
        ? { weight: n.cout * (n.cin / n.groups) * convTaps(n), bias: n.bias ? n.cout : 0 }
        : n.op === 'linear'
          ? { weight: n.fout * n.fin, bias: n.bias ? n.fout : 0 }
          : n.op === 'bn'
            ? { gamma: n.shape[0], beta: n.shape[0], runningMean: n.shape[0], runningVar: n.shape[0] }
            : n.op === 'gn' && n.affine
              ? { gamma: n.shape[0], beta: n.shape[0] }
              : {};
    for (const [kind, size] of Object.entries(want)) {
      const got = p?.[kind as keyof NodeParams]?.length ?? 0;
      if (got !== size)
        throw new SwapError('E_ONNX_FORMAT', `IR node ${n.id} (${n.op}): ${kind} has ${got} values, expected ${size}`);
    }
  }
}
