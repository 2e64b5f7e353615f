/**
 * IR network → ONNX ModelProto (opset 17), written with the `onnx-proto` schema package.
 *
 * Semantics are exactly what swapnas scores:
 * - Each op's ONNX node(s) come from one exporter per op ({@link EXPORTERS}), the op types listed in `ir/ops.ts`.
 * - Conv/Gemm weights are the PRNG weights of the given seed (element i of node t's weight = `gaussian(seed, t, i)`
 *   in PyTorch layout), biases 0; BatchNormalization has γ=1, β=0, ε (its own, else `BN_EPS`) and **training_mode=1**, so ONNX
 *   Runtime normalises with the batch statistics (biased variance), as PyTorch does in train mode. The
 *   running-mean/variance outputs of training-mode BN are declared but unused.
 * - Every IR node becomes one ONNX node in IR order (the `zero` node, which has no inputs, becomes
 *   Shape→Concat→ConstantOfShape; `gap` becomes GlobalAveragePool→Flatten), so {@link importOnnxModel} of an
 *   exported model rebuilds the same IR node ids, and therefore the same PRNG weights.
 * - Tensor names: graph input `input`, node `t`'s output `n<t>`, weights `w<t>`.
 */
import { neededNodes, weightTensorIds } from '../ir/analysis.js';
import { bnEps, convAxes, isRecorded, type NodeOf, numel, outPads, weightDims } from '../ir/ops.js';
import type { Network, OpName } from '../ir/types.js';
import { GELU_TANH_BETA, GELU_TANH_KAPPA, SELU_ALPHA, SELU_SCALE } from '../ir/activations.js';
import { fillGaussian } from '../init/prng.js';
import { slopeTensors } from '../grad/slopes.js';
import { PARAMETERS_KEY } from './parameters.js';
import { SwapError } from '../util/errors.js';
import {
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrTensor,
  encodeModel,
  floatTensor,
  int64Tensor,
  node,
  valueInfo,
  type IModelProto,
  type INodeProto,
  type ITensorProto,
  type IValueInfoProto,
} from './proto.js';
import type { WeightSpec } from './weights.js';

export const EXPORT_OPSET = 17;
export const EXPORT_IR_VERSION = 8;
export const INPUT_NAME = 'input';

export interface OnnxExportOptions {
  /** PRNG seed of the weights (used with `weights: 'initializers'`; default 0). */
  readonly seed?: number;
  /**
   * `initializers` (default): a self-contained model holding the seed's weights. `inputs`: Conv/Gemm weights
   * become graph inputs (listed in {@link OnnxExport.weightInputs}) so one session serves every seed.
   */
  readonly weights?: 'initializers' | 'inputs';
  /** Also make every recorded ReLU output (ReLU on a 4-D tensor) a graph output. */
  readonly exposeRecorded?: boolean;
  /** Keep only what recorded ReLUs depend on (drops the classifier head); the graph outputs are then the recorded ReLUs. */
  readonly prune?: boolean;
  /** Batch dimension of inputs/outputs: a number or a symbolic name (default `N`). */
  readonly batch?: number | string;
  /** Extra `metadata_props` entries. */
  readonly metadata?: Readonly<Record<string, string | number>>;
}

export interface OnnxExport {
  readonly model: IModelProto;
  readonly inputName: string;
  /** Graph output of the network's output node (absent when pruned away). */
  readonly outputName?: string;
  /** Recorded ReLU outputs, in node order. */
  readonly recorded: readonly { readonly name: string; readonly node: number; readonly perSample: number }[];
  /** Weights fed as inputs (`weights: 'inputs'`). */
  readonly weightInputs: readonly WeightSpec[];
}

const out = (id: number) => `n${id}`;

/** What a per-op exporter writes into. */
interface ExportCtx {
  readonly nodes: INodeProto[];
  readonly inits: ITensorProto[];
  /** Tensor name of node `id`'s output. */
  readonly src: (id: number) => string;
  /** PRNG tensor id of each node's weights (`weightTensorIds`: a tied weight is its first use's). */
  readonly tensors: Int32Array;
  /** Declare PRNG tensor `tensor` (an initializer or a graph input) once; a tied use names it again. */
  readonly weight: (name: string, dims: number[], tensor: number) => void;
  /** A constant float initializer: one value throughout, or the values in order. */
  readonly constant: (name: string, dims: number[], value: number | readonly number[]) => void;
  /**
   * A float scalar as a Constant node (not an initializer, so not a parameter in Θ: an activation's or a clip's
   * constant, as torch.onnx writes them).
   */
  readonly scalar: (name: string, value: number) => void;
  /** A constant float tensor as a Constant node named `nodeName` (not an initializer: not a parameter in Θ). */
  readonly fixed: (name: string, nodeName: string, dims: number[], value: number) => void;
  /** A Constant node of per-channel values shaped `dims` ((1, C, 1, 1) for a map, (1, C) for flat features). */
  readonly channels: (name: string, dims: number[], values: readonly number[]) => void;
  /**
   * The node of the first call of the nn.PReLU that later call `node` calls again, or of the first read of the
   * learned arithmetic constant it reads again ({@link slopeTensors}).
   */
  readonly firstCallOf: (node: number) => number | undefined;
  /** The initializers that are learned arithmetic constants, listed in the file's metadata ({@link PARAMETERS_KEY}). */
  readonly learned: string[];
}

