/**
 * The reference backward pass (float64, the definition of swapnas' gradients): reverse topological order over
 * the nodes between the seeds and the requested targets, accumulating cotangents. Only nodes that lie on a path
 * from a requested target (input, parameter node, listed node) to a seed are visited, so a VJP through one block
 * costs that block alone.
 */
import type { IRNode, Network } from '../../ir/types.js';
import type { BackwardRequest, Gradients, NetParams, NodeParams, ScalarRef } from '../../grad/types.js';
import { crossEntropy } from '../../grad/loss.js';
import { numel } from '../../ir/analysis.js';
import { SwapError } from '../../util/errors.js';
import type { F64 } from './f64-forward.js';
import {
  bnBackward,
  channelPerSample,
  concatBackward,
  gapBackward,
  linearBackward,
  poolBackward,
  sliceBackward,
} from './f64-backward.js';
import { convBackward, convWeightPerSample } from './conv.js';
import { type Tape, forwardTape } from './tape.js';
import { slopeCountAt } from '../../grad/slopes.js';
import type { BnMode } from '../../grad/types.js';
import { bnMap, bnModeOf, reluCotangent, sigmoidSlope } from '../../ir/ops.js';
import { softmaxBackward } from './softmax.js';
import { gnBackward } from './groupnorm.js';
import { actFormAt, actSlope } from '../../ir/activations.js';
import { chanpoolBackInto, expandInto, gateCotangent, gatePlane, mulInto, shuffleInto, upsampleInto } from './loops.js';

type S3 = readonly [number, number, number];
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Nodes that are, or depend on, a target: the only ones through which cotangents need to flow. */
function reachesTarget(net: Network, target: Uint8Array): Uint8Array {
  const r = target.slice();
  for (const n of net.nodes) if (!r[n.id] && n.inputs.some((j) => r[j])) r[n.id] = 1;
  return r;
}

function targets(tape: Tape, req: BackwardRequest): Uint8Array {
  const t = new Uint8Array(tape.net.nodes.length);
  if (req.input) t[0] = 1;
  for (const j of req.nodes ?? []) t[j] = 1;
  for (const r of req.perSample ?? []) t[r.node] = 1;
  if (req.params) tape.params.forEach((p, j) => p && (t[j] = 1));
  return t;
}

function checkRequest(tape: Tape, req: BackwardRequest): void {
  const { net, batch } = tape;
  if (!tape.reverse) throw new SwapError('E_OPTION', 'this tape was recorded without backward support');
  if ((req.params || req.perSample?.length) && !tape.paramGrads)
    throw new SwapError('E_OPTION', 'weight gradients need a tape recorded with backward.params = true');
  for (const [id, cot] of req.seeds) {
    const n = net.nodes[id];
    if (!n || !tape.evaluated[id]) throw new SwapError('E_OPTION', `seed node ${id} was not evaluated`);
    if (cot.length !== batch * numel(n.shape))
      throw new SwapError(
        'E_INPUT_SHAPE',
        `seed of node ${id} has ${cot.length} values, expected ${batch * numel(n.shape)}`,
      );
  }
  for (const id of req.nodes ?? [])
    if (!net.nodes[id] || !tape.evaluated[id]) throw new SwapError('E_OPTION', `node ${id} was not evaluated`);
}

/** Run one backward pass on `tape`. The tape is not modified; run as many as needed. */
export function backward(tape: Tape, req: BackwardRequest): Gradients {
  checkRequest(tape, req);
  const { net } = tape;
  const flow = reachesTarget(net, targets(tape, req));
  const wanted = new Set(req.nodes ?? []);
  const grads: (F64 | undefined)[] = [];
  for (const [id, cot] of req.seeds) grads[id] = add(grads[id], cot);
  const pgrads: (Mutable<NodeParams> | undefined)[] = [];
  const perSample: F64[] = (req.perSample ?? []).map(() => new Float64Array(tape.batch));
  const byNode = new Map<number, number[]>();
  (req.perSample ?? []).forEach((r, i) => byNode.set(r.node, [...(byNode.get(r.node) ?? []), i]));
  const nodes = new Map<number, F64>();
  const top = Math.max(...req.seeds.keys(), -1);
  for (let id = top; id >= 0; id--) {
    const dy = grads[id];
    if (!dy || !flow[id]) continue;
    const n = net.nodes[id]!;
    const dxs = nodeVjp(tape, n, dy, flow, req.params === true, pgrads);
    for (const i of byNode.get(id) ?? []) perSample[i] = scalarPerSample(tape, n, dy, req.perSample![i]!);
    n.inputs.forEach((j, k) => {
      const dx = dxs[k];
      if (dx && flow[j]) grads[j] = add(grads[j], dx);
    });
    if (wanted.has(id)) nodes.set(id, dy);
    if (id !== 0) grads[id] = undefined;
  }
  for (const id of wanted)
    if (!nodes.has(id)) nodes.set(id, new Float64Array(tape.batch * numel(net.nodes[id]!.shape)));
  const out: Mutable<Gradients> = { nodes };
  if (req.params) out.params = completeParams(tape.params, pgrads);
  if (req.input) out.input = grads[0] ?? new Float64Array(tape.batch * numel(net.nodes[0]!.shape));
  if (req.perSample) out.perSample = perSample;
  return out;
}

