import type { ActFn, IRNode, LayerSpec, Network, Shape, Shape3 } from './types.js';
import { addsPartialWindow, BN_EPS, inferShape } from './ops.js';
import { SwapError } from '../util/errors.js';

function is3(s: Shape): s is Shape3 {
  return s.length === 3;
}

/** A window attribute given per axis: [height, width]. */
export type Pair = readonly [h: number, w: number];

/** A conv's padding per side: [top, left, bottom, right] (ONNX's order). */
export type Pads = readonly [top: number, left: number, bottom: number, right: number];

function pair(v: number | Pair): Pair {
  return typeof v === 'number' ? [v, v] : v;
}

function pads(v: number | Pair | Pads): Pads {
  if (typeof v !== 'number' && v.length === 4) return v;
  const [h, w] = pair(v);
  return [h, w, h, w];
}

/**
 * Incremental IR builder; shapes come from the op specification (`ops.ts`). Methods return node ids. `relu(x)` is memoised per producer so
 * a ReLU applied to the same tensor by several consumers exists (and is recorded) once.
 */
/**
 * An arithmetic constant that is an nn.Parameter (a layer scale): the values it adds to Θ at its first read (all of
 * them), or 0 with `firstCall`, the node of that first read, for a later one (`ActNode.learned`). Empty: no parameter.
 */
export interface LearnedUse {
  readonly learned?: number;
  readonly firstCall?: number;
}

function learnedFields(u: LearnedUse): LearnedUse {
  if (u.learned === undefined) return {};
  return u.learned === 0 && u.firstCall !== undefined ? { learned: 0, firstCall: u.firstCall } : { learned: u.learned };
}

export class GraphBuilder {
  private readonly nodes: IRNode[] = [];
  private readonly reluOf = new Map<string, number>();

  constructor(inputShape: Shape3) {
    this.push({ op: 'input' }, [], inputShape);
  }

  get input(): number {
    return 0;
  }

  shape(id: number): Shape {
    return this.nodes[id]!.shape;
  }

  shape3(id: number): Shape3 {
    const s = this.nodes[id]!.shape;
    if (!is3(s)) throw new SwapError('E_IR_SHAPE', `node ${id} is not a 4-D feature map`);
    return s;
  }

  /** Append a node; its shape is inferred from `spec` and its inputs (`size`: see `OpSpec.shape`). */
  private push(spec: LayerSpec, inputs: number[], size?: Shape3): number {
    for (const i of inputs) {
      if (!(i >= 0 && i < this.nodes.length)) throw new SwapError('E_IR_INPUT', `bad input id ${i}`);
    }
    const shape = inferShape(
      spec,
      inputs.map((i) => this.nodes[i]!.shape),
      size,
    );
    const id = this.nodes.length;
    this.nodes.push({ ...spec, id, inputs, shape } as IRNode);
    return id;
  }

  /**
   * A convolution; kernel, stride, pad and dilation are one value for both axes or [height, width] (Inception's
   * `kernel_size=(1, 7)`); the pad may also be [top, left, bottom, right] (TensorFlow's SAME padding of a strided
   * conv). The pad defaults to "same" for stride 1 (dilation·(k − 1)/2, rounded down, per axis).
   */
  conv(
    x: number,
    cout: number,
    k: number | Pair,
    o: {
      stride?: number | Pair;
      pad?: number | Pair | Pads;
      dilation?: number | Pair;
      groups?: number;
      bias?: boolean;
      /** A transposed conv (`nn.ConvTranspose2d`) with this `output_padding` (0: none); padding defaults to 0. */
      transposed?: number | Pair;
    } = {},
  ): number {
    const [cin] = this.shape3(x);
    const [kh, kw] = pair(k);
    const [dh, dw] = pair(o.dilation ?? 1);
    const same: Pair =
      o.transposed !== undefined ? [0, 0] : [Math.floor((dh * (kh - 1)) / 2), Math.floor((dw * (kw - 1)) / 2)];
    const [ph, pw, pb, pr] = pads(o.pad ?? same);
    const [sh, sw] = pair(o.stride ?? 1);
    const groups = o.groups ?? 1;
    const wide = {
      ...(kw !== kh ? { kw } : {}),
      ...(sw !== sh ? { strideW: sw } : {}),
      ...(pw !== ph ? { padW: pw } : {}),
      ...(dw !== dh ? { dilationW: dw } : {}),
      ...(pb !== ph ? { padBottom: pb } : {}),
      ...(pr !== pw ? { padRight: pr } : {}),
      ...transposedAttrs(o.transposed),
    };
    return this.push(
      { op: 'conv', cin, cout, k: kh, stride: sh, pad: ph, dilation: dh, groups, bias: o.bias ?? false, ...wide },
      [x],
    );
  }