type OpExporter<K extends OpName> = (n: NodeOf<K>, c: ExportCtx) => void;

/** Conv / Gemm: the PRNG weight, a zero bias when the node has one. */
function weightedInputs(n: NodeOf<'conv' | 'linear'>, c: ExportCtx): string[] {
  const tensor = c.tensors[n.id]!;
  const w = `w${tensor}`;
  c.weight(w, [...weightDims(n)!], tensor);
  const ins = [c.src(n.inputs[0]!), w];
  if (n.bias) {
    c.constant(`b${n.id}`, [n.op === 'conv' ? n.cout : n.fout], 0);
    ins.push(`b${n.id}`);
  }
  return ins;
}

function exportConv(n: NodeOf<'conv'>, c: ExportCtx): void {
  const a = convAxes(n);
  const pads = outPads(n);
  c.nodes.push(
    node(n.transposed ? 'ConvTranspose' : 'Conv', weightedInputs(n, c), [out(n.id)], `conv_${n.id}`, [
      attrInts('kernel_shape', [a.kh, a.kw]),
      attrInts('strides', [a.sh, a.sw]),
      attrInts('pads', [a.ph, a.pw, a.pb, a.pr]),
      attrInts('dilations', [a.dh, a.dw]),
      attrInt('group', n.groups),
      ...(n.transposed && (pads[0] > 0 || pads[1] > 0) ? [attrInts('output_padding', [...pads])] : []),
    ]),
  );
}

/**
 * A BN without running statistics as torch.onnx writes one: its batch mean and biased variance computed from its
 * input (Reshape to [N, C, −1], Transpose, ReduceMean), which the importer reads back (src/onnx/bn-stats.ts).
 * Returns the names of the two statistics.
 */
function exportBatchStats(n: NodeOf<'bn'>, c: ExportCtx): [string, string] {
  const p = `bn_${n.id}`;
  const x = c.src(n.inputs[0]!);
  const over = (keep: number) => [attrInts('axes', [0, 1]), attrInt('keepdims', keep)];
  c.inits.push(int64Tensor(`${p}_flat`, [3], [0, n.shape[0]!, -1]));
  c.nodes.push(node('Reshape', [x, `${p}_flat`], [`${p}_r`], `${p}_reshape`));
  c.nodes.push(node('Transpose', [`${p}_r`], [`${p}_t`], `${p}_transpose`, [attrInts('perm', [0, 2, 1])]));
  c.nodes.push(node('ReduceMean', [`${p}_t`], [`${p}_mean`], `${p}_mean`, over(0)));
  c.nodes.push(node('ReduceMean', [`${p}_t`], [`${p}_m`], `${p}_centre`, over(1)));
  c.nodes.push(node('Sub', [`${p}_t`, `${p}_m`], [`${p}_d`], `${p}_sub`));
  c.nodes.push(node('Mul', [`${p}_d`, `${p}_d`], [`${p}_d2`], `${p}_square`));
  c.nodes.push(node('ReduceMean', [`${p}_d2`], [`${p}_var`], `${p}_var`, over(0)));
  return [`${p}_mean`, `${p}_var`];
}

function exportBn(n: NodeOf<'bn'>, c: ExportCtx): void {
  const ch = n.shape[0];
  const p = `bn${n.id}`;
  // without affine parameters γ = 1, β = 0 are Constant nodes, as torch.onnx writes them: not parameters (Θ), and
  // the importer reads the BN back as not affine
  if (n.affine) {
    c.constant(`${p}_scale`, [ch], 1);
    c.constant(`${p}_bias`, [ch], 0);
  } else {
    c.fixed(`${p}_scale`, `bn_${n.id}_scale`, [ch], 1);
    c.fixed(`${p}_bias`, `bn_${n.id}_bias`, [ch], 0);
  }
  if (!n.batchStats) {
    c.constant(`${p}_mean`, [ch], 0);
    c.constant(`${p}_var`, [ch], 1);
  }
  const [mean, variance] = n.batchStats ? exportBatchStats(n, c) : [`${p}_mean`, `${p}_var`];
  c.nodes.push(
    node(
      'BatchNormalization',
      [c.src(n.inputs[0]!), `${p}_scale`, `${p}_bias`, mean, variance],
      [out(n.id), `${p}_running_mean`, `${p}_running_var`],
      `bn_${n.id}`,
      [attrFloat('epsilon', bnEps(n)), attrFloat('momentum', 1 - (n.momentum ?? 0.1)), attrInt('training_mode', 1)],
    ),
  );
}

