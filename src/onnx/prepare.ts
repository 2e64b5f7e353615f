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
 *   biases 0 (also the bias Add after a MatMul), BatchNormalization scale 1 and bias 0, and so are the γ, β of a
 *   GroupNorm / InstanceNorm / LayerNorm (InstanceNormalization, LayerNormalization, and the Mul / Add of the
 *   chains src/onnx/norm-chains.ts recognises): the IR engines' `gn` holds γ = 1, β = 0 in a fresh draw.
 */
import type { Shape3 } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import { bnIsTraining, type LoadedModel } from './load.js';
import { normChains } from './norm-chains.js';
import { initializerViews } from './views.js';
import {
  DT_FLOAT,
  attrInt,
  decodeModel,
  encodeModel,
  floatTensor,
  int64Tensor,
  numelOf,
  tensorValues,
  tensorDims,
  valueInfo,
  type IGraphProto,
  type INodeProto,
  type ITensorProto,
} from './proto.js';
import type { WeightSpec } from './weights.js';
import { batchStatSubgraphs } from './bn-stats.js';
import { parameterNames } from './parameters.js';

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

/**
 * Θ of a model: the elements of the initializers its parameter list names where the file has one, else of its
 * floating-point initializers except BatchNormalization running statistics (a buffer read in arithmetic counts then).
 */
export function onnxParamCount(m: LoadedModel): number {
  const g = m.model.graph!;
  // a file that lists its model's parameters (src/onnx/parameters.ts) says exactly which initializers count
  const listed = parameterNames(m);
  if (listed.known)
    return (g.initializer ?? []).reduce(
      (p, t) => p + (listed.isParameter(t.name ?? '') ? numelOf(tensorDims(t)) : 0),
      0,
    );
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
  // an (N, F) input (the IR's F×1×1 per sample, or the C×H×W map the model views it as), fed in the model's own rank
  const [c, h, w] = opts.inputShape;
  const inputDims = m.input.dims.length === 2 ? [opts.batch, c * h * w] : [opts.batch, c, h, w];
  setConcreteInput(g, m.input.name, inputDims);
  const batchStats = batchStatsAnyBatch(g, m);
  const bn = setBnMode(g.node ?? [], m.opset, opts.bn ?? 'model', batchStats);
  const weights = opts.reinit ? new Reinit(m, g).run(opts.weightIds) : [];
  const relus = exposeRelus(g);
  return { bytes: encodeModel(model), inputName: m.input.name, inputDims, ...relus, weights, ...bn };
}

/** 1. Concrete input shape; drop stale intermediate shapes. */
function setConcreteInput(g: IGraphProto, input: string, dims: readonly number[]): void {
  for (const v of g.input ?? []) {
    if (v.name === input) v.type = valueInfo(v.name, dims).type!;
  }
  g.valueInfo = [];
  for (const o of g.output ?? []) {
    const tt = o.type?.tensorType;
    if (tt) tt.shape = null;
  }
}

/**
 * 1b. A BatchNorm without running statistics (its mean / var computed from its input: src/onnx/bn-stats.ts): the
 * Reshape its statistics start with holds the export's batch size; it is made [0, C, −1] (0 copies the batch), so
 * ONNX Runtime computes the batch statistics at any batch. Returns those BNs (never eval-mode in effect).
 */
function batchStatsAnyBatch(g: IGraphProto, m: LoadedModel): ReadonlySet<number> {
  const nodes = g.node ?? [];
  const readers = new Map<string, number[]>();
  nodes.forEach((n, i) => (n.input ?? []).forEach((x) => x && readers.set(x, [...(readers.get(x) ?? []), i])));
  const stats = batchStatSubgraphs({
    nodes,
    consts: m.consts,
    readersOf: (name) => readers.get(name) ?? [],
    graphOutputs: new Set((g.output ?? []).map((o) => o.name ?? '')),
  });
  for (const i of stats.absorbed) {
    const n = nodes[i]!;
    if (n.opType !== 'Reshape') continue;
    const t = Array.from(tensorValues(m.consts.get(n.input![1]!)!));
    const name = `${n.output![0]}::swapnas_shape`;
    g.initializer = [...(g.initializer ?? []), int64Tensor(name, [3], [0, t[1]!, -1])];
    n.input = [n.input![0]!, name];
  }
  return stats.bns;
}

