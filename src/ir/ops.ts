/**
 * The op specification: every IR op is described here once — its opcode in the flat program, its ordered
 * attribute words, its shape inference, its parameter and multiply-accumulate counts, the PRNG weight tensor it
 * owns, and the ONNX op types it exports to and imports from. Everything else derives from this table:
 *
 * - `builder.ts` infers shapes with {@link inferShape}; `serialize.ts` writes {@link OpSpec.opcode} and
 *   {@link encodeAttrs}; `analysis.ts` sums {@link OpSpec.params} / {@link OpSpec.macs};
 * - `native/ir_ops.h` (opcode enum, attribute indices and counts, arity, BN ε) is generated from it by
 *   `scripts/gen-native-ops.mjs`, and `test/op-spec.test.ts` fails when the committed header drifts;
 * - each backend keeps one kernel per op in a table typed `{ [K in OpName]: … }`, so a new op fails to compile
 *   until every backend (reference, webgpu planner, ONNX exporter) has its kernel.
 *
 * Adding an op: see docs/extending.md.
 */
import { SwapError } from '../util/errors.js';
import type { ActFn, IRNode, LayerSpec, OpName, Shape, Shape3 } from './types.js';
import { ACT_FNS, isArithmetic } from './activations.js';

/** BatchNorm ε by default (PyTorch's); a node's own `eps` (an imported model's) replaces it in every backend. */
export const BN_EPS = 1e-5;
/** First word of a serialised program ("SWAP"). */
export const IR_MAGIC = 0x53574150;
/** Program format version; bump when the word layout changes. */
export const IR_VERSION = 19;

/**
 * The C×H×W a BatchNorm normalises over, per channel: its map, or a flat [C] tensor (`nn.BatchNorm1d` on (N, C),
 * whose statistics run over the batch only) read as C×1×1.
 */
export function bnMap(shape: Shape): Shape3 {
  return shape.length === 1 ? [shape[0]!, 1, 1] : (shape as Shape3);
}

/**
 * The statistics a BatchNorm normalises with in a pass of BN mode `mode`: `mode` itself, but batch statistics
 * (`train`) in eval mode for a BN without running statistics (`batchStats`, PyTorch's track_running_stats=False).
 */
export function bnModeOf<M extends string>(n: IRNode, mode: M): M | 'train' {
  return mode === 'eval' && n.op === 'bn' && n.batchStats ? 'train' : mode;
}

/** A BatchNorm's ε: its own, or {@link BN_EPS}. */
export function bnEps(n: { readonly eps?: number }): number {
  return n.eps ?? BN_EPS;
}

/** What sets a ReLU node apart from `nn.ReLU`: a clip (ReLU6, Hardtanh, clamp) or a negative slope (LeakyReLU). */
export interface ReluForm {
  readonly max?: number | undefined;
  readonly slope?: number | undefined;
}

/**
 * A ReLU's cotangent at output `y`: `d` where it passes (y > 0, and below the clip of a capped one: PyTorch's
 * hardtanh rule, min < x < max, 0 at x = max), else `d` times a leaky one's slope (PyTorch's leaky_relu rule: α at
 * x ≤ 0), else exactly 0 (a stopped NaN / ∞ cotangent too, as in PyTorch).
 */
export function reluCotangent(d: number, y: number, n: ReluForm): number {
  if (y > 0) return n.max === undefined || y < n.max ? d : 0;
  return n.slope === undefined ? 0 : d * n.slope;
}

/**
 * What a ReLU node stands for in the model, which an ONNX file says only through the clip (`Relu` or
 * `Clip(0, max)`), and so which official hooks see it:
 * - `relu`: `nn.ReLU` (SWAP, NASLib's nwot and MeCo hook it);
 * - `relu6`: a clip at 6, taken for `nn.ReLU6` (nwot hooks it: its type name holds "ReLU"; MeCo hooks every module);
 * - `hardtanh`: another finite clip, taken for `nn.Hardtanh(0, max)` (MeCo only);
 * - `clamp`: no upper clip, `torch.clamp(x, min=0)`, a function (no hook sees it);
 * - `leaky`: a negative slope, `nn.LeakyReLU` (nwot hooks it: its type name holds "ReLU"; MeCo too; not SWAP).
 */
export function reluKind(n: ReluForm): 'relu' | 'relu6' | 'hardtanh' | 'clamp' | 'leaky' {
  if (n.slope !== undefined) return 'leaky';
  if (n.max === undefined) return 'relu';
  if (n.max === Number.POSITIVE_INFINITY) return 'clamp';
  return n.max === 6 ? 'relu6' : 'hardtanh';
}

/**
 * Whether NASLib's nwot hooks this ReLU node (see {@link reluKind}): a module whose type name holds "ReLU", not a
 * functional call.
 */
export function nwotHooked(n: IRNode): boolean {
  if (n.op === 'act') return n.fn === 'prelu' && !n.functional;
  const k = n.op === 'relu' && !n.functional ? reluKind(n) : undefined;
  return k === 'relu' || k === 'relu6' || k === 'leaky';
}

/**
 * Whether `net` has a node that does not commute with scaling its input by a power of two: a capped ReLU (ReLU6), a
 * sigmoid gate, a product, a smooth activation, a softmax or a GroupNorm (block floating point cannot pass them).
 */
export function breaksScaling(net: { readonly nodes: readonly IRNode[] }): boolean {
  return net.nodes.some(
    (n) =>
      (n.op === 'relu' && n.max !== undefined) ||
      n.op === 'sigmoid' ||
      n.op === 'mul' ||
      n.op === 'act' ||
      n.op === 'softmax' ||
      n.op === 'gn',
  );
}

/** A ReLU's output: max(x, 0), clipped at `max` when capped, α·x below 0 when leaky (NaN propagates, as in PyTorch). */
export function reluValue(x: number, n: ReluForm): number {
  if (n.slope !== undefined) return x > 0 ? x : x * n.slope;
  const y = Math.max(x, 0);
  return n.max === undefined ? y : Math.min(y, n.max);
}