/**
 * GroupNorm as torch.onnx writes nn.GroupNorm (opset < 18): Reshape to (N, G, −1), InstanceNormalization with a
 * fixed scale 1 and bias 0 per group, Reshape back to the input's shape, then γ, β per channel (initializers: Θ).
 */
function exportGn(n: NodeOf<'gn'>, c: ExportCtx): void {
  if (n.pixelwise) return exportChannelLayerNorm(n, c);
  const ch = n.shape[0]!;
  const p = `gn${n.id}`;
  const x = c.src(n.inputs[0]!);
  const affine = n.affine ? [`${p}_scaled`, `${p}_normed`] : [out(n.id), out(n.id)];
  c.inits.push(int64Tensor(`${p}_groups`, [3], [0, n.groups, -1]));
  c.fixed(`${p}_one`, `gn_${n.id}_one`, [n.groups], 1);
  c.fixed(`${p}_zero`, `gn_${n.id}_zero`, [n.groups], 0);
  c.nodes.push(node('Reshape', [x, `${p}_groups`], [`${p}_grouped`], `gn_${n.id}_group`));
  c.nodes.push(
    node('InstanceNormalization', [`${p}_grouped`, `${p}_one`, `${p}_zero`], [`${p}_norm`], `gn_${n.id}_norm`, [
      attrFloat('epsilon', bnEps(n)),
    ]),
  );
  c.nodes.push(node('Shape', [x], [`${p}_shape`], `gn_${n.id}_shape`));
  c.nodes.push(node('Reshape', [`${p}_norm`, `${p}_shape`], [affine[1]!], `gn_${n.id}_back`));
  if (!n.affine) return;
  const dims = n.shape.length === 3 ? [ch, 1, 1] : [ch];
  c.constant(`${p}_weight`, dims, 1);
  c.constant(`${p}_bias`, dims, 0);
  c.nodes.push(node('Mul', [affine[1]!, `${p}_weight`], [affine[0]!], `gn_${n.id}_gamma`));
  c.nodes.push(node('Add', [affine[0]!, `${p}_bias`], [out(n.id)], `gn_${n.id}_beta`));
}

/**
 * A pixelwise gn (one group) as ConvNeXt writes a LayerNorm over a map's channels at opset 17: Transpose to
 * channels-last, LayerNormalization over the last axis (γ, β initializers: Θ; fixed 1, 0 without affine
 * parameters), Transpose back.
 */
function exportChannelLayerNorm(n: NodeOf<'gn'>, c: ExportCtx): void {
  const ch = n.shape[0]!;
  const p = `ln${n.id}`;
  if (n.affine) {
    c.constant(`${p}_weight`, [ch], 1);
    c.constant(`${p}_bias`, [ch], 0);
  } else {
    c.fixed(`${p}_weight`, `ln_${n.id}_one`, [ch], 1);
    c.fixed(`${p}_bias`, `ln_${n.id}_zero`, [ch], 0);
  }
  const perm = (v: number[]) => [attrInts('perm', v)];
  c.nodes.push(node('Transpose', [c.src(n.inputs[0]!)], [`${p}_nhwc`], `ln_${n.id}_last`, perm([0, 2, 3, 1])));
  c.nodes.push(
    node('LayerNormalization', [`${p}_nhwc`, `${p}_weight`, `${p}_bias`], [`${p}_norm`], `ln_${n.id}_norm`, [
      attrInt('axis', -1),
      attrFloat('epsilon', bnEps(n)),
    ]),
  );
  c.nodes.push(node('Transpose', [`${p}_norm`], [out(n.id)], `ln_${n.id}_first`, perm([0, 3, 1, 2])));
}

function exportPool(n: NodeOf<'avgpool' | 'maxpool'>, c: ExportCtx): void {
  const attrs = [
    attrInts('kernel_shape', [n.k, n.k]),
    attrInts('strides', [n.stride, n.stride]),
    attrInts('pads', [n.pad, n.pad, n.pad, n.pad]),
  ];
  if (n.op === 'avgpool') attrs.push(attrInt('count_include_pad', n.countIncludePad ? 1 : 0));
  if (n.ceil) attrs.push(attrInt('ceil_mode', 1));
  const x = c.src(n.inputs[0]!);
  c.nodes.push(node(n.op === 'avgpool' ? 'AveragePool' : 'MaxPool', [x], [out(n.id)], `${n.op}_${n.id}`, attrs));
}