/** 2. BatchNormalization mode: counts the modes as exported and, with `batch`, switches eval-mode nodes to training. */
function setBnMode(
  nodes: readonly INodeProto[],
  opset: number,
  mode: 'model' | 'batch',
  batchStats: ReadonlySet<number>,
): Pick<PreparedModel, 'bnTraining' | 'bnEval' | 'bnSwitched'> {
  let bnTraining = 0;
  let bnEval = 0;
  let bnSwitched = 0;
  for (const [i, n] of nodes.entries()) {
    if (n.opType !== 'BatchNormalization' || !isDefault(n)) continue;
    // a BN without running statistics reads its batch statistics in either form
    if (bnIsTraining(n, opset) || batchStats.has(i)) {
      bnTraining++;
      continue;
    }
    bnEval++;
    if (mode !== 'batch') continue;
    bnSwitched++;
    const y = n.output?.[0] ?? '';
    const extra = opset >= 14 ? 2 : 4;
    n.output = [y, ...Array.from({ length: extra }, (_, i) => `${y}::swapnas_bn_stat${i}`)];
    if (opset >= 14)
      n.attribute = [...(n.attribute ?? []).filter((a) => a.name !== 'training_mode'), attrInt('training_mode', 1)];
  }
  return { bnTraining, bnEval, bnSwitched };
}

/** 3. Re-initialisation: weights become graph inputs fed with the PRNG, biases 0, BN scale 1 / bias 0. */
class Reinit {
  private readonly nodes: readonly INodeProto[];
  private readonly newInits: ITensorProto[] = [];
  /** Graph input fed in place of each original weight. */
  private readonly fed = new Map<string, string>();
  /** Constant fill in place of each (original tensor, value). */
  private readonly filled = new Map<string, string>();
  private readonly weights: WeightSpec[] = [];

  constructor(
    private readonly m: LoadedModel,
    private readonly g: IGraphProto,
  ) {
    this.nodes = g.node ?? [];
  }

  /** Rewrites the graph; returns the weights to feed per repeat. */
  run(weightIds: ReadonlyMap<number, number> | undefined): WeightSpec[] {
    const consumers = new Map<string, INodeProto[]>();
    for (const n of this.nodes)
      for (const x of n.input ?? []) if (x) consumers.set(x, [...(consumers.get(x) ?? []), n]);
    // the chains first: they are recognised by the file's constants, which the fills below rename
    this.normAffines(consumers);
    this.nodes.forEach((n, idx) => {
      if (isDefault(n)) this.node(n, weightIds?.get(idx) ?? idx + 1, consumers);
    });
    // Initializers no node reads any more are dropped; new constant fills are added.
    const g = this.g;
    const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    const read = new Set<string>();
    for (const n of this.nodes) for (const x of n.input ?? []) read.add(x);
    for (const o of g.output ?? []) read.add(o.name ?? '');
    g.initializer = [...(g.initializer ?? []).filter((t) => read.has(t.name ?? '')), ...this.newInits];
    g.input = (g.input ?? []).filter((v) => !inits.has(v.name ?? '') || read.has(v.name ?? ''));
    return this.weights;
  }

  private node(n: INodeProto, tensor: number, consumers: ReadonlyMap<string, INodeProto[]>): void {
    switch (n.opType) {
      case 'Conv':
      case 'ConvTranspose':
        this.gaussianInput(n, 1, tensor, 'direct');
        this.fill(n, 2, 0);
        return;
      case 'Gemm': {
        const transB = (n.attribute ?? []).some((a) => a.name === 'transB' && Number(a.i) === 1);
        this.gaussianInput(n, 1, tensor, transB ? 'direct' : 'transposed');
        this.fill(n, 2, 0);
        return;
      }
      case 'MatMul': {
        const w = this.floatConst(n, 1, 'weight');
        if (!w || tensorDims(w).length !== 2) return;
        this.gaussianInput(n, 1, tensor, 'transposed');
        // The bias Add that only consumes this product.
        const out = n.output?.[0] ?? '';
        const cons = consumers.get(out) ?? [];
        const add = cons.length === 1 && cons[0]!.opType === 'Add' ? cons[0]! : undefined;
        if (add) {
          const bi = (add.input ?? []).findIndex((x) => x !== out);
          const bt = bi >= 0 ? this.m.consts.get(add.input![bi]!) : undefined;
          if (bt && numelOf(tensorDims(bt)) === tensorDims(w)[1]) this.fill(add, bi, 0);
        }
        return;
      }
      case 'BatchNormalization':
      case 'InstanceNormalization':
      case 'LayerNormalization':
        this.fill(n, 1, 1);
        this.fill(n, 2, 0);
        return;
      default:
        return;
    }
  }

