/**
 * Rewrites a user's ONNX model for SWAP scoring on ONNX Runtime:
 *
 * - the data input gets the concrete batch shape [S, C, H, W]; stale intermediate shapes (value_info, output
 *   shapes) are dropped so a model exported with another batch size runs;
 * - every Relu output becomes a graph output, one per distinct Relu input tensor (a Relu applied twice to the
 *   same tensor is fetched once — duplicates never change Ψ); which of them act on 4-D tensors is decided
 *   from the runtime shapes (the official hooks' `input.dim() == 4`);
 * - `bn: 'batch'` turns eval-mode BatchNormalization nodes into training mode (batch statistics, as PyTorch's
 *   `model.train()` does);
 * - `reinit`: Conv / Gemm / MatMul weights become graph inputs fed per repeat with the PRNG's N(0,1)
 *   (PyTorch layout, tensor id = the IR node id when the model imports, else 1 + the node's index), their
 *   biases 0 (also the bias Add after a MatMul), BatchNormalization scale 1 and bias 0.
 */
import type { Shape3 } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import { bnIsTraining, type LoadedModel } from './load.js';
import {
  DT_FLOAT,
  attrInt,
  decodeModel,
  encodeModel,
  floatTensor,
  numelOf,
  tensorDims,
  valueInfo,
  type INodeProto,
  type ITensorProto,
} from './proto.js';
import type { WeightSpec } from './weights.js';

export interface PrepareOptions {
  /** Batch size S. */
  readonly batch: number;
  readonly inputShape: Shape3;
  readonly reinit: boolean;
  /** `batch`: every BatchNormalization uses batch statistics; `model` (default): as exported. */
  readonly bn?: 'model' | 'batch';
  /** PRNG tensor id of each weighted node, by node index (from the IR import); default index + 1. */
  readonly weightIds?: ReadonlyMap<number, number>;
}

export interface PreparedModel {
  readonly bytes: Uint8Array;
  readonly inputName: string;
  readonly inputDims: readonly number[];
  /** Relu outputs to fetch (one per distinct Relu input). */
  readonly reluOutputs: readonly string[];
  /** Relu nodes in the graph, and how many of them repeat another's input. */
  readonly reluNodes: number;
  readonly duplicateRelus: number;
  /** Weights fed per repeat (reinit). */
  readonly weights: readonly WeightSpec[];
  /** BatchNormalization nodes in training mode / eval mode as exported, and how many were switched to training. */
  readonly bnTraining: number;
  readonly bnEval: number;
  readonly bnSwitched: number;
}

function isDefault(n: INodeProto): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

/** Θ of a model: elements of its floating-point initializers, except BatchNormalization running statistics. */
export function onnxParamCount(m: LoadedModel): number {
  const g = m.model.graph!;
  const stats = new Set<string>();
  const other = new Set<string>();
  for (const n of g.node ?? []) {
    (n.input ?? []).forEach((x, i) => {
      if (n.opType === 'BatchNormalization' && (i === 3 || i === 4)) stats.add(x);
      else other.add(x);
    });
  }
  let p = 0;
  for (const t of g.initializer ?? []) {
    const floating = [1, 10, 11, 16].includes(t.dataType ?? 0);
    if (!floating || !t.name) continue;
    if (stats.has(t.name) && !other.has(t.name)) continue;
    p += numelOf(tensorDims(t));
  }
  return p;
}

