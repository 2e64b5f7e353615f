import { GraphBuilder } from '../../ir/builder.js';
import type { Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { NB201_EDGES, formatNb201, type Nb201Genotype } from './genotype.js';
import { assertNever } from '../../util/assert.js';

/** Options of the NB201 macro network ("TinyNetwork"). */
export interface Nb201NetworkOptions {
  /** Channels of the first stage (NB201: 16). */
  readonly channels?: number;
  /** Cells per stage (NB201: 5). */
  readonly cells?: number;
  /** Classifier outputs (CIFAR-10: 10, CIFAR-100: 100, ImageNet16-120: 120). */
  readonly classes?: number;
  /** Input height = width (CIFAR: 32, ImageNet16: 16). */
  readonly inputSize?: number;
  readonly inputChannels?: number;
  /**
   * Drop edges that cannot influence the cell output: an edge whose source is identically zero (no path from the
   * cell input through non-`none` edges) or whose target never reaches node 3. The network computes the same
   * function, but the ReLUs of dead convolutions are no longer recorded. `false` reproduces the official code,
   * which computes and hooks dead branches too. Default `false`; the ranking study measures both.
   */
  readonly prune?: boolean;
}

export const NB201_DEFAULT_NETWORK = {
  channels: 16,
  cells: 5,
  classes: 10,
  inputSize: 32,
  inputChannels: 3,
  prune: false,
} as const;

/** Edges that can influence node 3: source reachable from node 0 and target reaching node 3 (non-`none` edges). */
export function liveEdges(g: Nb201Genotype): boolean[] {
  const fromInput = [true, false, false, false];
  for (let j = 1; j <= 3; j++) {
    NB201_EDGES.forEach(([to, from], e) => {
      if (to === j && g[e] !== 'none' && fromInput[from]) fromInput[j] = true;
    });
  }
  const toOutput = [false, false, false, true];
  for (let i = 2; i >= 0; i--) {
    NB201_EDGES.forEach(([to, from], e) => {
      if (from === i && g[e] !== 'none' && toOutput[to]) toOutput[i] = true;
    });
  }
  return NB201_EDGES.map(([to, from], e) => g[e] !== 'none' && fromInput[from]! && toOutput[to]!);
}

function cell(b: GraphBuilder, x: number, g: Nb201Genotype, c: number, prune: boolean): number {
  const nodes: number[] = [x];
  const live = prune ? liveEdges(g) : undefined;
  for (let j = 1; j <= 3; j++) {
    const terms: number[] = [];
    NB201_EDGES.forEach(([to, from], e) => {
      if (to !== j) return;
      if (live && !live[e]) return;
      const src = nodes[from]!;
      const op = g[e]!;
      switch (op) {
        case 'none':
          return;
        case 'skip_connect':
          terms.push(src);
          return;
        case 'nor_conv_1x1':
          terms.push(b.bn(b.conv(b.relu(src), c, 1, { pad: 0 })));
          return;
        case 'nor_conv_3x3':
          terms.push(b.bn(b.conv(b.relu(src), c, 3, { pad: 1 })));
          return;
        case 'avg_pool_3x3':
          terms.push(b.avgpool(src, 3, 1, 1, false));
          return;
        default:
          assertNever(op, 'NB201 edge op');
      }
    });
    const [, h, w] = b.shape3(x);
    nodes[j] = terms.length === 0 ? b.zero([c, h, w]) : b.add(terms);
  }
  return nodes[3]!;
}

/** NB201's ResNet basic block with stride 2: ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, plus avgpool2/2 + conv1x1 shortcut. */
function reduction(b: GraphBuilder, x: number, cout: number): number {
  const a = b.bn(b.conv(b.relu(x), cout, 3, { stride: 2, pad: 1 }));
  const bb = b.bn(b.conv(b.relu(a), cout, 3, { pad: 1 }));
  const sc = b.conv(b.avgpool(x, 2, 2, 0, true), cout, 1, { pad: 0 });
  return b.add([sc, bb]);
}

/**
 * Build the NB201 macro network for one cell: stem conv3x3+BN, `cells` cells at C, ResNet reduction to 2C,
 * `cells` cells, reduction to 4C, `cells` cells, BN-ReLU, global average pool, linear classifier.
 */
export function buildNb201Network(g: Nb201Genotype, opts: Nb201NetworkOptions = {}): Network {
  const o = { ...NB201_DEFAULT_NETWORK, ...opts };
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'boolean') continue;
    if (!Number.isInteger(v) || v < 1)
      throw new SwapError('E_OPTION', `NB201 network option ${k} must be a positive integer, got ${v}`);
  }
  if (o.inputSize < 4) throw new SwapError('E_OPTION', `NB201 input size must be at least 4, got ${o.inputSize}`);
  const b = new GraphBuilder([o.inputChannels, o.inputSize, o.inputSize]);
  let x = b.bn(b.conv(b.input, o.channels, 3, { pad: 1 }));
  let c = o.channels;
  for (let stage = 0; stage < 3; stage++) {
    if (stage > 0) {
      c *= 2;
      x = reduction(b, x, c);
    }
    for (let i = 0; i < o.cells; i++) x = cell(b, x, g, c, o.prune);
  }
  x = b.relu(b.bn(x));
  const out = b.linear(b.gap(x), o.classes, true);
  return b.finish(out, {
    space: 'nb201',
    arch: formatNb201(g),
    channels: o.channels,
    cells: o.cells,
    classes: o.classes,
    inputSize: o.inputSize,
    prune: o.prune ? 1 : 0,
  });
}