function exportZero(n: NodeOf<'zero'>, c: ExportCtx): void {
  const [ch, h, w] = n.shape as [number, number, number];
  const y = out(n.id);
  const name = `zero_${n.id}`;
  c.inits.push(int64Tensor(`${y}_chw`, [3], [ch, h, w]));
  c.nodes.push(node('Shape', [INPUT_NAME], [`${y}_n`], `${name}_batch`, [attrInt('start', 0), attrInt('end', 1)]));
  c.nodes.push(node('Concat', [`${y}_n`, `${y}_chw`], [`${y}_shape`], `${name}_shape`, [attrInt('axis', 0)]));
  c.nodes.push(
    node('ConstantOfShape', [`${y}_shape`], [y], name, [
      attrTensor('value', floatTensor('', [1], new Float32Array(1))),
    ]),
  );
}

function exportSlice(n: NodeOf<'slice'>, c: ExportCtx): void {
  const [ch, h, w] = n.shape as [number, number, number];
  const y = out(n.id);
  c.inits.push(int64Tensor(`${y}_starts`, [3], [n.c0, n.h0, n.w0]));
  c.inits.push(int64Tensor(`${y}_ends`, [3], [n.c0 + ch, n.h0 + h, n.w0 + w]));
  c.inits.push(int64Tensor(`${y}_axes`, [3], [1, 2, 3]));
  c.nodes.push(node('Slice', [c.src(n.inputs[0]!), `${y}_starts`, `${y}_ends`, `${y}_axes`], [y], `slice_${n.id}`));
}

/** ShuffleNet's `view(N, g, C/g, H, W)`, `transpose(1, 2)`, `view(N, C, H, W)` (a 0 keeps the batch size). */
function exportShuffle(n: NodeOf<'shuffle'>, c: ExportCtx): void {
  const [ch, h, w] = n.shape as [number, number, number];
  const y = out(n.id);
  c.inits.push(int64Tensor(`${y}_split`, [5], [0, n.groups, ch / n.groups, h, w]));
  c.inits.push(int64Tensor(`${y}_merge`, [4], [0, ch, h, w]));
  c.nodes.push(node('Reshape', [c.src(n.inputs[0]!), `${y}_split`], [`${y}_5d`], `shuffle_${n.id}_split`));
  c.nodes.push(
    node('Transpose', [`${y}_5d`], [`${y}_t`], `shuffle_${n.id}_transpose`, [attrInts('perm', [0, 2, 1, 3, 4])]),
  );
  c.nodes.push(node('Reshape', [`${y}_t`, `${y}_merge`], [y], `shuffle_${n.id}`));
}

/** The values with the node's shape, as torch.onnx writes `y.view(b, c, h, w)`: Reshape to (0, C, H, W). */
function exportView(n: NodeOf<'view'>, c: ExportCtx): void {
  const y = out(n.id);
  c.inits.push(int64Tensor(`${y}_shape`, [4], [0, ...n.shape]));
  c.nodes.push(node('Reshape', [c.src(n.inputs[0]!), `${y}_shape`], [y], `view_${n.id}`));
}

/** Sigmoid, or HardSigmoid(1/6, 1/2) (PyTorch's hardsigmoid). */
function exportSigmoid(n: NodeOf<'sigmoid'>, c: ExportCtx): void {
  const hard = n.hard ? [attrFloat('alpha', 1 / 6), attrFloat('beta', 0.5)] : [];
  c.nodes.push(node(n.hard ? 'HardSigmoid' : 'Sigmoid', [c.src(n.inputs[0]!)], [out(n.id)], `sigmoid_${n.id}`, hard));
}

/** Mul of two same-shape tensors, or of a map and its (N, C, 1, 1) gate (ONNX broadcasts it). */
function exportMul(n: NodeOf<'mul'>, c: ExportCtx): void {
  c.nodes.push(node('Mul', n.inputs.map(c.src), [out(n.id)], `mul_${n.id}`));
}

/**
 * A smooth activation as torch.onnx (opset 17) writes its module: Tanh, Elu(α), Selu, Softplus; nn.GELU as
 * x·(1 + Erf(x/√2))·½ (Div, Erf, Add, Mul, Mul); nn.Mish as x·Tanh(Softplus(x)); arithmetic with a constant as
 * Mul / Div / Add by a scalar Constant. The importer reads each back.
 */
