import { GraphBuilder } from '../../ir/builder.js';
import type { Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { formatNb101, type Nb101Genotype } from './genotype.js';

/** Options of the NB101 CIFAR network (nasbench `model_builder.py` with its `config.py` defaults). */
export interface Nb101NetworkOptions {
  /** Stem output channels = channels of the first stack (NB101: 128); each later stack doubles them. */
  readonly channels?: number;
  /** Cells ("modules") per stack (NB101: 3). */
  readonly cells?: number;
  /** Stacks; a 2×2/2 max-pool and a channel doubling precede every stack but the first (NB101: 3). */
  readonly stacks?: number;
  /** Classifier outputs (CIFAR-10: 10). */
  readonly classes?: number;
  /** Input height = width (CIFAR: 32). Must be divisible by 2^(stacks−1). */
  readonly inputSize?: number;
  readonly inputChannels?: number;
}

export const NB101_DEFAULT_NETWORK = {
  channels: 128,
  cells: 3,
  stacks: 3,
  classes: 10,
  inputSize: 32,
  inputChannels: 3,
} as const;

/**
 * nasbench `compute_vertex_channels` on a pruned cell: the output channels are split evenly over the interior
 * vertices feeding the output (the first `out mod k` of them get one extra); every other interior vertex takes
 * the largest channel count among its interior successors. Vertex 0 keeps `cin`, the output `cout`.
 */
export function nb101VertexChannels(cin: number, cout: number, matrix: readonly (readonly number[])[]): number[] {
  const n = matrix.length;
  const ch = new Array<number>(n).fill(0);
  ch[0] = cin;
  ch[n - 1] = cout;
  if (n === 2) return ch;
  let fanIn = 0;
  for (let v = 1; v < n - 1; v++) fanIn += matrix[v]![n - 1] ? 1 : 0;
  const base = Math.floor(cout / fanIn);
  let extra = cout % fanIn;
  for (let v = 1; v < n - 1; v++) {
    if (!matrix[v]![n - 1]) continue;
    ch[v] = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
  }
  for (let v = n - 3; v >= 1; v--) {
    if (matrix[v]![n - 1]) continue;
    for (let d = v + 1; d < n - 1; d++) if (matrix[v]![d]) ch[v] = Math.max(ch[v]!, ch[d]!);
  }
  for (let v = 1; v < n - 1; v++) {
    if (!(ch[v]! > 0))
      throw new SwapError(
        'E_OPTION',
        `NB101 cell vertex ${v} gets no channels (output channels ${cout} too few for ${fanIn} output edges)`,
      );
  }
  return ch;
}

/** conv k×k ('same', no bias) → BN (trainable γ/β, as TF's defaults) → ReLU. */
function convBnRelu(b: GraphBuilder, x: number, cout: number, k: number): number {
  return b.relu(b.bn(b.conv(x, cout, k, { pad: (k - 1) / 2 }), true));
}

/**
 * nasbench `build_module`: interior vertex t sums its inputs — earlier interior vertices truncated to its channel
 * count (first channels kept), the cell input through a 1×1 conv-BN-ReLU projection — and applies its op; the
 * output concatenates the interior vertices feeding it, plus the projected input when input→output is an edge
 * (the projection alone when there are no interior vertices).
 */
function cell(b: GraphBuilder, x: number, g: Nb101Genotype, cout: number): number {
  const n = g.ops.length;
  const m = g.matrix;
  const ch = nb101VertexChannels(b.shape3(x)[0], cout, m);
  const t: number[] = [x];
  const concat: number[] = [];
  for (let v = 1; v < n - 1; v++) {
    const terms: number[] = [];
    for (let s = 1; s < v; s++) if (m[s]![v]) terms.push(b.slice(t[s]!, { c: ch[v]! }));
    if (m[0]![v]) terms.push(convBnRelu(b, x, ch[v]!, 1));
    const sum = b.add(terms);
    switch (g.ops[v]) {
      case 'conv3x3-bn-relu':
        t[v] = convBnRelu(b, sum, ch[v]!, 3);
        break;
      case 'conv1x1-bn-relu':
        t[v] = convBnRelu(b, sum, ch[v]!, 1);
        break;
      case 'maxpool3x3':
        t[v] = b.maxpool(sum, 3, 1, 1);
        break;
      default:
        throw new SwapError('E_ARCH_OP', `NB101 interior vertex ${v} has op ${String(g.ops[v])}`);
    }
    if (m[v]![n - 1]) concat.push(t[v]!);
  }
  if (concat.length === 0) return convBnRelu(b, x, cout, 1);
  const out = b.concat(concat);
  return m[0]![n - 1] ? b.add([out, convBnRelu(b, x, cout, 1)]) : out;
}

/**
 * Build the NB101 CIFAR network for one cell, as nasbench `model_builder.py`: stem conv3×3 (3→`channels`)-BN-
 * ReLU; `stacks` stacks of `cells` cells, each stack after the first preceded by a 2×2/2 max-pool and doubling
 * the channels (its first cell changes them); global average pool; dense layer with bias to `classes`.
 * With the defaults, `countParams` equals the benchmark's `trainable_parameters`. Options other than the six
 * of {@link Nb101NetworkOptions} are ignored; each given one must be a positive integer (`E_OPTION`).
 */
export function buildNb101Network(g: Nb101Genotype, opts: Nb101NetworkOptions = {}): Network {
  const o: { -readonly [K in keyof typeof NB101_DEFAULT_NETWORK]: number } = { ...NB101_DEFAULT_NETWORK };
  for (const k of Object.keys(o) as (keyof typeof o)[]) {
    const v = opts[k] ?? o[k];
    if (!Number.isInteger(v) || v < 1)
      throw new SwapError('E_OPTION', `NB101 network option ${k} must be a positive integer, got ${v}`);
    o[k] = v;
  }
  const shrink = 2 ** (o.stacks - 1);
  if (o.inputSize % shrink !== 0) {
    throw new SwapError(
      'E_OPTION',
      `NB101 input size ${o.inputSize} must be divisible by ${shrink} (${o.stacks - 1} 2×2 max-pools)`,
    );
  }
  const b = new GraphBuilder([o.inputChannels, o.inputSize, o.inputSize]);
  let x = convBnRelu(b, b.input, o.channels, 3);
  let c = o.channels;
  for (let s = 0; s < o.stacks; s++) {
    if (s > 0) {
      x = b.maxpool(x, 2, 2, 0);
      c *= 2;
    }
    for (let i = 0; i < o.cells; i++) x = cell(b, x, g, c);
  }
  const out = b.linear(b.gap(x), o.classes, true);
  return b.finish(out, {
    space: 'nb101',
    arch: formatNb101(g),
    channels: o.channels,
    cells: o.cells,
    stacks: o.stacks,
    classes: o.classes,
    inputSize: o.inputSize,
  });
}