  /**
   * BatchNorm of a map, or of a flat tensor (BatchNorm1d); `momentum` (PyTorch's) only when it is not 0.1, `eps`
   * only when it is not `BN_EPS`.
   */
  bn(x: number, affine = true, momentum?: number, eps?: number, batchStats = false): number {
    return this.push(
      {
        op: 'bn',
        affine,
        ...(momentum !== undefined ? { momentum } : {}),
        ...(eps !== undefined && eps !== BN_EPS ? { eps } : {}),
        ...(batchStats ? { batchStats: true } : {}),
      },
      [x],
    );
  }

  /**
   * ReLU, ReLU clipped at `max` (ReLU6: 6), or leaky ReLU of negative slope `slope` (LeakyReLU(0.1): 0.1); memoised
   * per producer, clip, slope and form (`functional`: an F.relu call, not a module). An nn.PReLU (`learned`) is
   * never merged: two of them on one tensor are two modules with parameters of their own. `call`: one more module call
   * (an imported file's own ReLU node) where the memo already holds the node: its `calls` count grows (NASLib's nwot
   * hooks each call; SWAP reads the equal rows once).
   */
  relu(
    x: number,
    max?: number,
    slope?: number,
    learned?: number,
    functional?: boolean,
    firstCall?: number,
    call = false,
  ): number {
    const key = `${x}:${max ?? ''}:${slope ?? ''}:${learned ?? ''}:${functional ? 'f' : ''}`;
    const hit = learned === undefined ? this.reluOf.get(key) : undefined;
    if (hit !== undefined) {
      const n = this.nodes[hit]!;
      if (call && n.op === 'relu') this.nodes[hit] = { ...n, calls: (n.calls ?? 1) + 1 };
      return hit;
    }
    const id = this.push(
      {
        op: 'relu',
        ...(max !== undefined ? { max } : {}),
        ...(slope !== undefined ? { slope } : {}),
        ...(learned !== undefined ? { learned } : {}),
        ...(learned === 0 && firstCall !== undefined ? { firstCall } : {}),
        ...(functional ? { functional: true as const } : {}),
      },
      [x],
    );
    this.reluOf.set(key, id);
    return id;
  }

  /** Average pooling; `ceil`: PyTorch's ceil mode, kept only where it adds a partial window (else floor's sizes). */
  avgpool(x: number, k: number, stride: number, pad: number, countIncludePad: boolean, ceil = false): number {
    return this.push({ op: 'avgpool', k, stride, pad, countIncludePad, ...this.ceilAttr(x, k, stride, pad, ceil) }, [
      x,
    ]);
  }

  /** Max pooling; `ceil` as in {@link avgpool}. */
  maxpool(x: number, k: number, stride: number, pad: number, ceil = false): number {
    return this.push(
      { op: 'maxpool', k, stride, pad, countIncludePad: false, ...this.ceilAttr(x, k, stride, pad, ceil) },
      [x],
    );
  }

  /** A pool's `ceil` attribute: present only where ceil mode adds a partial window on map `x`. */
  private ceilAttr(x: number, k: number, stride: number, pad: number, ceil: boolean): { ceil?: true } {
    const [, h, w] = this.shape3(x);
    return ceil && addsPartialWindow([h, w], k, stride, pad) ? { ceil: true } : {};
  }

  /** The softmax (or, with `log`, log-softmax) of flat `x` over its features. */
  softmax(x: number, log: boolean): number {
    return this.push(log ? { op: 'softmax', log: true } : { op: 'softmax' }, [x]);
  }

