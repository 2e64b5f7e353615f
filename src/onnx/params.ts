/**
 * A model's own weights as {@link NetParams} of its imported IR network, so that gradient proxies can run on
 * them (the forward-scoring IR backends only use PRNG weights).
 */
import type { NetParams, NodeParams, ParamKind, ParamRef } from '../grad/types.js';
import { convTaps } from '../ir/ops.js';
import type { Network } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import type { LoadedModel } from './load.js';
import { tensorDims, tensorValues, type INodeProto } from './proto.js';

/** Parameters read from a model, and the ONNX tensor each trainable IR tensor came from. */
export interface OnnxParams {
  readonly params: NetParams;
  /**
   * ONNX initializer name → the IR tensor holding its values; `transposed` when the ONNX tensor is a `[in][out]`
   * matrix (MatMul, Gemm with transB = 0) stored in the IR as `[out][in]` (see {@link toOnnxLayout}).
   */
  readonly names: ReadonlyMap<string, OnnxParamRef>;
}

export interface OnnxParamRef extends ParamRef {
  readonly transposed: boolean;
}

/** A tensor in IR layout (e.g. its gradient) in the layout of the ONNX initializer `ref` came from. */
export function toOnnxLayout(net: Network, ref: OnnxParamRef, values: Float64Array): Float64Array {
  const n = net.nodes[ref.node]!;
  if (!ref.transposed || n.op !== 'linear') return values;
  return transpose(values, [n.fout, n.fin]);
}

type MutableParams = { -readonly [K in keyof NodeParams]: NodeParams[K] };

/**
 * Read conv/Gemm/MatMul weights and biases and BatchNormalization scale/bias/mean/var of `m` into the IR node
 * ids of its import (`weightIds` from {@link importOnnxModel}). BN nodes are matched in graph order (the
 * importer creates one IR `bn` per imported BatchNormalization, in order). Throws E_ONNX_FORMAT when the model's
 * tensors do not line up with the network.
 */
export function onnxParams(m: LoadedModel, net: Network, weightIds: ReadonlyMap<number, number>): OnnxParams {
  const nodes = m.model.graph?.node ?? [];
  const params: (MutableParams | undefined)[] = net.nodes.map(() => undefined);
  const names = new Map<string, OnnxParamRef>();
  const take = (
    name: string | undefined | null,
    id: number,
    kind: keyof NodeParams,
    values: Float64Array,
    t = false,
  ) => {
    const p = (params[id] ??= {});
    p[kind] = values;
    if (name && kind !== 'runningMean' && kind !== 'runningVar')
      names.set(name, { node: id, kind: kind as ParamKind, transposed: t });
  };
  const constOf = (n: INodeProto, i: number): Float64Array => {
    const t = m.consts.get(n.input?.[i] ?? '');
    if (!t) throw new SwapError('E_ONNX_FORMAT', `${n.opType} ${n.name}: input ${i} is not a constant`);
    return tensorValues(t);
  };
  nodes.forEach((n, idx) => {
    const id = weightIds.get(idx);
    if (id === undefined) return;
    const w = constOf(n, 1);
    const transposed = n.opType === 'MatMul' || (n.opType === 'Gemm' && !gemmTransB(n));
    take(
      n.input?.[1],
      id,
      'weight',
      transposed ? transpose(w, tensorDims(m.consts.get(n.input![1]!)!)) : w,
      transposed,
    );
    const biasName = n.opType === 'MatMul' ? matmulBiasName(m, nodes, n) : n.input?.[2];
    if (biasName) take(biasName, id, 'bias', tensorValues(m.consts.get(biasName)!));
  });
  const bnIr = net.nodes.filter((n) => n.op === 'bn').map((n) => n.id);
  const bnOnnx = nodes.filter((n) => n.opType === 'BatchNormalization');
  if (bnIr.length !== bnOnnx.length)
    throw new SwapError(
      'E_ONNX_FORMAT',
      `${m.source}: ${bnOnnx.length} BatchNormalization nodes but ${bnIr.length} imported`,
    );
  bnOnnx.forEach((n, k) => {
    const id = bnIr[k]!;
    const c = net.nodes[id]!.shape[0]!;
    // a BN without running statistics (its mean / var computed in the graph) normalises with batch statistics in
    // every mode: its running statistics are never read, and are 0 / 1
    const stats = (i: number, fill: number) =>
      m.consts.has(n.input?.[i] ?? '') ? constOf(n, i) : new Float64Array(c).fill(fill);
    take(n.input?.[1], id, 'gamma', constOf(n, 1));
    take(n.input?.[2], id, 'beta', constOf(n, 2));
    take(undefined, id, 'runningMean', stats(3, 0));
    take(undefined, id, 'runningVar', stats(4, 1));
  });
  checkSizes(net, params);
  return { params, names };
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
            : {};
    for (const [kind, size] of Object.entries(want)) {
      const got = p?.[kind as keyof NodeParams]?.length ?? 0;
      if (got !== size)
        throw new SwapError('E_ONNX_FORMAT', `IR node ${n.id} (${n.op}): ${kind} has ${got} values, expected ${size}`);
    }
  }
}
