import { GraphBuilder } from '../../ir/builder.js';
import type { Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { TNB101_EDGES, formatTnb101, tnb101LiveEdges, type Tnb101Genotype } from './genotype.js';

/**
 * Options of the TransNAS-Bench-101 micro network: the benchmark's `MacroNet` backbone ("64-41414") plus, when
 * `classes > 0`, its global-average-pool + linear head.
 *
 * The network, from the benchmark's released code (GitHub `yawen-d/TransNASBench`, `lib/models/net_infer/
 * net_macro.py`, `cell_micro.py`, `net_ops/cell_ops.py`, `task_models/decoder.py`, configs under
 * `configs/train_from_scratch/<task>/config.py`; NASLib's copy in `naslib/search_spaces/transbench101/tnb101/`):
 * - stem: conv3x3/2 (3 → C/2) → BN → ReLU → conv3x3/2 (C/2 → C) → BN (input size / 4);
 * - macro skeleton `41414`: five modules of `cells` (= 2) cells each. Module digit t: t even doubles the width, t > 2
 *   halves the resolution in the module's first cell; so `4`: width ×2 and stride 2, `1`: unchanged. C → 2C → 2C →
 *   4C → 4C → 8C, resolution /4 → /8 → /8 → /16 → /16 → /32 (256 → 8×8×512 for C = 64);
 * - micro cell: node j = Σ over its input edges (a true sum; `none` edges add zeros); the cell output is node 3.
 *   Edges leaving node 0 carry the cell's stride and C_in → C_out; the others are C_out → C_out, stride 1.
 *   Ops: `none` → zeros; `skip` → identity, or FactorizedReduce (ReLU, two 1x1/stride convs of C_out/2 channels on
 *   x and on x shifted by one pixel, concat, BN) when the edge changes stride or width; conv → ReLU-conv(k, bias
 *   off)-BN with `pad = (k-1)/2`. Every BN is affine (γ/β counted in Θ), as in the benchmark;
 * - no BN-ReLU after the last cell (the encoder is built with `structure='backbone'`);
 * - heads (`task_models/decoder.py`): class_scene / class_object / room_layout use `FFDecoder`, a GAP + Linear
 *   (bias) on the 8C-channel map; jigsaw uses `SiameseDecoder`, GAP + Linear over the concatenation of the
 *   encoder features of 9 tiles (see `tiles`); segmentsemantic, normal and autoencoder use conv/deconv decoders.
 *
 * Assumptions and simplifications (the SWAP authors released no TransNAS-Bench-101 scoring code):
 * - Conv/deconv decoders are *not* built (`classes: 0` gives the bare backbone). They use LeakyReLU, Tanh and
 *   ConvTranspose2d only, so SWAP's hooks (every `nn.ReLU`) record nothing in them and Ψ is unchanged; only Θ
 *   misses their weights, which {@link tnb101DecoderParams} computes from `meta.featureChannels`,
 *   `meta.featureSize` and the input size.
 * - Jigsaw: the benchmark runs the shared encoder on 9 tiles of 64×64 and concatenates the features. The IR has no
 *   weight sharing, so with `tiles: 9` the network encodes *one* tile and feeds its features 9 times into the
 *   linear head: Θ equals the benchmark's model exactly, the recorded ReLUs are those of one tile.
 * - The benchmark's Zero op for a width-changing stride-1 edge has an off-by-one shape; no `41414` cell has one.
 */
export interface Tnb101NetworkOptions {
  /** Base channels C (the `64` of `64-41414`; the stem outputs C, the last module 8C). Even. */
  readonly channels?: number;
  /** Cells per module (the benchmark: 2). */
  readonly cells?: number;
  /** Head outputs: 47 class_scene, 75 class_object, 9 room_layout, 1000 jigsaw; 0 = no head (bare backbone). */
  readonly classes?: number;
  /** Input height = width (the benchmark: 256 for every task but jigsaw, whose tiles are 64). */
  readonly inputSize?: number;
  readonly inputChannels?: number;
  /** Tiles whose features the linear head concatenates: 1, or 9 for jigsaw's Siamese head. */
  readonly tiles?: number;
  /**
   * Drop edges that cannot influence the cell output (see {@link tnb101LiveEdges}). The network computes the same
   * function but the ReLUs of dead branches are no longer recorded. `false` reproduces the official code.
   */
  readonly prune?: boolean;
}

/** The benchmark's network for class_scene (47 classes, 256×256 inputs). */
export const TNB101_DEFAULT_NETWORK = {
  channels: 64,
  cells: 2,
  classes: 47,
  inputSize: 256,
  inputChannels: 3,
  tiles: 1,
  prune: false,
} as const;

/** The macro skeleton of the micro space: one digit per module. */
export const TNB101_MACRO = '41414';

/**
 * FactorizedReduce: ReLU, then conv1x1/s of ⌊C/2⌋ channels on x and ⌈C/2⌉ on x shifted by one pixel (PyTorch
 * pads one zero row/column at the bottom/right and drops the first), concat, BN.
 */
function factorizedReduce(b: GraphBuilder, x: number, cout: number, stride: number): number {
  // The 41414 skeleton only changes width together with stride 2; PyTorch's stride-1 variant keeps the padded
  // zero row/column in its output, which the IR cannot express and no cell of this space uses.
  if (stride !== 2)
    throw new SwapError(
      'E_OPTION',
      `TNB101 FactorizedReduce with stride ${stride} is not part of the ${TNB101_MACRO} skeleton`,
    );
  const r = b.relu(x);
  const [, h, w] = b.shape3(r);
  const c1 = Math.floor(cout / 2);
  const a = b.conv(r, c1, 1, { stride, pad: 0 });
  const [, oh, ow] = b.shape3(a);
  // Even size: the padded row/column is never sampled, a one-pixel window is exact. Odd size: pad every side,
  // then drop the first output row/column, so the last output samples the zero pad as in PyTorch.
  const s =
    h % 2 === 0 && w % 2 === 0
      ? b.conv(b.slice(r, { h0: 1, w0: 1 }), cout - c1, 1, { stride, pad: 0 })
      : b.slice(b.conv(r, cout - c1, 1, { stride, pad: 1 }), { h0: 1, w0: 1, h: oh, w: ow });
  return b.bn(b.concat([a, s]));
}

function edgeOp(b: GraphBuilder, x: number, op: number, cin: number, cout: number, stride: number): number | undefined {
  switch (op) {
    case 0:
      return undefined;
    case 1:
      return stride === 1 && cin === cout ? x : factorizedReduce(b, x, cout, stride);
    case 2:
      return b.bn(b.conv(b.relu(x), cout, 1, { stride, pad: 0 }));
    case 3:
      return b.bn(b.conv(b.relu(x), cout, 3, { stride, pad: 1 }));
    default:
      throw new SwapError('E_ARCH_OP', `TNB101 op code ${op} is not 0..3`);
  }
}

function cell(
  b: GraphBuilder,
  x: number,
  g: Tnb101Genotype,
  cin: number,
  cout: number,
  stride: number,
  prune: boolean,
): number {
  const [, h, w] = b.shape3(x);
  const oh = Math.floor((h - 1) / stride) + 1;
  const ow = Math.floor((w - 1) / stride) + 1;
  const live = prune ? tnb101LiveEdges(g) : undefined;
  const nodes: number[] = [x];
  for (let j = 1; j <= 3; j++) {
    const terms: number[] = [];
    TNB101_EDGES.forEach(([to, from], e) => {
      if (to !== j || (live && !live[e])) return;
      const y = from === 0 ? edgeOp(b, x, g[e]!, cin, cout, stride) : edgeOp(b, nodes[from]!, g[e]!, cout, cout, 1);
      if (y !== undefined) terms.push(y);
    });
    nodes[j] = terms.length === 0 ? b.zero([cout, oh, ow]) : b.add(terms);
  }
  return nodes[3]!;
}

function checkOptions(o: Required<Tnb101NetworkOptions>): void {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'boolean') continue;
    const min = k === 'classes' ? 0 : 1;
    if (!Number.isInteger(v) || v < min)
      throw new SwapError('E_OPTION', `TNB101 network option ${k} must be an integer ≥ ${min}, got ${v}`);
  }
  if (o.channels % 2 !== 0)
    throw new SwapError('E_OPTION', `TNB101 channels must be even (the stem's first conv has C/2), got ${o.channels}`);
  if (o.tiles > 1 && o.classes === 0)
    throw new SwapError('E_OPTION', 'TNB101 tiles > 1 needs a linear head (classes > 0)');
}

