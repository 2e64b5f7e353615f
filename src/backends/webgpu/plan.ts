import { neededNodes, weightTensorIds } from '../../ir/analysis.js';
import { bnEps, bnMap, convAxes, isRecorded, type NodeOf, numel, weightCount } from '../../ir/ops.js';
import { ACT_FNS } from '../../ir/activations.js';
import type { IRNode, Network, OpName } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import {
  PROGRAMS,
  batchnormProgram,
  convProgram,
  mulProgram,
  type ProgramSpec,
  reluProgram,
  sigmoidProgram,
  actProgram,
} from './programs.js';

/**
 * Network → list of kernel dispatches, computed on the CPU without touching the device (so it is testable
 * without an adapter). Only ancestors of recorded ReLUs are planned. Activations live in *slots*, which are
 * reused once their last reader has been dispatched (dispatches of one pass run in order, so a later writer
 * never races an earlier reader); the executor backs slots with pooled GPU buffers.
 */
export type BufRef =
  | { readonly kind: 'slot'; readonly slot: number }
  | { readonly kind: 'input' }
  | { readonly kind: 'weights' }
  | { readonly kind: 'codes' }
  | { readonly kind: 'table' }
  | { readonly kind: 'counter' }
  /** A small scratch buffer for bindings a dispatch does not use. */
  | { readonly kind: 'dummy' };

export interface PlannedDispatch {
  readonly program: ProgramSpec;
  /** Uniform values (without `grid_x`, which the executor fills in from the dispatch grid). */
  readonly uniforms: Readonly<Record<string, number>>;
  /** Storage bindings 1 … n. */
  readonly buffers: readonly BufRef[];
  /** IR node this dispatch belongs to (−1 for the counting pass). */
  readonly node: number;
}

export interface WeightTensor {
  /** PRNG tensor id: the node's id, or its first use's for a tied or shared weight (`weightTensorIds`). */
  readonly tensor: number;
  /** Offset (in floats) in the network's weight buffer. */
  readonly offset: number;
  readonly count: number;
  /**
   * Conv weights for `conv2d_oc4.wgsl`: stored as `[cout/4][cin/groups][kh][kw][4]` (element `o` of each vec4 is
   * output channel `4·block + o`) instead of PyTorch's `[cout][cin/groups][k][k]`; the offset is 4-aligned.
   */
  readonly pack4?: { readonly cinG: number; readonly kk: number };
  /** Fixed values (the act op's per-channel constants, as float32), copied instead of drawn. */
  readonly values?: Float32Array;
}

export interface NetworkPlan {
  readonly samples: number;
  readonly words: number;
  readonly dispatches: readonly PlannedDispatch[];
  /** Byte size of each activation slot. */
  readonly slotBytes: readonly number[];
  /** Slot holding each node's output after it ran (−1: none, the input buffer, or not computed). */
  readonly nodeSlot: Int32Array;
  readonly weights: readonly WeightTensor[];
  readonly weightCount: number;
  /** Recorded ReLUs in network order: node id, first neuron, neurons per sample. */
  readonly recorded: readonly { readonly node: number; readonly base: number; readonly per: number }[];
  /** Recorded neurons in total (V). */
  readonly neurons: number;
  /** Hash-table capacity (a power of two ≥ 2V, ≥ 64). */
  readonly tableSize: number;
}

export interface PlanOptions {
  /** Keep every node's output in its own slot (for diagnostics that read intermediate tensors back). */
  readonly keepAll?: boolean;
  /** Compute every node, not only the ancestors of recorded ReLUs (diagnostics: exercises gap / linear). */
  readonly computeAll?: boolean;
}

function shape3(n: IRNode): [number, number, number] {
  if (n.shape.length !== 3)
    throw new SwapError('E_IR_SHAPE', `node ${n.id} (${n.op}) needs a C×H×W shape, has ${n.shape.join('x')}`);
  return n.shape as unknown as [number, number, number];
}

/** Activation slots: a freed slot is reused (best fit, else the largest free one grows) before a new one is added. */
class SlotAllocator {
  readonly bytes: number[] = [];
  private readonly free: number[] = [];