export function prepareForOrt(m: LoadedModel, opts: PrepareOptions): PreparedModel {
  const model = decodeModel(encodeModel(m.model));
  const g = model.graph!;
  const nodes = g.node ?? [];
  const inputDims = [opts.batch, ...opts.inputShape];

  // 1. Concrete input shape; drop stale intermediate shapes.
  for (const v of g.input ?? []) {
    if (v.name === m.input.name) v.type = valueInfo(v.name, inputDims).type!;
  }
  g.valueInfo = [];
  for (const o of g.output ?? []) {
    const tt = o.type?.tensorType;
    if (tt) tt.shape = null;
  }

  // 2. BatchNormalization mode.
  let bnTraining = 0;
  let bnEval = 0;
  let bnSwitched = 0;
  for (const n of nodes) {
    if (n.opType !== 'BatchNormalization' || !isDefault(n)) continue;
    if (bnIsTraining(n, m.opset)) {
      bnTraining++;
      continue;
    }
    bnEval++;
    if (opts.bn !== 'batch') continue;
    bnSwitched++;
    const y = n.output?.[0] ?? '';
    const extra = m.opset >= 14 ? 2 : 4;
    n.output = [y, ...Array.from({ length: extra }, (_, i) => `${y}::swapnas_bn_stat${i}`)];
    if (m.opset >= 14)
      n.attribute = [...(n.attribute ?? []).filter((a) => a.name !== 'training_mode'), attrInt('training_mode', 1)];
  }

  // 3. Re-initialisation.
  const weights: WeightSpec[] = [];
  if (opts.reinit) {
    const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t] as const));
    const constOf = (name: string): ITensorProto | undefined => m.consts.get(name);
    const newInits: ITensorProto[] = [];
    const fed = new Map<string, string>();
    const filled = new Map<string, string>();
    const floatConst = (n: INodeProto, i: number, what: string): ITensorProto | undefined => {
      const name = n.input?.[i];
      if (!name) return undefined;
      const t = constOf(name);
      if (!t) return undefined;
      if ((t.dataType ?? 0) !== DT_FLOAT)
        throw new SwapError(
          'E_INPUT_FILE',
          `${m.source}: --reinit supports float32 weights; ${what} ${name} of ${n.opType} ${n.name} has ONNX type ${t.dataType}`,
        );
      return t;
    };
    const gaussianInput = (n: INodeProto, i: number, tensor: number, layout: WeightSpec['layout']) => {
      const t = floatConst(n, i, 'weight');
      if (!t) return;
      const orig = n.input![i]!;
      const dims = tensorDims(t);
      if (layout === 'transposed' && dims.length !== 2) return;
      let name = fed.get(orig);
      if (!name) {
        name = `${orig}::swapnas_w`;
        fed.set(orig, name);
        weights.push({ name, dims, tensor, layout });
        (g.input ??= []).push(valueInfo(name, dims));
      }
      n.input![i] = name;
    };
    const fill = (n: INodeProto, i: number, value: 0 | 1) => {
      const t = floatConst(n, i, value === 0 ? 'bias' : 'scale');
      if (!t) return;
      const orig = n.input![i]!;
      const key = `${orig}|${value}`;
      let name = filled.get(key);
      if (!name) {
        name = `${orig}::swapnas_${value === 0 ? 'zero' : 'one'}`;
        filled.set(key, name);
        const dims = tensorDims(t);
        newInits.push(floatTensor(name, dims, new Float32Array(numelOf(dims)).fill(value)));
      }
      n.input![i] = name;
    };
    const consumers = new Map<string, INodeProto[]>();
    for (const n of nodes) for (const x of n.input ?? []) if (x) consumers.set(x, [...(consumers.get(x) ?? []), n]);

    nodes.forEach((n, idx) => {
      if (!isDefault(n)) return;
      const tensor = opts.weightIds?.get(idx) ?? idx + 1;
      switch (n.opType) {
        case 'Conv':
          gaussianInput(n, 1, tensor, 'direct');
          fill(n, 2, 0);
          break;
        case 'Gemm': {
          const transB = (n.attribute ?? []).some((a) => a.name === 'transB' && Number(a.i) === 1);
          gaussianInput(n, 1, tensor, transB ? 'direct' : 'transposed');
          fill(n, 2, 0);
          break;
        }
        case 'MatMul': {
          const w = floatConst(n, 1, 'weight');
          if (!w || tensorDims(w).length !== 2) break;
          gaussianInput(n, 1, tensor, 'transposed');
          const out = n.output?.[0] ?? '';
          const cons = consumers.get(out) ?? [];
          const add = cons.length === 1 && cons[0]!.opType === 'Add' ? cons[0]! : undefined;
          if (add) {
            const bi = (add.input ?? []).findIndex((x) => x !== out);
            const bt = bi >= 0 ? constOf(add.input![bi]!) : undefined;
            if (bt && numelOf(tensorDims(bt)) === tensorDims(w)[1]) fill(add, bi, 0);
          }
          break;
        }
        case 'BatchNormalization':
          fill(n, 1, 1);
          fill(n, 2, 0);
          break;
        default:
          break;
      }
    });
    // Initializers no node reads any more are dropped; new constant fills are added.
    const read = new Set<string>();
    for (const n of nodes) for (const x of n.input ?? []) read.add(x);
    for (const o of g.output ?? []) read.add(o.name ?? '');
    g.initializer = [...(g.initializer ?? []).filter((t) => read.has(t.name ?? '')), ...newInits];
    g.input = (g.input ?? []).filter((v) => !inits.has(v.name ?? '') || read.has(v.name ?? ''));
  }

  // 4. Relu outputs as graph outputs.
  const seen = new Map<string, string>();
  let reluNodes = 0;
  for (const n of nodes) {
    if (n.opType !== 'Relu' || !isDefault(n)) continue;
    reluNodes++;
    const x = n.input?.[0] ?? '';
    const y = n.output?.[0] ?? '';
    if (!seen.has(x) && y) seen.set(x, y);
  }
  const reluOutputs = [...seen.values()];
  const have = new Set((g.output ?? []).map((o) => o.name));
  for (const y of reluOutputs) if (!have.has(y)) (g.output ??= []).push(valueInfo(y, undefined));

  return {
    bytes: encodeModel(model),
    inputName: m.input.name,
    inputDims,
    reluOutputs,
    reluNodes,
    duplicateRelus: reluNodes - reluOutputs.length,
    weights,
    bnTraining,
    bnEval,
    bnSwitched,
  };
}
