/**
 * ONNX → IR import, for models whose every op has an IR equivalent. The imported network is scored with
 * PRNG weights (`--reinit`): Conv/Gemm/MatMul weights N(0,1) drawn per IR node id (a weight read again: its first
 * reader's), biases 0, BN γ=1, β=0 with batch statistics — the model's own weight values are not carried over (own-weights scoring runs on
 * ONNX Runtime).
 *
 * Supported (default domain): Conv (2-D; kernel, strides and dilations per axis, as Inception's 1×7 / 7×1; its
 * own padding per side, `auto_pad` included, plus that of zero Pads before it; groups, bias), BatchNormalization (training mode, the model's ε; of a map, or of flat features: BatchNorm1d), Relu, LeakyRelu,
 * PRelu (nn.PReLU, its slopes as initialised or trained),
 * Sigmoid, HardSigmoid(1/6, 1/2) and Mul of two feature tensors (SiLU, Hardswish, squeeze-and-excitation; a global
 * average pool that layers read is the (N, C, 1, 1) map), Tanh, Elu, Celu, Selu, Softplus, nn.GELU exact or tanh (opset 20's
 * Gelu, or the chains torch.onnx writes: src/onnx/act-chains.ts) and nn.Mish (opset 18's Mish, or Softplus → Tanh →
 * Mul), Softmax / LogSoftmax over a flat tensor's features, Clip(0, max) (ReLU6), AveragePool / MaxPool (square, symmetric pads,
 * ceil mode: GoogLeNet, SqueezeNet), Add / Sum of same-shape maps, Sub of two (a sum with the second negated),
 * Concat on channels, Mul by a constant 0 and ConstantOfShape(0) (NB201 `none`), Mul / Div / Add / Sub by a scalar
 * constant and Neg (a model's `x * 0.5`, `(x - 0.45) / 0.225`, `1 - x`: `act` nodes `scale`, `divide`, `shift`),
 * GlobalAveragePool or ReduceMean over H, W followed by Flatten / Reshape(N, -1) / Reshape(-1, C) /
 * Squeeze, Flatten / Reshape(N, -1) of a larger feature map (a LeNet / VGG head), Gemm,
 * MatMul (+ bias Add; its weight may be a Transpose of a constant), ConvNeXt's channels-last regions (a map's
 * Transpose 0,2,3,1, then nn.LayerNorm over C as a pixelwise `gn`, nn.Linear over C as a 1×1 conv, element-wise
 * ops with scalars or one value per channel, a mean over H, W, and the Transpose 0,3,1,2 back), Split along the
 * channels (torch.split), ShuffleNet's channel shuffle (Reshape to
 * (N, g, C/g, H, W), Transpose 0,2,1,3,4, Reshape back), the Reshape of a flat input into the map it is viewed as
 * (`LoadedModel.input.view`) and of a map to its own shape, zero Pad before AveragePool/Conv (a Pad of
 * a Pad adds up), Identity, Dropout, Constant, the Shape/Gather/Unsqueeze/Concat arithmetic PyTorch emits for
 * `view(x.size(0), -1)`, and the integer Add/Sub/Mul/Div on the channel count that bounds `x.chunk(k, 1)`'s Slices. Arithmetic on constants alone (PyTorch's pad lists of `F.pad` / `nn.ZeroPad2d`, a
 * constant's Transpose) was folded on load (src/onnx/fold.ts): such nodes are skipped here.
 *
 * Nodes that no Relu depends on are skipped when unsupported, but the network ends at the model's first graph
 * output, a Softmax / LogSoftmax / Sigmoid head included: a model whose output a skipped node computes (a
 * classifier that could not be imported) is refused, never scored cut short. A Relu applied twice to
 * the same tensor becomes one IR node (recorded once). Every ONNX node that maps to an IR node creates it in
 * graph order, so a model written by `networkToOnnx` imports to the same node ids and hence the same weights.
 */
import { GraphBuilder, type LearnedUse } from '../ir/builder.js';
import type { Network, Shape, Shape3 } from '../ir/types.js';
import { isSwapError } from '../util/errors.js';
import { bnIsTraining, type LoadedModel } from './load.js';
import {
  DT_DOUBLE,
  DT_FLOAT,
  DT_INT64,
  getFloat,
  getInt,
  getInts,
  getString,
  numelOf,
  tensorDims,
  tensorValues,
  type INodeProto,
  type ITensorProto,
} from './proto.js';
import { clip, quote } from '../util/quote.js';
import { type ActChain, geluChain, geluTanhChain, mishChain } from './act-chains.js';
import { batchStatSubgraphs } from './bn-stats.js';
import { type NormChain, normChains } from './norm-chains.js';
import { initializerViews, inOrderViews, isStateDictName } from './views.js';
import { foldConstant } from './fold.js';
import { nearestRepeat } from './resize.js';
import { functionalActivations, functionalWeights } from './module-scopes.js';
import { type NormRead, onnxParameterOrder, onnxSharedDraws, onnxTies, trainableNames } from './params.js';
import { type ParameterNames, parameterNames } from './parameters.js';
import { SELU_ALPHA, SELU_SCALE } from '../ir/activations.js';

export interface ImportOptions {
  /** Per-sample input shape [C, H, W] (the model's own when its dims are fixed). */
  readonly inputShape: Shape3;
  /** `batch`: treat every BatchNormalization as training mode (PyTorch `model.train()`). Default `model`. */
  readonly bn?: 'model' | 'batch';
  /**
   * Initializers whose names match are nn.Parameters where they are read in arithmetic (a layer scale), as are those
   * the file's own list names (src/onnx/parameters.ts); any other is a buffer there.
   */
  readonly learned?: RegExp;
}

export type ImportResult =
  | {
      readonly ok: true;
      readonly network: Network;
      /** IR node id of each weighted ONNX node (Conv/Gemm/MatMul), by index in `graph.node`: its PRNG tensor id. */
      readonly weightIds: ReadonlyMap<number, number>;
      /** IR node id of each graph output that is a feature tensor, by output name (e.g. exported block features). */
      readonly outputs: ReadonlyMap<string, number>;
      /** What the import changed that a proxy's value may depend on (train-mode Dropout imported as identity, a buffer read as a constant). */
      readonly notes: readonly string[];
      /** IR node id of each tensor that is one, by ONNX tensor name (a map permuted to channels-last: the map's). */
      readonly tensors: ReadonlyMap<string, number>;
      /** The tensors that are a map permuted to channels-last (N, H, W, C), by ONNX tensor name. */
      readonly channelsLast: ReadonlySet<string>;
      /** Tensors that are zero-padded maps the IR folds into the next conv or pool (no node of their own). */
      readonly padded: ReadonlySet<string>;
      /** The γ / β initializers of each affine `gn` node (GroupNorm, InstanceNorm, LayerNorm). */
      readonly norms: readonly NormRead[];
    }
  | { readonly ok: false; readonly reason: string };

class Unsupported extends Error {
  /** Where the failure comes from an input that could not be imported: that input's reason (the root cause). */
  inherited?: string;
}

type Val =
  | { readonly k: 'ir'; readonly id: number }
  | { readonly k: 'const'; readonly t: ITensorProto }
  // `float`: cast to a floating type (torch's `w / 3` of a shape divides exactly; integers truncate)
  | { readonly k: 'shape'; readonly v: readonly (number | 'N')[]; readonly float?: boolean }
  | { readonly k: 'gap'; readonly src: number } // (N, C, 1, 1) global average, awaiting Flatten/Reshape
  | { readonly k: 'pad'; readonly src: number; readonly pads: Sides } // zero-padded map, awaiting AveragePool/Conv
  // a strided window of map `src` (Slice with step > 1): output (c, i, j) is src[c0 + c][h0 + i·sh][w0 + j·sw]; times 0
  // only its shape counts (DARTS's none on a reduction edge), read by a layer it becomes a subsample ({@link subsample})
  | {
      readonly k: 'strided';
      readonly shape: Shape3;
      readonly src: number;
      readonly lo: readonly [number, number, number];
      readonly step: readonly [number, number];
    }
  // a map viewed as (N, groups, C/groups, H, W), then transposed (channel shuffle), awaiting its Reshape back
  | { readonly k: 'split'; readonly src: number; readonly groups: number; readonly transposed: boolean }
  // a map permuted to channels-last (N, H, W, C): `x.permute(0, 2, 3, 1)`, as ConvNeXt's blocks write it
  | { readonly k: 'nhwc'; readonly id: number }
  // a pool over the channels without its channel axis (N, H, W) (`x.mean(1)`), awaiting its Unsqueeze(1)
  | { readonly k: 'planes'; readonly id: number }
  // a 3-D tensor (N, A, B) held as the A×B×1 map of the same values: a 1-D convolution's input or output (ECA's
  // `y.squeeze(-1).transpose(-1, -2)` of a pooled map, timm's `y.view(b, 1, -1)` of the pooled features)
  | { readonly k: 'seq'; readonly id: number }
  // a map's mean over one spatial axis (`x.mean(3)`), awaiting the mean over the other that makes it a global one
  | { readonly k: 'axismean'; readonly src: number; readonly axis: 2 | 3; readonly keep: boolean }
  | { readonly k: 'opaque'; readonly why: string };

function fail(msg: string): never {
  throw new Unsupported(msg);
}

function isDefaultDomain(n: INodeProto): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

/** Indices of nodes some Relu (transitively) depends on. */
function reluAncestors(nodes: readonly INodeProto[]): Set<number> {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
  const keep = new Set<number>();
  const stack: number[] = [];
  nodes.forEach((n, i) => {
    if (n.opType === 'Relu') stack.push(i);
  });
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (keep.has(i)) continue;
    keep.add(i);
    for (const inp of nodes[i]!.input ?? []) {
      const p = producer.get(inp);
      if (p !== undefined && !keep.has(p)) stack.push(p);
    }
  }
  return keep;
}

function square(name: string, v: readonly number[] | undefined, dflt: number): number {
  const [h, w] = axes2(name, v, dflt);
  if (h !== w) fail(`${name} ${quote(v)} is not square`);
  return h;
}

/** A 2-D window attribute per axis, [height, width] (a kernel, strides or dilations: each at least 1). */
function axes2(name: string, v: readonly number[] | undefined, dflt: number): [number, number] {
  if (!v || v.length === 0) return [dflt, dflt];
  if (v.length !== 2) fail(`${name} ${quote(v)} is not 2-D`);
  if (!(v[0]! >= 1 && v[1]! >= 1)) fail(`${name} ${quote(v)}: each must be at least 1`);
  return [v[0]!, v[1]!];
}

/** Padding per side of a map: [top, left, bottom, right] (ONNX's order for 2-D). */
type Sides = readonly [number, number, number, number];

/** A conv's or pool's pads attribute (none: 0 everywhere). */
function padsAttr(v: readonly number[] | undefined): Sides {
  if (!v || v.length === 0) return [0, 0, 0, 0];
  if (v.length !== 4) fail(`pads ${quote(v)} are not 2-D`);
  if (v.some((x) => x < 0)) fail(`negative pads ${quote(v)} (cropping)`);
  return [v[0]!, v[1]!, v[2]!, v[3]!];
}

/** One padding for every side (a pool's), or fail. */
function evenSides(p: Sides, what: string): number {
  if (p.some((x) => x !== p[0])) fail(`${what}: pads ${quote(p)} differ between sides`);
  return p[0];
}

/** Import a loaded model into the IR, or say why it cannot be. */
export function importOnnxModel(m: LoadedModel, opts: ImportOptions): ImportResult {
  try {
    return importOrThrow(m, opts);
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, reason: e.message };
    if (isSwapError(e)) return { ok: false, reason: e.message };
    throw e;
  }
}

/** One import in progress: the IR builder, the value of every ONNX tensor name so far, and typed accessors. */
class ImportState {
  readonly b: GraphBuilder;
  readonly env = new Map<string, Val>();
  /** IR node id of each weighted ONNX node, by index in `graph.node`. */
  readonly weightIds = new Map<number, number>();
  /** ONNX nodes already imported as part of an earlier one (a MatMul's bias Add). */
  readonly absorbed = new Set<number>();
  /** A flat input viewed as [N, H, W], awaiting the Unsqueeze that makes it the IR's 1×H×W input map. */
  readonly viewed = new Set<string>();
  /** GroupNorm / decomposed LayerNorm chains, by the index of their last node (src/onnx/norm-chains.ts). */
  normAt: ReadonlyMap<number, NormChain> = new Map();
  /** Initializers read as constants in arithmetic (a buffer, or an nn.Parameter the file cannot tell from one): the first reader. */
  readonly constantBuffers = new Map<string, string>();
  /** Which initializers are nn.Parameters, where the file or the user says (src/onnx/parameters.ts). */
  readonly parameters: ParameterNames;
  /** nn.Parameters read whole as an arithmetic's constant (`ActNode.learned`), and the node of the first read. */
  readonly learnedConstants = new Map<string, number>();
  /** nn.Parameters read in arithmetic in part or reordered (an element, a window, a flip of one). */
  readonly partReads = new Set<string>();
  /** Each nn.PReLU slope initializer read, and the node of its first call (a later read: the module called again). */
  readonly preluSlopes = new Map<string, number>();
  /** 1×1 conv nodes imported from an nn.Linear over a channels-last map (`Network.channelsLastLinears`). */
  readonly channelsLastLinears: number[] = [];
  /** IR conv nodes that are nn.Conv1d calls (ECA): not the nn.Conv2d modules the official per-layer sums read. */
  readonly conv1d: number[] = [];
  /** The γ / β parameters of each affine `gn` node, by initializer name (src/onnx/params.ts reads them). */
  readonly norms: NormRead[] = [];
  /**
   * BatchNormalizations whose mean / var the graph computes from their input (no running statistics), with the
   * target of the Reshape that computation starts with.
   */
  readonly batchStatBns = new Map<number, readonly number[]>();
  readonly graphOutputs: ReadonlySet<string>;
  /** See {@link ImportResult}'s `notes`. */
  readonly notes: string[] = [];
  /** Names of the ReLU-family nodes that are functional calls (F.relu), from torch.onnx's node scopes. */
  readonly functional: ReadonlySet<string>;
  private readonly consumers = new Map<string, number[]>();
  private readonly initializers: ReadonlySet<string>;
  /** Constants that are a view of an initializer, by name: the initializer they view (src/onnx/views.ts). */
  private readonly viewOf: Map<string, string>;
  /** The views among them of all the initializer's values in its own order (src/onnx/views.ts). */
  readonly inOrder: Set<string>;
  private readonly gapOf = new Map<number, number>();
  private readonly pooledOf = new Map<number, number>();
  private readonly flatOf = new Map<number, number>();

  constructor(
    readonly m: LoadedModel,
    readonly opts: ImportOptions,
    readonly nodes: readonly INodeProto[],
  ) {
    this.b = new GraphBuilder(opts.inputShape);
    this.parameters = parameterNames(m, opts.learned);
    for (const [name, t] of m.consts) this.env.set(name, { k: 'const', t });
    // a flat (N, F) input is the IR's F×1×1 input read flat (an MLP's first layer reads F features)
    this.env.set(m.input.name, { k: 'ir', id: m.input.flat ? this.flatten(this.b.input) : this.b.input });
    this.graphOutputs = new Set((m.model.graph?.output ?? []).map((o) => o.name ?? ''));
    this.initializers = new Set((m.model.graph?.initializer ?? []).map((t) => t.name ?? ''));
    this.viewOf = initializerViews(nodes, m.consts, this.initializers);
    this.inOrder = inOrderViews(nodes, m.consts, this.initializers);
    this.functional = functionalActivations(nodes, (t) => m.consts.has(t));
    nodes.forEach((n, i) =>
      (n.input ?? []).forEach((x) => x && this.consumers.set(x, [...(this.consumers.get(x) ?? []), i])),
    );
  }

  shapeOf(id: number): Shape {
    return this.b.shape(id);
  }

  /** The values of tensor `name` when it is a constant (for {@link ChainGraph}). */
  constant(name: string): readonly number[] | undefined {
    const v = this.env.get(name);
    return v?.k === 'const' ? Array.from(tensorValues(v.t)) : undefined;
  }

  /**
   * Record constant `name`, folded during the import, as a view of `of` where that is an initializer or a view of
   * one (`inOrder`: all of its values in their order, where `of` holds them so).
   */
  addView(name: string, of: string, inOrder: boolean): void {
    const source = this.viewOf.get(of) ?? of;
    if (!this.initializers.has(source)) return;
    this.viewOf.set(name, source);
    if (inOrder && (of === source || this.inOrder.has(of))) this.inOrder.add(name);
  }

  /** How many nodes read initializer `name`, directly or through views of it. */
  readsOf(name: string): number {
    const views = [...this.viewOf].filter(([, of]) => of === name).map(([v]) => v);
    return [name, ...views].reduce((a, t) => a + this.readersOf(t).length, 0);
  }

  /** Indices of the nodes reading tensor `name`. */
  readersOf(name: string): readonly number[] {
    return this.consumers.get(name) ?? [];
  }

  get(n: INodeProto, i: number): Val {
    const name = n.input?.[i] ?? '';
    if (!name) fail(`${n.opType} ${n.name}: input ${i} is missing`);
    const v = this.env.get(name);
    if (!v) fail(`${n.opType} ${n.name}: input ${name} is not produced by an earlier node`);
    if (v.k === 'opaque') {
      const e = new Unsupported(`${n.opType} ${n.name} depends on ${v.why}`);
      e.inherited = v.why;
      throw e;
    }
    return v;
  }