  /** Group normalisation of `x` (a map, or flat features as F channels): see {@link GroupNormNode}. */
  gn(x: number, groups: number, affine = true, eps?: number, pixelwise = false): number {
    const e = eps !== undefined && eps !== BN_EPS ? { eps } : {};
    return this.push({ op: 'gn', groups, affine, ...e, ...(pixelwise ? { pixelwise } : {}) }, [x]);
  }

  /** A sigmoid gate of `x`: logistic, or `hard` (PyTorch's hardsigmoid). */
  sigmoid(x: number, hard: boolean): number {
    return this.push(hard ? { op: 'sigmoid', hard: true } : { op: 'sigmoid' }, [x]);
  }

  /**
   * An elementwise function of `x` (`alpha`: ELU's α or the arithmetic's constant, absent for 1; `stateSign` and
   * `learned`: see {@link ActNode}).
   */
  act(x: number, fn: ActFn, alpha?: number, stateSign?: 1 | -1, learned: LearnedUse = {}): number {
    const state = { ...(stateSign ? { stateSign } : {}), ...learnedFields(learned) };
    return this.push(
      alpha === undefined || alpha === 1 ? { op: 'act', fn, ...state } : { op: 'act', fn, alpha, ...state },
      [x],
    );
  }

  /**
   * Arithmetic with one constant per channel of `x` (`scale`, `divide` or `shift`): x·α_c, x / α_c, x + α_c
   * (`stateSign`, `learned`: see {@link ActNode}).
   */
  channelAct(x: number, fn: ActFn, alphas: readonly number[], stateSign?: 1 | -1, learned: LearnedUse = {}): number {
    return this.push(
      { op: 'act', fn, alphas: [...alphas], ...(stateSign ? { stateSign } : {}), ...learnedFields(learned) },
      [x],
    );
  }

  /**
   * An nn.PReLU of `x`: x above 0, α·x at and below, with one slope or one per channel (any finite values).
   * `learned`: the slope values it adds to Θ (default: all of them; 0 for a later call of the same module;
   * `undefined` for slopes that are no parameter, F.prelu by a constant); `functional`: an F.prelu call, which nwot's
   * module hook does not see; `firstCall`: for a later call, its module's first call. Slopes of one positive value
   * make the leaky {@link relu} with `learned`, as the import writes them.
   */
  prelu(
    x: number,
    slopes: number | readonly number[],
    opts: {
      readonly learned?: number | undefined;
      readonly functional?: boolean;
      readonly firstCall?: number | undefined;
    } = {},
  ): number {
    const all = typeof slopes === 'number' ? [slopes] : slopes;
    const learned = 'learned' in opts ? opts.learned : all.length;
    if (learned !== undefined && all[0]! > 0 && all.every((v) => v === all[0]))
      return this.relu(x, undefined, all[0], learned === 0 ? 0 : all.length, opts.functional, opts.firstCall);
    const f = opts.functional ? { functional: true as const } : {};
    const a = typeof slopes === 'number' ? (slopes === 1 ? {} : { alpha: slopes }) : { alphas: [...slopes] };
    const first = learned === 0 && opts.firstCall !== undefined ? { firstCall: opts.firstCall } : {};
    const l = learned !== undefined ? { learned } : {};
    return this.push({ op: 'act', fn: 'prelu', ...a, ...f, ...l, ...first }, [x]);
  }

  /** `a` ⊙ `g`: the same shape, or a map and its C×1×1 channel gate. */
  mul(a: number, g: number): number {
    return this.push({ op: 'mul' }, [a, g]);
  }

  /** Nearest-neighbour upsampling of map `x` by the integer factor `scale` (`nn.Upsample(scale_factor=scale)`). */
  upsample(x: number, scale: number): number {
    return this.push({ op: 'upsample', scale }, [x]);
  }

  /** PyTorch's bilinear resize of map `x` to `h`×`w` (`F.interpolate(x, size=(h, w), mode='bilinear')`). */
  bilinear(x: number, h: number, w: number, alignCorners = false): number {
    return this.push({ op: 'upsample', scale: 1, bilinear: { h, w, alignCorners } }, [x]);
  }