function exportAct(n: NodeOf<'act'>, c: ExportCtx): void {
  const x = c.src(n.inputs[0]!);
  const y = out(n.id);
  const name = `act_${n.id}`;
  const one = (op: string, ins: string[], o: string, suffix = '', attrs: Parameters<typeof node>[4] = []): void =>
    void c.nodes.push(node(op, ins, [o], `${name}${suffix}`, attrs));
  switch (n.fn) {
    case 'tanh':
      return one('Tanh', [x], y);
    case 'elu':
      return one('Elu', [x], y, '', [attrFloat('alpha', n.alpha ?? 1)]);
    case 'celu':
      return one('Celu', [x], y, '', [attrFloat('alpha', n.alpha ?? 1)]);
    case 'reciprocal':
      return one('Reciprocal', [x], y);
    case 'selu':
      return one('Selu', [x], y, '', [attrFloat('alpha', SELU_ALPHA), attrFloat('gamma', SELU_SCALE)]);
    case 'softplus':
      return one('Softplus', [x], y);
    case 'gelu':
      c.scalar(`${name}_sqrt2`, Math.SQRT2);
      c.scalar(`${name}_one`, 1);
      c.scalar(`${name}_half`, 0.5);
      one('Div', [x, `${name}_sqrt2`], `${y}_scaled`, '_div');
      one('Erf', [`${y}_scaled`], `${y}_erf`, '_erf');
      one('Add', [`${y}_erf`, `${name}_one`], `${y}_cdf2`, '_add');
      one('Mul', [x, `${y}_cdf2`], `${y}_twice`, '_mul');
      return one('Mul', [`${y}_twice`, `${name}_half`], y);
    case 'gelu_tanh':
      return exportGeluTanh(x, y, name, c, one);
    case 'mish':
      one('Softplus', [x], `${y}_softplus`, '_softplus');
      one('Tanh', [`${y}_softplus`], `${y}_tanh`, '_tanh');
      return one('Mul', [x, `${y}_tanh`], y);
    case 'prelu': {
      // a later call of an nn.PReLU reads its first call's initializer, as the module's one parameter
      const slopes = n.alphas ?? [n.alpha ?? 1];
      const first = n.learned === 0 ? c.firstCallOf(n.id) : undefined;
      if (first !== undefined) return void c.nodes.push(node('PRelu', [x, `prelu_${first}`], [y], name));
      return exportPRelu(n, slopes, c, n.learned !== undefined && n.learned > 0);
    }
    case 'scale':
    case 'divide':
    case 'shift':
      if (n.learned !== undefined) return exportLearned(n, c);
      // one constant, or one per channel broadcast over the batch (and the plane of a map)
      if (n.alphas)
        c.channels(`${name}_c`, n.shape.length === 3 ? [1, n.alphas.length, 1, 1] : [1, n.alphas.length], n.alphas);
      else c.scalar(`${name}_c`, n.alpha ?? 1);
      return one(ARITHMETIC_ONNX[n.fn], [x, `${name}_c`], y);
  }
}

/** The ONNX op of each arithmetic function, with its constant as the second input. */
const ARITHMETIC_ONNX = { scale: 'Mul', divide: 'Div', shift: 'Add' } as const;

/**
 * The exported initializers that are parameters, for the file's list ({@link PARAMETERS_KEY}: a file that has one
 * counts exactly those): all but the BatchNormalization running statistics.
 */
function parameterInitializers(nodes: readonly INodeProto[], inits: readonly ITensorProto[]): string[] {
  const stats = new Set(
    nodes.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => (n.input ?? []).slice(3, 5)),
  );
  return inits.map((t) => t.name ?? '').filter((name) => !stats.has(name));
}

/**
 * Arithmetic by an nn.Parameter: its values an initializer the file's metadata names as a parameter (a later read
 * reads the first read's), `x - c` written as Sub (`stateSign` −1), so the import gives the same node back.
 */
function exportLearned(n: NodeOf<'act'>, c: ExportCtx): void {
  const first = n.learned === 0 ? c.firstCallOf(n.id) : undefined;
  const p = `learned_${first ?? n.id}`;
  const minus = n.fn === 'shift' && n.stateSign === -1;
  // declared at the first read the file keeps (a pruned export may leave out the first): every read holds the values
  if (!c.learned.includes(p)) {
    const values = (n.alphas ?? [n.alpha ?? 1]).map((v) => (minus ? -v : v));
    c.constant(p, n.alphas ? (n.shape.length === 3 ? [n.alphas.length, 1, 1] : [n.alphas.length]) : [], values);
    c.learned.push(p);
  }
  const op = minus ? 'Sub' : ARITHMETIC_ONNX[n.fn as keyof typeof ARITHMETIC_ONNX];
  c.nodes.push(node(op, [c.src(n.inputs[0]!), p], [out(n.id)], `act_${n.id}`));
}

/** nn.GELU(approximate='tanh') as torch.onnx writes it: ½·(x·(1 + tanh(β·(x + κ·x·x²)))). */
function exportGeluTanh(
  x: string,
  y: string,
  name: string,
  c: ExportCtx,
  one: (op: string, ins: string[], o: string, suffix?: string) => void,
): void {
  c.scalar(`${name}_kappa`, GELU_TANH_KAPPA);
  c.scalar(`${name}_beta`, GELU_TANH_BETA);
  c.scalar(`${name}_one`, 1);
  c.scalar(`${name}_half`, 0.5);
  one('Mul', [x, x], `${y}_sq`, '_sq');
  one('Mul', [x, `${y}_sq`], `${y}_cube`, '_cube');
  one('Mul', [`${name}_kappa`, `${y}_cube`], `${y}_kcube`, '_kcube');
  one('Add', [x, `${y}_kcube`], `${y}_poly`, '_poly');
  one('Mul', [`${name}_beta`, `${y}_poly`], `${y}_inner`, '_inner');
  one('Tanh', [`${y}_inner`], `${y}_tanh`, '_tanh');
  one('Add', [`${name}_one`, `${y}_tanh`], `${y}_cdf2`, '_add');
  one('Mul', [x, `${y}_cdf2`], `${y}_twice`, '_mul');
  one('Mul', [`${name}_half`, `${y}_twice`], y);
}