  /**
   * Whether tensor `name` is a module's buffer (`register_buffer`): an initializer named by torch.onnx after its
   * state_dict key, not a folded constant (`onnx::Mul_7`) or a Constant node's output (`/Constant_output_0`).
   */
  isBuffer(name: string): boolean {
    return this.bufferOf(name) !== undefined;
  }

  /** The initializer `name` is or views (a folded one too: `onnx::Mul_37`); undefined for a Constant node's output. */
  initializerOf(name: string): string | undefined {
    const source = this.viewOf.get(name) ?? name;
    return this.initializers.has(source) ? source : undefined;
  }

  /** The module's buffer (or parameter) `name` is, or views ({@link isBuffer}); undefined for any other tensor. */
  bufferOf(name: string): string | undefined {
    const source = this.viewOf.get(name) ?? name;
    return this.initializers.has(source) && isStateDictName(source) ? source : undefined;
  }

  /** Input `i` as an IR feature tensor. */
  ir(n: INodeProto, i: number): number {
    const v = this.get(n, i);
    if (v.k === 'strided') {
      // read by a layer: subsampled once, and the tensor is that map from then on
      const id = subsample(this, n, v);
      this.env.set(n.input![i]!, { k: 'ir', id });
      return id;
    }
    if (v.k === 'planes')
      fail(
        `${n.opType} ${n.name}: input ${i} is a pool over the channels without its channel axis (keepdim=False), which imports only unsqueezed back on axis 1`,
      );
    if (v.k === 'axismean')
      fail(
        `${n.opType} ${n.name}: input ${i} is a map's mean over one axis (x.mean(${v.axis})), which imports only averaged over the other too (a global average pool)`,
      );
    if (v.k === 'seq')
      fail(
        `${n.opType} ${n.name}: input ${i} is a 3-D tensor (N, C, L), which imports only into a Conv1d, a transpose of a unit axis, or an Unsqueeze / Reshape back to a map (ECA's gate)`,
      );
    if (v.k === 'nhwc')
      fail(
        `${n.opType} ${n.name}: input ${i} is a map permuted to channels-last (N, H, W, C); on it only element-wise ops, a LayerNorm or Linear over C and the permute back import`,
      );
    if (v.k !== 'ir') fail(`${n.opType} ${n.name}: input ${i} is not a feature tensor (${v.k})`);
    return v.id;
  }

  /** Input `i` as a 4-D IR feature map. */
  ir3(n: INodeProto, i: number): number {
    const id = this.ir(n, i);
    if (this.shapeOf(id).length !== 3) fail(`${n.opType} ${n.name}: expects a 4-D tensor`);
    return id;
  }

  /**
   * Input `i` as an IR tensor, where a global average pool read by a layer (a squeeze-and-excitation block's
   * 1×1 convolutions, activations and gate) is the (N, C, 1, 1) map PyTorch computes ({@link pooledMap}).
   */
  irOrPooled(n: INodeProto, i: number): number {
    const v = this.get(n, i);
    return v.k === 'gap' ? this.pooledMap(v.src) : this.ir(n, i);
  }

  /** `id` itself where its shape is `to`, else map `id` broadcast to `to` along its axes of size 1. */
  expandTo(id: number, to: Shape): number {
    return this.shapeOf(id).join() === to.join() ? id : this.b.expand(id, to as Shape3);
  }

  /** `id` itself where its shape is `to`, else a view of it as `to` (the same values). */
  viewAs(id: number, to: Shape3): number {
    return this.shapeOf(id).join() === to.join() ? id : this.b.view(id, to);
  }

  /** The C×1×1 average of map `src` (one per map): a global average pool that keeps the map's rank. */
  pooledMap(src: number): number {
    return once(this.pooledOf, src, () => this.b.gap(src, true));
  }

  cst(n: INodeProto, i: number): ITensorProto {
    const v = this.get(n, i);
    if (v.k !== 'const') fail(`${n.opType} ${n.name}: input ${i} must be a constant`);
    return v.t;
  }

  /** Optional constant input `i` as numbers (undefined when absent). */
  cstValues(n: INodeProto, i: number): number[] | undefined {
    return n.input?.[i] ? Array.from(tensorValues(this.cst(n, i))) : undefined;
  }

  /** While defined, the names {@link set} gives a value (an element-wise import on channels-last maps reads them). */
  written: string[] | undefined;

  set(n: INodeProto, v: Val, k = 0): void {
    const o = n.output?.[k];
    if (!o) return;
    this.env.set(o, v);
    this.written?.push(o);
  }

  setIr(n: INodeProto, id: number): void {
    this.set(n, { k: 'ir', id });
  }

  onlyFirstOutputUsed(n: INodeProto): void {
    (n.output ?? []).slice(1).forEach((o) => {
      if (o && (this.graphOutputs.has(o) || this.readersOf(o).length > 0))
        fail(`${n.opType} ${n.name}: its extra output ${o} is used`);
    });
  }

  /** One `gap` IR node per pooled map, however many Flatten/Reshape nodes read it. */
  gap(src: number): number {
    return once(this.gapOf, src, () => this.b.gap(src));
  }

  /** One `flatten` IR node per map, however many Flatten/Reshape nodes read it. */
  flatten(src: number): number {
    return once(this.flatOf, src, () => this.b.flatten(src));
  }

  /** `v` flattened to (N, features). */
  flattenOf(n: INodeProto, v: Val): number {
    if (v.k === 'gap') return this.gap(v.src);
    if (v.k === 'ir' && this.shapeOf(v.id).length === 1) return v.id;
    // a (C, 1, 1) map (an AveragePool over the whole plane, as CIFAR ResNets write it): its global average is itself
    const sh = v.k === 'ir' ? this.shapeOf(v.id) : [];
    if (v.k === 'ir' && sh.length === 3 && sh[1] === 1 && sh[2] === 1) return this.gap(v.id);
    // a larger map read flat (a LeNet / VGG head)
    if (v.k === 'ir' && sh.length === 3) return this.flatten(v.id);
    fail(
      `${n.opType} ${n.name}: only a feature map, a global average pool or a flat tensor can be flattened in the IR`,
    );
  }
}

/** `cache`'s node for `src`, made on first use. */
function once(cache: Map<number, number>, src: number, make: () => number): number {
  let id = cache.get(src);
  if (id === undefined) {
    id = make();
    cache.set(src, id);
  }
  return id;
}

function intVector(v: Val, what: string): (number | 'N')[] {
  if (v.k === 'shape') return [...v.v];
  if (v.k === 'const') return Array.from(tensorValues(v.t));
  fail(`${what} is not a constant integer vector`);
}

/** `v` as plain numbers when it is a constant or a shape value free of the batch size; undefined otherwise. */
function knownNumbers(v: Val): number[] | undefined {
  if (v.k !== 'shape' && v.k !== 'const') return undefined;
  const xs = intVector(v, '');
  return xs.every((x): x is number => typeof x === 'number' && Number.isFinite(x)) ? xs : undefined;
}

/** `v` as plain integers when it is a constant or a shape value free of the batch size; undefined otherwise. */
function knownInts(v: Val): number[] | undefined {
  if (v.k !== 'shape' && v.k !== 'const') return undefined;
  const xs = intVector(v, '');
  return xs.every((x): x is number => typeof x === 'number' && Number.isInteger(x)) ? xs : undefined;
}

const SHAPE_OPS: Readonly<Record<string, (a: number, b: number, float: boolean) => number>> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b, float) => (float ? a / b : Math.trunc(a / b)),
};

/** ONNX's floating element types (float, float16, double, bfloat16). */
const FLOAT_TYPES: ReadonlySet<number> = new Set([1, 10, 11, 16]);

/** Whether `v` is a floating shape value or constant (a division by it is exact). */
function isFloat(v: Val): boolean {
  return (v.k === 'shape' && v.float === true) || (v.k === 'const' && FLOAT_TYPES.has(v.t.dataType ?? 0));
}

/**
 * Integer arithmetic on shape values (one side a `Shape` of a feature map, so not folded on load): the slice
 * bounds PyTorch computes for `x.chunk(k, 1)` from the channel count. True when `n` was such arithmetic.
 */
function shapeArithmetic(n: INodeProto, s: ImportState): boolean {
  const vals = [s.get(n, 0), s.get(n, 1)];
  if (!vals.some((v) => v.k === 'shape') || !vals.every((v) => v.k === 'shape' || v.k === 'const')) return false;
  const float = vals.some(isFloat);
  const [a, b] = vals.map((v) => (float ? knownNumbers(v) : knownInts(v)));
  if (!a || !b) fail(`${n.opType} ${n.name} of shape values involving the batch size (or not integers)`);
  if (a.length === 0 || b.length === 0) fail(`${n.opType} ${n.name} of an empty shape value`);
  if (a.length !== b.length && a.length !== 1 && b.length !== 1)
    fail(`${n.opType} ${n.name}: shape values do not broadcast`);
  if (n.opType === 'Div' && b.includes(0)) fail(`Div ${n.name}: division by zero`);
  const op = SHAPE_OPS[n.opType!]!;
  const len = Math.max(a.length, b.length);
  s.set(n, {
    k: 'shape',
    v: Array.from({ length: len }, (_, i) => op(a[a.length === 1 ? 0 : i]!, b[b.length === 1 ? 0 : i]!, float)),
    ...(float ? { float } : {}),
  });
  return true;
}

/** Imports one ONNX node (its index in `graph.node` is `idx`) into the state, or throws Unsupported. */
type Importer = (n: INodeProto, s: ImportState, idx: number) => void;

function importConv(n: INodeProto, s: ImportState, idx: number): void {
  const xv = s.get(n, 0);
  if (xv.k === 'seq') return importConv1d(n, s, idx, xv.id);
  const x = xv.k === 'pad' ? xv.src : s.irOrPooled(n, 0);
  if (s.shapeOf(x).length !== 3) fail(`Conv ${n.name}: expects a 4-D tensor`);
  const extraPad: Sides = xv.k === 'pad' ? xv.pads : [0, 0, 0, 0];
  const wd = tensorDims(s.cst(n, 1));
  if (wd.length !== 4) fail(`Conv ${n.name}: weight shape [${wd.join(', ')}] is not a 2-D kernel`);
  const given = getInts(n, 'kernel_shape');
  const k = given?.length ? axes2('kernel_shape', given, 0) : ([wd[2]!, wd[3]!] as [number, number]);
  if (k[0] !== wd[2] || k[1] !== wd[3]) fail(`Conv ${n.name}: kernel_shape disagrees with the weight`);
  const stride = axes2('strides', getInts(n, 'strides'), 1);
  const dilation = axes2('dilations', getInts(n, 'dilations'), 1);
  const groups = getInt(n, 'group', 1);
  const [cin, h, wid] = s.shapeOf(x) as Shape3;
  if (wd[1]! * groups !== cin) fail(`Conv ${n.name}: weight expects ${wd[1]! * groups} input channels, got ${cin}`);
  // zero padding adds up: the Pad's, then the conv's own (auto_pad sizes SAME on the map the Pad made)
  const padded = [h + extraPad[0] + extraPad[2], wid + extraPad[1] + extraPad[3]] as const;
  const own = autoPad(n, padded, k, stride, dilation) ?? padsAttr(getInts(n, 'pads'));
  const hasBias = Boolean(n.input?.[2]);
  if (hasBias && numelOf(tensorDims(s.cst(n, 2))) !== wd[0]) fail(`Conv ${n.name}: bias size`);
  const id = s.b.conv(x, wd[0]!, k, {
    stride,
    pad: [own[0] + extraPad[0], own[1] + extraPad[1], own[2] + extraPad[2], own[3] + extraPad[3]],
    dilation,
    groups,
    bias: hasBias,
  });
  s.weightIds.set(idx, id);
  s.setIr(n, id);
}

/**
 * ConvTranspose (nn.ConvTranspose2d): weight [cin, cout/group, kh, kw], explicit pads, output_padding below the
 * stride. `output_shape` is read where it names the size the other attributes give; auto_pad is refused.
 */
function importConvTranspose(n: INodeProto, s: ImportState, idx: number): void {
  const xv = s.get(n, 0);
  if (xv.k === 'pad') fail(`ConvTranspose ${n.name}: a Pad before a transposed convolution`);
  const x = s.irOrPooled(n, 0);
  if (s.shapeOf(x).length !== 3) fail(`ConvTranspose ${n.name}: expects a 4-D tensor`);
  const wd = tensorDims(s.cst(n, 1));
  if (wd.length !== 4) fail(`ConvTranspose ${n.name}: weight shape [${wd.join(', ')}] is not a 2-D kernel`);
  const given = getInts(n, 'kernel_shape');
  const k = given?.length ? axes2('kernel_shape', given, 0) : ([wd[2]!, wd[3]!] as [number, number]);
  if (k[0] !== wd[2] || k[1] !== wd[3]) fail(`ConvTranspose ${n.name}: kernel_shape disagrees with the weight`);
  if (!['', 'NOTSET'].includes(getString(n, 'auto_pad') ?? ''))
    fail(`ConvTranspose ${n.name}: auto_pad ${getString(n, 'auto_pad')}; only explicit pads are read`);
  const groups = getInt(n, 'group', 1);
  const [cin] = s.shapeOf(x) as Shape3;
  if (wd[0] !== cin) fail(`ConvTranspose ${n.name}: weight expects ${wd[0]} input channels, got ${cin}`);
  const hasBias = Boolean(n.input?.[2]);
  if (hasBias && numelOf(tensorDims(s.cst(n, 2))) !== wd[1]! * groups) fail(`ConvTranspose ${n.name}: bias size`);
  const id = s.b.conv(x, wd[1]! * groups, k, {
    stride: axes2('strides', getInts(n, 'strides'), 1),
    pad: padsAttr(getInts(n, 'pads')),
    dilation: axes2('dilations', getInts(n, 'dilations'), 1),
    groups,
    bias: hasBias,
    transposed: outputPadding(n),
  });
  const want = getInts(n, 'output_shape');
  const got = s.shapeOf(id).slice(1);
  if (want?.length && want.slice(-2).some((v, i) => v !== got[i]))
    fail(`ConvTranspose ${n.name}: output_shape [${want.join(', ')}] differs from the ${got.join('x')} its pads give`);
  s.weightIds.set(idx, id);
  s.setIr(n, id);
}

/** A ConvTranspose's output_padding (none: 0), each a non-negative integer (the IR checks it against the stride). */
function outputPadding(n: INodeProto): [number, number] {
  const v = getInts(n, 'output_padding');
  if (!v || v.length === 0) return [0, 0];
  if (v.length !== 2 || !v.every((x) => Number.isInteger(x) && x >= 0))
    fail(`ConvTranspose ${n.name}: output_padding ${quote(v)} is not two non-negative integers`);
  return [v[0]!, v[1]!];
}

/**
 * nn.Conv1d on a 3-D tensor (N, C, L) held as a C×L×1 map: the 2-D convolution of a k×1 kernel (the same weights in
 * the same order). Recorded in `conv1d`: not an nn.Conv2d, so the official per-layer proxies leave it out.
 */
function importConv1d(n: INodeProto, s: ImportState, idx: number, x: number): void {
  const wd = tensorDims(s.cst(n, 1));
  if (wd.length !== 3) fail(`Conv ${n.name}: weight shape [${wd.join(', ')}] on a 3-D tensor (N, C, L)`);
  const one = (name: string, dflt: number) => getInts(n, name)?.[0] ?? dflt;
  const [k, stride, dilation, groups] = [
    one('kernel_shape', wd[2]!),
    one('strides', 1),
    one('dilations', 1),
    getInt(n, 'group', 1),
  ];
  const pads = getInts(n, 'pads') ?? [0, 0];
  if (k !== wd[2] || pads.length !== 2 || !['', 'NOTSET'].includes(getString(n, 'auto_pad') ?? ''))
    fail(`Conv ${n.name}: a 1-D convolution's kernel_shape, pads or auto_pad`);
  const cin = s.shapeOf(x)[0]!;
  if (wd[1]! * groups !== cin) fail(`Conv ${n.name}: weight expects ${wd[1]! * groups} input channels, got ${cin}`);
  const bias = Boolean(n.input?.[2]);
  if (bias && numelOf(tensorDims(s.cst(n, 2))) !== wd[0]) fail(`Conv ${n.name}: bias size`);
  const id = s.b.conv(x, wd[0]!, [k, 1], {
    stride: [stride, 1],
    pad: [pads[0]!, 0, pads[1]!, 0],
    dilation: [dilation, 1],
    groups,
    bias,
  });
  s.weightIds.set(idx, id);
  s.conv1d.push(id);
  s.set(n, { k: 'seq', id });
}

/**
 * LeakyRelu(x, alpha): `nn.LeakyReLU(alpha)`, a ReLU of negative slope alpha (the file's float32, read as the
 * decimal the model was written with, as the BN ε). Not SWAP-recorded (not an `nn.ReLU`); NASLib's nwot hooks it.
 */
function importLeakyRelu(n: INodeProto, s: ImportState): void {
  const x = s.irOrPooled(n, 0);
  const alpha = float32Decimal(getFloat(n, 'alpha', 0.01)); // ONNX's default, as nn.LeakyReLU's
  if (!(alpha > 0 && Number.isFinite(alpha)))
    fail(`LeakyRelu ${n.name}: negative slope ${alpha}; only a positive slope has an IR op`);
  s.setIr(n, s.b.relu(x, undefined, alpha, undefined, s.functional.has(n.name ?? ''), undefined, true));
}