  /** The mean (or, with `max`, the maximum) over the channels of map `x`: a 1×H×W map (CBAM's spatial pools). */
  chanpool(x: number, max = false): number {
    return this.push({ op: 'chanpool', ...(max ? { max: true } : {}) }, [x]);
  }

  /** The values of `x` read with the per-sample shape `to` (NCHW order kept; the same size). */
  view(x: number, to: Shape3): number {
    return this.push({ op: 'view' }, [x], to);
  }

  /** Map `x` broadcast along its unit axes to the per-sample shape `to` (`expand_as`). */
  expand(x: number, to: Shape3): number {
    return this.push({ op: 'expand' }, [x], to);
  }

  /** Flat features `x` read as a C×1×1 map (`y.view(b, c, 1, 1)`). */
  unflatten(x: number): number {
    return this.view(x, [this.shape(x)[0]!, 1, 1]);
  }

  /** ShuffleNet's channel shuffle of `x` in `groups` groups. */
  shuffle(x: number, groups: number): number {
    this.shape3(x);
    return this.push({ op: 'shuffle', groups }, [x]);
  }

  /** Sum of one or more same-shape tensors; a single input is returned unchanged (no node). */
  add(xs: readonly number[]): number {
    if (xs.length === 0) throw new SwapError('E_IR_INPUT', 'add needs at least one input');
    if (xs.length === 1) return xs[0]!;
    return this.push({ op: 'add' }, [...xs]);
  }

  concat(xs: readonly number[]): number {
    if (xs.length === 1) return xs[0]!;
    this.shape3(xs[0]!);
    for (const x of xs) this.shape3(x);
    return this.push({ op: 'concat' }, [...xs]);
  }

  /** The window `[c0, c0+c) × [h0, h0+h) × [w0, w0+w)` of `x`; the full tensor is returned unchanged (no node). */
  slice(x: number, o: { c0?: number; c?: number; h0?: number; h?: number; w0?: number; w?: number }): number {
    const [C, H, W] = this.shape3(x);
    const c0 = o.c0 ?? 0;
    const h0 = o.h0 ?? 0;
    const w0 = o.w0 ?? 0;
    const c = o.c ?? C - c0;
    const h = o.h ?? H - h0;
    const w = o.w ?? W - w0;
    const spec = { op: 'slice', c0, h0, w0 } as const;
    inferShape(spec, [[C, H, W]], [c, h, w]); // throws when the window does not fit
    if (c0 === 0 && h0 === 0 && w0 === 0 && c === C && h === H && w === W) return x;
    return this.push(spec, [x], [c, h, w]);
  }

  zero(shape: Shape3): number {
    return this.push({ op: 'zero' }, [], shape);
  }

  /** Global average pool: flat features, or with `keep` the (N, C, 1, 1) map. */
  gap(x: number, keep = false): number {
    this.shape3(x);
    return this.push(keep ? { op: 'gap', keep: true } : { op: 'gap' }, [x]);
  }

  linear(x: number, fout: number, bias = true): number {
    const s = this.shape(x);
    if (s.length !== 1) throw new SwapError('E_IR_SHAPE', 'linear expects a flat input');
    return this.push({ op: 'linear', fin: s[0], fout, bias }, [x]);
  }

  /** A map read flat (C·H·W features in PyTorch's order), as `torch.flatten(x, 1)`. */
  flatten(x: number): number {
    this.shape3(x);
    return this.push({ op: 'flatten' }, [x]);
  }

  finish(output: number, meta?: Record<string, string | number>): Network {
    // Nothing is pruned: like PyTorch, dead branches are still computed and their ReLUs recorded.
    return meta ? { nodes: this.nodes.slice(), output, meta } : { nodes: this.nodes.slice(), output };
  }
}

/** A transposed conv's attributes for `output_padding` `op` (none: an ordinary conv). */
function transposedAttrs(op: number | Pair | undefined): { transposed?: true; outPad?: number; outPadW?: number } {
  if (op === undefined) return {};
  const [h, w] = pair(op);
  return { transposed: true, ...(h !== 0 || w !== 0 ? { outPad: h } : {}), ...(w !== h ? { outPadW: w } : {}) };
}