  acquire(bytes: number): number {
    const { free, bytes: size } = this;
    let best = -1;
    for (let k = 0; k < free.length; k++) {
      const s = free[k]!;
      if (size[s]! >= bytes && (best < 0 || size[s]! < size[free[best]!]!)) best = k;
    }
    if (best < 0 && free.length > 0) {
      // enlarge the largest free slot rather than adding one
      best = 0;
      for (let k = 1; k < free.length; k++) if (size[free[k]!]! > size[free[best]!]!) best = k;
      size[free[best]!] = bytes;
    }
    if (best >= 0) return free.splice(best, 1)[0]!;
    size.push(bytes);
    return size.length - 1;
  }

  release(slot: number): void {
    this.free.push(slot);
  }
}

/** Planning state of one network, shared by the per-op planners. */
class Planner {
  readonly words: number;
  readonly slots = new SlotAllocator();
  readonly nodeSlot: Int32Array;
  readonly dispatches: PlannedDispatch[] = [];
  readonly weights: WeightTensor[] = [];
  weightCount = 0;
  readonly recorded: { node: number; base: number; per: number }[] = [];
  neurons = 0;
  /** Needed readers of each node. */
  readonly consumers: Int32Array;
  /** PRNG tensor id of each node's weights. */
  readonly tensors: Int32Array;

  constructor(
    readonly net: Network,
    readonly S: number,
    readonly opts: PlanOptions,
    need: Uint8Array,
  ) {
    this.words = Math.ceil(S / 32);
    this.nodeSlot = new Int32Array(net.nodes.length).fill(-1);
    this.consumers = new Int32Array(net.nodes.length);
    this.tensors = weightTensorIds(net);
    for (const n of net.nodes) if (need[n.id]) for (const j of n.inputs) this.consumers[j]!++;
  }

  push(n: IRNode, program: ProgramSpec, uniforms: Record<string, number>, buffers: BufRef[]): void {
    this.dispatches.push({ program, uniforms, buffers, node: n.id });
  }

  /** A slot for node `n`'s output. */
  alloc(n: IRNode): BufRef {
    const s = this.slots.acquire(Math.max(4, this.S * numel(n.shape) * 4));
    this.nodeSlot[n.id] = s;
    return { kind: 'slot', slot: s };
  }

  /** Where node `j`'s output is. */
  ref(j: number): BufRef {
    if (this.net.nodes[j]!.op === 'input') return { kind: 'input' };
    const s = this.nodeSlot[j]!;
    if (s < 0) throw new Error(`webgpu plan: node ${j} has no buffer`);
    return { kind: 'slot', slot: s };
  }

  input(n: IRNode, k = 0): IRNode {
    return this.net.nodes[n.inputs[k]!]!;
  }

  /** Reserve room for fixed `values` in the weight buffer (a node's per-channel constants); returns their offset. */
  constants(values: readonly number[]): number {
    const offset = this.weightCount;
    this.weights.push({ tensor: -1, offset, count: values.length, values: Float32Array.from(values) });
    this.weightCount += values.length;
    return offset;
  }

  /** Reserve `count` weights (4-aligned when `pack4`) for node `n`; returns their offset. */
  weight(n: IRNode, count: number, pack4?: WeightTensor['pack4']): number {
    if (pack4) this.weightCount = Math.ceil(this.weightCount / 4) * 4;
    const offset = this.weightCount;
    this.weights.push({ tensor: this.tensors[n.id]!, offset, count, ...(pack4 ? { pack4 } : {}) });
    this.weightCount += count;
    return offset;
  }
}

type OpPlanner<K extends OpName> = (n: NodeOf<K>, p: Planner) => void;

/** A smooth activation or arithmetic with one constant, or with one per channel (read from the weight buffer). */
function planAct(n: NodeOf<'act'>, p: Planner): void {
  const total = p.S * numel(n.shape);
  if (!n.alphas) return p.push(n, actProgram(n), { total }, [p.ref(n.inputs[0]!), p.alloc(n)]);
  const u = {
    total,
    plane: numel(n.shape) / n.alphas.length,
    c: n.alphas.length,
    woff: p.constants(n.alphas),
    fn_code: ACT_FNS.indexOf(n.fn),
  };
  p.push(n, PROGRAMS.chanact, u, [p.ref(n.inputs[0]!), { kind: 'weights' }, p.alloc(n)]);
}