/**
 * PRelu(x, slope): `nn.PReLU()` (one learned slope) or `nn.PReLU(C)` (one per channel, (C, 1, 1) or (1, C, 1, 1) on a
 * map as ONNX broadcasts it; (C) or (1, C) on flat features). Slopes from an initializer are the module's
 * parameters (Θ counts them at the module's first call; a later call of the same module reads the same initializer,
 * `learned` 0), with the file's float32 values (as `.double()` keeps them); from a Constant, `F.prelu` by a constant
 * tensor, no parameter. Slopes of one positive value make the leaky ReLU with `learned`, others (a trained model's:
 * per channel, negative, 0) the `prelu` act (GraphBuilder.prelu). Slopes computed in the graph have no IR op. nwot
 * hooks it ("ReLU" is in its type name), SWAP does not (not an `nn.ReLU`).
 */
function importPRelu(n: INodeProto, s: ImportState): void {
  const x = s.irOrPooled(n, 0);
  const name = n.input?.[1];
  if (!name || s.env.get(name)?.k !== 'const') fail(`PRelu ${n.name}: its slope is computed in the graph`);
  const dims = tensorDims(s.cst(n, 1));
  const slopes = Array.from(tensorValues(s.cst(n, 1)));
  if (slopes.length !== 1 && !channelConstant(dims, s.shapeOf(x)))
    fail(
      `PRelu ${n.name}: slope shape [${clip(dims.join(', '), 40)}]: only one slope, or one per channel ((C, 1, 1) or (1, C, 1, 1) on a map, (C) or (1, C) on flat features), has an IR op`,
    );
  if (!slopes.every(Number.isFinite)) fail(`PRelu ${n.name}: a slope is not finite`);
  const init = s.initializerOf(name);
  // a later call of the module reads its first call's initializer again: no parameters of its own
  const firstCall = init === undefined ? undefined : s.preluSlopes.get(init);
  const learned = init === undefined ? undefined : firstCall !== undefined ? 0 : slopes.length;
  const functional = s.functional.has(n.name ?? '');
  const id = s.b.prelu(x, slopes.length === 1 ? slopes[0]! : slopes, { learned, functional, firstCall });
  if (init !== undefined && firstCall === undefined) s.preluSlopes.set(init, id);
  s.setIr(n, id);
}

/** HardSigmoid(1/6, 1/2): PyTorch's hardsigmoid (nn.Hardsigmoid; with a Mul, nn.Hardswish). Other slopes have no IR op. */
function importHardSigmoid(n: INodeProto, s: ImportState): void {
  const x = s.irOrPooled(n, 0);
  const [alpha, beta] = [getFloat(n, 'alpha', 0.2), getFloat(n, 'beta', 0.5)];
  if (Math.fround(alpha) !== Math.fround(1 / 6) || beta !== 0.5)
    fail(`HardSigmoid ${n.name} (alpha ${alpha}, beta ${beta}): only PyTorch's hardsigmoid (1/6, 1/2) has an IR op`);
  s.setIr(n, s.b.sigmoid(x, true));
}

/**
 * Clip(x, 0, max): `nn.ReLU6` (max 6) or a `Hardtanh(0, max)`, a ReLU clipped at max; Clip(x, 0) without a max is
 * `torch.clamp(x, min=0)`, a ReLU clipped at +∞. None is SWAP-recorded (the official code hooks `nn.ReLU`
 * modules only); see `reluKind` for the other hooks. Other bounds have no IR op.
 */
function importClip(n: INodeProto, s: ImportState): void {
  const x = s.irOrPooled(n, 0);
  for (const i of [1, 2])
    if (n.input?.[i] && s.env.get(n.input[i]!)?.k !== 'const')
      fail(
        `Clip ${n.name}: its ${i === 1 ? 'min' : 'max'} is computed in the graph; only constant bounds have an IR op`,
      );
  const [lo] = s.cstValues(n, 1) ?? [Number.NEGATIVE_INFINITY];
  const [hi] = s.cstValues(n, 2) ?? [Number.POSITIVE_INFINITY];
  if (lo !== 0 || !(hi! > 0))
    fail(`Clip ${n.name} to [${lo}, ${hi}]: only Clip(0, max > 0) (ReLU, ReLU6) has an IR op`);
  s.setIr(
    n,
    s.b.relu(
      x,
      Number.isFinite(hi) ? float32Decimal(hi!) : hi,
      undefined,
      undefined,
      s.functional.has(n.name ?? ''),
      undefined,
      true,
    ),
  );
}

function importBatchNorm(n: INodeProto, s: ImportState, idx: number): void {
  const x = s.ir(n, 0); // a map, or BatchNorm1d's flat (N, C)
  // without running statistics (its mean / var computed from its input: src/onnx/bn-stats.ts) it normalises with
  // batch statistics in every mode
  const target = s.batchStatBns.get(idx);
  const batchStats = target !== undefined;
  if (target) checkStatsTarget(n, s, x, target);
  const training = s.opts.bn === 'batch' || bnIsTraining(n, s.m.opset) || batchStats;
  if (!training)
    fail(
      `BatchNormalization ${n.name} uses its running statistics (exported in eval mode); the IR normalises with batch statistics`,
    );
  const eps = float32Decimal(getFloat(n, 'epsilon', 1e-5)); // ONNX's default
  if (!(eps > 0 && eps < 1)) fail(`BatchNormalization ${n.name}: epsilon ${eps} is not in (0, 1)`);
  for (let i = 1; i <= (batchStats ? 2 : 4); i++) s.cst(n, i);
  s.onlyFirstOutputUsed(n);
  s.setIr(n, s.b.bn(x, bnAffine(n, s), bnMomentum(n), eps, batchStats));
}

/**
 * A normalisation's γ and β (constants of `count` values): a module's parameters when both are initializers (or
 * views of them, torch.onnx's Unsqueeze; a constant-folded export names the folded views `onnx::Mul_37`, yet they
 * are nn.GroupNorm's weight and bias: torch.onnx writes that Mul / Add from nothing else), `fixed` when they are
 * constants holding 1 and 0 (a module without affine parameters); anything else is refused.
 */
function normAffine(
  n: INodeProto,
  s: ImportState,
  gamma: string | undefined,
  beta: string | undefined,
  count: number,
  what: string,
  broadcast?: Shape,
): { gamma: string; beta: string } | 'fixed' {
  const values = (t: string | undefined) => {
    const v = t ? s.env.get(t) : undefined;
    return v?.k === 'const' ? tensorValues(v.t) : undefined;
  };
  const [gv, bv] = [values(gamma), values(beta)];
  if (gamma && !gv) fail(`${what} ${n.name}: its scale is computed in the graph`);
  if (beta && !bv) fail(`${what} ${n.name}: its bias is computed in the graph`);
  const [g, b] = [gamma ? s.initializerOf(gamma) : undefined, beta ? s.initializerOf(beta) : undefined];
  // a chain's Mul / Add broadcast γ, β: one per channel is (C, 1, 1) or (1, C, 1, 1) on a map, (F) or (1, F) flat
  // (a module without affine parameters multiplies by a constant 1 and adds 0 of shape (1, 1, 1): the check below)
  if (broadcast && g && b)
    for (const t of [gamma, beta]) {
      const v = s.env.get(t!);
      const dims = v?.k === 'const' ? tensorDims(v.t) : [];
      const want = broadcast.length === 3 ? [broadcast[0], 1, 1] : [broadcast[0]];
      if (!channelConstant(dims, broadcast))
        fail(`${what} ${n.name}: a scale or bias shaped [${dims.join(', ')}]; one per channel is [${want.join(', ')}]`);
    }
  // a scale without a bias (F.layer_norm(x, w, None), nn.LayerNorm(bias=False)): γ alone is no gn parameter set
  if ((g && !beta) || (b && !gamma))
    fail(`${what} ${n.name}: a learned scale without a bias (or a bias without a scale); only γ and β together import`);
  if (g && b) {
    if (gv!.length !== count || bv!.length !== count)
      fail(
        `${what} ${n.name}: ${gv!.length} scale values for ${count} channels; only one γ and β per channel (or feature) import (an nn.LayerNorm over a map's C×H×W has one per value)`,
      );
    return { gamma: g, beta: b };
  }
  if ((gv ?? [1]).every((v) => v === 1) && (bv ?? [0]).every((v) => v === 0)) return 'fixed';
  return fail(`${what} ${n.name}: a scale or bias that is neither the module's parameters nor 1 and 0`);
}

/** A `gn` node of `x` with the chain's or node's γ / β (recorded for the parameter reader) and ε. */
function gnNode(
  n: INodeProto,
  s: ImportState,
  x: number,
  groups: number,
  eps: number,
  affine: { gamma: string; beta: string } | 'fixed',
  channelsLast = false,
  pixelwise = channelsLast,
): void {
  const c = s.shapeOf(x)[0]!;
  if (c % groups !== 0) fail(`${n.opType} ${n.name}: ${groups} groups do not divide ${c} channels`);
  const e = float32Decimal(eps);
  if (!(e > 0 && e < 1)) fail(`${n.opType} ${n.name}: epsilon ${e} is not in (0, 1)`);
  // a LayerNorm over a channels-last map's C is the map's pixelwise normalisation, channels-last again
  const id = s.b.gn(x, groups, affine !== 'fixed', e, pixelwise);
  if (affine !== 'fixed') s.norms.push({ node: id, ...affine, from: n.name ?? '' });
  s.set(n, channelsLast ? { k: 'nhwc', id } : { k: 'ir', id });
}

/** nn.GroupNorm or a decomposed nn.LayerNorm (src/onnx/norm-chains.ts), at the chain's last node `n`. */
function importNormChain(n: INodeProto, s: ImportState, c: NormChain): void {
  const v = s.env.get(c.input);
  if (v?.k === 'opaque') {
    const e = new Unsupported(`${n.opType} ${n.name} depends on ${v.why}`);
    e.inherited = v.why;
    throw e;
  }
  if (v?.k === 'nhwc' && c.kind === 'layer') return importChannelsLastNormChain(n, s, c, v.id);
  if (v?.k !== 'ir' && v?.k !== 'gap') fail(`${n.opType} ${n.name}: the normalised input is not a feature tensor`);
  // a pooled (N, C, 1, 1) map (a channels_first LayerNorm after the global pool) is that map
  const x = v.k === 'gap' ? s.pooledMap(v.src) : v.id;
  const shape = s.shapeOf(x);
  const what = c.kind === 'group' ? 'nn.GroupNorm' : 'nn.LayerNorm';
  // the groups are each sample's (the first Reshape keeps the batch), and the second Reshape gives X its shape back
  if (c.batchEntry !== undefined && !keepsBatch(n, s, c.batchEntry))
    fail(`${what} ${n.name}: its statistics reshape X to [${c.batchEntry}, ${c.groups}, -1], which mixes samples`);
  if (
    c.back &&
    !(c.back.length === shape.length + 1 && keepsBatch(n, s, c.back[0]) && c.back.slice(1).join() === shape.join())
  )
    fail(`${what} ${n.name}: reshaped back to [${c.back.join(', ')}], not the normalised tensor's shape`);
  // a LayerNorm over a map's channel axis written out (ConvNeXt's channels_first LayerNorm: x.mean(1, keepdim=True)
  // ...): a pixelwise normalisation
  const rank = shape.length + 1;
  const axes = c.kind === 'layer' ? c.axes!.map((a) => (a < 0 ? a + rank : a)).sort() : [];
  const pixelwise = rank === 4 && axes.join() === '1';
  // otherwise the mean over all of a sample's values: [-1] of flat features, [-3, -2, -1] of a map
  if (c.kind === 'layer' && !pixelwise && axes.join() !== Array.from({ length: rank - 1 }, (_, i) => i + 1).join())
    fail(
      `${what} ${n.name} over axes ${c.axes!.join(', ')}: only over all of a sample's values (C, H, W, or F), or over a map's channels`,
    );
  const affine = normAffine(n, s, c.gamma, c.beta, shape[0]!, what, shape);
  gnNode(n, s, x, c.groups, c.eps, affine, false, pixelwise);
}

/** A decomposed nn.LayerNorm over a channels-last map's last axis (C): ConvNeXt's, before opset 17. */
function importChannelsLastNormChain(n: INodeProto, s: ImportState, c: NormChain, x: number): void {
  const axes = c.axes!.map((a) => (a < 0 ? a + 4 : a));
  if (axes.join() !== '3')
    fail(`nn.LayerNorm ${n.name} over axes ${c.axes!.join(', ')} of a channels-last map: only over its last axis (C)`);
  const C = s.shapeOf(x)[0]!;
  gnNode(n, s, x, 1, c.eps, normAffine(n, s, c.gamma, c.beta, C, 'nn.LayerNorm', [C]), true);
}

/** nn.InstanceNorm2d: one InstanceNormalization of a map, groups = channels (no running statistics). */
function importInstanceNorm(n: INodeProto, s: ImportState): void {
  const x = s.ir3(n, 0);
  const c = s.shapeOf(x)[0]!;
  const eps = getFloat(n, 'epsilon', 1e-5);
  gnNode(n, s, x, c, eps, normAffine(n, s, n.input?.[1], n.input?.[2], c, 'nn.InstanceNorm2d'));
}

/** opset 17's LayerNormalization over all of a sample's values (axis 1: flat features, or a map's C, H, W). */
function importLayerNormalization(n: INodeProto, s: ImportState): void {
  const v = s.get(n, 0);
  if (v.k === 'nhwc') {
    // over a channels-last map's C (ConvNeXt): a pixelwise normalisation of the map
    const axis = getInt(n, 'axis', -1);
    if (axis !== -1 && axis !== 3)
      fail(`LayerNormalization ${n.name} over axis ${axis} of a channels-last map: only over C`);
    s.onlyFirstOutputUsed(n);
    const C = s.shapeOf(v.id)[0]!;
    const affine = normAffine(n, s, n.input?.[1], n.input?.[2], C, 'nn.LayerNorm');
    return gnNode(n, s, v.id, 1, getFloat(n, 'epsilon', 1e-5), affine, true);
  }
  const x = s.ir(n, 0);
  const shape = s.shapeOf(x);
  const axis = getInt(n, 'axis', -1);
  if ((axis < 0 ? axis + shape.length + 1 : axis) !== 1)
    fail(`LayerNormalization ${n.name} over axis ${axis}: only over all of a sample's values (C, H, W, or F)`);
  s.onlyFirstOutputUsed(n);
  const per = shape.reduce((a, d) => a * d, 1);
  const affine = normAffine(n, s, n.input?.[1], n.input?.[2], per, 'nn.LayerNorm');
  if (affine !== 'fixed' && per !== shape[0])
    fail(`nn.LayerNorm ${n.name} over a map's ${shape.join('x')}: one γ and β per value, not per channel`);
  gnNode(n, s, x, 1, getFloat(n, 'epsilon', 1e-5), affine);
}

/**
 * A BN's batch statistics are X's per channel only when the Reshape they start with keeps X's batch (0, or the
 * model's fixed batch size) and channels: [N, C, −1]. Any other target mixes samples and channels.
 */
function checkStatsTarget(n: INodeProto, s: ImportState, x: number, target: readonly number[]): void {
  const c = s.shapeOf(x)[0];
  const batch = s.m.input.dims[0];
  if (target[1] !== c || !(target[0] === 0 || (typeof batch === 'number' && target[0] === batch)))
    fail(
      `BatchNormalization ${n.name}: its statistics reshape X to [${target.join(', ')}], not [N, ${c}, -1]; only per-channel batch statistics have an IR op`,
    );
}

/**
 * The shortest decimal that rounds to the same float32 as `x`: ONNX stores a BatchNorm's ε as float32, while
 * PyTorch computes with the double the model was written with (1e-3 is stored as 0.0010000000475).
 */