/** Accumulate `b` into `a` (allocating on first use; never mutates a caller's seed). */
function add(a: F64 | undefined, b: F64): F64 {
  if (!a) return b.slice();
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
  return a;
}

/** Zero gradients for parameter tensors no cotangent reached (e.g. a branch cut by a `zero` node). */
function completeParams(params: NetParams, pgrads: readonly (NodeParams | undefined)[]): NetParams {
  return params.map((p, id) => {
    if (!p) return undefined;
    const g: Mutable<NodeParams> = {};
    for (const kind of ['weight', 'bias', 'gamma', 'beta'] as const) {
      const t = p[kind];
      if (t) g[kind] = pgrads[id]?.[kind] ?? new Float64Array(t.length);
    }
    return g;
  });
}

/** Cotangents of a `mul`'s two inputs: dy ⊙ g (g broadcast) and, for the gate, Σ over each plane of dy ⊙ a. */
export function mulBackward(tape: Tape, n: IRNode, dy: F64): [F64, F64] {
  const [a, g] = n.inputs.map((j) => tape.records[j]!.out!) as [F64, F64];
  const plane = gatePlane(tape.net.nodes[n.inputs[0]!]!.shape, tape.net.nodes[n.inputs[1]!]!.shape);
  const da = new Float64Array(dy.length);
  mulInto(dy, g, plane, da);
  const dg = new Float64Array(g.length);
  gateCotangent(dy, a, plane, dg);
  return [da, dg];
}

/** Cotangents of a node's inputs (by position); records parameter gradients in `pgrads` when asked. */
function nodeVjp(
  tape: Tape,
  n: IRNode,
  dy: F64,
  flow: Uint8Array,
  wantParams: boolean,
  pgrads: (Mutable<NodeParams> | undefined)[],
): (F64 | undefined)[] {
  const { net, batch: B, params } = tape;
  const rec = tape.records[n.id]!;
  const inShape = (i = 0) => net.nodes[n.inputs[i]!]!.shape as S3;
  const xIn = () => tape.records[n.inputs[0]!]?.out;
  const needDx = n.inputs.length > 0 && flow[n.inputs[0]!] === 1;
  switch (n.op) {
    case 'input':
    case 'zero':
      return [];
    case 'relu': {
      const y = rec.out!;
      return [dy.map((d, i) => reluCotangent(d, y[i]!, n))];
    }
    case 'add':
      return n.inputs.map(() => dy);
    case 'sigmoid': {
      const y = rec.out!;
      return [dy.map((d, i) => d * sigmoidSlope(y[i]!, n.hard))];
    }
    case 'act': {
      const x = tape.records[n.inputs[0]!]!.out!;
      const form = actFormAt(n, n.shape);
      return [dy.map((d, i) => d * actSlope(x[i]!, form(i)))];
    }
    case 'softmax':
      return [softmaxBackward(rec.out!, dy, B, n.shape[0]!, n.log === true)];
    case 'mul':
      return mulBackward(tape, n, dy);
    case 'concat':
      return concatBackward(
        n.inputs.map((j) => net.nodes[j]!.shape),
        dy,
        numel(n.shape),
        B,
      );
    case 'slice':
      return [sliceBackward(n, inShape(), n.shape as S3, dy, B)];
    case 'gap':
      return [gapBackward(inShape(), dy, B)];
    case 'flatten':
    case 'view':
      return [dy];
    case 'shuffle': {
      const dx = new Float64Array(dy.length);
      shuffleInto(n.groups, n.shape as S3, dy, B, dx, true);
      return [dx];
    }
    case 'upsample': {
      const dx = new Float64Array(B * numel(inShape()));
      upsampleInto(n, inShape() as S3, dy, B, dx, true);
      return [dx];
    }
    case 'expand': {
      const dx = new Float64Array(B * numel(inShape()));
      expandInto(inShape() as S3, n.shape as S3, dy, B, dx, true);
      return [dx];
    }
    case 'chanpool': {
      const dx = new Float64Array(B * numel(inShape()));
      chanpoolBackInto(inShape() as S3, dy, B, dx, rec.argmax);
      return [dx];
    }
    case 'avgpool':
    case 'maxpool':
      return [poolBackward(n, inShape(), n.shape as S3, dy, B, rec.argmax)];
    case 'bn': {
      if (tape.bn === 'identity') return [dy];
      const p = params[n.id];
      const r = bnBackward(bnMap(n.shape), dy, B, rec.xhat!, rec.inv!, p?.gamma, bnModeOf(n, tape.bn) === 'train');
      if (wantParams && p?.gamma) pgrads[n.id] = { gamma: r.dgamma, beta: r.dbeta };
      return [r.dx];
    }
    case 'gn': {
      const p = params[n.id];
      const r = gnBackward(bnMap(n.shape), n, dy, B, rec.xhat!, rec.inv!, p?.gamma);
      if (wantParams && p?.gamma) pgrads[n.id] = { gamma: r.dgamma, beta: r.dbeta };
      return [r.dx];
    }
    case 'conv': {
      const p = params[n.id]!;
      const r = convBackward(
        n,
        inShape(),
        n.shape as S3,
        dy,
        B,
        needDx ? p.weight : undefined,
        wantParams ? xIn() : undefined,
      );
      if (wantParams) pgrads[n.id] = { weight: r.dw!, ...(r.db ? { bias: r.db } : {}) };
      return [r.dx];
    }
    case 'linear': {
      const p = params[n.id]!;
      const r = linearBackward(n, dy, B, needDx ? p.weight : undefined, wantParams ? xIn() : undefined);
      if (wantParams) pgrads[n.id] = { weight: r.dw!, ...(r.db ? { bias: r.db } : {}) };
      return [r.dx];
    }
  }
}