/** The high and low 32-bit words (as signed int32) of a float64's bits. */
export function float64Words(x: number): [number, number] {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return [v.getInt32(0), v.getInt32(4)];
}

/** The attributes of an op (a layer spec narrowed to `op: K`). */
export type SpecOf<K extends OpName> = LayerSpec & { readonly op: K };
/** An IR node of op `K`. */
export type NodeOf<K extends OpName> = IRNode & { readonly op: K };

/** One attribute word of the flat program: its name (for the C++ index enum) and how it is read off a node. */
export type AttrDef<K extends OpName> = readonly [name: string, get: (n: NodeOf<K>) => number | boolean];

export interface OpSpec<K extends OpName> {
  readonly op: K;
  /** Opcode in the flat Int32 program (src/ir/serialize.ts, native/ir.cpp). */
  readonly opcode: number;
  /** The C++ enumerator name (`swapnas::Op::<native>`). */
  readonly native: string;
  /** Number of inputs, or `variadic` (one or more). */
  readonly arity: number | 'variadic';
  /** Attribute words in program order (booleans are written as 0/1). */
  readonly attrs: readonly AttrDef<K>[];
  /** Attribute words after the fixed ones, of a length the node says (the act op's per-channel constants). */
  readonly tail?: (n: SpecOf<K>) => readonly number[];
  /**
   * Output shape (per sample) from the attributes and the input shapes; throws `E_IR_SHAPE` when they do not fit.
   * `size` is the output size of ops whose shape is not implied by their inputs (input, zero, slice).
   */
  readonly shape: (a: SpecOf<K>, ins: readonly Shape[], size?: Shape3) => Shape;
  /** Dims of the PRNG weight tensor the node owns (PyTorch layout; tensor id = node id, or a tied weight's first use); absent: unweighted. */
  readonly weight?: (a: SpecOf<K>) => readonly number[];
  /** Trainable parameters (PyTorch's `numel` sum: weights, biases, BN γ/β). */
  readonly params: (n: NodeOf<K>) => number;
  /** Multiply-accumulates per sample (the NAS papers' "FLOPs": one MAC counted as one FLOP). */
  readonly macs: (n: NodeOf<K>) => number;
  /**
   * ONNX mapping: the op types `onnx/export.ts` emits for this op (in order; alternatives for `add`), and the op
   * types `onnx/import.ts` turns into it. Both files hold one hook per entry, checked by test/op-spec.test.ts.
   */
  readonly onnx: { readonly export: readonly string[]; readonly import: readonly string[] };
}