export function float32Decimal(x: number): number {
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

/**
 * PyTorch's momentum of a BatchNormalization, when not its default 0.1: ONNX's `momentum` weighs the running value
 * (default 0.9), PyTorch's the batch statistic. ONNX 1 (PyTorch 0) is read as the default: it is how a model is
 * exported with the running statistics it holds (a train-mode export's own forward pass would otherwise update
 * them), not a momentum anyone trains with. torch.onnx writes 0 for `momentum=None` (a cumulative average) as for
 * momentum 1, so 1 here may mean either.
 */
function bnMomentum(n: INodeProto): number | undefined {
  const onnx = getFloat(n, 'momentum', 0.9);
  const m = 1 - onnx;
  return Math.abs(m - 0.1) < 1e-6 || onnx === 1 ? undefined : m;
}

/**
 * Whether a BatchNormalization's scale and bias are parameters (counted in Θ): not when both are Constant nodes
 * holding γ = 1, β = 0, the form PyTorch exports a `BatchNorm2d(affine=False)` in.
 */
function bnAffine(n: INodeProto, s: ImportState): boolean {
  const fixed = (i: number, v: number) =>
    !s.m.initializers.has(n.input?.[i] ?? '') && tensorValues(s.cst(n, i)).every((x) => x === v);
  return !(fixed(1, 1) && fixed(2, 0));
}

function importPool(n: INodeProto, s: ImportState): void {
  const isMax = n.opType === 'MaxPool';
  const xv = s.get(n, 0);
  const k = square('kernel_shape', getInts(n, 'kernel_shape'), 0);
  const stride = square('strides', getInts(n, 'strides'), 1);
  if (square('dilations', getInts(n, 'dilations'), 1) !== 1) fail('dilated pooling is not supported');
  let x: number;
  let pad: number;
  if (xv.k === 'pad') {
    if (isMax) fail('MaxPool after a zero Pad');
    x = xv.src;
    pad = evenSides(xv.pads, `${n.opType} ${n.name} after a Pad`);
    if (padsAttr(getInts(n, 'pads')).some((p) => p !== 0)) fail('both an explicit Pad and pool pads');
    if (!['NOTSET', '', 'VALID'].includes(getString(n, 'auto_pad') ?? 'NOTSET'))
      fail(`${n.opType} ${n.name}: auto_pad after an explicit Pad`);
  } else {
    x = s.ir3(n, 0);
    const [, h, w] = s.shapeOf(x) as Shape3;
    const auto = autoPad(n, [h, w], [k, k], [stride, stride], [1, 1]);
    pad = evenSides(auto ?? padsAttr(getInts(n, 'pads')), `${n.opType} ${n.name}`);
  }
  // ceil mode (GoogLeNet, SqueezeNet): the builder keeps it where it adds a last, partial window
  const ceil = getInt(n, 'ceil_mode', 0) !== 0;
  // torch.onnx writes AvgPool2d(padding=p, ceil_mode=True, count_include_pad=True) as Pad + AveragePool(ceil_mode):
  // imported as PyTorch's pool with its own padding, whose sizes and values ONNX Runtime computes too (even where
  // a last window would start in the right padding, which ONNX's shape inference keeps)
  if (isMax) {
    s.onlyFirstOutputUsed(n);
    if (getInt(n, 'storage_order', 0) !== 0) fail('storage_order');
    return s.setIr(n, s.b.maxpool(x, k, stride, pad, ceil));
  }
  const include = xv.k === 'pad' ? true : getInt(n, 'count_include_pad', 0) === 1;
  s.setIr(n, s.b.avgpool(x, k, stride, pad, include, ceil));
}

/**
 * What a refused Div likely is, from what reads it: the start of a GELU chain that did not match torch.onnx's form
 * (an Erf).
 */
function refusedScaleHint(n: INodeProto, s: ImportState): string {
  const reads = s.readersOf(n.output?.[0] ?? '').map((i) => s.nodes[i]!.opType);
  return reads.includes('Erf') ? ` (${OP_HINTS.Erf!.slice(2, -1)})` : '';
}

/** Imports a recognised activation chain as one `act` node (false when there is none). */
function importChain(chain: ActChain | undefined, s: ImportState): boolean {
  if (!chain) return false;
  const v = s.env.get(chain.input);
  if (v?.k !== 'ir' && v?.k !== 'gap') return false;
  const x = v.k === 'gap' ? s.pooledMap(v.src) : v.id;
  for (const i of chain.absorbed) s.absorbed.add(i);
  s.setIr(chain.last, s.b.act(x, chain.fn));
  return true;
}

/** Elu(alpha): nn.ELU(alpha), the file's float32 α read as the decimal it was written with. */
function importElu(n: INodeProto, s: ImportState): void {
  const alpha = float32Decimal(getFloat(n, 'alpha', 1));
  if (!(alpha > 0 && Number.isFinite(alpha))) fail(`Elu ${n.name}: alpha ${alpha}; only a positive alpha has an IR op`);
  s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'elu', alpha));
}

/** Celu(alpha): nn.CELU(alpha) (opset ≥ 12), α read as Elu's. */
function importCelu(n: INodeProto, s: ImportState): void {
  const alpha = float32Decimal(getFloat(n, 'alpha', 1));
  if (!(alpha > 0 && Number.isFinite(alpha)))
    fail(`Celu ${n.name}: alpha ${alpha}; only a positive alpha has an IR op`);
  s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'celu', alpha));
}

/** Selu with PyTorch's (and ONNX's default) α and γ: nn.SELU. */
function importSelu(n: INodeProto, s: ImportState): void {
  const [alpha, gamma] = [getFloat(n, 'alpha', SELU_ALPHA), getFloat(n, 'gamma', SELU_SCALE)];
  if (Math.fround(alpha) !== Math.fround(SELU_ALPHA) || Math.fround(gamma) !== Math.fround(SELU_SCALE))
    fail(`Selu ${n.name} (alpha ${alpha}, gamma ${gamma}): only nn.SELU's constants have an IR op`);
  s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'selu'));
}

/** Gelu (opset 20): nn.GELU(), or its tanh approximation. */
function importGelu(n: INodeProto, s: ImportState): void {
  const approx = getString(n, 'approximate') ?? 'none';
  if (approx !== 'none' && approx !== 'tanh') fail(`Gelu ${n.name}: approximate=${quote(approx)} is not ONNX's`);
  s.setIr(n, s.b.act(s.irOrPooled(n, 0), approx === 'tanh' ? 'gelu_tanh' : 'gelu'));
}

/** A zero Pad on H, W only: kept as a pending value that the next AveragePool/Conv absorbs. */
function importPad(n: INodeProto, s: ImportState): void {
  // a zero Pad of a zero-padded map (F.pad, then a pool whose own padding PyTorch exports as a Pad) adds up
  const v = s.get(n, 0);
  const [x, before]: [number, Sides] = v.k === 'pad' ? [v.src, v.pads] : [s.ir3(n, 0), [0, 0, 0, 0]];
  if ((getString(n, 'mode') ?? 'constant') !== 'constant') fail('only constant padding');
  const pads = intVector(s.get(n, 1), 'Pad pads').map(Number);
  const value = s.cstValues(n, 2);
  if (value && value.length > 0 && value[0] !== 0) fail('non-zero pad value');
  if (n.input?.[3]) fail('Pad with axes');
  if (pads.some((p) => p < 0)) fail('negative padding (cropping)');
  if (pads.length === 8 && !pads[0] && !pads[4] && (pads[1] || pads[5])) return padChannels(n, s, x, before, pads);
  if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5]) fail('padding outside H, W');
  // [N, C, top, left, N, C, bottom, right]
  const sides = [pads[2]! + before[0], pads[3]! + before[1], pads[6]! + before[2], pads[7]! + before[3]] as const;
  s.set(n, sides.every((p) => p === 0) ? { k: 'ir', id: x } : { k: 'pad', src: x, pads: sides });
}

/**
 * Zero channels before and after a map (`F.pad(x, (0, 0, 0, 0, p, p))`, the option-A shortcut of the CIFAR ResNets;
 * PyramidNet's): a concat with zero maps. Refused together with spatial padding.
 */
function padChannels(n: INodeProto, s: ImportState, x: number, before: Sides, pads: readonly number[]): void {
  if (before.some((p) => p > 0) || pads[2] || pads[3] || pads[6] || pads[7])
    fail(`Pad ${n.name} of both channels and H, W: only one or the other imports`);
  const [, H, W] = s.shapeOf(x) as Shape3;
  const parts = [pads[1] ? s.b.zero([pads[1], H, W]) : -1, x, pads[5] ? s.b.zero([pads[5], H, W]) : -1];
  s.setIr(n, s.b.concat(parts.filter((id) => id >= 0)));
}

/**
 * The scalar constant of binary node `n` (a Python number in the model: `x * 0.5`, `x - 1`) and its index, when
 * exactly one input is a constant that does not broadcast `n`'s other input to a higher rank (undefined where
 * neither input is a constant; refused where the constant holds several values). A number torch.onnx wrote as a
 * Constant is read as the shortest decimal that rounds to the file's float32 (0.1, the literal the model most likely
 * wrote, which the official code run in float64 multiplies by; a literal with more digits than float32 keeps cannot
 * be recovered); a module's buffer, an initializer of its own name, keeps its float32 value, as `.double()` does.
 */
function scalarOperand(
  n: INodeProto,
  s: ImportState,
): { i: 0 | 1; v: Constant; state: StateRead | undefined } | undefined {
  if ((n.input ?? []).length !== 2) return undefined;
  const vals = [s.get(n, 0), s.get(n, 1)];
  // a number computed from the input's shape (SimAM's `h * w - 1` of a model exported with a dynamic batch)
  const known = vals.map((v) =>
    v.k === 'shape' && v.v.length <= 1 && typeof v.v[0] === 'number' ? v.v[0] : undefined,
  );
  const tensor = (v: Val) => v.k === 'ir' || v.k === 'gap';
  if (known[1] !== undefined && tensor(vals[0]!)) return { i: 1, v: known[1], state: undefined };
  if (known[0] !== undefined && tensor(vals[1]!)) return { i: 0, v: known[0], state: undefined };
  const i = vals[0]!.k === 'const' ? 0 : vals[1]!.k === 'const' ? 1 : undefined;
  const c = i === undefined ? undefined : vals[i];
  const x = i === undefined ? undefined : vals[1 - i];
  if (c?.k !== 'const' || x?.k === 'const') return undefined;
  const dims = tensorDims(c.t);
  const xShape = x?.k === 'ir' ? s.shapeOf(x.id) : x?.k === 'gap' ? [s.shapeOf(x.src)[0]!, 1, 1] : undefined;
  const perChannel = xShape !== undefined && numelOf(dims) > 1 && channelConstant(dims, xShape);
  if (numelOf(dims) !== 1 && !perChannel)
    fail(
      `${n.opType} ${n.name} by a constant of ${numelOf(dims)} values shaped [${clip(dims.join(', '), 40)}]: only a scalar, or one value per channel ((C, 1, 1) or (1, C, 1, 1) on a map, (F) or (1, F) on flat features), has an IR op`,
    );
  const rank = xShape ? xShape.length + 1 : 4;
  if (dims.length > rank) fail(`${n.opType} ${n.name}: a constant that broadcasts its tensor's rank`);
  const name = n.input![i!]!;
  const buffer = s.bufferOf(name);
  // a Python literal (a scalar Constant) as its decimal; a buffer, and any tensor of several values (a tensor, never
  // a literal, which `.double()` and type promotion read as its float32 values), as the file's float32
  const values = Array.from(tensorValues(c.t), (v) => (buffer !== undefined || perChannel ? v : float32Decimal(v)));
  const param = buffer !== undefined && s.parameters.isParameter(buffer) ? buffer : undefined;
  // an nn.Parameter is learned where read whole, its values in their own order (itself, or a reshaping view); an
  // element, a window, or a reordering (a flip, a permuting Gather) of one is not
  const whole = param !== undefined && (name === param || s.inOrder.has(name));
  if (param !== undefined && !whole) s.partReads.add(param);
  if (buffer && param === undefined && !s.constantBuffers.has(buffer))
    s.constantBuffers.set(buffer, `${n.opType} ${clip(n.name ?? '', 60)}`);
  // any initializer (or a view of one) comes from the state_dict, a folded one (`onnx::Mul_16`: a layer scale viewed
  // in a constant-folded export) included; a Python literal stays a Constant node
  const state = s.initializerOf(name) === undefined ? undefined : { sign: 1 as const, ...(whole ? { param } : {}) };
  return { i: i as 0 | 1, v: perChannel ? values : values[0]!, state };
}

/**
 * Where an arithmetic's constant comes from the state_dict: its sign there (`ActNode.stateSign`: −1 where `x - c`
 * imports as a shift by −c) and, where it is an nn.Parameter read whole, its initializer (`ActNode.learned`).
 */
interface StateRead {
  readonly sign: 1 | -1;
  readonly param?: string;
}

/** A scalar, or one value per channel. */
type Constant = number | readonly number[];

/** Whether a constant of `dims` holds one value per channel of a tensor of per-sample `shape` (NumPy broadcasting). */
function channelConstant(dims: readonly number[], shape: readonly number[]): boolean {
  const C = shape[0]!;
  const d = dims.join(',');
  return shape.length === 3 ? d === `${C},1,1` || d === `1,${C},1,1` : d === `${C}` || d === `1,${C}`;
}

/** `c` with `f` applied to each value. */
function mapConstant(c: Constant, f: (v: number) => number): Constant {
  return typeof c === 'number' ? f(c) : c.map(f);
}

/** Arithmetic with a constant (one, or one per channel) on input `i` of `n`: `fn` by `alpha` (an `act` node). */
function importArithmetic(
  n: INodeProto,
  s: ImportState,
  i: number,
  fn: 'scale' | 'divide' | 'shift',
  alpha: Constant,
  state?: StateRead,
): void {
  s.setIr(n, arithmetic(s, s.irOrPooled(n, i), fn, alpha, state));
}

/**
 * The act node of `fn` by a constant on `x`: one α, or one per channel (`state`: where the state_dict holds it). An
 * nn.Parameter's first read counts its values in Θ; a later read of the same tensor names that first read.
 */
function arithmetic(
  s: ImportState,
  x: number,
  fn: 'scale' | 'divide' | 'shift',
  alpha: Constant,
  state?: StateRead,
): number {
  const first = state?.param === undefined ? undefined : s.learnedConstants.get(state.param);
  const learned: LearnedUse =
    state?.param === undefined
      ? {}
      : first === undefined
        ? { learned: typeof alpha === 'number' ? 1 : alpha.length }
        : { learned: 0, firstCall: first };
  const id =
    typeof alpha === 'number'
      ? s.b.act(x, fn, alpha, state?.sign, learned)
      : s.b.channelAct(x, fn, alpha, state?.sign, learned);
  if (state?.param !== undefined && first === undefined) s.learnedConstants.set(state.param, id);
  return id;
}

/** Sub: shape arithmetic, x − c, c − x (−x + c) or x − y (x + (−y)), each exact as IEEE subtraction is. */
function importSub(n: INodeProto, s: ImportState): void {
  if (shapeArithmetic(n, s)) return;
  const c = scalarOperand(n, s);
  if (c?.i === 1)
    return importArithmetic(
      n,
      s,
      0,
      'shift',
      mapConstant(c.v, (v) => -v),
      c.state && { ...c.state, sign: -1 },
    );
  if (c?.i === 0) return s.setIr(n, arithmetic(s, s.b.act(s.irOrPooled(n, 1), 'scale', -1), 'shift', c.v, c.state));
  const [x, y] = broadcastInputs(n, s);
  s.setIr(n, s.b.add([x!, s.b.act(y!, 'scale', -1)]));
}

/**
 * The inputs of an elementwise `n` as IR tensors of one shape: maps that differ only along axes of size 1 (SimAM's
 * `x - x.mean(dim=[2, 3], keepdim=True)`, BAM's gates summed) broadcast to their common shape (`expand`); refused,
 * naming the shapes, where they do not broadcast.
 */
function broadcastInputs(n: INodeProto, s: ImportState): number[] {
  const xs = (n.input ?? []).map((_, i) => s.irOrPooled(n, i));
  const to = commonShape(xs.map((x) => s.shapeOf(x)));
  if (!to)
    fail(
      `${n.opType} ${n.name} of ${xs.map((x) => s.shapeOf(x).join('x')).join(' and ')}: only tensors of one shape, maps that broadcast along axes of size 1, or a tensor and a scalar constant, have an IR op`,
    );
  return xs.map((x) => s.expandTo(x, to));
}

/** The shape maps of `shapes` broadcast to (each axis the others' or 1), undefined where they do not. */
function commonShape(shapes: readonly Shape[]): Shape | undefined {
  const first = shapes[0]!;
  if (shapes.every((sh) => sh.join('x') === first.join('x'))) return first;
  if (shapes.some((sh) => sh.length !== 3)) return undefined;
  const to = [0, 1, 2].map((i) => Math.max(...shapes.map((sh) => sh[i]!)));
  return shapes.every((sh) => sh.every((d, i) => d === to[i] || d === 1)) ? (to as unknown as Shape3) : undefined;
}

/** Add / Sum: shape arithmetic, a tensor plus a scalar constant, or a sum of tensors of one shape. */
function importSum(n: INodeProto, s: ImportState): void {
  if (n.opType === 'Add' && shapeArithmetic(n, s)) return;
  const c = n.opType === 'Add' ? scalarOperand(n, s) : undefined;
  if (c) return importArithmetic(n, s, 1 - c.i, 'shift', c.v, c.state);
  if (n.opType === 'Add' && (n.input ?? []).length !== 2) fail('Add needs two inputs');
  const xs = broadcastInputs(n, s);
  s.setIr(n, s.b.add(xs));
}

/**
 * Mul of two feature tensors: SiLU's x·σ(x), Hardswish's x·hardsigmoid(x), or a squeeze-and-excitation block's map
 * times its (N, C, 1, 1) gate (either order).
 */
function importProduct(n: INodeProto, s: ImportState): void {
  s.setIr(n, product(n, s, s.irOrPooled(n, 0), s.irOrPooled(n, 1)));
}

/** The IR product of tensors `a` and `g` ({@link importProduct}'s cases), for Mul / Div node `n`. */
function product(n: INodeProto, s: ImportState, a: number, g: number): number {
  const [sa, sg] = [s.shapeOf(a), s.shapeOf(g)];
  const gate = (m: Shape, x: Shape) => m.length === 3 && x.length === 3 && x[0] === m[0] && x[1] === 1 && x[2] === 1;
  if (sa.join('x') === sg.join('x') || gate(sa, sg)) return s.b.mul(a, g);
  if (gate(sg, sa)) return s.b.mul(g, a);
  // a 1×H×W spatial gate (CBAM's spatial attention) broadcast over the map's channels: the gate concatenated once
  // per channel, whose cotangents then sum over the channels as the broadcast's do
  const spatial = (m: Shape, x: Shape) =>
    m.length === 3 && x.length === 3 && x[0] === 1 && m[0]! > 1 && x[1] === m[1] && x[2] === m[2];
  const [map, sgate] = spatial(sa, sg) ? [a, g] : spatial(sg, sa) ? [g, a] : [-1, -1];
  if (map >= 0) return s.b.mul(map, s.b.concat(new Array<number>(s.shapeOf(map)[0]!).fill(sgate)));
  // other maps that broadcast along axes of size 1 (BAM's channel gate times its spatial gate)
  const to = commonShape([sa, sg]);
  if (!to)
    fail(
      `${n.opType} ${n.name} of ${sa.join('x')} by ${sg.join('x')}: only the same shape, a map by its channel gate or by a 1×H×W gate, or maps that broadcast along axes of size 1`,
    );
  return s.b.mul(s.expandTo(a, to), s.expandTo(g, to));
}