  /** The γ (1) and β (0) of every GroupNorm / LayerNorm chain's affine Mul / Add. */
  private normAffines(consumers: ReadonlyMap<string, INodeProto[]>): void {
    const index = new Map(this.nodes.map((n, i) => [n, i]));
    const chains = normChains({
      nodes: this.nodes,
      consts: this.m.consts,
      readersOf: (name) => (consumers.get(name) ?? []).map((n) => index.get(n)!),
      graphOutputs: new Set((this.g.output ?? []).map((o) => o.name ?? '')),
    });
    // the module's own γ, β only: initializers, or torch.onnx's views of them (constants of the file stay)
    const inits = new Set((this.g.initializer ?? []).map((t) => t.name ?? ''));
    const views = initializerViews(this.nodes, this.m.consts, inits);
    const initializer = (t: string) => inits.has(t) || views.has(t);
    for (const c of chains.values()) {
      if (!c.gamma || !c.beta || !initializer(c.gamma) || !initializer(c.beta)) continue;
      const mul = this.nodes[c.absorbed.find((k) => this.nodes[k]!.opType === 'Mul')!]!;
      const add = this.nodes[c.last]!;
      this.fill(mul, mul.input!.indexOf(c.gamma), 1);
      this.fill(add, add.input!.indexOf(c.beta), 0);
    }
  }

  private floatConst(n: INodeProto, i: number, what: string): ITensorProto | undefined {
    const name = n.input?.[i];
    if (!name) return undefined;
    const t = this.m.consts.get(name);
    if (!t) return undefined;
    if ((t.dataType ?? 0) !== DT_FLOAT)
      throw new SwapError(
        'E_INPUT_FILE',
        `${this.m.source}: --reinit supports float32 weights; ${what} ${name} of ${n.opType} ${n.name} has ONNX type ${t.dataType}`,
      );
    return t;
  }

  private gaussianInput(n: INodeProto, i: number, tensor: number, layout: WeightSpec['layout']): void {
    const t = this.floatConst(n, i, 'weight');
    if (!t) return;
    const orig = n.input![i]!;
    const dims = tensorDims(t);
    if (layout === 'transposed' && dims.length !== 2) return;
    let name = this.fed.get(orig);
    if (!name) {
      name = `${orig}::swapnas_w`;
      this.fed.set(orig, name);
      this.weights.push({ name, dims, tensor, layout });
      (this.g.input ??= []).push(valueInfo(name, dims));
    }
    n.input![i] = name;
  }

  private fill(n: INodeProto, i: number, value: 0 | 1): void {
    const t = this.floatConst(n, i, value === 0 ? 'bias' : 'scale');
    if (!t) return;
    const orig = n.input![i]!;
    const key = `${orig}|${value}`;
    let name = this.filled.get(key);
    if (!name) {
      name = `${orig}::swapnas_${value === 0 ? 'zero' : 'one'}`;
      this.filled.set(key, name);
      const dims = tensorDims(t);
      this.newInits.push(floatTensor(name, dims, new Float32Array(numelOf(dims)).fill(value)));
    }
    n.input![i] = name;
  }
}

/** 4. Relu outputs as graph outputs, one per distinct Relu input. */
function exposeRelus(g: IGraphProto): Pick<PreparedModel, 'reluOutputs' | 'reluNodes' | 'duplicateRelus'> {
  const seen = new Map<string, string>();
  let reluNodes = 0;
  for (const n of g.node ?? []) {
    if (n.opType !== 'Relu' || !isDefault(n)) continue;
    reluNodes++;
    const x = n.input?.[0] ?? '';
    const y = n.output?.[0] ?? '';
    if (!seen.has(x) && y) seen.set(x, y);
  }
  const reluOutputs = [...seen.values()];
  const have = new Set((g.output ?? []).map((o) => o.name));
  for (const y of reluOutputs) if (!have.has(y)) (g.output ??= []).push(valueInfo(y, undefined));
  return { reluOutputs, reluNodes, duplicateRelus: reluNodes - reluOutputs.length };
}