/** Per-sample terms of one parameter scalar's gradient at node `n` with output cotangent `dy`. */
function scalarPerSample(tape: Tape, n: IRNode, dy: F64, ref: ScalarRef): F64 {
  const { net, batch: B } = tape;
  const x = tape.records[n.inputs[0]!]?.out;
  const fail = (): never => {
    throw new SwapError('E_OPTION', `node ${n.id} (${n.op}) has no ${ref.kind} scalar ${ref.index}`);
  };
  if (ref.kind === 'slope') {
    const count = slopeCountAt(net, n.id) ?? fail();
    if (ref.index >= count) fail();
    const size = numel(n.shape);
    const [C, hw] = count === 1 ? [1, size] : [count, size / count];
    return channelPerSample(dy, learnedFactor(n, x!, ref.index), C, hw, B, ref.index);
  }
  if (n.op === 'conv') {
    const [C, H, W] = n.shape as S3;
    if (ref.kind === 'weight')
      return convWeightPerSample(n, net.nodes[n.inputs[0]!]!.shape as S3, [C, H, W], dy, x!, B, ref.index);
    if (ref.kind === 'bias' && n.bias) return channelPerSample(dy, undefined, C, H * W, B, ref.index);
  } else if (n.op === 'linear') {
    const out = new Float64Array(B);
    const o = ref.kind === 'weight' ? Math.floor(ref.index / n.fin) : ref.index;
    for (let s = 0; s < B; s++)
      out[s] = dy[s * n.fout + o]! * (ref.kind === 'weight' ? x![s * n.fin + (ref.index % n.fin)]! : 1);
    if (ref.kind === 'weight' || (ref.kind === 'bias' && n.bias)) return out;
  } else if ((n.op === 'bn' && tape.bn !== 'identity') || n.op === 'gn') {
    if (!tape.params[n.id]?.gamma) return fail();
    const [C, H, W] = bnMap(n.shape); // a BatchNorm1d's flat features: C×1×1
    if (ref.kind === 'gamma') return channelPerSample(dy, tape.records[n.id]!.xhat!, C, H * W, B, ref.index);
    if (ref.kind === 'beta') return channelPerSample(dy, undefined, C, H * W, B, ref.index);
  }
  return fail();
}

/**
 * ∂y/∂α element by element of a node whose constant α is learned (the per-sample term sums dy times it over α's
 * plane): PyTorch's prelu backward (x where x <= 0); x·α: x; x + α: 1 (undefined); x / α: −x / α², α that of
 * channel `c`.
 */
function learnedFactor(n: IRNode, x: F64, c: number): F64 | undefined {
  if (n.op !== 'act' || n.fn === 'prelu') return x.map((v) => Math.min(v, 0));
  if (n.fn === 'scale') return x;
  if (n.fn === 'shift') return undefined;
  const a = n.alphas?.[c] ?? n.alpha ?? 1;
  return x.map((v) => -v / (a * a));
}

/** Options of {@link lossGradients}. */
export interface LossGradientOptions {
  readonly bn?: BnMode;
  /** Also return the gradient w.r.t. the input. */
  readonly input?: boolean;
  /** Nodes whose activations and activation gradients are returned. */
  readonly nodes?: readonly number[];
}

/**
 * One forward and one backward pass of the mean cross-entropy of `net.output` (the logits) against integer
 * `labels`: the loss, the logits and the gradients of every parameter (plus the input and listed nodes).
 */
export function lossGradients(
  net: Network,
  params: NetParams,
  input: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: LossGradientOptions = {},
): { loss: number; logits: F64; grads: Gradients; activations: ReadonlyMap<number, F64> } {
  const tape = forwardTape(net, params, input, labels.length, {
    bn: opts.bn,
    keep: opts.nodes,
    backward: { params: true },
  });
  const classes = numel(net.nodes[net.output]!.shape);
  const { loss, dlogits } = crossEntropy(tape.logits, labels, classes);
  const grads = backward(tape, {
    seeds: new Map([[net.output, dlogits]]),
    params: true,
    input: opts.input,
    nodes: opts.nodes,
  });
  return { loss, logits: tape.logits, grads, activations: tape.activations };
}