/**
 * Mul: shape arithmetic, the start of a GELU chain, a strided window or a map times 0 (DARTS's and NB201's `none`:
 * a zero node), a product of two tensors, or a tensor times a scalar constant.
 */
function importMul(n: INodeProto, s: ImportState): void {
  if (shapeArithmetic(n, s)) return;
  const a = s.get(n, 0);
  const c = s.get(n, 1);
  // nn.GELU(approximate='tanh') as torch.onnx writes it starts with x·x, nn.GELU may start with x·(1/√2)
  if (importChain(geluTanhChain(s, n), s) || importChain(geluChain(s, n), s)) return;
  // a strided window times 0 (DARTS's none on a reduction edge): zeros of its shape
  const strided = a.k === 'strided' ? a : c.k === 'strided' ? c : undefined;
  if (strided) {
    const k = (strided === a ? c : a) as Val;
    const zero = k.k === 'const' && tensorValues(k.t).every((v) => v === 0) && numelOf(tensorDims(k.t)) === 1;
    if (!zero) fail(`Mul ${n.name} of a strided Slice (step > 1) by something other than 0`);
    return s.setIr(n, s.b.zero(strided.shape));
  }
  if (a.k !== 'const' && c.k !== 'const') return importProduct(n, s);
  const sc = scalarOperand(n, s);
  if (!sc) fail(`Mul ${n.name} of two constants that were not folded`);
  // `x * 0` of a map (NB201's none edge): a zero node, which reads nothing
  const x = s.get(n, 1 - sc.i);
  // (a learned gain that is 0, ReZero's at initialisation, stays a product: it has a gradient)
  if (sc.v === 0 && x.k === 'ir' && s.shapeOf(x.id).length === 3 && sc.state?.param === undefined)
    return s.setIr(n, s.b.zero(s.shapeOf(x.id) as Shape3));
  importArithmetic(n, s, 1 - sc.i, 'scale', sc.v, sc.state);
}

/**
 * Div: shape arithmetic, nn.GELU's first node, a tensor divided by a scalar constant, or by a tensor (SimAM's
 * energy): the product with its reciprocal, broadcast as a Mul's operands are (a scalar constant's quotient by a
 * tensor: the reciprocal scaled).
 */
function importDiv(n: INodeProto, s: ImportState): void {
  if (shapeArithmetic(n, s) || importChain(geluChain(s, n), s)) return;
  const c = scalarOperand(n, s);
  if (c?.i === 0 && typeof c.v === 'number' && !c.state)
    return s.setIr(n, s.b.act(s.b.act(s.irOrPooled(n, 1), 'reciprocal'), 'scale', c.v));
  if (!c && s.get(n, 1).k !== 'const') {
    const [a, b] = [s.irOrPooled(n, 0), s.irOrPooled(n, 1)];
    return s.setIr(n, product(n, s, a, s.b.act(b, 'reciprocal')));
  }
  if (c?.i !== 1)
    fail(`Div ${n.name}: only a tensor divided by a scalar constant has an IR op${refusedScaleHint(n, s)}`);
  if (typeof c.v === 'number' ? c.v === 0 : c.v.includes(0)) fail(`Div ${n.name}: division by zero`);
  importArithmetic(n, s, 0, 'divide', c.v, c.state);
}

/** Pow of a tensor by a scalar constant: x² as x·x (SimAM's), x¹ as x, x⁻¹ as 1 / x; other exponents refused. */
function importPow(n: INodeProto, s: ImportState): void {
  const e = s.cstValues(n, 1);
  const x = s.irOrPooled(n, 0);
  if (e?.length !== 1 || ![2, 1, -1].includes(e[0]!))
    fail(`Pow ${n.name}: only the exponents 2, 1 and -1 (a constant) have an IR op`);
  s.setIr(n, e[0] === 2 ? s.b.mul(x, x) : e[0] === 1 ? x : s.b.act(x, 'reciprocal'));
}

/**
 * ReduceSum over a map's H, W (SimAM's `sum(dim=[2, 3], keepdim=True)`) or its channels: the mean's map scaled by
 * the count it averages (keepdim), or the flat features (over H, W without keepdim).
 */
function importReduceSum(n: INodeProto, s: ImportState): void {
  const x = s.ir3(n, 0);
  const [c, h, w] = s.shapeOf(x) as Shape3;
  const axes = (s.cstValues(n, 1) ?? getInts(n, 'axes') ?? [])
    .map((a) => (a < 0 ? a + 4 : a))
    .sort()
    .join(',');
  const keep = getInt(n, 'keepdims', 1) === 1;
  if (axes === '2,3') return s.setIr(n, s.b.act(keep ? s.pooledMap(x) : s.gap(x), 'scale', h * w));
  if (axes === '1' && keep) return s.setIr(n, s.b.act(s.b.chanpool(x, false), 'scale', c));
  fail(
    `ReduceSum ${n.name} over axes ${axes || 'all'}${keep ? '' : ' without keepdims'}: only H, W or the channels (kept)`,
  );
}

function importConstantOfShape(n: INodeProto, s: ImportState): void {
  const shp = intVector(s.get(n, 0), 'ConstantOfShape shape');
  const value = n.attribute?.find((a) => a.name === 'value')?.t;
  if (value && tensorValues(value).some((v) => v !== 0)) fail('ConstantOfShape with a non-zero value');
  if (shp.length !== 4 || shp[0] !== 'N' || shp.slice(1).some((d) => typeof d !== 'number'))
    fail('ConstantOfShape of a shape other than (N, C, H, W)');
  s.setIr(n, s.b.zero(shp.slice(1) as unknown as Shape3));
}

/** Shape / Gather / Unsqueeze / Concat on shapes: the arithmetic PyTorch emits for `view(x.size(0), -1)`. */
function importShape(n: INodeProto, s: ImportState): void {
  const v = s.get(n, 0);
  // a global average pool's (N, C, 1, 1) too (`out.view(out.size(0), -1)` after it, exported with a dynamic batch)
  if (v.k !== 'ir' && v.k !== 'gap') fail('Shape of a non-feature tensor');
  // a viewed flat input's shape is the file's (N, F)
  const view = s.m.input.view && n.input?.[0] === s.m.input.name ? s.m.input.view : undefined;
  const dims = v.k === 'gap' ? [s.shapeOf(v.src)[0]!, 1, 1] : s.shapeOf(v.id);
  const full: (number | 'N')[] = ['N', ...(view ? [view[0] * view[1] * view[2]] : dims)];
  const r = full.length;
  const norm = (a: number) => Math.min(r, Math.max(0, a < 0 ? a + r : a));
  s.set(n, { k: 'shape', v: full.slice(norm(getInt(n, 'start', 0)), norm(getInt(n, 'end', r))) });
}

function importGather(n: INodeProto, s: ImportState): void {
  if (floatConstant(n, s)) return foldOnShapes(n, s);
  const data = intVector(s.get(n, 0), 'Gather data');
  if (getInt(n, 'axis', 0) !== 0) fail('Gather on axis ≠ 0');
  const ix = Array.from(tensorValues(s.cst(n, 1)));
  s.set(n, { k: 'shape', v: ix.map((i) => data[i < 0 ? i + data.length : i] ?? fail('Gather index out of range')) });
}

function importUnsqueeze(n: INodeProto, s: ImportState): void {
  if (floatConstant(n, s)) return foldOnShapes(n, s);
  const v = s.get(n, 0);
  // the channel axis of a flat input viewed as [N, H, W] (`x.view(-1, 28, 28).unsqueeze(1)`): the 1×H×W map
  if (s.viewed.has(n.input?.[0] ?? '')) return s.set(n, v);
  if (v.k === 'ir') return unsqueezeFeatures(n, s, v.id);
  if (v.k === 'seq') return unsqueezeSeq(n, s, v.id);
  if (v.k === 'planes') {
    const axes = s.cstValues(n, 1) ?? getInts(n, 'axes') ?? [];
    if (axes.join() !== '1' && axes.join() !== '-3')
      fail(`Unsqueeze ${n.name} of a channel pool on axes ${axes.join(',')}`);
    return s.setIr(n, v.id);
  }
  if (v.k !== 'shape' && v.k !== 'const') fail('Unsqueeze of a feature tensor');
  const axes = s.cstValues(n, 1) ?? getInts(n, 'axes') ?? [];
  if (axes.length !== 1 || axes[0] !== 0) fail('Unsqueeze other than of a scalar on axis 0');
  s.set(n, { k: 'shape', v: intVector(v, 'Unsqueeze input').slice(0, 1) });
}

/**
 * Flat features unsqueezed into a C×1×1 map (`y.unsqueeze(2).unsqueeze(3)`, `y[:, :, None, None]`: a squeeze-and-
 * excitation gate computed by nn.Linear layers; −1 counts from the end), or into a 3-D tensor (N, C, 1) / (N, 1, C)
 * (`y.unsqueeze(2)` then again: the C×1×1 map; ECA's `y.unsqueeze(-1).transpose(-1, -2)`). Other axes are refused.
 */
function unsqueezeFeatures(n: INodeProto, s: ImportState, id: number): void {
  if (s.shapeOf(id).length !== 1) fail(`Unsqueeze ${n.name} of a feature map`);
  // a negative axis counts from the end of the output (the input's rank plus the axes added)
  const given = s.cstValues(n, 1) ?? getInts(n, 'axes') ?? [];
  const axes = given.map((a) => (a < 0 ? a + 2 + given.length : a));
  const at = axes.sort().join(',');
  const c = s.shapeOf(id)[0]!;
  if (at === '2,3') return s.setIr(n, s.b.unflatten(id));
  if (at === '2' || at === '1') return s.set(n, { k: 'seq', id: s.viewAs(id, at === '2' ? [c, 1, 1] : [1, c, 1]) });
  fail(
    `Unsqueeze ${n.name} of flat features on axes ${at}: only a view as (N, C, 1, 1), (N, C, 1) or (N, 1, C) imports`,
  );
}

/** A 3-D tensor (N, A, B) unsqueezed into a map: (N, A, B, 1), (N, A, 1, B) or (N, 1, A, B), views of its values. */
function unsqueezeSeq(n: INodeProto, s: ImportState, id: number): void {
  const [a, b] = s.shapeOf(id) as Shape3;
  const axes = (s.cstValues(n, 1) ?? getInts(n, 'axes') ?? []).map((x) => (x < 0 ? x + 4 : x));
  const to: Record<string, Shape3> = { '3': [a, b, 1], '2': [a, 1, b], '1': [1, a, b] };
  const shape = axes.length === 1 ? to[String(axes[0])] : undefined;
  if (!shape) fail(`Unsqueeze ${n.name} of a 3-D tensor on axes ${axes.join(',')}`);
  s.setIr(n, s.viewAs(id, shape));
}

/**
 * Expand of a map to a shape (`expand_as`, ONNX's two-way broadcast: a target axis of 1 keeps the map's): a C×1×1
 * gate over its map's channels read by products only is the gate itself (the products broadcast it), others an
 * `expand` node (BAM's gates). Refused: a flat tensor, or a target the map does not broadcast to.
 */
function importExpand(n: INodeProto, s: ImportState): void {
  const x = s.irOrPooled(n, 0);
  const sh = s.shapeOf(x);
  const to = intVector(s.get(n, 1), `Expand ${n.name} shape`);
  const out = to.slice(1).map((d, i) => (d === 1 ? sh[i] : d));
  const fits = sh.length === 3 && to.length === 4 && out.every((d, i) => d === sh[i] || sh[i] === 1);
  if (!fits || (!keepsBatch(n, s, to[0]) && to[0] !== 1))
    fail(`Expand ${n.name} of ${sh.join('x')} to [${to.join(', ')}]: only a map broadcast along its axes of size 1`);
  // a squeeze-and-excitation gate (`y.view(b, c, 1, 1).expand_as(x)`) read only by products with a map of the
  // Expand's shape: the gate, which they broadcast (a product with a smaller operand needs the expanded map)
  const [c, h, w] = sh;
  const y = n.output?.[0] ?? '';
  const product = (i: number) => {
    if (s.nodes[i]!.opType !== 'Mul') return false;
    const other = (s.nodes[i]!.input ?? []).filter((t) => t !== y);
    const v = other.length === 1 ? s.env.get(other[0]!) : undefined;
    return v?.k === 'ir' && s.shapeOf(v.id).join() === out.join();
  };
  const byMul = s.readersOf(y).every(product);
  if (h === 1 && w === 1 && out[0] === c && byMul) return s.setIr(n, x);
  s.setIr(n, s.b.expand(x, out as unknown as Shape3));
}

/** Concat of feature maps on channels, or of shape values (for Reshape). */
function importConcat(n: INodeProto, s: ImportState): void {
  const vals = (n.input ?? []).map((_, i) => s.get(n, i));
  const axis = getInt(n, 'axis', 0);
  // a constant zero map (not a module's parameter or buffer that happens to hold zeros)
  const zeros = vals.map((v, i) => v.k === 'const' && isZeroMap(v.t) && !s.isBuffer(n.input![i]!));
  if (zeros.some(Boolean) && vals.every((v, i) => zeros[i] || (v.k !== 'const' && v.k !== 'shape')))
    return concatWithZeros(n, s, zeros);
  // a global average pool's output is the (N, C, 1, 1) map here (fastai's AdaptiveConcatPool2d: its max and average
  // pools side by side); strided windows side by side (YOLOv5's Focus: x[..., ::2, ::2], x[..., 1::2, ::2], …) are
  // subsamples
  if (vals.every((v) => v.k === 'ir' || v.k === 'gap' || v.k === 'strided' || v.k === 'planes')) {
    const ids = vals.map((_, i) => s.irOrPooled(n, i));
    if (ids.some((id) => s.shapeOf(id).length !== 3)) fail('Concat of flat tensors');
    if (axis !== 1 && axis !== -3) fail(`Concat on axis ${axis}`);
    return s.setIr(n, s.b.concat(ids));
  }
  if (axis !== 0) fail('Concat of shape values on axis ≠ 0');
  s.set(n, { k: 'shape', v: vals.flatMap((v) => intVector(v, 'Concat input')) });
}

/**
 * Resize in mode 'nearest' that repeats each value of a map over an s × s block (nn.Upsample(scale_factor=s),
 * `F.interpolate(x, scale_factor=s)` or to a size s times the map's; an FPN's or a U-Net's top-down path): the IR's
 * `upsample`. Its scales are the third input (opset 11 and later; the second at opset 10), or its sizes the fourth.
 * Refused, saying why: other modes (bilinear, bicubic), non-integer or unequal factors, a resize of the batch or the
 * channels, and coordinate / rounding rules under which some output reads another value ({@link nearestRepeat}).
 */
function importResize(n: INodeProto, s: ImportState): void {
  const x = s.irOrPooled(n, 0);
  const shape = s.shapeOf(x);
  if (shape.length !== 3) fail(`Resize ${n.name} of flat features`);
  const mode = getString(n, 'mode') ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'linear')
    fail(
      `Resize ${n.name} in mode ${clip(mode, 20)}: nearest-neighbour upsampling by an integer factor and bilinear resizes import`,
    );
  const ins = n.input ?? [];
  const [scalesAt, sizesAt] = ins.length === 2 ? [1, -1] : [2, 3];
  const [, H, W] = shape as Shape3;
  let out: (number | 'N')[];
  if (sizesAt > 0 && ins[sizesAt]) out = intVector(s.get(n, sizesAt), `Resize ${n.name} sizes`);
  else if (ins[scalesAt]) {
    const k = Array.from(tensorValues(s.cst(n, scalesAt)));
    out = k.length === 4 ? ['N', k[1]! * shape[0]!, k[2]! * H, k[3]! * W] : [];
    if (k[0] !== 1) out = [];
  } else fail(`Resize ${n.name} has neither scales nor sizes`);
  if (out.length !== 4 || out[1] !== shape[0]) fail(`Resize ${n.name}: only the height and width of a map may change`);
  if (mode === 'linear') return importBilinear(n, s, x, [H, W], [Number(out[2]), Number(out[3])]);
  const [coords, nearest] = [
    getString(n, 'coordinate_transformation_mode') ?? 'half_pixel',
    getString(n, 'nearest_mode') ?? 'round_prefer_floor',
  ];
  const fh = nearestRepeat(H, Number(out[2]), coords, nearest);
  const fw = nearestRepeat(W, Number(out[3]), coords, nearest);
  if (typeof fh === 'string' || typeof fw === 'string' || fh !== fw)
    fail(
      `Resize ${n.name}: ${typeof fh === 'string' ? fh : typeof fw === 'string' ? fw : `factors ${fh} and ${fw} differ`}`,
    );
  s.setIr(n, s.b.upsample(x, fh));
}

/**
 * A linear Resize of a map from `hw` to `to`: PyTorch's bilinear resize (F.interpolate / nn.Upsample, mode 'bilinear'),
 * as torch.onnx writes it ('pytorch_half_pixel', or 'align_corners' for align_corners=True; 'half_pixel' too). The
 * output size must be whole (so `scales` mean the same ratio as the sizes); a 'pytorch_half_pixel' resize to one row or
 * column (which ONNX reads at 0, PyTorch at the half-pixel centre), antialiasing and exclude_outside are refused,
 * saying why.
 */