/**
 * Build the TransNAS-Bench-101 micro network for one cell (see {@link Tnb101NetworkOptions} for the definition
 * and its sources). The output is the head's logits, or the last cell's feature map when `classes` is 0.
 */
export function buildTnb101Network(g: Tnb101Genotype, opts: Tnb101NetworkOptions = {}): Network {
  // Unset (undefined) options take their defaults; options of other spaces are ignored.
  const given = Object.fromEntries(
    Object.entries(opts).filter(([k, v]) => v !== undefined && Object.hasOwn(TNB101_DEFAULT_NETWORK, k)),
  );
  const o = { ...TNB101_DEFAULT_NETWORK, ...given } as Required<Tnb101NetworkOptions>;
  checkOptions(o);
  const b = new GraphBuilder([o.inputChannels, o.inputSize, o.inputSize]);
  let x = b.bn(b.conv(b.input, o.channels / 2, 3, { stride: 2, pad: 1 }));
  x = b.bn(b.conv(b.relu(x), o.channels, 3, { stride: 2, pad: 1 }));
  let c = o.channels;
  for (const digit of TNB101_MACRO) {
    const t = Number(digit);
    const cout = t % 2 === 0 ? c * 2 : c;
    const stride = t > 2 ? 2 : 1;
    x = cell(b, x, g, c, cout, stride, o.prune);
    c = cout;
    for (let i = 1; i < o.cells; i++) x = cell(b, x, g, c, c, 1, o.prune);
  }
  let out = x;
  if (o.classes > 0) {
    const feats = o.tiles === 1 ? x : b.concat(Array.from({ length: o.tiles }, () => x));
    out = b.linear(b.gap(feats), o.classes, true);
  }
  const [, fh] = b.shape3(x);
  return b.finish(out, {
    space: 'tnb101-micro',
    arch: formatTnb101(g),
    channels: o.channels,
    cells: o.cells,
    classes: o.classes,
    inputSize: o.inputSize,
    tiles: o.tiles,
    prune: o.prune ? 1 : 0,
    featureChannels: c,
    featureSize: fh,
  });
}