function planRelu(n: NodeOf<'relu'>, p: Planner): void {
  const per = numel(n.shape);
  if (!isRecorded(n)) {
    p.push(n, reluProgram(n), { total: p.S * per }, [p.ref(n.inputs[0]!), p.alloc(n)]);
    return;
  }
  const writeY = p.consumers[n.id]! > 0 || p.opts.keepAll === true;
  const y = writeY ? p.alloc(n) : ({ kind: 'dummy' } as const);
  p.push(
    n,
    PROGRAMS.reluPack,
    { total: per * p.words, s: p.S, per, words: p.words, code_base: p.neurons, write_y: writeY ? 1 : 0 },
    [p.ref(n.inputs[0]!), y, { kind: 'codes' }],
  );
  p.recorded.push({ node: n.id, base: p.neurons, per });
  p.neurons += per;
}

function planAdd(n: NodeOf<'add'>, p: Planner): void {
  const ins = n.inputs.map((j) => p.ref(j));
  if (ins.length === 0) throw new SwapError('E_IR_INPUT', `add node ${n.id} has no inputs`);
  const y = p.alloc(n);
  const total = p.S * numel(n.shape);
  for (let k = 0; k < ins.length; k += 4) {
    const chunk = ins.slice(k, k + 4);
    const pad = Array.from({ length: 4 - chunk.length }, () => ({ kind: 'dummy' }) as const);
    const u = { total, n_in: chunk.length, accumulate: k > 0 ? 1 : 0, plane: 1, _p0: 0, _p1: 0, _p2: 0 };
    p.push(n, PROGRAMS.add, u, [y, ...chunk, ...pad]);
  }
}

function planConcat(n: NodeOf<'concat'>, p: Planner): void {
  const y = p.alloc(n);
  const per = numel(n.shape);
  let off = 0;
  n.inputs.forEach((j, k) => {
    const q = numel(p.input(n, k).shape);
    p.push(n, PROGRAMS.concat, { total: p.S * q, per_in: q, per_out: per, off }, [p.ref(j), y]);
    off += q;
  });
}

/**
 * A GroupNorm as the batch-norm program (γ = 1, β = 0): each sample's group is one contiguous run of (C/G)·H·W
 * values, so S·G "channels" of one sample each; a pixelwise group is one sample's pixel's C/G values, H·W apart, so
 * S·G·H·W "channels" of C/G "samples" of one value, the pixels of a group's block consecutive.
 */
function planGroupNorm(n: NodeOf<'gn'>, p: Planner): void {
  const [C, H, W] = bnMap(n.shape);
  const cg = C / n.groups;
  const g = p.S * n.groups * (n.pixelwise ? H * W : 1);
  const u = n.pixelwise
    ? { total: g, c: H * W, hw: 1, s: cg, plane: H * W, block: cg * H * W }
    : { total: g, c: g, hw: cg * H * W, s: 1, plane: g, block: 0 };
  p.push(n, batchnormProgram(bnEps(n)), u, [p.ref(n.inputs[0]!), p.alloc(n)]);
}

function planPool(n: NodeOf<'avgpool' | 'maxpool'>, p: Planner): void {
  const [C, OH, OW] = shape3(n);
  const [, H, W] = shape3(p.input(n));
  p.push(
    n,
    n.op === 'avgpool' ? PROGRAMS.avgpool : PROGRAMS.maxpool,
    {
      total: p.S * C * OH * OW,
      c: C,
      h: H,
      w: W,
      oh: OH,
      ow: OW,
      k: n.k,
      stride: n.stride,
      pad: n.pad,
      count_include_pad: n.op === 'avgpool' && n.countIncludePad ? 1 : 0,
      neg_inf: 0xff800000,
    },
    [p.ref(n.inputs[0]!), p.alloc(n)],
  );
}

/** Two window attributes in one uniform word: the height's in the low 16 bits, the width's in the high. */
function hw16(h: number, w: number): number {
  return (h | (w << 16)) >>> 0;
}