function importBilinear(n: INodeProto, s: ImportState, x: number, hw: readonly number[], to: readonly number[]): void {
  const coords = getString(n, 'coordinate_transformation_mode') ?? 'half_pixel';
  if (!['half_pixel', 'pytorch_half_pixel', 'align_corners'].includes(coords))
    fail(
      `Resize ${n.name}: linear with coordinate_transformation_mode ${clip(coords, 30)}; PyTorch's bilinear modes import`,
    );
  if (!to.every((v) => Number.isInteger(v) && v >= 1))
    fail(`Resize ${n.name}: a linear resize to ${to.join('x')} (not whole sizes)`);
  const align = coords === 'align_corners';
  if (coords === 'pytorch_half_pixel' && to.some((v, i) => v === 1 && hw[i] !== 1))
    fail(`Resize ${n.name}: a pytorch_half_pixel resize to one row or column, where ONNX and PyTorch disagree`);
  if (getInt(n, 'antialias', 0) !== 0 || getInt(n, 'exclude_outside', 0) !== 0)
    fail(`Resize ${n.name}: a linear resize with antialias or exclude_outside`);
  s.setIr(n, s.b.bilinear(x, to[0]!, to[1]!, align));
}

/** Whether constant `t` is a 4-D tensor of zeros (`torch.zeros(N, C, H, W)`, which the trace writes as a constant). */
function isZeroMap(t: ITensorProto): boolean {
  return tensorDims(t).length === 4 && tensorValues(t).every((v) => v === 0);
}

/**
 * A channel concat where some inputs are constant zero maps (PyramidNet's shortcut `torch.cat([x, torch.zeros(N, Δc,
 * H, W)], 1)`): each becomes a zero node of its channels at the map's size (its batch size, the trace's, is not read).
 */
function concatWithZeros(n: INodeProto, s: ImportState, zeros: readonly boolean[]): void {
  const axis = getInt(n, 'axis', 0);
  if (axis !== 1 && axis !== -3) fail(`Concat ${n.name} of zeros on axis ${axis}`);
  const maps = zeros.map((z, i) => (z ? -1 : s.ir3(n, i)));
  const [, H, W] = s.shapeOf(maps.find((id) => id >= 0) ?? fail(`Concat ${n.name} of zeros only`)) as Shape3;
  const ids = zeros.map((z, i) => {
    if (!z) return maps[i]!;
    const d = tensorDims(s.cst(n, i));
    if (d[2] !== H || d[3] !== W) fail(`Concat ${n.name}: a zero map of ${d.slice(2).join('x')} beside ${H}x${W} maps`);
    return s.b.zero([d[1]!, H, W]);
  });
  s.setIr(n, s.b.concat(ids));
}

/**
 * Split along the channels of a map (`torch.split(x, sizes, 1)`, Res2Net's branches; `torch.chunk` writes Slices):
 * one channel slice per output, of the sizes in its second input, else equal parts (opset 18's `num_outputs`: the
 * last part the remainder; before opset 18 the parts must be equal).
 */
function importSplit(n: INodeProto, s: ImportState): void {
  const x = s.irOrPooled(n, 0);
  if (s.shapeOf(x).length !== 3)
    fail(`Split ${n.name} of flat features: only a split of a map's channels has an IR op`);
  const C = s.shapeOf(x)[0]!;
  const axis = getInt(n, 'axis', 0);
  if (axis !== 1 && axis !== -3) fail(`Split ${n.name} on axis ${axis}: only a split of a map's channels has an IR op`);
  const outs = n.output ?? [];
  const given = n.input?.[1] ? knownInts(s.get(n, 1)) : undefined;
  if (n.input?.[1] && !given) fail(`Split ${n.name}: its sizes are not known integers`);
  const part = Math.ceil(C / outs.length);
  if (!given && getInt(n, 'num_outputs', 0) === 0 && C % outs.length !== 0)
    fail(`Split ${n.name}: ${C} channels do not split into ${outs.length} equal parts`);
  const sizes = given ?? outs.map((_, k) => Math.min(part, C - k * part));
  if (sizes.length !== outs.length || sizes.some((c) => !(c > 0)) || sizes.reduce((a, b) => a + b, 0) !== C)
    fail(`Split ${n.name}: sizes [${clip(sizes.join(', '), 40)}] do not split ${C} channels into ${outs.length} parts`);
  let c0 = 0;
  sizes.forEach((c, k) => {
    s.set(n, { k: 'ir', id: s.b.slice(x, { c0, c }) }, k);
    c0 += c;
  });
}

/** View ops of a constant that keep all its values in their order (a reshaping): the others pick a part. */
const RESHAPING: ReadonlySet<string> = new Set(['Reshape', 'Unsqueeze', 'Squeeze']);

/**
 * A view of a constant (Slice, Gather, Reshape, Unsqueeze, Squeeze) whose other inputs come from the input's shape
 * (`self.off[:, :x.shape[1]]`, `self.g[:c].view(1, -1, 1, 1)` exported with a dynamic batch: Shape → Gather →
 * Unsqueeze chains the loader cannot fold): folded here once they are known numbers. A view of an initializer stays
 * one, as the loader's folds are (a reshaping keeps its values in order; a Slice or a Gather picks a part).
 */
function foldOnShapes(n: INodeProto, s: ImportState): void {
  const consts = new Map<string, ITensorProto>();
  (n.input ?? []).forEach((name, i) => {
    if (!name) return;
    const v = s.get(n, i);
    if (v.k === 'const') consts.set(name, v.t);
    else {
      const ints = knownInts(v) ?? fail(`${n.opType} ${n.name}: input ${i} is not a known integer vector`);
      consts.set(name, { name, dims: [ints.length], dataType: DT_INT64, int64Data: ints });
    }
  });
  const t = foldConstant(n, consts) ?? fail(`${n.opType} ${n.name} of a constant cannot be read`);
  s.set(n, { k: 'const', t });
  s.addView(n.output![0]!, n.input![0]!, RESHAPING.has(n.opType ?? ''));
}

/** Whether input 0 of `n` is a float constant (a buffer or parameter, not shape arithmetic's integers). */
function floatConstant(n: INodeProto, s: ImportState): boolean {
  const v = s.get(n, 0);
  return v.k === 'const' && (v.t.dataType === DT_FLOAT || v.t.dataType === DT_DOUBLE);
}

function importSlice(n: INodeProto, s: ImportState): void {
  // torch.onnx writes x[:, :, ::2, ::2] as a Slice per axis: the second slices the first's strided window
  const v = s.get(n, 0);
  if (v.k === 'shape') return s.set(n, { k: 'shape', v: sliceShapeValue(n, s, v.v) });
  if (v.k === 'const') return foldOnShapes(n, s);
  const x = v.k === 'strided' ? v.src : s.ir3(n, 0);
  const dims = [0, ...(v.k === 'strided' ? v.shape : s.shapeOf(x))]; // the batch axis may not be sliced
  // bounds may be computed from the channel count (`x.chunk`): constants or shape values
  const bound = (i: number) =>
    knownInts(s.get(n, i)) ?? fail(`Slice ${n.name}: input ${i} is not a known integer vector`);
  const starts = bound(1);
  const ends = bound(2);
  const axes = s.cstValues(n, 3) ?? starts.map((_, i) => i);
  const steps = s.cstValues(n, 4) ?? starts.map(() => 1);
  if (starts.length !== ends.length || axes.length !== starts.length || steps.length !== starts.length)
    fail('Slice with inconsistent starts/ends/axes/steps');
  const lo = [0, 0, 0, 0];
  const hi = [...dims];
  const step = [1, 1, 1, 1];
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + 4 : a0;
    if (a < 1 || a > 3) fail(`Slice on axis ${a0} (only channel and spatial axes can be sliced)`);
    if (!(Number.isInteger(steps[i]) && steps[i]! >= 1) || (steps[i] !== 1 && a === 1))
      fail(`Slice with step ${steps[i]} on axis ${a0}`);
    step[a] = steps[i]!;
    const d = dims[a]!;
    const clamp = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
    lo[a] = clamp(starts[i]!);
    hi[a] = clamp(ends[i]!);
  });
  if (hi.slice(1).some((h, k) => h <= lo[k + 1]!)) fail('Slice gives an empty tensor');
  // x[:, :, ::2, ::2] (DARTS's none on a reduction edge, before .mul(0.)): no IR op takes every other position, but
  // multiplied by 0 only its shape matters
  if (v.k === 'strided' || step[2] !== 1 || step[3] !== 1) {
    const size = (a: number) => Math.ceil((hi[a]! - lo[a]!) / step[a]!);
    // a window of a strided window is a strided window of its source
    const [o, st] = v.k === 'strided' ? [v.lo, v.step] : [[0, 0, 0] as const, [1, 1] as const];
    return s.set(n, {
      k: 'strided',
      shape: [hi[1]! - lo[1]!, size(2), size(3)],
      src: x,
      lo: [o[0] + lo[1]!, o[1] + lo[2]! * st[0], o[2] + lo[3]! * st[1]],
      step: [st[0] * step[2]!, st[1] * step[3]!],
    });
  }
  const [c0, h0, w0] = [lo[1]!, lo[2]!, lo[3]!];
  s.setIr(n, s.b.slice(x, { c0, c: hi[1]! - c0, h0, h: hi[2]! - h0, w0, w: hi[3]! - w0 }));
}

/**
 * A strided window read by a layer (`x[:, :, ::2, ::2]`, the option-A shortcut of the CIFAR ResNets: every other row
 * and column): the window's rows and columns (a slice, where it is not the whole map) subsampled by an average pool
 * of one tap and stride s, which takes one value per window exactly. Refused where the steps differ along H and W.
 */
function subsample(s: ImportState, n: INodeProto, v: Extract<Val, { k: 'strided' }>): number {
  const [sh, sw] = v.step;
  if (sh !== sw) fail(`${n.opType} ${n.name} reads a strided Slice of steps ${sh} and ${sw}: only equal steps import`);
  const [C, H, W] = v.shape;
  const window = { c0: v.lo[0], c: C, h0: v.lo[1], h: (H - 1) * sh + 1, w0: v.lo[2], w: (W - 1) * sw + 1 };
  const [C0, H0, W0] = s.shapeOf(v.src) as Shape3;
  // from the map's origin to its end: the pool of the whole map gives the same ⌈H0 / s⌉ × ⌈W0 / s⌉ values
  const fromOrigin = window.c0 === 0 && window.h0 === 0 && window.w0 === 0 && C === C0;
  const whole = fromOrigin && Math.ceil(H0 / sh) === H && Math.ceil(W0 / sw) === W;
  const x = whole ? v.src : s.b.slice(v.src, window);
  return s.b.avgpool(x, 1, sh, 0, false);
}

/**
 * A Slice of a shape value (`x.shape[-2:]`, the sizes `F.interpolate(y, size=x.shape[-2:])` resizes to): the
 * entries from start to end (axis 0, step 1; negative bounds count from the end, as Python's).
 */
function sliceShapeValue(n: INodeProto, s: ImportState, v: readonly (number | 'N')[]): (number | 'N')[] {
  const [starts, ends] = [knownInts(s.get(n, 1)), knownInts(s.get(n, 2))];
  const axes = s.cstValues(n, 3) ?? [0];
  const steps = s.cstValues(n, 4) ?? [1];
  if (starts?.length !== 1 || ends?.length !== 1 || axes.join() !== '0' || steps.join() !== '1')
    fail(`Slice ${n.name} of a shape: only one range of its entries, step 1`);
  const at = (i: number) => Math.min(v.length, Math.max(0, i < 0 ? i + v.length : i));
  return v.slice(at(starts[0]!), at(ends[0]!));
}

