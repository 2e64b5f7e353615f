import type { IRNode, LayerSpec, Network, Shape, Shape3 } from './types.js';
import { SwapError } from '../util/errors.js';

function outSize(n: number, k: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((n + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

function is3(s: Shape): s is Shape3 {
  return s.length === 3;
}

/**
 * Incremental IR builder with shape inference. Methods return node ids. `relu(x)` is memoised per producer so
 * a ReLU applied to the same tensor by several consumers exists (and is recorded) once.
 */
export class GraphBuilder {
  private readonly nodes: IRNode[] = [];
  private readonly reluOf = new Map<number, number>();

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

  private push(spec: LayerSpec, inputs: number[], shape: Shape): number {
    for (const i of inputs) {
      if (!(i >= 0 && i < this.nodes.length)) throw new SwapError('E_IR_INPUT', `bad input id ${i}`);
    }
    const id = this.nodes.length;
    this.nodes.push({ ...spec, id, inputs, shape } as IRNode);
    return id;
  }

  conv(
    x: number,
    cout: number,
    k: number,
    o: { stride?: number; pad?: number; dilation?: number; groups?: number; bias?: boolean } = {},
  ): number {
    const [cin, h, w] = this.shape3(x);
    const stride = o.stride ?? 1;
    const dilation = o.dilation ?? 1;
    const pad = o.pad ?? Math.floor((dilation * (k - 1)) / 2);
    const groups = o.groups ?? 1;
    if (cin % groups !== 0 || cout % groups !== 0)
      throw new SwapError('E_IR_SHAPE', `groups ${groups} must divide ${cin} and ${cout}`);
    const oh = outSize(h, k, stride, pad, dilation);
    const ow = outSize(w, k, stride, pad, dilation);
    if (oh < 1 || ow < 1) throw new SwapError('E_IR_SHAPE', `conv ${k}x${k}/${stride} on ${h}x${w} gives an empty map`);
    return this.push(
      { op: 'conv', cin, cout, k, stride, pad, dilation, groups, bias: o.bias ?? false },
      [x],
      [cout, oh, ow],
    );
  }

  bn(x: number, affine = true): number {
    return this.push({ op: 'bn', affine }, [x], this.shape3(x));
  }

  relu(x: number): number {
    const hit = this.reluOf.get(x);
    if (hit !== undefined) return hit;
    const id = this.push({ op: 'relu' }, [x], this.shape(x));
    this.reluOf.set(x, id);
    return id;
  }

  avgpool(x: number, k: number, stride: number, pad: number, countIncludePad: boolean): number {
    const [c, h, w] = this.shape3(x);
    return this.push(
      { op: 'avgpool', k, stride, pad, countIncludePad },
      [x],
      [c, outSize(h, k, stride, pad), outSize(w, k, stride, pad)],
    );
  }

  maxpool(x: number, k: number, stride: number, pad: number): number {
    const [c, h, w] = this.shape3(x);
    return this.push(
      { op: 'maxpool', k, stride, pad, countIncludePad: false },
      [x],
      [c, outSize(h, k, stride, pad), outSize(w, k, stride, pad)],
    );
  }

  /** Sum of one or more same-shape tensors; a single input is returned unchanged (no node). */
  add(xs: readonly number[]): number {
    if (xs.length === 0) throw new SwapError('E_IR_INPUT', 'add needs at least one input');
    if (xs.length === 1) return xs[0]!;
    const s = this.shape(xs[0]!);
    for (const x of xs) {
      if (this.shape(x).join('x') !== s.join('x'))
        throw new SwapError('E_IR_SHAPE', `add of mismatched shapes ${this.shape(x).join('x')} vs ${s.join('x')}`);
    }
    return this.push({ op: 'add' }, [...xs], s);
  }

  concat(xs: readonly number[]): number {
    if (xs.length === 1) return xs[0]!;
    const [, h, w] = this.shape3(xs[0]!);
    let c = 0;
    for (const x of xs) {
      const [ci, hi, wi] = this.shape3(x);
      if (hi !== h || wi !== w) throw new SwapError('E_IR_SHAPE', 'concat of mismatched spatial sizes');
      c += ci;
    }
    return this.push({ op: 'concat' }, [...xs], [c, h, w]);
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
    const ok = (a: number, n: number, N: number) =>
      Number.isInteger(a) && Number.isInteger(n) && a >= 0 && n >= 1 && a + n <= N;
    if (!ok(c0, c, C) || !ok(h0, h, H) || !ok(w0, w, W)) {
      throw new SwapError('E_IR_SHAPE', `slice ${c0}+${c}, ${h0}+${h}, ${w0}+${w} does not fit ${C}x${H}x${W}`);
    }
    if (c0 === 0 && h0 === 0 && w0 === 0 && c === C && h === H && w === W) return x;
    return this.push({ op: 'slice', c0, h0, w0 }, [x], [c, h, w]);
  }

  zero(shape: Shape3): number {
    return this.push({ op: 'zero' }, [], shape);
  }

  gap(x: number): number {
    const [c] = this.shape3(x);
    return this.push({ op: 'gap' }, [x], [c]);
  }

  linear(x: number, fout: number, bias = true): number {
    const s = this.shape(x);
    if (s.length !== 1) throw new SwapError('E_IR_SHAPE', 'linear expects a flat input');
    return this.push({ op: 'linear', fin: s[0], fout, bias }, [x], [fout]);
  }

  finish(output: number, meta?: Record<string, string | number>): Network {
    // Nothing is pruned: like PyTorch, dead branches are still computed and their ReLUs recorded.
    return meta ? { nodes: this.nodes.slice(), output, meta } : { nodes: this.nodes.slice(), output };
  }
}