/** Tasks whose benchmark decoder is a conv/deconv network (not built by {@link buildTnb101Network}). */
export type Tnb101DenseTask = 'segmentsemantic' | 'normal' | 'autoencoder';

/**
 * Trainable parameters of the conv/deconv decoder the benchmark puts on the backbone for a dense task, which the
 * scored network leaves out (Θ correction). From `task_models/decoder.py`: `SegmentationDecoder` (17 output
 * channels) for segmentsemantic, `GenerativeDecoder` (3 output channels) for normal and autoencoder (the GAN's
 * discriminator, a training-only part, is not counted). Their widths are fixed (1024 … 16), only the number of
 * upsampling steps `⌊log2(target / featureSize)⌋` (2…6) depends on the backbone; the target is the input size.
 * Convs and deconvs have biases; every BN is affine.
 */
export function tnb101DecoderParams(
  task: Tnb101DenseTask,
  featureChannels: number,
  featureSize: number,
  targetSize: number,
): number {
  const up = Math.trunc(Math.log2(targetSize / featureSize));
  if (!(up >= 2 && up <= 6)) {
    throw new SwapError(
      'E_OPTION',
      `TNB101 ${task} decoder needs 2..6 upsampling steps, ${featureSize} → ${targetSize} gives ${up}`,
    );
  }
  // conv or deconv k3 with bias, optionally followed by an affine BN
  const layer = (cin: number, cout: number, bn = true) => cin * cout * 9 + cout + (bn ? 2 * cout : 0);
  if (task === 'segmentsemantic') {
    let p = layer(featureChannels, 1024);
    let c = 1024;
    for (let i = 0; i < 6 - up; i++, c /= 2) p += layer(c, c / 2);
    for (let i = 0; i < up - 1; i++, c /= 2) p += layer(c, c / 2);
    return p + layer(c, c) + layer(c, 17, false);
  }
  const widths = [1024, 1024, 512, 512, 256, 128, 64, 64, 32, 32, 16, 32, 16];
  let p = 0;
  let c = featureChannels;
  for (const w of widths) {
    p += layer(c, w);
    c = w;
  }
  return p + layer(c, 3, false);
}