function importReduceMean(n: INodeProto, s: ImportState): void {
  const v = s.get(n, 0);
  if (v.k === 'axismean') return secondMean(n, s, v);
  if (v.k === 'nhwc') {
    // the global average of a channels-last map (its H, W axes)
    const axes = (s.cstValues(n, 1) ?? getInts(n, 'axes') ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
    if (axes.join(',') !== '1,2') fail(`ReduceMean over axes ${axes.join(',')} of a channels-last map`);
    if (getInt(n, 'keepdims', 1) === 0) return s.setIr(n, s.gap(v.id));
    return s.set(n, { k: 'nhwc', id: s.pooledMap(v.id) });
  }
  if (s.shapeOf(s.ir(n, 0)).length !== 3) fail(`ReduceMean ${n.name} of a flat tensor${layerNormHint(n, s)}`);
  const x = s.ir3(n, 0);
  const axes = (s.cstValues(n, 1) ?? getInts(n, 'axes') ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
  if (axes.join(',') === '1') return importChanPool(n, s, x, false);
  if (axes.length === 1 && (axes[0] === 2 || axes[0] === 3))
    return s.set(n, { k: 'axismean', src: x, axis: axes[0], keep: getInt(n, 'keepdims', 1) === 1 });
  if (axes.join(',') !== '2,3') fail(`ReduceMean over axes ${axes.join(',')}`);
  if (getInt(n, 'keepdims', 1) === 0) return s.setIr(n, s.gap(x));
  s.set(n, { k: 'gap', src: x });
}

/**
 * The mean over the other spatial axis of a map's mean over one (`x.mean(3).mean(2)`, `x.mean(-1).mean(-1)`:
 * SKNet's and MetaACON's global pool): the global average, as the plain mean's (mean of equal rows' means); kept
 * twice it is the C×1×1 map, kept once the 3-D (N, C, 1), never kept the flat features.
 */
function secondMean(n: INodeProto, s: ImportState, v: Extract<Val, { k: 'axismean' }>): void {
  const rank = v.keep ? 4 : 3;
  const axes = (s.cstValues(n, 1) ?? getInts(n, 'axes') ?? []).map((a) => (a < 0 ? a + rank : a));
  const other = v.keep ? 5 - v.axis : 2;
  if (axes.length !== 1 || axes[0] !== other)
    fail(
      `ReduceMean ${n.name} over axes ${axes.join(',')} of a map's mean over axis ${v.axis}: only the other spatial axis`,
    );
  const keep = getInt(n, 'keepdims', 1) === 1;
  if (v.keep && keep) return s.set(n, { k: 'gap', src: v.src });
  if (!v.keep && !keep) return s.setIr(n, s.gap(v.src));
  s.set(n, { k: 'seq', id: s.pooledMap(v.src) });
}

/**
 * The mean or maximum over a map's channels, kept as a 1×H×W map (`x.mean(1, keepdim=True)`, `x.max(1,
 * keepdim=True)[0]`: CBAM's spatial attention; torch.max's indices, an ArgMax nothing reads, are left out).
 */
function importChanPool(n: INodeProto, s: ImportState, x: number, max: boolean): void {
  // without keepdim (CBAM's reference ChannelPool: `torch.max(x, 1)[0].unsqueeze(1)`) it awaits its Unsqueeze(1)
  if (getInt(n, 'keepdims', 1) === 0) return s.set(n, { k: 'planes', id: s.b.chanpool(x, max) });
  s.setIr(n, s.b.chanpool(x, max));
}

/** ReduceMax over a map's channels (torch.max(x, dim=1, keepdim=True)); other axes have no IR op. */
function importReduceMax(n: INodeProto, s: ImportState): void {
  const x = s.ir3(n, 0);
  const axes = (s.cstValues(n, 1) ?? getInts(n, 'axes') ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
  if (axes.join(',') !== '1') fail(`ReduceMax ${n.name} over axes ${axes.join(',')}: only the channels import`);
  importChanPool(n, s, x, true);
}

/** What a refused ReduceMean starts, where a Sub reads it with its own input (x − mean): torch.onnx's nn.LayerNorm (opset < 17). */
function layerNormHint(n: INodeProto, s: ImportState): string {
  const x = n.input?.[0];
  const sub = s
    .readersOf(n.output?.[0] ?? '')
    .some((i) => s.nodes[i]!.opType === 'Sub' && s.nodes[i]!.input?.[0] === x);
  return sub
    ? " (the start of an nn.LayerNorm that does not import: the mean and variance over all of a sample's values, then Mul(γ) → Add(β))"
    : '';
}

/** Whether `d`, a Reshape target's first entry, keeps the batch: N, 0 (copy), or the file's fixed batch size. */
function keepsBatch(n: INodeProto, s: ImportState, d: number | 'N' | undefined): boolean {
  // a model exported without a dynamic batch axis writes `view(x.size(0), ...)` with its fixed batch size
  const fixedBatch = s.m.input.dims[0];
  return (
    d === 'N' ||
    (d === 0 && getInt(n, 'allowzero', 0) === 0) ||
    (typeof fixedBatch === 'number' && fixedBatch > 0 && d === fixedBatch)
  );
}

/**
 * ShuffleNet's channel shuffle, `x.view(N, g, C/g, H, W).transpose(1, 2).reshape(N, C, H, W)`: the first Reshape
 * (of a map, to 5-D) and the last (of the transposed view, back to the map's shape). Anything else is not one.
 */
function importShuffleReshape(n: INodeProto, s: ImportState, v: Val, shp: readonly (number | 'N')[]): boolean {
  if (v.k === 'ir' && shp.length === 5 && s.shapeOf(v.id).length === 3) {
    const [C, H, W] = s.shapeOf(v.id) as Shape3;
    const [g, per] =
      shp[1] === -1 ? [C / (shp[2] as number), shp[2]] : [shp[1], shp[2] === -1 ? C / (shp[1] as number) : shp[2]];
    if (
      !keepsBatch(n, s, shp[0]) ||
      !Number.isInteger(g) ||
      (g as number) * (per as number) !== C ||
      shp[3] !== H ||
      shp[4] !== W
    )
      fail(`Reshape to [${shp.join(', ')}]: only a channel shuffle's view (N, groups, C/groups, H, W)`);
    s.set(n, { k: 'split', src: v.id, groups: g as number, transposed: false });
    return true;
  }
  if (v.k !== 'split') return false;
  const [C, H, W] = s.shapeOf(v.src) as Shape3;
  if (
    !v.transposed ||
    shp.length !== 4 ||
    !keepsBatch(n, s, shp[0]) ||
    (shp[1] !== C && shp[1] !== -1) ||
    shp[2] !== H ||
    shp[3] !== W
  )
    fail(`Reshape to [${shp.join(', ')}] of a (N, groups, C/groups, H, W) view: only a channel shuffle's, transposed`);
  s.setIr(n, s.b.shuffle(v.src, v.groups));
  return true;
}

/**
 * Transpose of a channel shuffle's 5-D view, its axes 1 and 2. A constant's transpose (a bias-free Linear's weight)
 * was folded on load; any other has no IR op.
 */
function importTranspose(n: INodeProto, s: ImportState): void {
  const v = s.get(n, 0);
  const perm = getInts(n, 'perm') ?? [];
  // ConvNeXt's permutes: a map to channels-last and back
  if (perm.join(',') === '0,2,3,1' && v.k === 'ir' && s.shapeOf(v.id).length === 3)
    return s.set(n, { k: 'nhwc', id: v.id });
  // a pooled (N, C, 1, 1) map (timm's head: a LayerNorm2d before the flatten)
  if (perm.join(',') === '0,2,3,1' && v.k === 'gap') return s.set(n, { k: 'nhwc', id: s.pooledMap(v.src) });
  if (perm.join(',') === '0,3,1,2' && v.k === 'nhwc') return s.setIr(n, v.id);
  // a unit axis moved: the same values (ECA's `transpose(-1, -2)` of a (N, C, 1) tensor)
  const unit = (d: readonly number[]) => d.includes(1);
  if (v.k === 'seq') {
    const [a, b] = s.shapeOf(v.id) as Shape3;
    if (perm.join(',') !== '0,2,1' || !unit([a, b]))
      fail(
        `Transpose ${perm.join(',')} of a 3-D tensor (N, ${a}, ${b}): only (0, 2, 1) moving an axis of size 1 (a view)`,
      );
    return s.set(n, { k: 'seq', id: s.viewAs(v.id, [b, a, 1]) });
  }
  if (v.k !== 'split' || v.transposed || perm.join(',') !== '0,2,1,3,4')
    fail(
      `Transpose ${perm.join(',')}: only ShuffleNet's channel shuffle (a view's axes 1 and 2) and a map's permute to channels-last and back (0,2,3,1 / 0,3,1,2) have an IR op`,
    );
  s.set(n, { ...v, transposed: true });
}

function importReshape(n: INodeProto, s: ImportState): void {
  if (floatConstant(n, s)) return foldOnShapes(n, s);
  const v = s.get(n, 0);
  const shp = intVector(s.get(n, 1), 'Reshape shape');
  const ofInput = n.input?.[0] === s.m.input.name;
  // the flat input viewed as the map the IR takes it as (the loader checked the target: `LoadedModel.input.view`);
  // a 3-D view [N, H, W] awaits its Unsqueeze on axis 1
  if (s.m.input.view && ofInput) {
    if (shp.length === 3) s.viewed.add(n.output?.[0] ?? '');
    return s.set(n, v);
  }
  const chw = shp.slice(1).reduce<number>((a, d) => (typeof d === 'number' && d > 0 ? a * d : Number.NaN), 1);
  if (s.m.input.flat && ofInput && shp.length === 4 && v.k === 'ir' && chw === s.shapeOf(v.id)[0])
    fail(
      `Reshape ${n.name} views the flat (N, F) input as images while another node reads it as it is (or as another view): the IR takes a flat input either as features or as one image shape (ONNX Runtime scores SWAP on the file)`,
    );
  if (importShuffleReshape(n, s, v, shp)) return;
  if (importViewReshape(n, s, v, shp)) return;
  const per =
    v.k === 'gap' ? (s.shapeOf(v.src)[0] as number) : v.k === 'ir' ? s.shapeOf(v.id).reduce((a, d) => a * d, 1) : -2;
  // (N, -1), (0, -1) and `view(-1, C)`: (-1, C) with C the per-sample size
  const okBatch = keepsBatch(n, s, shp[0]) || (shp[0] === -1 && shp[1] === per);
  if (shp.length !== 2 || !okBatch || (shp[1] !== -1 && shp[1] !== per))
    fail(`Reshape to [${shp.join(', ')}]${groupNormHint(n, s)}`);
  s.setIr(n, s.flattenOf(n, v));
}

/**
 * A view as a map, or of flat features, a pooled C×1×1 map or a 3-D tensor as a 3-D tensor (a squeeze-and-excitation
 * gate from nn.Linear layers: `y.view(b, c, 1, 1)`; timm's ECA: `y.view(b, 1, -1)`, then `y.view(b, -1, 1, 1)`). A
 * map viewed as its own shape (`x.view(x.size(0), 3, 32, 32)` of a model that also takes flat inputs, traced on
 * images) is the map itself, no node.
 */
function importViewReshape(n: INodeProto, s: ImportState, v: Val, shp: readonly (number | 'N')[]): boolean {
  if (v.k !== 'gap' && v.k !== 'ir' && v.k !== 'seq') return false;
  const sh = v.k === 'gap' ? [s.shapeOf(v.src)[0]!, 1, 1] : s.shapeOf(v.id);
  const dims = v.k === 'seq' ? sh.slice(0, 2) : sh;
  // to a map from anything; to a 3-D tensor with a unit axis (N, 1, L) / (N, C, 1) from flat features, a C×1×1 map
  // or a 3-D tensor (not a GroupNorm's (N, G, -1) view, which norm-chains.ts reads)
  const small = v.k === 'seq' || sh.length === 1 || (sh[1] === 1 && sh[2] === 1);
  if (!(shp.length === 4 || (shp.length === 3 && small && (shp[1] === 1 || shp[2] === 1)))) return false;
  // 0 copies the input's dimension (allowzero 0); one −1 takes what is left
  const rest = shp.slice(1).map((d, i) => (d === 0 && getInt(n, 'allowzero', 0) === 0 ? (dims[i] ?? 0) : d));
  if (!keepsBatch(n, s, shp[0]) && !(shp[0] === -1 && !rest.includes(-1)))
    fail(`Reshape ${n.name} to [${shp.join(', ')}]: another batch size`);
  const per = numelOf(sh);
  const known = rest.reduce<number>((a, d) => (d === -1 ? a : a * (typeof d === 'number' ? d : Number.NaN)), 1);
  const to = rest.map((d) => (d === -1 ? per / known : d));
  if (
    rest.filter((d) => d === -1).length > 1 ||
    to.some((d) => !Number.isInteger(d) || (d as number) < 1) ||
    numelOf(to as number[]) !== per
  )
    fail(`Reshape to [${shp.join(', ')}] (${n.name}) of ${per} values per sample: another size`);
  const x = v.k === 'gap' ? s.pooledMap(v.src) : v.id;
  const [a, b, c] = to as number[];
  if (c === undefined) s.set(n, { k: 'seq', id: s.viewAs(x, [a!, b!, 1]) });
  else s.setIr(n, s.viewAs(x, [a!, b!, c]));
  return true;
}

/** What a refused Reshape starts, where an InstanceNormalization reads it: torch.onnx's nn.GroupNorm (opset < 18). */
function groupNormHint(n: INodeProto, s: ImportState): string {
  const reads = s.readersOf(n.output?.[0] ?? '').map((i) => s.nodes[i]!.opType);
  return reads.includes('InstanceNormalization')
    ? ' (the start of an nn.GroupNorm that does not import: torch.onnx writes Reshape → InstanceNormalization(1, 0) → Reshape(Shape(x)) → Mul(γ) → Add(β))'
    : '';
}

/** Squeeze of a globally pooled (N, C, 1, 1) map on its two unit axes (or all of them): the flat features. */
function importSqueeze(n: INodeProto, s: ImportState): void {
  if (floatConstant(n, s)) return foldOnShapes(n, s);
  const v = s.get(n, 0);
  if (v.k === 'seq') return squeezeSeq(n, s, v.id);
  const axes = (s.cstValues(n, 1) ?? getInts(n, 'axes') ?? [2, 3]).map((a) => (a < 0 ? a + 4 : a)).sort();
  // one unit axis of a map (ECA's `y.squeeze(-1)` of its pooled map): a 3-D tensor
  if (axes.length === 1 && (v.k === 'gap' || (v.k === 'ir' && s.shapeOf(v.id).length === 3))) {
    const x = v.k === 'gap' ? s.pooledMap(v.src) : v.id;
    const [c, h, w] = s.shapeOf(x) as Shape3;
    if ((axes[0] === 3 && w === 1) || (axes[0] === 2 && h === 1))
      return s.set(n, { k: 'seq', id: s.viewAs(x, [c, h * w, 1]) });
  }
  if (v.k !== 'gap' || axes.join(',') !== '2,3') fail(`Squeeze ${n.name}: only the unit axes of a global average pool`);
  s.setIr(n, s.flattenOf(n, v));
}

/** Squeeze of a unit axis of a 3-D tensor (N, A, B) (ECA's `y.squeeze(-1).squeeze(-1)`, `conv(y).squeeze(1)`): flat. */
function squeezeSeq(n: INodeProto, s: ImportState, id: number): void {
  const [a, b] = s.shapeOf(id) as Shape3;
  const given = s.cstValues(n, 1) ?? getInts(n, 'axes') ?? (a === 1 ? [1] : [2]);
  const axes = given.map((x) => (x < 0 ? x + 3 : x));
  if (axes.length !== 1 || !((axes[0] === 1 && a === 1) || (axes[0] === 2 && b === 1)))
    fail(`Squeeze ${n.name} of a 3-D tensor (N, ${a}, ${b}) on axes ${axes.join(',')}: only one unit axis`);
  s.setIr(n, s.flattenOf(n, { k: 'ir', id }));
}

function importGemm(n: INodeProto, s: ImportState, idx: number): void {
  const x = s.ir(n, 0);
  if (s.shapeOf(x).length !== 1) fail('Gemm on a non-flat tensor');
  if (getInt(n, 'transA', 0) !== 0 || getFloat(n, 'alpha', 1) !== 1 || getFloat(n, 'beta', 1) !== 1)
    fail('Gemm with transA/alpha/beta');
  const wd = tensorDims(s.cst(n, 1));
  if (wd.length !== 2) fail('Gemm weight is not 2-D');
  const transB = getInt(n, 'transB', 0) === 1;
  const [fout, fin] = transB ? [wd[0]!, wd[1]!] : [wd[1]!, wd[0]!];
  if (fin !== s.shapeOf(x)[0]) fail('Gemm weight does not fit its input');
  const hasBias = Boolean(n.input?.[2]);
  if (hasBias) s.cst(n, 2);
  const id = s.b.linear(x, fout, hasBias);
  s.weightIds.set(idx, id);
  s.setIr(n, id);
}

/** MatMul; a bias Add that only consumes this product becomes the linear layer's bias. */
function importMatMul(n: INodeProto, s: ImportState, idx: number): void {
  const v = s.get(n, 0);
  const x = v.k === 'nhwc' ? v.id : s.ir(n, 0);
  if (v.k !== 'nhwc' && s.shapeOf(x).length !== 1) fail('MatMul on a non-flat tensor');
  const wd = tensorDims(s.cst(n, 1));
  if (wd.length !== 2 || wd[0] !== s.shapeOf(x)[0]) fail('MatMul weight does not fit its input');
  const y = n.output?.[0] ?? '';
  const outs = s.readersOf(y);
  let biasAdd: number | undefined;
  if (outs.length === 1 && !s.graphOutputs.has(y)) {
    const a = s.nodes[outs[0]!]!;
    const other = a.opType === 'Add' ? (a.input ?? []).find((i) => i !== y) : undefined;
    const t = other ? s.env.get(other) : undefined;
    if (t?.k === 'const' && numelOf(tensorDims(t.t)) === wd[1]) biasAdd = outs[0];
  }
  // an nn.Linear over a channels-last map's C is a 1×1 convolution of the map (the same weights, in the same order)
  const id =
    v.k === 'nhwc'
      ? s.b.conv(x, wd[1]!, 1, { bias: biasAdd !== undefined })
      : s.b.linear(x, wd[1]!, biasAdd !== undefined);
  const out: Val = v.k === 'nhwc' ? { k: 'nhwc', id } : { k: 'ir', id };
  if (v.k === 'nhwc') s.channelsLastLinears.push(id);
  s.weightIds.set(idx, id);
  s.set(n, out);
  if (biasAdd !== undefined) {
    s.absorbed.add(biasAdd);
    s.set(s.nodes[biasAdd]!, out);
  }
}

/**
 * ONNX ops that act on each value (with a scalar or one value per channel): on a channels-last map or a 3-D tensor
 * they are the same op on the IR node that holds its values ({@link importInView}).
 */
const ELEMENTWISE: ReadonlySet<string> = new Set([
  'Identity',
  'Dropout',
  'Relu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Clip',
  'LeakyRelu',
  'PRelu',
  'Tanh',
  'Elu',
  'Celu',
  'Selu',
  'Softplus',
  'Gelu',
  'Mish',
  'Neg',
  'Add',
  'Sum',
  'Sub',
  'Mul',
  'Div',
]);

/** The kind of view (a channels-last map, a 3-D tensor) an element-wise node `n` reads, if any. */
function viewRead(n: INodeProto, s: ImportState): 'nhwc' | 'seq' | undefined {
  const kinds = (n.input ?? []).map((x) => s.env.get(x)?.k);
  return kinds.includes('nhwc') ? 'nhwc' : kinds.includes('seq') ? 'seq' : undefined;
}

/**
 * An element-wise node (or the activation chain it starts, nn.GELU's) on channels-last maps or 3-D tensors (timm's
 * ECA gate: `self.gate(y)` on the (N, 1, C) tensor): imported by its own importer on the IR nodes that hold their
 * values; what it produces is of the same kind again. A constant is a scalar, or on a channels-last map one value per
 * channel (shaped (C), (1, C), … (1, 1, 1, C): the last axis), given the map's (C, 1, 1) shape. Mixing the kind with
 * another tensor, or a constant over other axes, is refused.
 */
function importInView(n: INodeProto, s: ImportState, idx: number, importer: Importer, kind: 'nhwc' | 'seq'): void {
  const saved = new Map<string, Val>();
  const C = (n.input ?? []).map((x) => s.env.get(x)).find((v) => v?.k === kind) as { id: number } | undefined;
  const channels = s.shapeOf(C!.id)[0]!;
  const what = kind === 'nhwc' ? 'a channels-last map' : 'a 3-D tensor (N, C, L)';
  for (const x of n.input ?? []) {
    const v = x ? s.env.get(x) : undefined;
    if (!v || saved.has(x)) continue;
    if (v.k === kind) {
      saved.set(x, v);
      s.env.set(x, { k: 'ir', id: v.id });
    } else if (v.k === 'const') {
      const dims = tensorDims(v.t);
      if (numelOf(dims) === 1) continue;
      if (kind === 'seq' || dims.length > 4 || dims.at(-1) !== channels || numelOf(dims) !== channels)
        fail(
          `${n.opType} ${n.name}: a constant shaped [${clip(dims.join(', '), 40)}] on ${what}; only a scalar${kind === 'nhwc' ? ' or one value per channel (its last axis)' : ''} has an IR op`,
        );
      saved.set(x, v);
      s.env.set(x, { k: 'const', t: { ...v.t, dims: [channels, 1, 1] } });
    } else if (v.k !== 'opaque') fail(`${n.opType} ${n.name}: mixes ${what} with another kind of tensor (${v.k})`);
  }
  s.written = [];
  let written: string[];
  try {
    importer(n, s, idx);
  } finally {
    for (const [x, v] of saved) s.env.set(x, v);
    written = s.written;
    s.written = undefined;
  }
  for (const name of written) {
    const v = s.env.get(name);
    if (v?.k === 'ir') s.env.set(name, { k: kind, id: v.id });
  }
}

/** ONNX ops that carry no IR node of their own (constants, pass-throughs, shape arithmetic, pending pads). */
/** ONNX element types that hold a shape's integers (channel counts) exactly: float, int32, int64, double, uint32, uint64. */
const NUMERIC_TYPES: ReadonlySet<number> = new Set([1, 6, 7, 11, 12, 13]);

export const STRUCTURAL_ONNX_OPS = [
  'Constant',
  'Identity',
  'Dropout',
  'Pad',
  'Shape',
  'Gather',
  'Unsqueeze',
  'Cast',
] as const;

/**
 * One importer per ONNX op type (default domain), as onnxruntime-web resolves its kernels: the IR ops' entries
 * are those `OpSpec.onnx.import` lists (test/op-spec.test.ts checks both ways), the rest are
 * {@link STRUCTURAL_ONNX_OPS}.
 */
export const ONNX_IMPORTERS: Readonly<Record<string, Importer>> = {
  Constant: () => {}, // already in env
  Identity: (n, s) => s.set(n, s.get(n, 0)),
  Dropout: (n, s) => {
    s.onlyFirstOutputUsed(n);
    // ratio and training_mode are optional inputs; one fed from outside the graph is not known here
    const known = (i: number) => !n.input?.[i] || s.get(n, i).k === 'const';
    const ratio = known(1) ? (n.input?.[1] ? (s.cstValues(n, 1)?.[0] ?? 0.5) : 0.5) : undefined;
    const training = known(2) ? (n.input?.[2] ? s.cstValues(n, 2)?.[0] === 1 : false) : undefined;
    if (training !== false && ratio !== 0)
      s.notes.push(
        `Dropout ${n.name || '(unnamed)'} (ratio ${ratio === undefined ? 'not fixed in the file' : Number(ratio.toPrecision(6))}) ${training ? 'is in training mode in the file' : 'may run in training mode'} and is imported as identity: the official code, run in train mode, drops random units there`,
      );
    s.set(n, s.get(n, 0));
  },
  // on a global average read as a layer (a squeeze-and-excitation block's), the (N, C, 1, 1) map: 4-D, so SWAP-recorded
  Relu: (n, s) =>
    s.setIr(
      n,
      s.b.relu(s.irOrPooled(n, 0), undefined, undefined, undefined, s.functional.has(n.name ?? ''), undefined, true),
    ),
  Sigmoid: (n, s) => s.setIr(n, s.b.sigmoid(s.irOrPooled(n, 0), false)),
  Softmax: importSoftmax,
  LogSoftmax: importSoftmax,
  HardSigmoid: importHardSigmoid,
  // opset ≥ 14 writes nn.Hardswish as one node: x · hardsigmoid(x)
  HardSwish: (n, s) => {
    const x = s.irOrPooled(n, 0);
    s.setIr(n, s.b.mul(x, s.b.sigmoid(x, true)));
  },
  Clip: importClip,
  LeakyRelu: importLeakyRelu,
  PRelu: importPRelu,
  Tanh: (n, s) => s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'tanh')),
  Elu: importElu,
  Celu: importCelu,
  Selu: importSelu,
  // nn.Mish as torch.onnx writes it (Softplus → Tanh → Mul with x), else nn.Softplus()
  Softplus: (n, s) => void (importChain(mishChain(s, n), s) || s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'softplus'))),
  Gelu: importGelu,
  Mish: (n, s) => s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'mish')),
  Conv: importConv,
  ConvTranspose: importConvTranspose,
  BatchNormalization: importBatchNorm,
  InstanceNormalization: importInstanceNorm,
  LayerNormalization: importLayerNormalization,
  AveragePool: importPool,
  MaxPool: importPool,
  Pad: importPad,
  Add: importSum,
  Sum: importSum,
  Mul: importMul,
  // torch.onnx casts the integer arithmetic of a shape (c // groups) to float and back: a floating value divides
  // exactly, and a cast back to an integer truncates
  Cast: (n, s) => {
    const v = s.get(n, 0);
    const to = getInt(n, 'to', 0);
    if (v.k !== 'shape' || !NUMERIC_TYPES.has(to))
      fail(`Cast ${n.name} of a ${v.k === 'shape' ? 'shape to a non-numeric type' : 'tensor'}`);
    if (FLOAT_TYPES.has(to)) return s.set(n, { k: 'shape', v: v.v, float: true });
    s.set(n, { k: 'shape', v: v.v.map((x) => (typeof x === 'number' ? Math.trunc(x) : x)) });
  },
  Sub: importSub,
  // nn.GELU as torch.onnx writes it starts with x / √2
  Div: importDiv,
  Pow: importPow,
  ReduceSum: importReduceSum,
  Reciprocal: (n, s) => s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'reciprocal')),
  // a shape value negated (`self.g[:, -c:]` at a dynamic batch), or a tensor
  Neg: (n, s) => {
    const v = s.get(n, 0);
    if (v.k === 'shape') {
      const ints = knownInts(v) ?? fail(`Neg ${n.name} of a shape value involving the batch size`);
      return s.set(n, { k: 'shape', v: ints.map((x) => -x) });
    }
    s.setIr(n, s.b.act(s.irOrPooled(n, 0), 'scale', -1));
  },
  ConstantOfShape: importConstantOfShape,
  Shape: importShape,
  Gather: importGather,
  Unsqueeze: importUnsqueeze,
  Expand: importExpand,
  Concat: importConcat,
  Slice: importSlice,
  Split: importSplit,
  Resize: importResize,
  GlobalAveragePool: (n, s) => s.set(n, { k: 'gap', src: s.ir3(n, 0) }),
  ReduceMean: importReduceMean,
  ReduceMax: importReduceMax,
  Flatten: (n, s) => {
    if (getInt(n, 'axis', 1) !== 1) fail('Flatten on axis ≠ 1');
    s.setIr(n, s.flattenOf(n, s.get(n, 0)));
  },
  Reshape: importReshape,
  Transpose: importTranspose,
  Squeeze: importSqueeze,
  Gemm: importGemm,
  MatMul: importMatMul,
};

