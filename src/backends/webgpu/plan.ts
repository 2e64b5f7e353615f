import { numel } from '../../ir/analysis.js';
import type { IRNode, Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { neededNodes } from '../reference/forward.js';
import { PROGRAMS, convProgram, type ProgramSpec } from './programs.js';

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
  /** PRNG tensor id = node id. */
  readonly node: number;
  /** Offset (in floats) in the network's weight buffer. */
  readonly offset: number;
  readonly count: number;
  /**
   * Conv weights for `conv2d_oc4.wgsl`: stored as `[cout/4][cin/groups][k][k][4]` (element `o` of each vec4 is
   * output channel `4·block + o`) instead of PyTorch's `[cout][cin/groups][k][k]`; the offset is 4-aligned.
   */
  readonly pack4?: { readonly cinG: number; readonly kk: number };
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

const isRecorded = (n: IRNode) => n.op === 'relu' && n.shape.length === 3;

function shape3(n: IRNode): [number, number, number] {
  if (n.shape.length !== 3)
    throw new SwapError('E_IR_SHAPE', `node ${n.id} (${n.op}) needs a C×H×W shape, has ${n.shape.join('x')}`);
  return n.shape as unknown as [number, number, number];
}

export function planNetwork(net: Network, samples: number, opts: PlanOptions = {}): NetworkPlan {
  const S = samples;
  const words = Math.ceil(S / 32);
  const need = opts.computeAll ? new Uint8Array(net.nodes.length).fill(1) : neededNodes(net);
  const nodes = net.nodes;
  // last needed reader of each node
  const lastUse = new Int32Array(nodes.length).fill(-1);
  const consumers = new Int32Array(nodes.length);
  for (const n of nodes) {
    if (!need[n.id]) continue;
    for (const j of n.inputs) {
      lastUse[j] = n.id;
      consumers[j]!++;
    }
  }

  const slotBytes: number[] = [];
  const free: number[] = [];
  const nodeSlot = new Int32Array(nodes.length).fill(-1);
  const acquire = (bytes: number): number => {
    // best fit among free slots (grow one if none is large enough)
    let best = -1;
    for (let k = 0; k < free.length; k++) {
      const s = free[k]!;
      if (slotBytes[s]! >= bytes && (best < 0 || slotBytes[s]! < slotBytes[free[best]!]!)) best = k;
    }
    if (best < 0 && free.length > 0) {
      // enlarge the largest free slot rather than adding one
      best = 0;
      for (let k = 1; k < free.length; k++) if (slotBytes[free[k]!]! > slotBytes[free[best]!]!) best = k;
      slotBytes[free[best]!] = bytes;
    }
    if (best >= 0) return free.splice(best, 1)[0]!;
    slotBytes.push(bytes);
    return slotBytes.length - 1;
  };

  const dispatches: PlannedDispatch[] = [];
  const weights: WeightTensor[] = [];
  let weightCount = 0;
  const recorded: { node: number; base: number; per: number }[] = [];
  let neurons = 0;

  const ref = (j: number): BufRef => {
    if (nodes[j]!.op === 'input') return { kind: 'input' };
    const s = nodeSlot[j]!;
    if (s < 0) throw new Error(`webgpu plan: node ${j} has no buffer`);
    return { kind: 'slot', slot: s };
  };

  for (const n of nodes) {
    if (!need[n.id]) continue;
    const per = numel(n.shape);
    const total = S * per;
    const push = (program: ProgramSpec, uniforms: Record<string, number>, buffers: BufRef[]) =>
      dispatches.push({ program, uniforms, buffers, node: n.id });
    const alloc = (): BufRef => {
      const s = acquire(Math.max(4, total * 4));
      nodeSlot[n.id] = s;
      return { kind: 'slot', slot: s };
    };
    const inShape = (k: number) => nodes[n.inputs[k]!]!.shape;

    switch (n.op) {
      case 'input':
        break;
      case 'zero':
        push(PROGRAMS.fill, { total }, [alloc()]);
        break;
      case 'relu': {
        if (isRecorded(n)) {
          const writeY = consumers[n.id]! > 0 || opts.keepAll === true;
          const y = writeY ? alloc() : ({ kind: 'dummy' } as const);
          push(
            PROGRAMS.reluPack,
            { total: per * words, s: S, per, words, code_base: neurons, write_y: writeY ? 1 : 0 },
            [ref(n.inputs[0]!), y, { kind: 'codes' }],
          );
          recorded.push({ node: n.id, base: neurons, per });
          neurons += per;
        } else {
          push(PROGRAMS.relu, { total }, [ref(n.inputs[0]!), alloc()]);
        }
        break;
      }
      case 'add': {
        const ins = n.inputs.map(ref);
        if (ins.length === 0) throw new SwapError('E_IR_INPUT', `add node ${n.id} has no inputs`);
        const y = alloc();
        for (let k = 0; k < ins.length; k += 4) {
          const chunk = ins.slice(k, k + 4);
          const pad = Array.from({ length: 4 - chunk.length }, () => ({ kind: 'dummy' }) as const);
          push(PROGRAMS.add, { total, n_in: chunk.length, accumulate: k > 0 ? 1 : 0 }, [y, ...chunk, ...pad]);
        }
        break;
      }
      case 'concat': {
        const y = alloc();
        let off = 0;
        n.inputs.forEach((j, k) => {
          const p = numel(inShape(k));
          push(PROGRAMS.concat, { total: S * p, per_in: p, per_out: per, off }, [ref(j), y]);
          off += p;
        });
        break;
      }
      case 'bn': {
        const [C, H, W] = shape3(n);
        push(PROGRAMS.batchnorm, { total: C, c: C, hw: H * W, s: S }, [ref(n.inputs[0]!), alloc()]);
        break;
      }
      case 'avgpool':
      case 'maxpool': {
        const [C, OH, OW] = shape3(n);
        const [, H, W] = shape3(nodes[n.inputs[0]!]!);
        push(
          n.op === 'avgpool' ? PROGRAMS.avgpool : PROGRAMS.maxpool,
          {
            total,
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
          [ref(n.inputs[0]!), alloc()],
        );
        break;
      }
      case 'conv': {
        const [, OH, OW] = shape3(n);
        const [, H, W] = shape3(nodes[n.inputs[0]!]!);
        const cinG = n.cin / n.groups;
        const coutG = n.cout / n.groups;
        const count = n.cout * cinG * n.k * n.k;
        const ocb: 1 | 2 | 4 = coutG % 4 === 0 ? 4 : coutG % 2 === 0 ? 2 : 1;
        if (ocb === 4) weightCount = Math.ceil(weightCount / 4) * 4;
        weights.push({
          node: n.id,
          offset: weightCount,
          count,
          ...(ocb === 4 ? { pack4: { cinG, kk: n.k * n.k } } : {}),
        });
        push(
          convProgram(ocb),
          {
            total: (S * n.cout * OH * OW) / ocb,
            cin: n.cin,
            h: H,
            w: W,
            cout: n.cout,
            oh: OH,
            ow: OW,
            k: n.k,
            stride: n.stride,
            pad: n.pad,
            dilation: n.dilation,
            groups: n.groups,
            w_off: weightCount,
          },
          [ref(n.inputs[0]!), { kind: 'weights' }, alloc()],
        );
        weightCount += count;
        break;
      }
      case 'slice': {
        const [C, H, W] = shape3(n);
        const [IC, IH, IW] = shape3(nodes[n.inputs[0]!]!);
        push(
          PROGRAMS.slice,
          { total, c: C, h: H, w: W, ic: IC, ih: IH, iw: IW, c0: n.c0, h0: n.h0, w0: n.w0, _p0: 0 },
          [ref(n.inputs[0]!), alloc()],
        );
        break;
      }
      case 'gap': {
        const [C, H, W] = shape3(nodes[n.inputs[0]!]!);
        push(PROGRAMS.gap, { total: S * C, hw: H * W }, [ref(n.inputs[0]!), alloc()]);
        break;
      }
      case 'linear': {
        const count = n.fout * n.fin;
        weights.push({ node: n.id, offset: weightCount, count });
        push(PROGRAMS.linear, { total: S * n.fout, fin: n.fin, fout: n.fout, w_off: weightCount }, [
          ref(n.inputs[0]!),
          { kind: 'weights' },
          alloc(),
        ]);
        weightCount += count;
        break;
      }
    }
    // release inputs whose last reader this was
    if (!opts.keepAll) {
      for (const j of new Set(n.inputs)) {
        if (lastUse[j] === n.id && nodeSlot[j]! >= 0) free.push(nodeSlot[j]!);
      }
    }
  }

  let tableSize = 64;
  while (tableSize < 2 * neurons) tableSize *= 2;
  if (neurons > 0) {
    dispatches.push({
      program: PROGRAMS.patternCount,
      uniforms: { total: neurons, words, mask: tableSize - 1 },
      buffers: [{ kind: 'codes' }, { kind: 'table' }, { kind: 'counter' }],
      node: -1,
    });
  }
  return { samples: S, words, dispatches, slotBytes, nodeSlot, weights, weightCount, recorded, neurons, tableSize };
}