function planConv(n: NodeOf<'conv'>, p: Planner): void {
  const [, OH, OW] = shape3(n);
  const [, H, W] = shape3(p.input(n));
  const cinG = n.cin / n.groups;
  const coutG = n.cout / n.groups;
  // a transposed conv: one output channel per invocation, its weights in their own layout
  const ocb: 1 | 2 | 4 = n.transposed ? 1 : coutG % 4 === 0 ? 4 : coutG % 2 === 0 ? 2 : 1;
  const a = convAxes(n);
  const wOff = p.weight(n, weightCount(n), ocb === 4 ? { cinG, kk: a.kh * a.kw } : undefined);
  p.push(
    n,
    n.transposed ? PROGRAMS.convTranspose : convProgram(ocb),
    {
      total: (p.S * n.cout * OH * OW) / ocb,
      cin: n.cin,
      h: H,
      w: W,
      cout: n.cout,
      oh: OH,
      ow: OW,
      // the height's value in the low 16 bits, the width's in the high (each ≤ 1024: native/ir.cpp's bound)
      k_hw: hw16(a.kh, a.kw),
      stride_hw: hw16(a.sh, a.sw),
      pad_hw: hw16(a.ph, a.pw),
      dilation_hw: hw16(a.dh, a.dw),
      groups: n.groups,
      w_off: wOff,
    },
    [p.ref(n.inputs[0]!), { kind: 'weights' }, p.alloc(n)],
  );
}

function planSlice(n: NodeOf<'slice'>, p: Planner): void {
  const [C, H, W] = shape3(n);
  const [IC, IH, IW] = shape3(p.input(n));
  p.push(
    n,
    PROGRAMS.slice,
    { total: p.S * C * H * W, c: C, h: H, w: W, ic: IC, ih: IH, iw: IW, c0: n.c0, h0: n.h0, w0: n.w0, groups: 1 },
    [p.ref(n.inputs[0]!), p.alloc(n)],
  );
}

function planLinear(n: NodeOf<'linear'>, p: Planner): void {
  const wOff = p.weight(n, weightCount(n));
  p.push(n, PROGRAMS.linear, { total: p.S * n.fout, fin: n.fin, fout: n.fout, w_off: wOff }, [
    p.ref(n.inputs[0]!),
    { kind: 'weights' },
    p.alloc(n),
  ]);
}

