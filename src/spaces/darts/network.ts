import { GraphBuilder } from '../../ir/builder.js';
import type { Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { formatDarts, type DartsCell, type DartsGenotype, type DartsOp } from './genotype.js';
import { quote } from '../../util/quote.js';

/**
 * Which DARTS macro network to build around a genotype:
 * - `proxy`: the official SWAP scoring network (`Network(C, num_classes, layers)` of the SWAP repository): no stem,
 *   the first cell's two inputs are both the (normalised) image. With the defaults (C=3, one cell) that single cell
 *   is a reduction cell at 2C=6 channels, giving a 24×16×16 output on 32×32 inputs.
 * - `cifar`: DARTS' `NetworkCIFAR` evaluation network (stem conv3×3 3→3C + BN, 20 cells at C=36).
 * - `imagenet`: DARTS' `NetworkImageNet` mobile-setting network (two stride-2 stems, 14 cells at C=48, 224×224).
 * - `pair`, `ladder`, `stack`: scoring networks of the proxy-network studies ({@link DARTS_PAIR_NETWORK},
 *   {@link DARTS_LADDER_NETWORK}, {@link DARTS_STACK_NETWORK}).
 * In every kind the auxiliary head is not built (DARTS excludes it from the parameter count), cells at positions
 * ⌊cells/3⌋ and ⌊2·cells/3⌋ are reduction cells that double C, and the head is global average pool + Linear.
 */
export type DartsNetworkKind = 'proxy' | 'pair' | 'cifar' | 'imagenet' | 'ladder' | 'stack';
export const DARTS_NETWORK_KINDS: readonly DartsNetworkKind[] = Object.freeze([
  'proxy',
  'pair',
  'cifar',
  'imagenet',
  'ladder',
  'stack',
]);

/** Options of the DARTS macro networks; `channels` and `cells` mean C and the number of cells for every kind. */
export interface DartsNetworkOptions {
  readonly kind: DartsNetworkKind;
  /**
   * C: channels of the first cell's nodes (doubled at each reduction cell; the proxy's single cell uses 2C). In the
   * proxy the first cell's 1×1 preprocess convs read the image directly, so their input channels are
   * `inputChannels` whatever C is (SWAP's code only runs with C = 3 = image channels).
   */
  readonly channels: number;
  /** Number of cells ("layers"). */
  readonly cells: number;
  /** Classifier outputs. The classifier only adds to Θ; no recorded ReLU depends on it. */
  readonly classes: number;
  /** Input height = width. */
  readonly inputSize: number;
  readonly inputChannels: number;
  /** `stack` only: C of its pair (default `channels`). */
  readonly pairChannels?: number;
}

/** SWAP's official DARTS scoring network (algorithms.md §1.5): `Network(C=3, num_classes=10, layers=1)`, 32×32 input. */
export const DARTS_PROXY_NETWORK: Readonly<DartsNetworkOptions> = Object.freeze({
  kind: 'proxy',
  channels: 3,
  cells: 1,
  classes: 10,
  inputSize: 32,
  inputChannels: 3,
});
/**
 * Both cells of a genotype side by side, each reading the image as the official proxy's single cell does (no stem):
 * the normal cell at C (stride 1) and the reduction cell at 2C (stride 2), each globally pooled, concatenated into
 * one classifier. `cells` is 2 (the pair).
 */
export const DARTS_PAIR_NETWORK: Readonly<DartsNetworkOptions> = Object.freeze({
  kind: 'pair',
  channels: 3,
  cells: 2,
  classes: 10,
  inputSize: 32,
  inputChannels: 3,
});
/** DARTS' CIFAR-10 evaluation network: C=36, 20 cells (auxiliary head not built). */
export const DARTS_CIFAR_NETWORK: Readonly<DartsNetworkOptions> = Object.freeze({
  kind: 'cifar',
  channels: 36,
  cells: 20,
  classes: 10,
  inputSize: 32,
  inputChannels: 3,
});
/** DARTS' ImageNet (mobile setting) evaluation network: C=48, 14 cells, 224×224, 1000 classes. */
export const DARTS_IMAGENET_NETWORK: Readonly<DartsNetworkOptions> = Object.freeze({
  kind: 'imagenet',
  channels: 48,
  cells: 14,
  classes: 1000,
  inputSize: 224,
  inputChannels: 3,
});

/**
 * A study network (docs/ranking-study.md, issue 14), not a default: no stem, `cells` cells as in `cifar`, but cell k
 * reads the image (3×3 stride-2 average-pooled to its input resolution) in place of cell k−2's output, and cell k−1.
 */
export const DARTS_LADDER_NETWORK: Readonly<DartsNetworkOptions> = Object.freeze({
  kind: 'ladder',
  channels: 3,
  cells: 5,
  classes: 10,
  inputSize: 32,
  inputChannels: 3,
});
/**
 * A study network (docs/ranking-study.md, issue 14), not a default: the `cifar` network (stem, C, `cells`) and the
 * `pair` (at `pairChannels`, default C) side by side on the image, their logits summed (one bias).
 */
export const DARTS_STACK_NETWORK: Readonly<DartsNetworkOptions> = Object.freeze({
  kind: 'stack',
  channels: 4,
  cells: 5,
  classes: 10,
  inputSize: 32,
  inputChannels: 3,
});

/** Defaults per kind; options given to {@link buildDartsNetwork} override the defaults of their `kind`. */
export const DARTS_NETWORK_DEFAULTS: Readonly<Record<DartsNetworkKind, Readonly<DartsNetworkOptions>>> = Object.freeze({
  proxy: DARTS_PROXY_NETWORK,
  pair: DARTS_PAIR_NETWORK,
  cifar: DARTS_CIFAR_NETWORK,
  imagenet: DARTS_IMAGENET_NETWORK,
  ladder: DARTS_LADDER_NETWORK,
  stack: DARTS_STACK_NETWORK,
});

/** Indices of the reduction cells among `cells` cells: ⌊cells/3⌋ and ⌊2·cells/3⌋ (one cell when they coincide). */
export function dartsReductionCells(cells: number): number[] {
  return [...new Set([Math.floor(cells / 3), Math.floor((2 * cells) / 3)])].filter((i) => i < cells);
}

/** ReLU → conv k×k (no bias) → BN(affine): DARTS' `ReLUConvBN`. */
function reluConvBn(b: GraphBuilder, x: number, cout: number, k: number, stride: number, pad: number): number {
  return b.bn(b.conv(b.relu(x), cout, k, { stride, pad }));
}

/**
 * DARTS' `FactorizedReduce`: ReLU, then a 1×1 stride-2 conv on x (⌊C/2⌋ outputs) and another on x[:, :, 1:, 1:]
 * (the other ⌈C/2⌉), concatenated, then BN. On an odd-sized map the two halves would disagree in size (DARTS fails
 * there); SWAP's copy pads one zero row/column at the bottom/right before the shift, which is what happens here:
 * the second conv then runs with padding 1 and its output is shifted by one pixel instead (same values; its MAC
 * count includes one discarded row and column). For even sizes both forms are DARTS' exactly, and the plain
 * shift-then-conv is used.
 */
export function factorizedReduce(b: GraphBuilder, x: number, cout: number): number {
  const [, h, w] = b.shape3(x);
  const r = b.relu(x);
  const half = Math.floor(cout / 2);
  if (half < 1) throw new SwapError('E_OPTION', `FactorizedReduce needs at least 2 output channels, got ${cout}`);
  const a = b.conv(r, half, 1, { stride: 2, pad: 0 });
  const [, oh, ow] = b.shape3(a);
  let c: number;
  if (h % 2 === 0 && w % 2 === 0) {
    c = b.conv(b.slice(r, { h0: 1, w0: 1 }), cout - half, 1, { stride: 2, pad: 0 });
  } else {
    c = b.slice(b.conv(r, cout - half, 1, { stride: 2, pad: 1 }), { h0: 1, w0: 1, h: oh, w: ow });
  }
  return b.bn(b.concat([a, c]));
}

/** Separable conv as in DARTS: (ReLU, depthwise k×k, pointwise 1×1, BN) twice; only the first depthwise strides. */
function sepConv(b: GraphBuilder, x: number, c: number, k: number, stride: number): number {
  const pad = (k - 1) / 2;
  let y = b.conv(b.relu(x), c, k, { stride, pad, groups: c });
  y = b.bn(b.conv(y, c, 1, { pad: 0 }));
  y = b.conv(b.relu(y), c, k, { stride: 1, pad, groups: c });
  return b.bn(b.conv(y, c, 1, { pad: 0 }));
}

/** Dilated separable conv as in DARTS: ReLU, depthwise k×k dilation 2 (pad 2 / 4), pointwise 1×1, BN. */
function dilConv(b: GraphBuilder, x: number, c: number, k: number, stride: number): number {
  const y = b.conv(b.relu(x), c, k, { stride, pad: k - 1, dilation: 2, groups: c });
  return b.bn(b.conv(y, c, 1, { pad: 0 }));
}

/**
 * One edge op on `x` (C channels) with the given stride; `undefined` for `none` (a zero term, dropped from the sum).
 * Pools carry no BN: DARTS adds BN after pools only in its search network (`MixedOp`), not in the evaluation cells.
 */
function edgeOp(b: GraphBuilder, op: DartsOp, x: number, c: number, stride: number): number | undefined {
  switch (op) {
    case 'none':
      return undefined;
    case 'skip_connect':
      return stride === 1 ? x : factorizedReduce(b, x, c);
    case 'max_pool_3x3':
      return b.maxpool(x, 3, stride, 1);
    case 'avg_pool_3x3':
      return b.avgpool(x, 3, stride, 1, false);
    case 'sep_conv_3x3':
      return sepConv(b, x, c, 3, stride);
    case 'sep_conv_5x5':
      return sepConv(b, x, c, 5, stride);
    case 'dil_conv_3x3':
      return dilConv(b, x, c, 3, stride);
    case 'dil_conv_5x5':
      return dilConv(b, x, c, 5, stride);
  }
}

/**
 * One DARTS cell: preprocess0 (FactorizedReduce after a reduction cell, else ReLU-conv1×1-BN) and preprocess1
 * (ReLU-conv1×1-BN) to C channels; node i = sum of its two edges (stride 2 on edges from nodes 0/1 in a reduction
 * cell); output = concatenation of the `concat` nodes.
 */
function cell(
  b: GraphBuilder,
  s0: number,
  s1: number,
  cellOps: DartsCell,
  concat: readonly number[],
  c: number,
  reduction: boolean,
  reductionPrev: boolean,
): number {
  const p0 = reductionPrev ? factorizedReduce(b, s0, c) : reluConvBn(b, s0, c, 1, 1, 0);
  const p1 = reluConvBn(b, s1, c, 1, 1, 0);
  const states = [p0, p1];
  for (let k = 0; k < cellOps.length; k += 2) {
    const terms: number[] = [];
    for (const [op, src] of [cellOps[k]!, cellOps[k + 1]!]) {
      const stride = reduction && src < 2 ? 2 : 1;
      const t = edgeOp(b, op, states[src]!, c, stride);
      if (t !== undefined) terms.push(t);
    }
    if (terms.length > 0) {
      states.push(b.add(terms));
    } else {
      // Both edges `none`: zeros at the node's resolution (DARTS' Zero keeps x[:, :, ::stride, ::stride]'s shape).
      const [, h, w] = b.shape3(p1);
      states.push(b.zero(reduction ? [c, Math.ceil(h / 2), Math.ceil(w / 2)] : [c, h, w]));
    }
  }
  return b.concat(concat.map((i) => states[i]!));
}

/**
 * The two cells of the `pair` network on `x`, each globally pooled and mapped to `classes`: a linear map of the
 * concatenated pooled features, written as the sum of one linear map per cell (one bias, on the first).
 */
function pairHeads(b: GraphBuilder, g: DartsGenotype, x: number, c: number, classes: number, bias: boolean): number[] {
  const normal = cell(b, x, x, g.normal, g.normalConcat, c, false, false);
  const reduce = cell(b, x, x, g.reduce, g.reduceConcat, 2 * c, true, false);
  return [b.linear(b.gap(normal), classes, bias), b.linear(b.gap(reduce), classes, false)];
}

function finish(b: GraphBuilder, g: DartsGenotype, o: DartsNetworkOptions, logits: number): Network {
  const { kind, channels, cells, classes, inputSize } = o;
  return b.finish(logits, { space: 'darts', arch: formatDarts(g), kind, channels, cells, classes, inputSize });
}

/** The `pair` network ({@link DARTS_PAIR_NETWORK}). */
function buildPair(g: DartsGenotype, o: DartsNetworkOptions): Network {
  const b = new GraphBuilder([o.inputChannels, o.inputSize, o.inputSize]);
  return finish(b, g, o, b.add(pairHeads(b, g, b.input, o.channels, o.classes, true)));
}

/**
 * A chain of `o.cells` cells from (s0, s1) (reductions at {@link dartsReductionCells}, C doubling there); `side`,
 * when given, replaces each cell's first input by a map at that cell's input resolution. Returns the last output.
 */
function chain(
  b: GraphBuilder,
  g: DartsGenotype,
  o: DartsNetworkOptions,
  start: [number, number, boolean],
  side?: (res: number) => number,
): number {
  let [s0, s1, reductionPrev] = start;
  const reductions = new Set(dartsReductionCells(o.cells));
  let c = o.channels;
  for (let i = 0; i < o.cells; i++) {
    const reduction = reductions.has(i);
    if (reduction) c *= 2;
    if (side) {
      s0 = side(b.shape3(s1)[1]);
      reductionPrev = false;
    }
    const out = reduction
      ? cell(b, s0, s1, g.reduce, g.reduceConcat, c, true, reductionPrev)
      : cell(b, s0, s1, g.normal, g.normalConcat, c, false, reductionPrev);
    s0 = s1;
    s1 = out;
    reductionPrev = reduction;
  }
  return s1;
}

/** The `ladder` network ({@link DARTS_LADDER_NETWORK}). */
function buildLadder(g: DartsGenotype, o: DartsNetworkOptions): Network {
  const b = new GraphBuilder([o.inputChannels, o.inputSize, o.inputSize]);
  const images = new Map<number, number>([[o.inputSize, b.input]]);
  // 3×3 stride-2 average pools (padding not counted): ⌈r/2⌉, the size a reduction cell's stride-2 ops give.
  const image = (res: number): number => {
    for (let r = o.inputSize; r > res; r = Math.ceil(r / 2))
      if (!images.has(Math.ceil(r / 2))) images.set(Math.ceil(r / 2), b.avgpool(images.get(r)!, 3, 2, 1, false));
    return images.get(res)!;
  };
  const last = chain(b, g, o, [b.input, b.input, false], image);
  return finish(b, g, o, b.linear(b.gap(last), o.classes, true));
}

/** The `stack` network ({@link DARTS_STACK_NETWORK}). */
function buildStack(g: DartsGenotype, o: DartsNetworkOptions): Network {
  const b = new GraphBuilder([o.inputChannels, o.inputSize, o.inputSize]);
  const heads = pairHeads(b, g, b.input, o.pairChannels ?? o.channels, o.classes, false);
  const stem = b.bn(b.conv(b.input, 3 * o.channels, 3, { pad: 1 }));
  const last = chain(b, g, o, [stem, stem, false]);
  return finish(b, g, o, b.add([b.linear(b.gap(last), o.classes, true), ...heads]));
}

function resolveOptions(opts: Partial<DartsNetworkOptions>): DartsNetworkOptions {
  const kind = opts.kind ?? 'proxy';
  if (!(DARTS_NETWORK_KINDS as readonly string[]).includes(kind)) {
    throw new SwapError(
      'E_OPTION',
      `unknown DARTS network kind ${quote(kind)} (expected ${DARTS_NETWORK_KINDS.join(', ')})`,
    );
  }
  const given = Object.fromEntries(
    Object.entries(opts).filter(([, v]) => v !== undefined),
  ) as Partial<DartsNetworkOptions>;
  const o = { ...DARTS_NETWORK_DEFAULTS[kind], ...given, kind };
  for (const k of ['channels', 'cells', 'classes', 'inputSize', 'inputChannels'] as const) {
    const v = o[k];
    if (!Number.isInteger(v) || v < 1)
      throw new SwapError('E_OPTION', `DARTS network option ${k} must be a positive integer, got ${v}`);
  }
  if (o.pairChannels !== undefined && !(Number.isInteger(o.pairChannels) && o.pairChannels >= 1))
    throw new SwapError(
      'E_OPTION',
      `DARTS network option pairChannels must be a positive integer, got ${o.pairChannels}`,
    );
  if (o.kind === 'pair' && o.cells !== 2)
    throw new SwapError('E_OPTION', `the DARTS pair network has exactly 2 cells, got cells=${o.cells}`);
  if (o.kind === 'imagenet' && o.channels < 2)
    throw new SwapError('E_OPTION', `the DARTS ImageNet stem needs channels >= 2, got ${o.channels}`);
  return o;
}

/**
 * Build a DARTS-space network for genotype `g` (see {@link DartsNetworkKind}); missing options take the defaults of
 * their kind (`proxy` when no kind is given). Ops follow DARTS' `operations.py` with affine BN; a ReLU applied to
 * one tensor by several ops is one recorded node (Ψ is unchanged). The ImageNet head's `AvgPool2d(7)` is a global
 * average pool (identical on the 7×7 map of a 224×224 input). Throws `E_OPTION` for bad options and `E_IR_SHAPE`
 * when the input is too small for the network's strides.
 */
export function buildDartsNetwork(g: DartsGenotype, opts: Partial<DartsNetworkOptions> = {}): Network {
  const o = resolveOptions(opts);
  if (o.kind === 'pair') return buildPair(g, o);
  if (o.kind === 'ladder') return buildLadder(g, o);
  if (o.kind === 'stack') return buildStack(g, o);
  const b = new GraphBuilder([o.inputChannels, o.inputSize, o.inputSize]);
  let s0: number;
  let s1: number;
  let reductionPrev = false;
  if (o.kind === 'proxy') {
    s0 = s1 = b.input;
  } else if (o.kind === 'cifar') {
    s0 = s1 = b.bn(b.conv(b.input, 3 * o.channels, 3, { pad: 1 }));
  } else {
    const half = Math.floor(o.channels / 2);
    s0 = b.bn(
      b.conv(b.relu(b.bn(b.conv(b.input, half, 3, { stride: 2, pad: 1 }))), o.channels, 3, { stride: 2, pad: 1 }),
    );
    s1 = reluConvBn(b, s0, o.channels, 3, 2, 1);
    reductionPrev = true;
  }
  const last = chain(b, g, o, [s0, s1, reductionPrev]);
  return finish(b, g, o, b.linear(b.gap(last), o.classes, true));
}