function exportGap(n: NodeOf<'gap'>, c: ExportCtx): void {
  const y = out(n.id);
  if (n.keep) return void c.nodes.push(node('GlobalAveragePool', [c.src(n.inputs[0]!)], [y], `gap_${n.id}`));
  c.nodes.push(node('GlobalAveragePool', [c.src(n.inputs[0]!)], [`${y}_pooled`], `gap_${n.id}`));
  c.nodes.push(node('Flatten', [`${y}_pooled`], [y], `gap_${n.id}_flatten`, [attrInt('axis', 1)]));
}

function exportLinear(n: NodeOf<'linear'>, c: ExportCtx): void {
  c.nodes.push(
    node('Gemm', weightedInputs(n, c), [out(n.id)], `linear_${n.id}`, [
      attrFloat('alpha', 1),
      attrFloat('beta', 1),
      attrInt('transA', 0),
      attrInt('transB', 1),
    ]),
  );
}

/**
 * nn.PReLU as torch.onnx writes it: PRelu(x, slope) with the slopes one value, or one per channel broadcast over H, W;
 * an initializer where they are parameters (`param`: Θ of the file counts them), else a Constant node (F.prelu by a
 * constant, or a later call of a module whose slopes an earlier node holds).
 */
function exportPRelu(n: NodeOf<'relu' | 'act'>, slopes: readonly number[], c: ExportCtx, param: boolean): void {
  const dims = slopes.length === 1 ? [1] : n.shape.length === 3 ? [slopes.length, 1, 1] : [slopes.length];
  if (param) c.constant(`prelu_${n.id}`, dims, slopes);
  else c.channels(`prelu_${n.id}`, dims, slopes);
  c.nodes.push(node('PRelu', [c.src(n.inputs[0]!), `prelu_${n.id}`], [out(n.id)], `${n.op}_${n.id}`));
}

/**
 * Relu, Clip(0, max) for a capped ReLU (`nn.ReLU6` exports so), LeakyRelu for a leaky one, PRelu for nn.PReLU (a
 * later call of one: PRelu reading its first call's initializer).
 */
/**
 * A ReLU, and for each further module call it stands for (`ReluNode.calls`) a copy of its node reading the same
 * tensor (an output no node reads): the file keeps the calls apart, as an export without torch.onnx's merge does.
 */
function exportReluCalls(n: NodeOf<'relu'>, c: ExportCtx): void {
  exportRelu(n, c);
  const node = c.nodes[c.nodes.length - 1]!;
  for (let k = 1; k < (n.calls ?? 1); k++)
    c.nodes.push({ ...node, output: [`${out(n.id)}_call${k}`], name: `${node.name}_call${k}` });
}

function exportRelu(n: NodeOf<'relu'>, c: ExportCtx): void {
  if (n.learned !== undefined && n.learned > 0 && n.slope !== undefined)
    return exportPRelu(n, new Array<number>(n.learned).fill(n.slope), c, true);
  // a later call of an nn.PReLU reads its first call's initializer
  const first = n.learned === 0 ? c.firstCallOf(n.id) : undefined;
  if (first !== undefined) {
    c.nodes.push(node('PRelu', [c.src(n.inputs[0]!), `prelu_${first}`], [out(n.id)], `relu_${n.id}`));
    return;
  }
  if (n.slope !== undefined) {
    c.nodes.push(node('LeakyRelu', n.inputs.map(c.src), [out(n.id)], `relu_${n.id}`, [attrFloat('alpha', n.slope)]));
    return;
  }
  if (n.max === undefined) {
    c.nodes.push(node('Relu', n.inputs.map(c.src), [out(n.id)], `relu_${n.id}`));
    return;
  }
  c.scalar(`relu_${n.id}_min`, 0);
  const ins = [c.src(n.inputs[0]!), `relu_${n.id}_min`];
  // a clamp at 0 has no upper bound: Clip's optional max is left out
  if (Number.isFinite(n.max)) {
    c.scalar(`relu_${n.id}_max`, n.max);
    ins.push(`relu_${n.id}_max`);
  }
  c.nodes.push(node('Clip', ins, [out(n.id)], `relu_${n.id}`));
}

/**
 * Nearest-neighbour upsampling as torch.onnx writes nn.Upsample(scale_factor=s) (opset 13 and later): Resize with no
 * roi, scales (1, 1, s, s), mode 'nearest', coordinates 'asymmetric' and nearest_mode 'floor'.
 */
