/**
 * ONNX → IR import, for models whose every op has an IR equivalent. The imported network is scored with
 * PRNG weights (`--reinit`): Conv/Gemm/MatMul weights N(0,1) drawn per IR node id, biases 0, BN γ=1, β=0
 * with batch statistics — the model's own weight values are not carried over (own-weights scoring runs on
 * ONNX Runtime).
 *
 * Supported (default domain): Conv (2-D, square kernel, symmetric pads, equal strides/dilations, groups,
 * bias), BatchNormalization (training mode, ε = 1e-5), Relu, AveragePool / MaxPool (square, symmetric pads,
 * no ceil mode), Add / Sum of same-shape maps, Concat on channels, Mul by a constant 0 and ConstantOfShape(0)
 * (NB201 `none`), GlobalAveragePool or ReduceMean over H, W followed by Flatten / Reshape(N, -1), Gemm,
 * MatMul (+ bias Add), zero Pad before AveragePool/Conv, Identity, Dropout, Constant, and the
 * Shape/Gather/Unsqueeze/Concat arithmetic PyTorch emits for `view(x.size(0), -1)`.
 *
 * Nodes that no Relu depends on (e.g. a Softmax head) are skipped when unsupported. A Relu applied twice to
 * the same tensor becomes one IR node (recorded once). Every ONNX node that maps to an IR node creates it in
 * graph order, so a model written by `networkToOnnx` imports to the same node ids and hence the same weights.
 */
import { GraphBuilder } from '../ir/builder.js';
import type { Network, Shape, Shape3 } from '../ir/types.js';
import { isSwapError } from '../util/errors.js';
import { bnIsTraining, type LoadedModel } from './load.js';
import {
  getFloat,
  getInt,
  getInts,
  getString,
  numelOf,
  tensorDims,
  tensorValues,
  type INodeProto,
  type ITensorProto,
} from './proto.js';
import { BN_EPS } from '../backends/reference/forward.js';

export interface ImportOptions {
  /** Per-sample input shape [C, H, W] (the model's own when its dims are fixed). */
  readonly inputShape: Shape3;
  /** `batch`: treat every BatchNormalization as training mode (PyTorch `model.train()`). Default `model`. */
  readonly bn?: 'model' | 'batch';
}

export type ImportResult =
  | {
      readonly ok: true;
      readonly network: Network;
      /** IR node id of each weighted ONNX node (Conv/Gemm/MatMul), by index in `graph.node`: its PRNG tensor id. */
      readonly weightIds: ReadonlyMap<number, number>;
    }
  | { readonly ok: false; readonly reason: string };

class Unsupported extends Error {}

type Val =
  | { readonly k: 'ir'; readonly id: number }
  | { readonly k: 'const'; readonly t: ITensorProto }
  | { readonly k: 'shape'; readonly v: readonly (number | 'N')[] }
  | { readonly k: 'gap'; readonly src: number } // (N, C, 1, 1) global average, awaiting Flatten/Reshape
  | { readonly k: 'pad'; readonly src: number; readonly pad: number } // zero-padded map, awaiting AveragePool/Conv
  | { readonly k: 'opaque'; readonly why: string };

function fail(msg: string): never {
  throw new Unsupported(msg);
}

function isDefaultDomain(n: INodeProto): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

/** Indices of nodes some Relu (transitively) depends on. */
function reluAncestors(nodes: readonly INodeProto[]): Set<number> {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
  const keep = new Set<number>();
  const stack: number[] = [];
  nodes.forEach((n, i) => {
    if (n.opType === 'Relu') stack.push(i);
  });
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (keep.has(i)) continue;
    keep.add(i);
    for (const inp of nodes[i]!.input ?? []) {
      const p = producer.get(inp);
      if (p !== undefined && !keep.has(p)) stack.push(p);
    }
  }
  return keep;
}

function square(name: string, v: readonly number[] | undefined, dflt: number): number {
  if (!v || v.length === 0) return dflt;
  if (v.length !== 2 || v[0] !== v[1]) fail(`${name} ${JSON.stringify(v)} is not square/2-D`);
  return v[0]!;
}