/** Number of elements per sample. */
export function numel(shape: readonly number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

/** Output size of a window along one axis (PyTorch's floor rule), padded by `pad` before and `padEnd` after. */
export function outSize(n: number, k: number, stride: number, pad: number, dilation = 1, padEnd = pad): number {
  return Math.floor((n + pad + padEnd - dilation * (k - 1) - 1) / stride) + 1;
}

/**
 * Output size of a pool in PyTorch's ceil mode: rounded up, less a last window that would start beyond the input
 * and its left padding (so every window holds at least one input element).
 */
export function ceilOutSize(n: number, k: number, stride: number, pad: number): number {
  const out = Math.ceil((n + 2 * pad - k) / stride) + 1;
  return (out - 1) * stride >= n + pad ? out - 1 : out;
}

/** Whether ceil mode adds a partial window to a pool on an h×w map (else its sizes are floor mode's). */
export function addsPartialWindow(hw: readonly [number, number], k: number, stride: number, pad: number): boolean {
  return hw.some((d) => ceilOutSize(d, k, stride, pad) !== outSize(d, k, stride, pad));
}

/**
 * The extent, along one axis, of the window of output `o` within the padded input [−pad, n + pad): `k`, but for a
 * ceil-mode window that overhangs it. PyTorch and ONNX Runtime divide a `count_include_pad` average by its product.
 */
export function paddedExtent(o: number, k: number, stride: number, pad: number, n: number): number {
  const start = o * stride - pad;
  return Math.min(start + k, n + pad) - start;
}

/**
 * A convolution's window along each axis: kernel, stride, padding and dilation of the height (h) and width (w); the
 * padding before (ph: top, pw: left) and after (pb: bottom, pr: right) the map.
 */
export interface ConvAxes {
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly pb: number;
  readonly pr: number;
  readonly dh: number;
  readonly dw: number;
}

/** A conv node's window per axis: its width's own values where it has them, else the height's. */
export function convAxes(n: SpecOf<'conv'>): ConvAxes {
  return {
    kh: n.k,
    kw: n.kw ?? n.k,
    sh: n.stride,
    sw: n.strideW ?? n.stride,
    ph: n.pad,
    pw: n.padW ?? n.pad,
    pb: n.padBottom ?? n.pad,
    pr: n.padRight ?? n.padW ?? n.pad,
    dh: n.dilation,
    dw: n.dilationW ?? n.dilation,
  };
}

/** Taps of a conv's kernel, kh·kw: each output channel's weights number cin/groups of them. */
export function convTaps(n: SpecOf<'conv'>): number {
  return n.k * (n.kw ?? n.k);
}

/** "3x3/2" (kernel / stride), or "3x3/2x1" where the strides differ: error messages. */
export function convWindowText(n: SpecOf<'conv'>): string {
  const a = convAxes(n);
  return `${a.kh}x${a.kw}/${a.sh === a.sw ? a.sh : `${a.sh}x${a.sw}`}`;
}

function map3(op: string, s: Shape | undefined): Shape3 {
  if (s?.length !== 3) throw new SwapError('E_IR_SHAPE', `${op} expects a 4-D feature map`);
  return s;
}

function sized(op: string, size: Shape3 | undefined): Shape3 {
  if (!size) throw new SwapError('E_IR_SHAPE', `${op} needs an explicit output size`);
  return size;
}

const none = (): number => 0;
const same = (_a: unknown, ins: readonly Shape[]): Shape => ins[0]!;

function poolShape(a: SpecOf<'avgpool' | 'maxpool'>, ins: readonly Shape[]): Shape {
  const [c, h, w] = map3(a.op, ins[0]);
  // PyTorch's rule, which the native engine also holds: every window then overlaps the input
  if (a.pad < 0 || a.pad > a.k / 2)
    throw new SwapError('E_IR_SHAPE', `${a.op} ${a.k}x${a.k} with pad ${a.pad}: the pad must be 0 to half the kernel`);
  const size = a.ceil ? ceilOutSize : outSize;
  return [c, size(h, a.k, a.stride, a.pad), size(w, a.k, a.stride, a.pad)];
}

const input: OpSpec<'input'> = {
  op: 'input',
  opcode: 0,
  native: 'Input',
  arity: 0,
  attrs: [],
  shape: (_a, _ins, size) => sized('input', size),
  params: none,
  macs: none,
  onnx: { export: [], import: [] },
};

const conv: OpSpec<'conv'> = {
  op: 'conv',
  opcode: 1,
  native: 'Conv',
  arity: 1,
  attrs: [
    ['cin', (n) => n.cin],
    ['cout', (n) => n.cout],
    ['k', (n) => n.k],
    ['stride', (n) => n.stride],
    ['pad', (n) => n.pad],
    ['dilation', (n) => n.dilation],
    ['groups', (n) => n.groups],
    ['bias', (n) => n.bias],
    ['kw', (n) => convAxes(n).kw],
    ['strideW', (n) => convAxes(n).sw],
    ['padW', (n) => convAxes(n).pw],
    ['dilationW', (n) => convAxes(n).dw],
    ['padBottom', (n) => convAxes(n).pb],
    ['padRight', (n) => convAxes(n).pr],
    ['transposed', (n) => n.transposed === true],
    ['outPad', (n) => outPads(n)[0]],
    ['outPadW', (n) => outPads(n)[1]],
  ],
  shape: (a, ins) => {
    const [cin, h, w] = map3('conv', ins[0]);
    if (cin !== a.cin) throw new SwapError('E_IR_SHAPE', `conv expects ${a.cin} input channels, got ${cin}`);
    if (cin % a.groups !== 0 || a.cout % a.groups !== 0)
      throw new SwapError('E_IR_SHAPE', `groups ${a.groups} must divide ${cin} and ${a.cout}`);
    const x = convAxes(a);
    // native/ir.cpp's bounds (the WebGPU conv holds a height and a width in one 32-bit uniform word)
    const windows = [x.kh, x.kw, x.sh, x.sw, x.dh, x.dw];
    const pads = [x.ph, x.pw, x.pb, x.pr];
    if (
      !windows.every((v) => Number.isInteger(v) && v >= 1 && v <= 1024) ||
      !pads.every((v) => Number.isInteger(v) && v >= 0 && v <= 1024)
    )
      throw new SwapError(
        'E_IR_SHAPE',
        `conv ${convWindowText(a)}: kernel, stride and dilation must be 1 to 1024, pads 0 to 1024`,
      );
    if (a.transposed) return [a.cout, ...transposedSize(a, h, w)];
    if (a.outPad !== undefined || a.outPadW !== undefined)
      throw new SwapError('E_IR_SHAPE', `conv ${convWindowText(a)}: output padding belongs to a transposed conv`);
    const oh = outSize(h, x.kh, x.sh, x.ph, x.dh, x.pb);
    const ow = outSize(w, x.kw, x.sw, x.pw, x.dw, x.pr);
    if (oh < 1 || ow < 1)
      throw new SwapError('E_IR_SHAPE', `conv ${convWindowText(a)} on ${h}x${w} gives an empty map`);
    return [a.cout, oh, ow];
  },
  // PyTorch's layouts: nn.Conv2d [cout, cin/groups, kh, kw], nn.ConvTranspose2d [cin, cout/groups, kh, kw]
  weight: (a) =>
    a.transposed ? [a.cin, a.cout / a.groups, a.k, convAxes(a).kw] : [a.cout, a.cin / a.groups, a.k, convAxes(a).kw],
  params: (n) => n.cout * (n.cin / n.groups) * convTaps(n) + (n.bias ? n.cout : 0),
  // a transposed conv multiplies each input value by cout/groups · taps weights
  macs: (n) =>
    n.transposed
      ? numel(transposedInput(n)) * (n.cout / n.groups) * convTaps(n)
      : numel(n.shape) * (n.cin / n.groups) * convTaps(n),
  onnx: { export: ['Conv', 'ConvTranspose'], import: ['Conv', 'ConvTranspose'] },
};

/** A conv's output padding (height, width): a transposed conv's `output_padding`, else 0. */
export function outPads(n: SpecOf<'conv'>): readonly [number, number] {
  return [n.outPad ?? 0, n.outPadW ?? n.outPad ?? 0];
}

/**
 * The output size of transposed conv `a` on an h×w map: PyTorch's (h − 1)·s − pad_top − pad_bottom + d·(k − 1) + 1 +
 * output_padding per axis, with the output padding less than the stride (so the adjoint conv, {@link adjointConv},
 * maps that size back to exactly h×w).
 */
function transposedSize(a: SpecOf<'conv'>, h: number, w: number): [number, number] {
  const x = convAxes(a);
  const [oph, opw] = outPads(a);
  if (!(Number.isInteger(oph) && Number.isInteger(opw) && oph >= 0 && opw >= 0 && oph < x.sh && opw < x.sw))
    throw new SwapError(
      'E_IR_SHAPE',
      `transposed conv ${convWindowText(a)}: output padding ${oph}x${opw} must be 0 to the stride less 1 (PyTorch's larger ones, up to the dilation less 1, are not supported)`,
    );
  const oh = (h - 1) * x.sh - x.ph - x.pb + x.dh * (x.kh - 1) + 1 + oph;
  const ow = (w - 1) * x.sw - x.pw - x.pr + x.dw * (x.kw - 1) + 1 + opw;
  if (oh < 1 || ow < 1)
    throw new SwapError('E_IR_SHAPE', `transposed conv ${convWindowText(a)} on ${h}x${w} gives an empty map`);
  return [oh, ow];
}

/** The input map (cin, h, w) of transposed conv `n`, read back from its output's size. */
export function transposedInput(n: SpecOf<'conv'> & { readonly shape: Shape }): Shape3 {
  const x = convAxes(n);
  const [oph, opw] = outPads(n);
  const [, oh, ow] = n.shape as Shape3;
  return [
    n.cin,
    (oh - 1 - oph + x.ph + x.pb - x.dh * (x.kh - 1)) / x.sh + 1,
    (ow - 1 - opw + x.pw + x.pr - x.dw * (x.kw - 1)) / x.sw + 1,
  ];
}

/**
 * The convolution whose adjoint transposed conv `n` is (PyTorch defines ConvTranspose2d so): from `n`'s output map
 * (cout channels) to its input map (cin channels), with `n`'s kernel, stride, dilation, groups and top / left
 * padding; its bottom / right padding is `n`'s less the output padding, never below 0, which gives exactly `n`'s
 * input size (the output padding is less than the stride). Its weight [cout of its own = n.cin, n.cout/groups, kh,
 * kw] is `n`'s, as laid out. Every engine runs a transposed conv through it: forward = its backward-data, backward-data
 * = its forward, weight gradient = its weight gradient with input and output cotangent swapped.
 */
export function adjointConv(n: SpecOf<'conv'>): SpecOf<'conv'> {
  const x = convAxes(n);
  const [oph, opw] = outPads(n);
  return {
    op: 'conv',
    cin: n.cout,
    cout: n.cin,
    k: x.kh,
    kw: x.kw,
    stride: x.sh,
    strideW: x.sw,
    pad: x.ph,
    padW: x.pw,
    padBottom: Math.max(x.pb - oph, 0),
    padRight: Math.max(x.pr - opw, 0),
    dilation: x.dh,
    dilationW: x.dw,
    groups: n.groups,
    bias: false,
  };
}

const bn: OpSpec<'bn'> = {
  op: 'bn',
  opcode: 2,
  native: 'Bn',
  arity: 1,
  // ε travels as the two halves of its float64 bits (high word first), so native kernels use the very value
  attrs: [
    ['affine', (n) => n.affine],
    ['epsHi', (n) => float64Words(bnEps(n))[0]!],
    ['epsLo', (n) => float64Words(bnEps(n))[1]!],
    ['batchStats', (n) => n.batchStats === true],
  ],
  shape: (a, ins) => {
    const eps = bnEps(a);
    if (!(eps > 0 && eps < 1)) throw new SwapError('E_IR_SHAPE', `bn epsilon ${eps} is not in (0, 1)`);
    // a flat input is BatchNorm1d's (N, C)
    return ins[0]?.length === 1 ? ins[0] : map3('bn', ins[0]);
  },
  params: (n) => (n.affine ? 2 * n.shape[0] : 0),
  macs: none,
  // a BN without running statistics writes its batch statistics as torch.onnx does (src/onnx/bn-stats.ts); one
  // without affine parameters its fixed γ, β as Constant nodes
  onnx: {
    export: ['BatchNormalization', 'Reshape', 'Transpose', 'ReduceMean', 'Sub', 'Mul', 'Constant'],
    import: ['BatchNormalization'],
  },
};

const relu: OpSpec<'relu'> = {
  op: 'relu',
  opcode: 3,
  native: 'Relu',
  arity: 1,
  // Recorded (its output feeds the pattern count) exactly when it is plain and acts on a 4-D tensor; `nwot`: how many
  // hooked module calls NASLib's nwot counts (0: not hooked; `calls` of an imported file's twin ReLUs); a capped
  // ReLU's clip and a leaky one's slope travel as a float64's two words each (0
  // when plain; a clip of +∞ for a clamp).
  attrs: [
    ['recorded', (n) => isRecorded(n)],
    ['nwot', (n) => (nwotHooked(n) ? (n.calls ?? 1) : 0)],
    ['maxHi', (n) => float64Words(n.max ?? 0)[0]],
    ['maxLo', (n) => float64Words(n.max ?? 0)[1]],
    ['slopeHi', (n) => float64Words(n.slope ?? 0)[0]],
    ['slopeLo', (n) => float64Words(n.slope ?? 0)[1]],
  ],
  shape: (a, ins) => {
    if (a.max !== undefined && !(a.max > 0))
      throw new SwapError('E_IR_SHAPE', `relu clipped at ${a.max}: the clip must be positive (+∞: a clamp at 0)`);
    // a positive slope keeps the sign, so the gradient is read off the output (a slope of 0 is a plain ReLU)
    if (a.slope !== undefined && !(a.slope > 0 && Number.isFinite(a.slope) && a.max === undefined))
      throw new SwapError(
        'E_IR_SHAPE',
        `leaky relu slope ${a.slope}: only a positive slope, without a clip, has an IR op`,
      );
    if (
      a.learned !== undefined &&
      !(a.slope !== undefined && (a.learned === 0 || a.learned === 1 || a.learned === ins[0]?.[0]))
    )
      throw new SwapError(
        'E_IR_SHAPE',
        `a PReLU's ${a.learned} learned slopes: one, or one per channel, of a leaky relu (0: counted at its first call)`,
      );
    return same(a, ins);
  },
  params: (n) => n.learned ?? 0,
  macs: none,
  onnx: { export: ['Relu', 'Clip', 'LeakyRelu', 'PRelu', 'Constant'], import: ['Relu', 'Clip', 'LeakyRelu', 'PRelu'] },
};

const avgpool: OpSpec<'avgpool'> = {
  op: 'avgpool',
  opcode: 4,
  native: 'AvgPool',
  arity: 1,
  attrs: [
    ['k', (n) => n.k],
    ['stride', (n) => n.stride],
    ['pad', (n) => n.pad],
    ['countIncludePad', (n) => n.countIncludePad],
    ['ceil', (n) => n.ceil === true],
  ],
  shape: poolShape,
  params: none,
  macs: none,
  onnx: { export: ['AveragePool'], import: ['AveragePool'] },
};

const maxpool: OpSpec<'maxpool'> = {
  op: 'maxpool',
  opcode: 5,
  native: 'MaxPool',
  arity: 1,
  attrs: [
    ['k', (n) => n.k],
    ['stride', (n) => n.stride],
    ['pad', (n) => n.pad],
    ['ceil', (n) => n.ceil === true],
  ],
  shape: poolShape,
  params: none,
  macs: none,
  onnx: { export: ['MaxPool'], import: ['MaxPool'] },
};

const add: OpSpec<'add'> = {
  op: 'add',
  opcode: 6,
  native: 'Add',
  arity: 'variadic',
  attrs: [],
  shape: (_a, ins) => {
    if (ins.length === 0) throw new SwapError('E_IR_INPUT', 'add needs at least one input');
    const s = ins[0]!;
    for (const x of ins) {
      if (x.join('x') !== s.join('x'))
        throw new SwapError('E_IR_SHAPE', `add of mismatched shapes ${x.join('x')} vs ${s.join('x')}`);
    }
    return s;
  },
  params: none,
  macs: none,
  // Two inputs export as Add, more as Sum.
  onnx: { export: ['Add', 'Sum'], import: ['Add', 'Sum'] },
};

const concat: OpSpec<'concat'> = {
  op: 'concat',
  opcode: 7,
  native: 'Concat',
  arity: 'variadic',
  attrs: [],
  shape: (_a, ins) => {
    const [, h, w] = map3('concat', ins[0]);
    let c = 0;
    for (const x of ins) {
      const [ci, hi, wi] = map3('concat', x);
      if (hi !== h || wi !== w) throw new SwapError('E_IR_SHAPE', 'concat of mismatched spatial sizes');
      c += ci;
    }
    return [c, h, w];
  },
  params: none,
  macs: none,
  onnx: { export: ['Concat'], import: ['Concat'] },
};

const zero: OpSpec<'zero'> = {
  op: 'zero',
  opcode: 8,
  native: 'Zero',
  arity: 0,
  attrs: [],
  shape: (_a, _ins, size) => sized('zero', size),
  params: none,
  macs: none,
  // No inputs: the batch size comes from the graph input (Shape → Concat → ConstantOfShape); NB201's `none`
  // edge exported by PyTorch is `Mul` by 0.
  onnx: { export: ['Shape', 'Concat', 'ConstantOfShape'], import: ['ConstantOfShape', 'Mul'] },
};

const gap: OpSpec<'gap'> = {
  op: 'gap',
  opcode: 9,
  native: 'Gap',
  arity: 1,
  attrs: [['keep', (n) => n.keep === true]],
  shape: (a, ins) => {
    const c = map3('gap', ins[0])[0];
    return a.keep ? [c, 1, 1] : [c];
  },
  params: none,
  macs: none,
  onnx: {
    export: ['GlobalAveragePool', 'Flatten'],
    import: ['GlobalAveragePool', 'ReduceMean', 'ReduceSum', 'Flatten', 'Reshape', 'Squeeze'],
  },
};

const linear: OpSpec<'linear'> = {
  op: 'linear',
  opcode: 10,
  native: 'Linear',
  arity: 1,
  attrs: [
    ['fin', (n) => n.fin],
    ['fout', (n) => n.fout],
    ['bias', (n) => n.bias],
  ],
  shape: (a, ins) => {
    const s = ins[0];
    if (s?.length !== 1) throw new SwapError('E_IR_SHAPE', 'linear expects a flat input');
    if (s[0] !== a.fin) throw new SwapError('E_IR_SHAPE', `linear expects ${a.fin} features, got ${s[0]}`);
    return [a.fout];
  },
  weight: (a) => [a.fout, a.fin],
  params: (n) => n.fin * n.fout + (n.bias ? n.fout : 0),
  macs: (n) => n.fin * n.fout,
  onnx: { export: ['Gemm'], import: ['Gemm', 'MatMul'] },
};

const slice: OpSpec<'slice'> = {
  op: 'slice',
  opcode: 11,
  native: 'Slice',
  arity: 1,
  // The window's size is the node's shape.
  attrs: [
    ['c0', (n) => n.c0],
    ['h0', (n) => n.h0],
    ['w0', (n) => n.w0],
  ],
  shape: (a, ins, size) => {
    const [C, H, W] = map3('slice', ins[0]);
    const [c, h, w] = sized('slice', size);
    const ok = (o: number, n: number, N: number) =>
      Number.isInteger(o) && Number.isInteger(n) && o >= 0 && n >= 1 && o + n <= N;
    if (!ok(a.c0, c, C) || !ok(a.h0, h, H) || !ok(a.w0, w, W)) {
      throw new SwapError('E_IR_SHAPE', `slice ${a.c0}+${c}, ${a.h0}+${h}, ${a.w0}+${w} does not fit ${C}x${H}x${W}`);
    }
    return [c, h, w];
  },
  params: none,
  macs: none,
  onnx: { export: ['Slice'], import: ['Slice', 'Split'] },
};

// A map read flat, as `torch.flatten(x, 1)` (NCHW is already the flat order, so kernels copy): a LeNet / VGG head.
const flatten: OpSpec<'flatten'> = {
  op: 'flatten',
  opcode: 12,
  native: 'Flatten',
  arity: 1,
  attrs: [],
  shape: (_a, ins) => [numel(map3('flatten', ins[0]))],
  params: none,
  macs: none,
  // imported from the Flatten / Reshape nodes the `gap` entry lists (which of the two a node is depends on the map:
  // a C×1×1 map's flatten is its global average, so it comes back as `gap`)
  onnx: { export: ['Flatten'], import: [] },
};

// ShuffleNet's channel shuffle (a permutation of the channels: kernels copy planes)
const shuffle: OpSpec<'shuffle'> = {
  op: 'shuffle',
  opcode: 13,
  native: 'Shuffle',
  arity: 1,
  attrs: [['groups', (n) => n.groups]],
  shape: (a, ins) => {
    const [c, h, w] = map3('shuffle', ins[0]);
    if (!(Number.isInteger(a.groups) && a.groups >= 2 && c % a.groups === 0))
      throw new SwapError('E_IR_SHAPE', `channel shuffle of ${c} channels in ${a.groups} groups`);
    return [c, h, w];
  },
  params: none,
  macs: none,
  // view(N, g, C/g, H, W) → transpose(1, 2) → view(N, C, H, W); the Reshapes are the `gap` entry's
  onnx: { export: ['Reshape', 'Transpose'], import: ['Transpose'] },
};

// A sigmoid gate, logistic or hard (SiLU, Hardswish and squeeze-and-excitation blocks), on maps or flat features
const sigmoid: OpSpec<'sigmoid'> = {
  op: 'sigmoid',
  opcode: 14,
  native: 'Sigmoid',
  arity: 1,
  attrs: [['hard', (n) => n.hard === true]],
  shape: same,
  params: none,
  macs: none,
  // ONNX HardSwish (opset 14 and later: nn.Hardswish in one node) imports as x times its hard sigmoid
  onnx: { export: ['Sigmoid', 'HardSigmoid'], import: ['Sigmoid', 'HardSigmoid', 'HardSwish'] },
};

// A (log-)softmax over a flat tensor's features, per sample (a classifier's last op)
const softmax: OpSpec<'softmax'> = {
  op: 'softmax',
  opcode: 17,
  native: 'Softmax',
  arity: 1,
  attrs: [['log', (n) => n.log === true]],
  shape: (_a, ins) => {
    const s = ins[0]!;
    if (s.length !== 1) throw new SwapError('E_IR_SHAPE', `softmax over a flat tensor's features, got ${s.join('x')}`);
    return s;
  },
  params: none,
  macs: none,
  onnx: { export: ['Softmax', 'LogSoftmax'], import: ['Softmax', 'LogSoftmax'] },
};

// Group normalisation per sample (nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm on flat features): ε as BN's
const gn: OpSpec<'gn'> = {
  op: 'gn',
  opcode: 18,
  native: 'GroupNorm',
  arity: 1,
  attrs: [
    ['groups', (n) => n.groups],
    ['affine', (n) => n.affine],
    ['epsHi', (n) => float64Words(bnEps(n))[0]!],
    ['epsLo', (n) => float64Words(bnEps(n))[1]!],
    ['pixelwise', (n) => n.pixelwise === true],
  ],
  shape: (a, ins) => {
    const eps = bnEps(a);
    if (!(eps > 0 && eps < 1)) throw new SwapError('E_IR_SHAPE', `gn epsilon ${eps} is not in (0, 1)`);
    const s = ins[0]!;
    if (a.pixelwise && (s.length !== 3 || a.groups !== 1))
      throw new SwapError('E_IR_SHAPE', 'a pixelwise gn (a LayerNorm over channels) needs a feature map and 1 group');
    const c = s[0]!;
    if (!Number.isInteger(a.groups) || a.groups < 1 || c % a.groups !== 0)
      throw new SwapError('E_IR_SHAPE', `gn of ${c} channels in ${a.groups} groups: the groups must divide them`);
    return s.length === 1 ? s : map3('gn', s);
  },
  params: (n) => (n.affine ? 2 * n.shape[0] : 0),
  macs: none,
  // torch.onnx's nn.GroupNorm (opset < 18): Reshape to (N, G, -1), InstanceNormalization, Reshape back, γ, β
  onnx: {
    export: ['Reshape', 'InstanceNormalization', 'Shape', 'Mul', 'Add', 'Constant', 'Transpose', 'LayerNormalization'],
    import: ['InstanceNormalization', 'LayerNormalization'],
  },
};

// The product of two same-shape tensors, or of a map and its C×1×1 channel gate (broadcast over the plane)
const mul: OpSpec<'mul'> = {
  op: 'mul',
  opcode: 15,
  native: 'Mul',
  arity: 2,
  attrs: [],
  shape: (_a, ins) => {
    const [a, g] = [ins[0]!, ins[1]!];
    const gate = a.length === 3 && g.length === 3 && g[0] === a[0] && g[1] === 1 && g[2] === 1;
    if (!gate && a.join('x') !== g.join('x'))
      throw new SwapError(
        'E_IR_SHAPE',
        `mul of ${a.join('x')} by ${g.join('x')}: the same shape, or a map by its channel gate`,
      );
    return a;
  },
  params: none,
  macs: none,
  // `Mul` by a constant 0 is the `zero` op's (NB201's none): one importer tells them apart
  onnx: { export: ['Mul'], import: ['Mul'] },
};

// A smooth activation (GELU, Tanh, ELU, SELU, Softplus, Mish: src/ir/activations.ts), one module per node, or
// arithmetic with a scalar constant (x·c, x / c, x + c: imported from Mul, Div, Add, Sub and Neg), a function
const act: OpSpec<'act'> = {
  op: 'act',
  opcode: 16,
  native: 'Act',
  arity: 1,
  // the function's index in ACT_FNS; ELU's α as a float64's two words (1 when absent); `nwot` when NASLib's nwot
  // hooks it (an nn.PReLU: it reads the input's signs)
  attrs: [
    ['fn', (n) => ACT_FNS.indexOf(n.fn)],
    ['alphaHi', (n) => float64Words(n.alpha ?? 1)[0]],
    ['alphaLo', (n) => float64Words(n.alpha ?? 1)[1]],
    ['nwot', (n) => nwotHooked(n)],
  ],
  // the per-channel constants, two words each
  tail: (n) => (n.alphas ?? []).flatMap(float64Words),
  shape: (a, ins) => {
    if (!ACT_FNS.includes(a.fn))
      throw new SwapError('E_IR_SHAPE', `act: unknown function ${String(a.fn).slice(0, 20)}`);
    if (a.alpha !== undefined && !actAlphaFits(a.fn, a.alpha))
      throw new SwapError(
        'E_IR_SHAPE',
        `act ${a.fn} with alpha ${a.alpha}: only ELU and CELU (positive), PReLU and the arithmetic (finite; a divisor not 0) take one`,
      );
    if (a.alphas !== undefined) checkChannelAlphas(a.fn, a.alpha, a.alphas, ins[0]!);
    if (a.functional && a.fn !== 'prelu')
      throw new SwapError('E_IR_SHAPE', `act ${a.fn}: only a PReLU is marked functional`);
    if (a.learned !== undefined && a.fn !== 'prelu' && !isArithmetic(a.fn))
      throw new SwapError('E_IR_SHAPE', `act ${a.fn}: only a PReLU's slopes and an arithmetic's constant are learned`);
    const slopes = a.alphas?.length ?? 1;
    if (a.learned !== undefined && a.learned !== 0 && a.learned !== slopes)
      throw new SwapError('E_IR_SHAPE', `act ${a.fn}: ${a.learned} learned constants of ${slopes}: all of them, or 0`);
    return same(a, ins);
  },
  // an nn.PReLU's slopes, and an arithmetic constant that is an nn.Parameter, are parameters (at the first read)
  params: (n) => n.learned ?? 0,
  macs: none,
  // GELU as torch.onnx writes it (x·(1 + Erf(x/√2))·½) and opset 20's Gelu; Mish as Softplus, Tanh, Mul, or opset 18's;
  // the arithmetic as Mul / Div / Add by a Constant (Mul and Add import through the mul and add entries); 1 / x as
  // Reciprocal, and a Div by a tensor as its product with it; Pow(x, 2) imports as x·x (a mul)
  onnx: {
    export: ['Tanh', 'Elu', 'Selu', 'Softplus', 'Div', 'Erf', 'Add', 'Mul', 'Constant', 'PRelu', 'Celu', 'Reciprocal'],
    import: ['Tanh', 'Elu', 'Selu', 'Softplus', 'Gelu', 'Mish', 'Neg', 'Sub', 'Div', 'Celu', 'Reciprocal', 'Pow'],
  },
};

/** Per-channel constants: arithmetic or PReLU only, one per channel, each one that fits (E_IR_SHAPE otherwise). */
function checkChannelAlphas(fn: ActFn, alpha: number | undefined, alphas: readonly number[], x: Shape): void {
  const perChannel = isArithmetic(fn) || fn === 'prelu';
  if (!perChannel || alpha !== undefined || alphas.length !== x[0] || !alphas.every((a) => actAlphaFits(fn, a)))
    throw new SwapError(
      'E_IR_SHAPE',
      `act ${fn} with ${alphas.length} per-channel constants on ${x.join('x')}: arithmetic or PReLU only, one finite constant per channel (a divisor not 0)`,
    );
}

/**
 * Whether function `fn` takes the constant `alpha`: ELU's or CELU's positive α, a PReLU's finite slope, or the
 * arithmetic's finite constant (a divisor ≠ 0).
 */
function actAlphaFits(fn: ActFn, alpha: number): boolean {
  if (!Number.isFinite(alpha)) return false;
  if (fn === 'elu' || fn === 'celu') return alpha > 0;
  return fn === 'prelu' || (isArithmetic(fn) && (fn !== 'divide' || alpha !== 0));
}

/** A sigmoid gate's value: logistic, or hard (PyTorch's hardsigmoid: 0 below −3, 1 above 3, x/6 + 1/2 between). */
export function sigmoidValue(x: number, hard: boolean | undefined): number {
  if (!hard) return 1 / (1 + Math.exp(-x));
  return x <= -3 ? 0 : x >= 3 ? 1 : x / 6 + 0.5;
}

/**
 * A sigmoid gate's derivative from its output y: y(1 − y) for the logistic, 1/6 for the hard one where it is not
 * saturated (0 < y < 1, i.e. −3 < x < 3: PyTorch's hardsigmoid_backward), else 0.
 */
export function sigmoidSlope(y: number, hard: boolean | undefined): number {
  if (!hard) return y * (1 - y);
  return y > 0 && y < 1 ? 1 / 6 : 0;
}

/**
 * The input channel that output channel `c` of a channel shuffle reads (`groups` groups of C/groups channels):
 * output j·groups + i is input i·C/groups + j.
 */
export function shuffleSource(c: number, groups: number, channels: number): number {
  return (c % groups) * (channels / groups) + Math.floor(c / groups);
}

/** The op table, by op name. */
// Nearest-neighbour upsampling by an integer factor (kernels copy each input value to its s×s block)
const upsample: OpSpec<'upsample'> = {
  op: 'upsample',
  opcode: 19,
  native: 'Upsample',
  arity: 1,
  attrs: [
    ['scale', (n) => n.scale],
    ['bilinear', (n) => n.bilinear !== undefined],
    ['outH', (n) => n.bilinear?.h ?? 0],
    ['outW', (n) => n.bilinear?.w ?? 0],
    ['alignCorners', (n) => n.bilinear?.alignCorners === true],
  ],
  shape: (a, ins) => {
    const [c, h, w] = map3('upsample', ins[0]);
    if (a.bilinear) {
      const { h: oh, w: ow } = a.bilinear;
      if (a.scale !== 1 || ![oh, ow].every((v) => Number.isInteger(v) && v >= 1 && v <= 64 * Math.max(h, w)))
        throw new SwapError('E_IR_SHAPE', `bilinear resize to ${oh}x${ow}: 1 to 64 times the map's larger side`);
      return [c, oh, ow];
    }
    if (!(Number.isInteger(a.scale) && a.scale >= 2 && a.scale <= 64))
      throw new SwapError('E_IR_SHAPE', `upsample by ${a.scale}: an integer factor from 2 to 64`);
    return [c, h * a.scale, w * a.scale];
  },
  params: none,
  macs: none,
  // nn.Upsample / F.interpolate, modes 'nearest' and 'bilinear' (opset 11 and later: Resize with `scales` or `sizes`)
  onnx: { export: ['Constant', 'Resize', 'Shape', 'Slice', 'Concat'], import: ['Resize'] },
};

/**
 * One axis of PyTorch's bilinear resize (upsample_bilinear2d) from `n` to `out` positions: output i reads inputs
 * `i0[i]` and `i1[i]` with weights 1 − `l[i]` and `l[i]`. The source coordinate is i·(n − 1)/(out − 1) with
 * `alignCorners`, else (i + ½)·n/out − ½ clamped at 0; i1 is i0 + 1 but at the last input. The native passes compute
 * the same table (bilinearAxis in native/ir.h).
 */
export function bilinearAxis(
  n: number,
  out: number,
  alignCorners: boolean,
): { i0: Int32Array; i1: Int32Array; l: Float64Array } {
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const l = new Float64Array(out);
  for (let i = 0; i < out; i++) {
    const src = alignCorners ? (out > 1 ? (i * (n - 1)) / (out - 1) : 0) : Math.max(((i + 0.5) * n) / out - 0.5, 0);
    i0[i] = Math.min(Math.floor(src), n - 1);
    i1[i] = Math.min(i0[i]! + 1, n - 1);
    l[i] = src - i0[i]!;
  }
  return { i0, i1, l };
}

// The mean or the maximum over a map's channels (CBAM's spatial attention pools), a 1×H×W map
const chanpool: OpSpec<'chanpool'> = {
  op: 'chanpool',
  opcode: 20,
  native: 'ChanPool',
  arity: 1,
  attrs: [['max', (n) => n.max === true]],
  shape: (_a, ins) => {
    const [, h, w] = map3('chanpool', ins[0]);
    return [1, h, w];
  },
  params: none,
  macs: none,
  onnx: { export: ['ReduceMean', 'ReduceMax'], import: ['ReduceMax'] },
};

// The same values read with another per-sample shape (NCHW order kept, so kernels copy): flat features as a C×1×1
// map (an nn.Linear gate), a C×1×1 map as 1×C×1 for a 1-D convolution over its channels and back (ECA)
const view: OpSpec<'view'> = {
  op: 'view',
  opcode: 21,
  native: 'View',
  arity: 1,
  // The target shape is the node's shape.
  attrs: [],
  shape: (_a, ins, size) => {
    const to = sized('view', size);
    if (!ins[0] || numel(ins[0]) !== numel(to))
      throw new SwapError('E_IR_SHAPE', `view of ${ins[0]?.join('x') ?? 'nothing'} as ${to.join('x')}: another size`);
    return to;
  },
  params: none,
  macs: none,
  // `view(b, c, 1, 1)` / `unsqueeze(2).unsqueeze(3)`, ECA's `squeeze(-1).transpose(-1, -2)`
  onnx: { export: ['Reshape'], import: ['Unsqueeze', 'Transpose'] },
};

// A map broadcast along its unit axes to the node's shape (`expand_as`; the broadcast of an Add, Sub or Mul): each
// output reads the input at its own index, 0 along an axis of size 1 (BAM's gates, SimAM's mean)
const expand: OpSpec<'expand'> = {
  op: 'expand',
  opcode: 22,
  native: 'Expand',
  arity: 1,
  // The target shape is the node's shape.
  attrs: [],
  shape: (_a, ins, size) => {
    const x = map3('expand', ins[0]);
    const to = sized('expand', size);
    if (!x.every((d, i) => d === to[i] || d === 1))
      throw new SwapError('E_IR_SHAPE', `expand of ${x.join('x')} to ${to.join('x')}: only axes of size 1 broadcast`);
    return to;
  },
  params: none,
  macs: none,
  // Expand (an Add's, Sub's or Mul's broadcast of maps imports through those entries)
  onnx: { export: ['Expand'], import: ['Expand'] },
};

export const OPS: { readonly [K in OpName]: OpSpec<K> } = {
  input,
  conv,
  bn,
  relu,
  avgpool,
  maxpool,
  add,
  concat,
  zero,
  gap,
  linear,
  slice,
  flatten,
  shuffle,
  sigmoid,
  mul,
  act,
  softmax,
  gn,
  upsample,
  chanpool,
  view,
  expand,
};

/** Every op, in opcode order. */
export const OP_LIST: readonly OpSpec<OpName>[] = (Object.values(OPS) as unknown as OpSpec<OpName>[]).sort(
  (a, b) => a.opcode - b.opcode,
);

/** The spec of one op with its hooks widened to any node (the table guarantees each hook sees its own op). */
export function opSpec(op: OpName): OpSpec<OpName> {
  return OPS[op] as unknown as OpSpec<OpName>;
}

/** Output shape of a node with attributes `a` on inputs of shapes `ins` (see {@link OpSpec.shape}). */
export function inferShape(a: LayerSpec, ins: readonly Shape[], size?: Shape3): Shape {
  return opSpec(a.op).shape(a, ins, size);
}

/** The attribute words of a node, in program order. */
export function encodeAttrs(n: IRNode): number[] {
  const spec = opSpec(n.op);
  return [...spec.attrs.map(([, get]) => Number(get(n))), ...(spec.tail?.(n) ?? [])];
}

/** Dims of a node's PRNG weight tensor (PyTorch layout), or undefined when it has none. */
export function weightDims(n: LayerSpec): readonly number[] | undefined {
  return opSpec(n.op).weight?.(n);
}

/** Element count of a node's PRNG weight tensor (0 when it has none). */
export function weightCount(n: LayerSpec): number {
  const d = weightDims(n);
  return d ? numel(d) : 0;
}

/** A ReLU is recorded when it acts on a 4-D (N, C, H, W) tensor, as in the official hooks. */
export function isRecorded(n: IRNode): boolean {
  return n.op === 'relu' && n.shape.length === 3 && n.max === undefined && n.slope === undefined;
}