function exportUpsample(n: NodeOf<'upsample'>, c: ExportCtx): void {
  if (n.bilinear) return exportBilinear(n, n.bilinear, c);
  c.channels(`upsample_${n.id}_scales`, [4], [1, 1, n.scale, n.scale]);
  const attrs = [
    attrString('mode', 'nearest'),
    attrString('coordinate_transformation_mode', 'asymmetric'),
    attrString('nearest_mode', 'floor'),
  ];
  const ins = [c.src(n.inputs[0]!), '', `upsample_${n.id}_scales`];
  c.nodes.push(node('Resize', ins, [out(n.id)], `upsample_${n.id}`, attrs));
}

/**
 * A bilinear resize as torch.onnx writes `F.interpolate(x, size=(h, w), mode='bilinear')`: a linear Resize to sizes
 * made of the input's (N, C) and (h, w); 'half_pixel' (clamped at the first pixel as PyTorch's) or 'align_corners'.
 */
function exportBilinear(n: NodeOf<'upsample'>, to: NonNullable<NodeOf<'upsample'>['bilinear']>, c: ExportCtx): void {
  const y = `upsample_${n.id}`;
  c.nodes.push(node('Shape', [c.src(n.inputs[0]!)], [`${y}_shape`], `${y}_shape`, []));
  c.inits.push(int64Tensor(`${y}_first`, [1], [0]), int64Tensor(`${y}_second`, [1], [2]));
  c.nodes.push(node('Slice', [`${y}_shape`, `${y}_first`, `${y}_second`], [`${y}_nc`], `${y}_nc`, []));
  c.inits.push(int64Tensor(`${y}_hw`, [2], [to.h, to.w]));
  c.nodes.push(node('Concat', [`${y}_nc`, `${y}_hw`], [`${y}_sizes`], `${y}_sizes`, [attrInt('axis', 0)]));
  const attrs = [
    attrString('mode', 'linear'),
    attrString('coordinate_transformation_mode', to.alignCorners ? 'align_corners' : 'half_pixel'),
  ];
  c.nodes.push(node('Resize', [c.src(n.inputs[0]!), '', '', `${y}_sizes`], [out(n.id)], y, attrs));
}

/** The mean or maximum over a map's channels as torch.onnx writes `x.mean(1, keepdim=True)`: a Reduce over axis 1. */
function exportChanPool(n: NodeOf<'chanpool'>, c: ExportCtx): void {
  const attrs = [attrInts('axes', [1]), attrInt('keepdims', 1)];
  const op = n.max ? 'ReduceMax' : 'ReduceMean';
  c.nodes.push(node(op, [c.src(n.inputs[0]!)], [out(n.id)], `chanpool_${n.id}`, attrs));
}

/**
 * The ONNX node(s) of each op, in the op types `OpSpec.onnx.export` lists (a new op fails to compile until it has
 * an entry). `input` is the graph input, so it emits nothing.
 */
const EXPORTERS: { readonly [K in OpName]: OpExporter<K> } = {
  input: () => {},
  conv: exportConv,
  bn: exportBn,
  gn: exportGn,
  relu: exportReluCalls,
  avgpool: exportPool,
  maxpool: exportPool,
  add: (n, c) =>
    c.nodes.push(node(n.inputs.length === 2 ? 'Add' : 'Sum', n.inputs.map(c.src), [out(n.id)], `add_${n.id}`)),
  concat: (n, c) =>
    c.nodes.push(node('Concat', n.inputs.map(c.src), [out(n.id)], `concat_${n.id}`, [attrInt('axis', 1)])),
  zero: exportZero,
  slice: exportSlice,
  gap: exportGap,
  flatten: (n, c) =>
    c.nodes.push(node('Flatten', [c.src(n.inputs[0]!)], [out(n.id)], `flatten_${n.id}`, [attrInt('axis', 1)])),
  linear: exportLinear,
  shuffle: exportShuffle,
  upsample: exportUpsample,
  chanpool: exportChanPool,
  view: exportView,
  expand: (n, c) => {
    const y = out(n.id);
    c.inits.push(int64Tensor(`${y}_shape`, [4], [1, ...n.shape]));
    c.nodes.push(node('Expand', [c.src(n.inputs[0]!), `${y}_shape`], [y], `expand_${n.id}`));
  },
  sigmoid: exportSigmoid,
  mul: exportMul,
  act: exportAct,
  softmax: (n, c) =>
    c.nodes.push(
      node(n.log ? 'LogSoftmax' : 'Softmax', [c.src(n.inputs[0]!)], [out(n.id)], `softmax_${n.id}`, [
        attrInt('axis', 1),
      ]),
    ),
};