function symmetricPad(v: readonly number[] | undefined): number {
  if (!v || v.length === 0) return 0;
  if (v.length !== 4 || v.some((x) => x !== v[0])) fail(`pads ${JSON.stringify(v)} are not symmetric`);
  return v[0]!;
}

/** Import a loaded model into the IR, or say why it cannot be. */
export function importOnnxModel(m: LoadedModel, opts: ImportOptions): ImportResult {
  try {
    return importOrThrow(m, opts);
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, reason: e.message };
    if (isSwapError(e)) return { ok: false, reason: e.message };
    throw e;
  }
}

function importOrThrow(m: LoadedModel, opts: ImportOptions): ImportResult {
  const g = m.model.graph!;
  const nodes = g.node ?? [];
  const b = new GraphBuilder(opts.inputShape);
  const env = new Map<string, Val>();
  const weightIds = new Map<number, number>();
  for (const [name, t] of m.consts) env.set(name, { k: 'const', t });
  env.set(m.input.name, { k: 'ir', id: b.input });
  const needed = reluAncestors(nodes);
  const graphOutputs = new Set((g.output ?? []).map((o) => o.name ?? ''));
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => (n.input ?? []).forEach((x) => x && consumers.set(x, [...(consumers.get(x) ?? []), i])));
  const used = (name: string) => graphOutputs.has(name) || (consumers.get(name) ?? []).length > 0;
  const absorbed = new Set<number>();
  const gapOf = new Map<number, number>();

  const shapeOf = (id: number): Shape => b.shape(id);
  const get = (n: INodeProto, i: number): Val => {
    const name = n.input?.[i] ?? '';
    if (!name) fail(`${n.opType} ${n.name}: input ${i} is missing`);
    const v = env.get(name);
    if (!v) fail(`${n.opType} ${n.name}: input ${name} is not produced by an earlier node`);
    if (v.k === 'opaque') fail(`${n.opType} ${n.name} depends on ${v.why}`);
    return v;
  };
  const ir = (n: INodeProto, i: number): number => {
    const v = get(n, i);
    if (v.k !== 'ir') fail(`${n.opType} ${n.name}: input ${i} is not a feature tensor (${v.k})`);
    return v.id;
  };
  const ir3 = (n: INodeProto, i: number): number => {
    const id = ir(n, i);
    if (shapeOf(id).length !== 3) fail(`${n.opType} ${n.name}: expects a 4-D tensor`);
    return id;
  };
  const cst = (n: INodeProto, i: number): ITensorProto => {
    const v = get(n, i);
    if (v.k !== 'const') fail(`${n.opType} ${n.name}: input ${i} must be a constant`);
    return v.t;
  };
  const intVector = (v: Val, what: string): (number | 'N')[] => {
    if (v.k === 'shape') return [...v.v];
    if (v.k === 'const') return Array.from(tensorValues(v.t));
    fail(`${what} is not a constant integer vector`);
  };
  const set = (n: INodeProto, v: Val, k = 0) => {
    const o = n.output?.[k];
    if (o) env.set(o, v);
  };
  const onlyFirstOutputUsed = (n: INodeProto) => {
    (n.output ?? []).slice(1).forEach((o) => {
      if (o && used(o)) fail(`${n.opType} ${n.name}: its extra output ${o} is used`);
    });
  };
  const flattenOf = (n: INodeProto, v: Val): number => {
    if (v.k === 'gap') {
      let id = gapOf.get(v.src);
      if (id === undefined) {
        id = b.gap(v.src);
        gapOf.set(v.src, id);
      }
      return id;
    }
    if (v.k === 'ir' && shapeOf(v.id).length === 1) return v.id;
    fail(`${n.opType} ${n.name}: only a global average pool or a flat tensor can be flattened in the IR`);
  };

  nodes.forEach((n, idx) => {
    if (absorbed.has(idx)) return;
    const op = n.opType ?? '';
    try {
      if (!isDefaultDomain(n)) fail(`op ${n.domain}.${op} is outside the default domain`);
      importNode(n, idx, op);
    } catch (e) {
      if (!(e instanceof Unsupported) && !isSwapError(e)) throw e;
      if (needed.has(idx)) fail(`${op} node ${n.name || idx}: ${(e as Error).message}`);
      for (const o of n.output ?? [])
        if (o) env.set(o, { k: 'opaque', why: `${op} node ${n.name || idx} (${(e as Error).message})` });
    }
  });

  function importNode(n: INodeProto, idx: number, op: string): void {
    switch (op) {
      case 'Constant':
        return; // already in env
      case 'Identity':
        return set(n, get(n, 0));
      case 'Dropout':
        onlyFirstOutputUsed(n);
        return set(n, get(n, 0));
      case 'Relu': {
        const v = get(n, 0);
        if (v.k !== 'ir') fail(`Relu ${n.name}: input is ${v.k === 'gap' ? 'a pooled (N, C, 1, 1) tensor' : v.k}`);
        return set(n, { k: 'ir', id: b.relu(v.id) });
      }
      case 'Conv': {
        const xv = get(n, 0);
        let extraPad = 0;
        let x: number;
        if (xv.k === 'pad') {
          x = xv.src;
          extraPad = xv.pad;
        } else x = ir3(n, 0);
        const w = cst(n, 1);
        const wd = tensorDims(w);
        if (wd.length !== 4 || wd[2] !== wd[3])
          fail(`Conv ${n.name}: weight shape [${wd.join(', ')}] is not a square 2-D kernel`);
        const k = square('kernel_shape', getInts(n, 'kernel_shape'), wd[2]!);
        if (k !== wd[2]) fail(`Conv ${n.name}: kernel_shape disagrees with the weight`);
        const stride = square('strides', getInts(n, 'strides'), 1);
        const dilation = square('dilations', getInts(n, 'dilations'), 1);
        const groups = getInt(n, 'group', 1);
        const [cin, h, wid] = shapeOf(x) as Shape3;
        if (wd[1]! * groups !== cin)
          fail(`Conv ${n.name}: weight expects ${wd[1]! * groups} input channels, got ${cin}`);
        let pad = autoPad(n, h, wid, k, stride, dilation) ?? symmetricPad(getInts(n, 'pads'));
        if (extraPad && pad !== 0) fail(`Conv ${n.name}: both an explicit Pad and conv pads`);
        pad += extraPad;
        const hasBias = Boolean(n.input?.[2]);
        if (hasBias) {
          const bias = cst(n, 2);
          if (numelOf(tensorDims(bias)) !== wd[0]) fail(`Conv ${n.name}: bias size`);
        }
        const id = b.conv(x, wd[0]!, k, { stride, pad, dilation, groups, bias: hasBias });
        weightIds.set(idx, id);
        return set(n, { k: 'ir', id });
      }
      case 'BatchNormalization': {
        const x = ir3(n, 0);
        const training = opts.bn === 'batch' || bnIsTraining(n, m.opset);
        if (!training)
          fail(
            `BatchNormalization ${n.name} uses its running statistics (exported in eval mode); the IR normalises with batch statistics`,
          );
        const eps = getFloat(n, 'epsilon', 1e-5);
        if (Math.abs(eps - BN_EPS) > 1e-9) fail(`BatchNormalization ${n.name}: epsilon ${eps} ≠ ${BN_EPS}`);
        for (let i = 1; i <= 4; i++) cst(n, i);
        onlyFirstOutputUsed(n);
        return set(n, { k: 'ir', id: b.bn(x, true) });
      }
      case 'AveragePool':
      case 'MaxPool': {
        const xv = get(n, 0);
        let x: number;
        let pad = 0;
        const k = square('kernel_shape', getInts(n, 'kernel_shape'), 0);
        const stride = square('strides', getInts(n, 'strides'), 1);
        if (getInt(n, 'ceil_mode', 0) !== 0) fail('ceil_mode is not supported');
        if (square('dilations', getInts(n, 'dilations'), 1) !== 1) fail('dilated pooling is not supported');
        if (xv.k === 'pad') {
          if (op === 'MaxPool') fail('MaxPool after a zero Pad');
          x = xv.src;
          pad = xv.pad;
          if (symmetricPad(getInts(n, 'pads')) !== 0) fail('both an explicit Pad and pool pads');
        } else {
          x = ir3(n, 0);
          const [, h, w] = shapeOf(x) as Shape3;
          pad = autoPad(n, h, w, k, stride, 1) ?? symmetricPad(getInts(n, 'pads'));
        }
        if (op === 'MaxPool') {
          onlyFirstOutputUsed(n);
          if (getInt(n, 'storage_order', 0) !== 0) fail('storage_order');
          return set(n, { k: 'ir', id: b.maxpool(x, k, stride, pad) });
        }
        const include = xv.k === 'pad' ? true : getInt(n, 'count_include_pad', 0) === 1;
        return set(n, { k: 'ir', id: b.avgpool(x, k, stride, pad, include) });
      }
      case 'Pad': {
        const x = ir3(n, 0);
        if ((getString(n, 'mode') ?? 'constant') !== 'constant') fail('only constant padding');
        const pads = intVector(get(n, 1), 'Pad pads').map(Number);
        if (n.input?.[2]) {
          const cv = tensorValues(cst(n, 2));
          if (cv.length > 0 && cv[0] !== 0) fail('non-zero pad value');
        }
        if (n.input?.[3]) fail('Pad with axes');
        if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5]) fail('padding outside H, W');
        const p = pads[2]!;
        if (pads[3] !== p || pads[6] !== p || pads[7] !== p) fail('asymmetric padding');
        return set(n, p === 0 ? { k: 'ir', id: x } : { k: 'pad', src: x, pad: p });
      }
      case 'Add':
      case 'Sum': {
        const xs = (n.input ?? []).map((_, i) => ir(n, i));
        if (op === 'Add' && xs.length !== 2) fail('Add needs two inputs');
        const s0 = shapeOf(xs[0]!).join('x');
        if (xs.some((x) => shapeOf(x).join('x') !== s0)) fail(`${op} ${n.name} broadcasts`);
        return set(n, { k: 'ir', id: b.add(xs) });
      }
      case 'Mul': {
        const a = get(n, 0);
        const c = get(n, 1);
        const [x, k] =
          a.k === 'ir' && c.k === 'const'
            ? [a.id, c.t]
            : c.k === 'ir' && a.k === 'const'
              ? [c.id, a.t]
              : fail('Mul of two tensors');
        const kv = tensorValues(k);
        if (kv.length !== 1 || kv[0] !== 0) fail('Mul by a constant other than 0');
        const s = shapeOf(x);
        if (s.length !== 3) fail('Mul by 0 of a flat tensor');
        return set(n, { k: 'ir', id: b.zero(s) });
      }
      case 'ConstantOfShape': {
        const shp = intVector(get(n, 0), 'ConstantOfShape shape');
        const value = n.attribute?.find((a) => a.name === 'value')?.t;
        if (value && tensorValues(value).some((v) => v !== 0)) fail('ConstantOfShape with a non-zero value');
        if (shp.length !== 4 || shp[0] !== 'N' || shp.slice(1).some((d) => typeof d !== 'number'))
          fail('ConstantOfShape of a shape other than (N, C, H, W)');
        return set(n, { k: 'ir', id: b.zero(shp.slice(1) as unknown as Shape3) });
      }
      case 'Shape': {
        const v = get(n, 0);
        if (v.k !== 'ir') fail('Shape of a non-feature tensor');
        const full: (number | 'N')[] = ['N', ...shapeOf(v.id)];
        const r = full.length;
        const norm = (a: number) => Math.min(r, Math.max(0, a < 0 ? a + r : a));
        return set(n, { k: 'shape', v: full.slice(norm(getInt(n, 'start', 0)), norm(getInt(n, 'end', r))) });
      }
      case 'Gather': {
        const data = intVector(get(n, 0), 'Gather data');
        if (getInt(n, 'axis', 0) !== 0) fail('Gather on axis ≠ 0');
        const ix = Array.from(tensorValues(cst(n, 1)));
        return set(n, {
          k: 'shape',
          v: ix.map((i) => data[i < 0 ? i + data.length : i] ?? fail('Gather index out of range')),
        });
      }
      case 'Unsqueeze': {
        const v = get(n, 0);
        if (v.k !== 'shape' && v.k !== 'const') fail('Unsqueeze of a feature tensor');
        const axes = n.input?.[1] ? Array.from(tensorValues(cst(n, 1))) : (getInts(n, 'axes') ?? []);
        if (axes.length !== 1 || axes[0] !== 0) fail('Unsqueeze other than of a scalar on axis 0');
        return set(n, { k: 'shape', v: intVector(v, 'Unsqueeze input').slice(0, 1) });
      }
      case 'Concat': {
        const vals = (n.input ?? []).map((_, i) => get(n, i));
        const axis = getInt(n, 'axis', 0);
        if (vals.every((v) => v.k === 'ir')) {
          const ids = vals.map((v) => (v as { id: number }).id);
          if (ids.some((id) => shapeOf(id).length !== 3)) fail('Concat of flat tensors');
          if (axis !== 1 && axis !== -3) fail(`Concat on axis ${axis}`);
          return set(n, { k: 'ir', id: b.concat(ids) });
        }
        if (axis !== 0) fail('Concat of shape values on axis ≠ 0');
        return set(n, { k: 'shape', v: vals.flatMap((v) => intVector(v, 'Concat input')) });
      }
      case 'Slice': {
        const x = ir3(n, 0);
        const dims = [0, ...shapeOf(x)]; // the batch axis may not be sliced
        const starts = Array.from(tensorValues(cst(n, 1)));
        const ends = Array.from(tensorValues(cst(n, 2)));
        const axes = n.input?.[3] ? Array.from(tensorValues(cst(n, 3))) : starts.map((_, i) => i);
        const steps = n.input?.[4] ? Array.from(tensorValues(cst(n, 4))) : starts.map(() => 1);
        if (starts.length !== ends.length || axes.length !== starts.length || steps.length !== starts.length)
          fail('Slice with inconsistent starts/ends/axes/steps');
        const lo = [0, 0, 0, 0];
        const hi = [...dims];
        axes.forEach((a0, i) => {
          const a = a0 < 0 ? a0 + 4 : a0;
          if (a < 1 || a > 3) fail(`Slice on axis ${a0} (only channel and spatial axes can be sliced)`);
          if (steps[i] !== 1) fail(`Slice with step ${steps[i]}`);
          const d = dims[a]!;
          const clamp = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
          lo[a] = clamp(starts[i]!);
          hi[a] = clamp(ends[i]!);
        });
        if (hi.slice(1).some((h, k) => h <= lo[k + 1]!)) fail('Slice gives an empty tensor');
        return set(n, {
          k: 'ir',
          id: b.slice(x, {
            c0: lo[1]!,
            c: hi[1]! - lo[1]!,
            h0: lo[2]!,
            h: hi[2]! - lo[2]!,
            w0: lo[3]!,
            w: hi[3]! - lo[3]!,
          }),
        });
      }
      case 'GlobalAveragePool':
        return set(n, { k: 'gap', src: ir3(n, 0) });
      case 'ReduceMean': {
        const x = ir3(n, 0);
        const axes = (n.input?.[1] ? Array.from(tensorValues(cst(n, 1))) : (getInts(n, 'axes') ?? []))
          .map((a) => (a < 0 ? a + 4 : a))
          .sort();
        if (axes.join(',') !== '2,3') fail(`ReduceMean over axes ${axes.join(',')}`);
        if (getInt(n, 'keepdims', 1) === 0) {
          let id = gapOf.get(x);
          if (id === undefined) {
            id = b.gap(x);
            gapOf.set(x, id);
          }
          return set(n, { k: 'ir', id });
        }
        return set(n, { k: 'gap', src: x });
      }
      case 'Flatten': {
        if (getInt(n, 'axis', 1) !== 1) fail('Flatten on axis ≠ 1');
        return set(n, { k: 'ir', id: flattenOf(n, get(n, 0)) });
      }
      case 'Reshape': {
        const v = get(n, 0);
        const shp = intVector(get(n, 1), 'Reshape shape');
        const per =
          v.k === 'gap' ? (shapeOf(v.src)[0] as number) : v.k === 'ir' ? shapeOf(v.id).reduce((a, d) => a * d, 1) : -2;
        const okBatch = shp[0] === 'N' || (shp[0] === 0 && getInt(n, 'allowzero', 0) === 0);
        if (shp.length !== 2 || !okBatch || (shp[1] !== -1 && shp[1] !== per)) fail(`Reshape to [${shp.join(', ')}]`);
        return set(n, { k: 'ir', id: flattenOf(n, v) });
      }
      case 'Gemm': {
        const x = ir(n, 0);
        if (shapeOf(x).length !== 1) fail('Gemm on a non-flat tensor');
        if (getInt(n, 'transA', 0) !== 0 || getFloat(n, 'alpha', 1) !== 1 || getFloat(n, 'beta', 1) !== 1)
          fail('Gemm with transA/alpha/beta');
        const wd = tensorDims(cst(n, 1));
        if (wd.length !== 2) fail('Gemm weight is not 2-D');
        const transB = getInt(n, 'transB', 0) === 1;
        const [fout, fin] = transB ? [wd[0]!, wd[1]!] : [wd[1]!, wd[0]!];
        if (fin !== shapeOf(x)[0]) fail('Gemm weight does not fit its input');
        const hasBias = Boolean(n.input?.[2]);
        if (hasBias) cst(n, 2);
        const id = b.linear(x, fout, hasBias);
        weightIds.set(idx, id);
        return set(n, { k: 'ir', id });
      }
      case 'MatMul': {
        const x = ir(n, 0);
        if (shapeOf(x).length !== 1) fail('MatMul on a non-flat tensor');
        const wd = tensorDims(cst(n, 1));
        if (wd.length !== 2 || wd[0] !== shapeOf(x)[0]) fail('MatMul weight does not fit its input');
        // A bias Add that only consumes this product becomes the linear layer's bias.
        const outs = consumers.get(n.output?.[0] ?? '') ?? [];
        let biasAdd: number | undefined;
        if (outs.length === 1 && !graphOutputs.has(n.output?.[0] ?? '')) {
          const a = nodes[outs[0]!]!;
          const other = a.opType === 'Add' ? (a.input ?? []).find((i) => i !== n.output?.[0]) : undefined;
          const t = other ? env.get(other) : undefined;
          if (t?.k === 'const' && numelOf(tensorDims(t.t)) === wd[1]) biasAdd = outs[0];
        }
        const id = b.linear(x, wd[1]!, biasAdd !== undefined);
        weightIds.set(idx, id);
        set(n, { k: 'ir', id });
        if (biasAdd !== undefined) {
          absorbed.add(biasAdd);
          set(nodes[biasAdd]!, { k: 'ir', id });
        }
        return;
      }
      default:
        fail(`op ${op} has no IR equivalent`);
    }
  }

  const outs = (g.output ?? [])
    .map((o) => env.get(o.name ?? ''))
    .filter((v): v is { k: 'ir'; id: number } => v?.k === 'ir');
  const built = b.finish(0);
  const last = built.nodes.length - 1;
  if (last < 1) fail('no layers were imported');
  const output = outs[0]?.id ?? last;
  const network = b.finish(output, { space: 'onnx', arch: m.model.graph?.name || m.source, source: m.source });
  return { ok: true, network, weightIds };
}

/** Symmetric padding of an `auto_pad` node (SAME_UPPER, SAME_LOWER, VALID); undefined for NOTSET (use `pads`). */
function autoPad(n: INodeProto, h: number, w: number, k: number, stride: number, dilation: number): number | undefined {
  const mode = getString(n, 'auto_pad') ?? 'NOTSET';
  if (mode === 'NOTSET' || mode === '') return undefined;
  if (mode === 'VALID') return 0;
  const total = (size: number) => Math.max(0, (Math.ceil(size / stride) - 1) * stride + dilation * (k - 1) + 1 - size);
  const th = total(h);
  const tw = total(w);
  if (th !== tw || th % 2 !== 0) fail(`auto_pad ${mode} needs asymmetric padding`);
  return th / 2;
}