/** The WebGPU kernel(s) of each op, as dispatches (a new op fails to compile until it has an entry). */
const PLANNERS: { readonly [K in OpName]: OpPlanner<K> } = {
  input: () => {},
  zero: (n, p) => p.push(n, PROGRAMS.fill, { total: p.S * numel(n.shape) }, [p.alloc(n)]),
  relu: planRelu,
  add: planAdd,
  concat: planConcat,
  bn: (n, p) => {
    const [C, H, W] = bnMap(n.shape);
    const u = { total: C, c: C, hw: H * W, s: p.S, plane: C, block: 0 };
    p.push(n, batchnormProgram(bnEps(n)), u, [p.ref(n.inputs[0]!), p.alloc(n)]);
  },
  gn: planGroupNorm,
  avgpool: planPool,
  maxpool: planPool,
  conv: planConv,
  slice: planSlice,
  gap: (n, p) => {
    const [C, H, W] = shape3(p.input(n));
    p.push(n, PROGRAMS.gap, { total: p.S * C, hw: H * W }, [p.ref(n.inputs[0]!), p.alloc(n)]);
  },
  linear: planLinear,
  // a copy: the mean over windows of one element (NCHW is already the flat order)
  flatten: (n, p) => p.push(n, PROGRAMS.gap, { total: p.S * numel(n.shape), hw: 1 }, [p.ref(n.inputs[0]!), p.alloc(n)]),
  // the same values (a copy: the gap program over planes of one)
  view: (n, p) => p.push(n, PROGRAMS.gap, { total: p.S * numel(n.shape), hw: 1 }, [p.ref(n.inputs[0]!), p.alloc(n)]),
  sigmoid: (n, p) =>
    p.push(n, sigmoidProgram(n.hard), { total: p.S * numel(n.shape) }, [p.ref(n.inputs[0]!), p.alloc(n)]),
  act: planAct,
  softmax: (n, p) =>
    p.push(n, PROGRAMS.softmax, { total: p.S, k: numel(n.shape), log: n.log ? 1 : 0 }, [
      p.ref(n.inputs[0]!),
      p.alloc(n),
    ]),
  mul: (n, p) => {
    const plane = numel(n.shape) / numel(p.input(n, 1).shape);
    const u = { total: p.S * numel(n.shape), n_in: 2, accumulate: 0, plane, _p0: 0, _p1: 0, _p2: 0 };
    const dummy = { kind: 'dummy' } as const;
    p.push(n, mulProgram(), u, [p.alloc(n), p.ref(n.inputs[0]!), p.ref(n.inputs[1]!), dummy, dummy]);
  },
  // the slice program over the whole input, its channels read in shuffled order
  shuffle: (n, p) => {
    const [C, H, W] = shape3(n);
    const whole = { c: C, h: H, w: W, ic: C, ih: H, iw: W, c0: 0, h0: 0, w0: 0 };
    p.push(n, PROGRAMS.slice, { total: p.S * C * H * W, ...whole, groups: n.groups }, [
      p.ref(n.inputs[0]!),
      p.alloc(n),
    ]);
  },
  chanpool: (n, p) => {
    const [C, H, W] = shape3(p.input(n));
    const uniforms = { total: p.S * H * W, c: C, hw: H * W, is_max: n.max ? 1 : 0 };
    p.push(n, PROGRAMS.chanpool, uniforms, [p.ref(n.inputs[0]!), p.alloc(n)]);
  },
  upsample: (n, p) => {
    const [C, H, W] = shape3(n);
    const [, IH, IW] = shape3(p.input(n));
    const bilinear = { bilinear: n.bilinear ? 1 : 0, align: n.bilinear?.alignCorners ? 1 : 0, _p0: 0, _p1: 0, _p2: 0 };
    p.push(n, PROGRAMS.upsample, { total: p.S * C * H * W, h: H, w: W, ih: IH, iw: IW, scale: n.scale, ...bilinear }, [
      p.ref(n.inputs[0]!),
      p.alloc(n),
    ]);
  },
  expand: (n, p) => {
    const [C, H, W] = shape3(n);
    const [IC, IH, IW] = shape3(p.input(n));
    const uniforms = { total: p.S * C * H * W, c: C, h: H, w: W, ic: IC, ih: IH, iw: IW };
    p.push(n, PROGRAMS.expand, uniforms, [p.ref(n.inputs[0]!), p.alloc(n)]);
  },
};

export function planNetwork(net: Network, samples: number, opts: PlanOptions = {}): NetworkPlan {
  const need = opts.computeAll ? new Uint8Array(net.nodes.length).fill(1) : neededNodes(net);
  const p = new Planner(net, samples, opts, need);
  // last needed reader of each node
  const lastUse = new Int32Array(net.nodes.length).fill(-1);
  for (const n of net.nodes) if (need[n.id]) for (const j of n.inputs) lastUse[j] = n.id;

  for (const n of net.nodes) {
    if (!need[n.id]) continue;
    (PLANNERS[n.op] as OpPlanner<OpName>)(n, p);
    // release inputs whose last reader this was
    if (!opts.keepAll) {
      for (const j of new Set(n.inputs)) {
        if (lastUse[j] === n.id && p.nodeSlot[j]! >= 0) p.slots.release(p.nodeSlot[j]!);
      }
    }
  }

  let tableSize = 64;
  while (tableSize < 2 * p.neurons) tableSize *= 2;
  if (p.neurons > 0) {
    p.dispatches.push({
      program: PROGRAMS.patternCount,
      uniforms: { total: p.neurons, words: p.words, mask: tableSize - 1 },
      buffers: [{ kind: 'codes' }, { kind: 'table' }, { kind: 'counter' }],
      node: -1,
    });
  }
  const { dispatches, nodeSlot, weights, weightCount, recorded, neurons, words } = p;
  return {
    samples,
    words,
    dispatches,
    slotBytes: p.slots.bytes,
    nodeSlot,
    weights,
    weightCount,
    recorded,
    neurons,
    tableSize,
  };
}