/** Build the ONNX model of a network. */
export function networkToOnnx(net: Network, opts: OnnxExportOptions = {}): OnnxExport {
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new SwapError('E_OPTION', `seed must be a 32-bit unsigned integer, got ${seed}`);
  const mode = opts.weights ?? 'initializers';
  const batch = opts.batch ?? 'N';
  const keep = opts.prune ? neededNodes(net) : new Uint8Array(net.nodes.length).fill(1);
  const inShape = net.nodes[0]?.shape;
  if (!inShape || net.nodes[0]!.op !== 'input' || inShape.length !== 3)
    throw new SwapError('E_IR_SHAPE', 'network must start with a 4-D input node');

  const nodes: INodeProto[] = [];
  const inits: ITensorProto[] = [];
  const weightInputs: WeightSpec[] = [];
  const inputs: IValueInfoProto[] = [valueInfo(INPUT_NAME, [batch, ...inShape])];
  const recorded: { name: string; node: number; perSample: number }[] = [];
  const src = (id: number) => (id === 0 ? INPUT_NAME : out(id));

  const declared = new Set<string>();
  const weight = (name: string, dims: number[], tensor: number) => {
    if (declared.has(name)) return;
    declared.add(name);
    if (mode === 'inputs') {
      weightInputs.push({ name, dims, tensor, layout: 'direct' });
      inputs.push(valueInfo(name, dims));
    } else {
      inits.push(floatTensor(name, dims, fillGaussian(new Float32Array(numel(dims)), seed, tensor)));
    }
  };
  const constant = (name: string, dims: number[], value: number | readonly number[]) =>
    inits.push(
      floatTensor(
        name,
        dims,
        typeof value === 'number' ? new Float32Array(numel(dims)).fill(value) : Float32Array.from(value),
      ),
    );

  const scalar = (name: string, value: number) =>
    nodes.push(node('Constant', [], [name], name, [attrTensor('value', floatTensor('', [], Float32Array.of(value)))]));

  const fixed = (name: string, nodeName: string, dims: number[], value: number) =>
    nodes.push(
      node('Constant', [], [name], nodeName, [
        attrTensor('value', floatTensor('', dims, new Float32Array(numel(dims)).fill(value))),
      ]),
    );

  const channels = (name: string, dims: number[], values: readonly number[]) =>
    nodes.push(
      node('Constant', [], [name], name, [attrTensor('value', floatTensor('', dims, Float32Array.from(values)))]),
    );

  const firstCalls = new Map(slopeTensors(net).flatMap((t) => t.uses.slice(1).map((u) => [u, t.node] as const)));
  const ctx: ExportCtx = {
    nodes,
    inits,
    src,
    tensors: weightTensorIds(net),
    weight,
    constant,
    scalar,
    fixed,
    channels,
    firstCallOf: (node) => firstCalls.get(node),
    learned: [],
  };
  for (const n of net.nodes) {
    if (n.op === 'input' || !keep[n.id]) continue;
    (EXPORTERS[n.op] as OpExporter<OpName>)(n, ctx);
    if (isRecorded(n)) recorded.push({ name: out(n.id), node: n.id, perSample: numel(n.shape) });
  }

  const outputs: IValueInfoProto[] = [];
  let outputName: string | undefined;
  if (keep[net.output] && net.output !== 0) {
    outputName = out(net.output);
    outputs.push(valueInfo(outputName, [batch, ...net.nodes[net.output]!.shape]));
  }
  if (opts.exposeRecorded || opts.prune) {
    for (const r of recorded) {
      if (r.name !== outputName) outputs.push(valueInfo(r.name, [batch, ...net.nodes[r.node]!.shape]));
    }
  }
  if (outputs.length === 0)
    throw new SwapError('E_IR_SHAPE', 'the exported graph would have no outputs (no recorded ReLU to keep)');

  const meta: Record<string, string | number> = {
    ...(net.meta ?? {}),
    ...(mode === 'initializers' ? { 'swapnas.weight_seed': seed } : {}),
    ...(ctx.learned.length > 0 ? { [PARAMETERS_KEY]: JSON.stringify(parameterInitializers(nodes, inits)) } : {}),
    ...(opts.metadata ?? {}),
  };
  const model: IModelProto = {
    irVersion: EXPORT_IR_VERSION,
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    producerName: 'swapnas',
    producerVersion: '0.1.0',
    docString: 'Exported by swapnas: PRNG-initialised network; BatchNormalization in training mode (batch statistics).',
    graph: {
      name: String(net.meta?.['arch'] ?? 'swapnas_network'),
      node: nodes,
      initializer: inits,
      input: inputs,
      output: outputs,
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value: String(value) })),
  };
  return { model, inputName: INPUT_NAME, ...(outputName !== undefined ? { outputName } : {}), recorded, weightInputs };
}

/** Serialised ONNX bytes of a network with the seed's weights (see {@link networkToOnnx}). */
export function exportNetworkOnnx(net: Network, opts: OnnxExportOptions = {}): Uint8Array {
  return encodeModel(networkToOnnx(net, opts).model);
}