function importOrThrow(m: LoadedModel, opts: ImportOptions): ImportResult {
  const g = m.model.graph!;
  const nodes = g.node ?? [];
  const s = new ImportState(m, opts, nodes);
  const stats = batchStatSubgraphs({
    nodes,
    consts: m.consts,
    readersOf: (name) => s.readersOf(name),
    graphOutputs: s.graphOutputs,
  });
  for (const i of stats.absorbed) s.absorbed.add(i);
  for (const [i, t] of stats.targets) s.batchStatBns.set(i, t);
  s.normAt = normChains({
    nodes,
    consts: m.consts,
    readersOf: (name) => s.readersOf(name),
    graphOutputs: s.graphOutputs,
  });
  for (const c of s.normAt.values()) for (const i of c.absorbed) s.absorbed.add(i);
  const needed = reluAncestors(nodes);
  nodes.forEach((n, idx) => {
    if (s.absorbed.has(idx)) return;
    // computed on load (constants, their copies, folded shape arithmetic): already in env
    if ((n.output ?? []).length > 0 && (n.output ?? []).every((o) => !o || m.consts.has(o))) return;
    const op = n.opType ?? '';
    try {
      if (!isDefaultDomain(n)) fail(`op ${n.domain}.${op} is outside the default domain`);
      const chain = s.normAt.get(idx);
      if (chain) return importNormChain(n, s, chain);
      const importer = Object.hasOwn(ONNX_IMPORTERS, op) ? ONNX_IMPORTERS[op] : undefined;
      if (!importer) fail(`op ${op} has no IR equivalent${OP_HINTS[op] ?? ''}`);
      const view = ELEMENTWISE.has(op) ? viewRead(n, s) : undefined;
      if (view) importInView(n, s, idx, importer, view);
      else importer(n, s, idx);
    } catch (e) {
      if (!(e instanceof Unsupported) && !isSwapError(e)) throw e;
      // Unsupported nodes no Relu depends on (e.g. a Softmax head) are skipped.
      if (needed.has(idx)) fail(`${op} node ${n.name || idx}: ${(e as Error).message}`);
      // a node that only inherits its input's failure passes that reason on (the root cause, not a chain of them)
      const why =
        e instanceof Unsupported && e.inherited ? e.inherited : `${op} node ${n.name || idx} (${(e as Error).message})`;
      for (const o of n.output ?? []) if (o) s.env.set(o, { k: 'opaque', why });
    }
  });

  if (s.b.finish(0).nodes.length < 2) fail('no layers were imported');
  // where the file or the user names the parameters, the other initializers in arithmetic are buffers: no doubt left
  const buffers = s.parameters.known ? undefined : constantBuffersNote(s.constantBuffers);
  if (buffers) s.notes.push(buffers);
  if (s.preluSlopes.size > 0)
    s.notes.push(
      `${s.preluSlopes.size} nn.PReLU slope tensor(s): params counts them and VKDNW differentiates them, as PyTorch's named_parameters() holds them (VKDNW is null where a one-slope nn.PReLU() makes its official code raise)`,
    );
  if (s.learnedConstants.size > 0)
    s.notes.push(
      `${s.learnedConstants.size} nn.Parameter tensor(s) read as arithmetic constants (layer scales, learned gains; ${clip([...s.learnedConstants.keys()].slice(0, 2).join(', '), 80)}): params counts them and VKDNW differentiates them, as PyTorch's named_parameters() holds them`,
    );
  const output = primaryOutput(s, g.output?.[0]?.name ?? '');
  if (
    !nodes.some((n) => n.opType === 'BatchNormalization') &&
    [...m.consts.keys()].some((k) => k.startsWith('onnx::Conv'))
  )
    s.notes.push(
      'the model has no BatchNormalization, and its convolution weights carry the names torch.onnx gives BN-folded ones: a PyTorch model exported in eval mode loses its BN that way (export with training=TrainingMode.TRAINING, do_constant_folding=False to keep it)',
    );
  const built = s.b.finish(output, { space: 'onnx', arch: m.model.graph?.name || m.source, source: m.source });
  const tied = onnxTies(m, built, s.weightIds, s.norms);
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const calls = functionalWeights(nodes, (t) => inits.has(t));
  const callerWeights = [...s.weightIds].filter(([idx]) => calls.has(nodes[idx]!.name ?? '')).map(([, id]) => id);
  const conv1d = s.conv1d.filter((id) => !callerWeights.includes(id));
  s.notes.push(...outsideLayerNotes(callerWeights.length, conv1d.length));
  const functional = [...callerWeights, ...conv1d].sort((a, b) => a - b);
  const learned = new Map([...s.preluSlopes, ...s.learnedConstants]);
  const order = onnxParameterOrder(m, built, s.weightIds, s.norms, learned);
  const untraced = untracedParameters(s, built, learned);
  const shared = onnxSharedDraws(m, built, s.weightIds, tied, s.norms);
  const network = {
    ...built,
    ...(tied.length > 0 ? { tied } : {}),
    ...(shared.length > 0 ? { sharedDraws: shared } : {}),
    ...(functional.length > 0 ? { functionalWeights: functional } : {}),
    ...(s.channelsLastLinears.length > 0 ? { channelsLastLinears: s.channelsLastLinears } : {}),
    ...(order ? { parameterOrder: order } : {}),
    ...(untraced ? { constantParams: untraced } : {}),
  };
  const outputs = new Map<string, number>();
  for (const o of g.output ?? []) {
    const v = s.env.get(o.name ?? '');
    if (v?.k === 'ir') outputs.set(o.name ?? '', v.id);
    if (v?.k === 'nhwc')
      s.notes.push(
        `graph output ${clip(o.name ?? '', 60)} is a map permuted to channels-last (N, H, W, C); it is not read as a block feature (AZ-NAS reads (N, C, H, W) outputs: permute it back before returning it)`,
      );
  }
  const tensors = new Map<string, number>();
  const padded = new Set<string>();
  const channelsLast = new Set<string>();
  // a 3-D tensor's node holds its values as PyTorch does (sample 0 of (N, A, B): A rows of B, MeCo's reading)
  for (const [name, v] of s.env)
    if (v.k === 'ir' || v.k === 'nhwc' || v.k === 'seq') tensors.set(name, v.id);
    else if (v.k === 'pad') padded.add(name);
  for (const [name, v] of s.env) if (v.k === 'nhwc') channelsLast.add(name);
  const { weightIds, notes, norms } = s;
  return { ok: true, network, weightIds, outputs, notes, tensors, padded, norms, channelsLast };
}

/**
 * The nn.Parameters (as the file or the user names them) that the IR reads only as constants: read in part or
 * reordered (an element, a window, a flip of one), or, where the file lists them, read by a node that is neither a
 * layer's nor an arithmetic's whole read. Θ counts the values no learned node counts; VKDNW, which would
 * differentiate them, is null (with a note here).
 */
function untracedParameters(
  s: ImportState,
  net: Network,
  learned: ReadonlyMap<string, number>,
): Network['constantParams'] {
  const layers = trainableNames(s.m, net, s.weightIds, s.norms);
  // read in part in arithmetic; or (where the file lists its parameters: a pattern says nothing of other reads) a
  // listed tensor read by a node that is neither a layer's nor an arithmetic's whole read
  const names = [...(s.m.model.graph?.initializer ?? [])]
    .map((t) => t.name ?? '')
    .filter(
      (name) =>
        s.partReads.has(name) ||
        (s.parameters.isListed(name) && !layers.has(name) && !learned.has(name) && s.readsOf(name) > 0),
    );
  if (names.length === 0) return undefined;
  // a tensor also read whole is in Θ already (its learned node counts it)
  const values = names
    .filter((name) => !learned.has(name))
    .reduce((a, name) => a + numelOf(tensorDims(s.m.consts.get(name)!)), 0);
  const shown = names.slice(0, 3).map((x) => clip(x, 40));
  s.notes.push(
    `${names.length} nn.Parameter${names.length === 1 ? '' : 's'} (${shown.join(', ')}${names.length > 3 ? ', …' : ''}) ${names.length === 1 ? 'is' : 'are'} read only in part, reordered or outside any layer or whole arithmetic read (an element, a flip of one): params counts ${names.length === 1 ? 'its' : 'their'} ${values} values; VKDNW, which would differentiate ${names.length === 1 ? 'it' : 'them'}, is null`,
  );
  return { values, names };
}

/**
 * The notes on weights the official per-layer proxies leave out: `calls` conv / linear nodes applying a parameter of
 * their caller, `conv1d` nn.Conv1d calls.
 */
function outsideLayerNotes(calls: number, conv1d: number): string[] {
  const sums = 'grad_norm, snip, plain, fisher, GraSP, synflow, l2_norm and zico';
  const one = (k: number, a: string, b: string) => (k === 1 ? a : b);
  return [
    ...(calls > 0
      ? [
          `${calls} conv / linear node${one(calls, ' applies', 's apply')} a parameter of the caller (F.conv2d / F.linear: the weight is not named <module>.weight): the official proxies iterate over nn.Conv2d / nn.Linear modules, so ${sums} leave ${one(calls, 'it', 'them')} out, as they do; params and VKDNW count ${one(calls, 'its parameter', 'their parameters')}`,
        ]
      : []),
    ...(conv1d > 0
      ? [
          `${conv1d} nn.Conv1d call${one(conv1d, '', 's')} (ECA's convolution over the channels): the official proxies iterate over nn.Conv2d / nn.Linear modules, so ${sums} leave ${one(conv1d, 'it', 'them')} out, as they do; params and VKDNW count ${one(conv1d, 'its weights', 'their weights')}, MeCo reads ${one(conv1d, 'its output', 'their outputs')} as (C, L) rows`,
        ]
      : []),
  ];
}

/** One note for the initializers read as constants in arithmetic (ConvNeXt has one layer scale per block). */
function constantBuffersNote(buffers: ReadonlyMap<string, string>): string | undefined {
  const tail =
    "right for a module's buffer; were it an nn.Parameter (a ReZero gain, a layer scale, a learned temperature), PyTorch would count it in params and give it a gradient, which the proxies here do not";
  const [first] = buffers;
  if (!first) return undefined;
  if (buffers.size === 1) return `initializer ${clip(first[0], 60)} is read as a constant in ${first[1]}: ${tail}`;
  const names = [...buffers.keys()].slice(0, 3).map((b) => clip(b, 40));
  return `${buffers.size} initializers (${names.join(', ')}${buffers.size > 3 ? ', …' : ''}) are read as constants in arithmetic: right for modules' buffers; were they nn.Parameters (ReZero gains, layer scales, learned temperatures), PyTorch would count them in params and give them gradients, which the proxies here do not`;
}

/** What a user may have written, for ops that are the inside of a module rather than the module itself. */
const OP_HINTS: Readonly<Record<string, string>> = {
  Erf: ' (nn.GELU imports only as torch.onnx writes it: x·(1 + erf(x/√2))·½)',
  GroupNormalization:
    " (opset 18's nn.GroupNorm: export at opset 17 or below, which writes it as Reshape → InstanceNormalization → Reshape)",
};

/**
 * The IR node of the model's first graph output (a Softmax / LogSoftmax / Sigmoid head included: the official code
 * reads whatever the model returns). Anything else that was skipped on the way is an error: scoring a network cut
 * short (e.g. at the pooled features, when a classifier could not be imported) would be silently wrong.
 */
function primaryOutput(s: ImportState, name: string): number {
  const v = s.env.get(name);
  if (v?.k === 'ir') return v.id;
  if (v?.k === 'gap') return s.gap(v.src);
  if (v?.k === 'nhwc')
    fail(
      `the graph output ${quote(name)} is a map permuted to channels-last (N, H, W, C), which no classifier returns`,
    );
  fail(
    `the graph output ${quote(name)} is not computed by the imported layers${v?.k === 'opaque' ? ` (${v.why})` : ''}`,
  );
}

/**
 * Softmax / LogSoftmax over a flat tensor's features (axis 1 or −1 of (N, K), opset 13's default −1), a
 * classifier's last op.
 */
function importSoftmax(n: INodeProto, s: ImportState): void {
  // a kept-dims global pool is (N, C, 1, 1): a softmax over its last axis is over W (all ones), not the channels
  const v = s.get(n, 0);
  const rank = v.k === 'ir' ? s.shapeOf(v.id).length + 1 : 4;
  const axis = getInt(n, 'axis', -1);
  if (v.k !== 'ir' || rank !== 2 || (axis !== 1 && axis !== -1))
    fail(
      `${n.opType} ${n.name} over axis ${axis} of a ${rank}-D tensor: only a softmax over a flat tensor's features imports`,
    );
  s.setIr(n, s.b.softmax(v.id, n.opType === 'LogSoftmax'));
}

/** The padding per side of an `auto_pad` node (SAME_UPPER, SAME_LOWER, VALID); undefined for NOTSET (use `pads`). */
function autoPad(
  n: INodeProto,
  size: readonly [number, number],
  k: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): Sides | undefined {
  const mode = getString(n, 'auto_pad') ?? 'NOTSET';
  if (mode === 'NOTSET' || mode === '') return undefined;
  if (mode === 'VALID') return [0, 0, 0, 0];
  if (mode !== 'SAME_UPPER' && mode !== 'SAME_LOWER') fail(`auto_pad ${quote(mode)}`);
  const total = (a: 0 | 1) =>
    Math.max(0, (Math.ceil(size[a] / stride[a]) - 1) * stride[a] + dilation[a] * (k[a] - 1) + 1 - size[a]);
  const [th, tw] = [total(0), total(1)];
  // SAME_UPPER puts an odd total's extra pixel at the end (TensorFlow's SAME), SAME_LOWER at the start
  const first = (t: number) => (mode === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2));
  return [first(th), first(tw), th - first(th), tw - first(tw)];
}
