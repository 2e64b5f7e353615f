/**
 * Exact Hessian-vector products of the mean cross-entropy w.r.t. the conv/linear weights (float64, the reference
 * engine): Pearlmutter's R-operator, i.e. forward mode over the reverse pass. For a direction V on the weights
 * it propagates the tangents Rx of every activation forward, then the tangents R(dy) of every cotangent backward;
 * R(∂L/∂W) = H·V. This is what PyTorch's double backward computes (grasp's `z.backward()` through a gradient built
 * with `create_graph=True`), with every second-order term: train-mode BN's batch statistics, softmax, and the
 * products of weights along a path. ReLU masks and max-pool argmaxes stay fixed (their second derivative is 0).
 */
import type { IRNode, Network } from '../../ir/types.js';
import type { BnMode, NetParams } from '../../grad/types.js';
import { crossEntropy } from '../../grad/loss.js';
import { sumOf, tensorUses } from '../../grad/params.js';
import { nonModuleWeights, numel } from '../../ir/analysis.js';
import { backward } from './backward.js';
import {
  bnBackward,
  concatBackward,
  gapBackward,
  linearBackward,
  poolBackward,
  sliceBackward,
} from './f64-backward.js';
import { type F64, concatForward, gapForward, linearForward, poolForward, sliceForward } from './f64-forward.js';
import { convBackward, convForward } from './conv.js';
import { type Tape, forwardTape } from './tape.js';
import { gnCotangentTangent, gnXhatTangent } from './groupnorm.js';
import { bnMap, bnModeOf, type NodeOf, reluCotangent, sigmoidSlope } from '../../ir/ops.js';
import { actCurve, actFormAt, actSlope } from '../../ir/activations.js';
import {
  chanpoolBackInto,
  chanpoolInto,
  gateCotangent,
  gatePlane,
  mulInto,
  shuffleInto,
  upsampleInto,
  expandInto,
} from './loops.js';
import { softmaxCotangentTangent, softmaxForward, softmaxTangent as softmaxNodeTangent } from './softmax.js';

type S3 = readonly [number, number, number];

/** Result of {@link lossHessianVector}. */
export interface HessianVector {
  /** L = mean cross-entropy. */
  readonly loss: number;
  /** ∂L/∂W of every conv/linear module call (weights only), by IR id. */
  readonly grads: ReadonlyMap<number, F64>;
  /** H·V restricted to the conv/linear module weights, by IR id. */
  readonly hv: ReadonlyMap<number, F64>;
}

/** A direction on the conv/linear weights, by IR id (absent: 0), from the weight gradients (`gradient`). */
export type Direction = 'gradient' | ReadonlyMap<number, F64>;

/**
 * IR ids of the conv and linear module calls that were evaluated (a node applying a parameter of its caller,
 * `Network.functionalWeights`, or a transposed conv is not an nn.Conv2d / nn.Linear module's: the official code's H
 * and W leave it out; {@link nonModuleWeights}).
 */
function weighted(tape: Tape): number[] {
  const other = nonModuleWeights(tape.net);
  return tape.net.nodes
    .filter((n) => (n.op === 'conv' || n.op === 'linear') && tape.evaluated[n.id] && !other.has(n.id))
    .map((n) => n.id);
}

/**
 * One forward pass, the loss gradient, and H·V of the mean cross-entropy of `labels` w.r.t. the conv/linear
 * module weights (biases, BN γ/β and functional weights are held fixed: V is 0 on them). `direction` `gradient`
 * takes V = ∂L/∂W (grasp's Hg).
 */
export function lossHessianVector(
  net: Network,
  params: NetParams,
  input: ArrayLike<number>,
  labels: ArrayLike<number>,
  direction: Direction,
  bn: BnMode = 'train',
): HessianVector {
  const B = labels.length;
  const tape = forwardTape(net, params, input, B, { bn, backward: { params: true } });
  const classes = numel(net.nodes[net.output]!.shape);
  const { loss, dlogits } = crossEntropy(tape.logits, labels, classes);
  const layers = weighted(tape);
  const needDy = net.nodes.filter(
    (n) => tape.evaluated[n.id] && ['conv', 'linear', 'bn', 'gn', 'sigmoid', 'mul', 'act', 'softmax'].includes(n.op),
  );
  const primal = backward(tape, {
    seeds: new Map([[net.output, dlogits]]),
    params: true,
    nodes: needDy.map((n) => n.id),
  });
  const grads = new Map<number, F64>();
  for (const id of layers) grads.set(id, primal.params![id]!.weight!);
  const v = direction === 'gradient' ? tiedDirection(net, grads) : direction;
  const rx = tangentForward(tape, v);
  const rz = rx[net.output] ?? new Float64Array(tape.logits.length);
  const hv = tangentBackward(
    tape,
    v,
    rx,
    primal.nodes,
    new Map([[net.output, lossTangent(tape.logits, rz, B, classes)]]),
  );
  for (const id of layers) if (!hv.has(id)) hv.set(id, new Float64Array(params[id]!.weight!.length));
  const kept = new Set(layers);
  for (const id of hv.keys()) if (!kept.has(id)) hv.delete(id);
  return { loss, grads, hv };
}

/**
 * The gradient as a direction on the network's weight TENSORS: every use of a tied tensor (a module called twice) gets
 * the sum of the uses' gradients, so that the uses' H·V, summed, is the tied tensor's (`grads` when nothing is tied).
 */
function tiedDirection(net: Network, grads: ReadonlyMap<number, F64>): ReadonlyMap<number, F64> {
  const uses = tensorUses(net, 'weight');
  if (uses.size === 0) return grads;
  const v = new Map(grads);
  for (const users of uses.values()) {
    const sum = sumOf(users.map((u) => grads.get(u)));
    if (sum) for (const u of users) v.set(u, sum);
  }
  return v;
}

/** R(∂L/∂z) of the mean cross-entropy: p ⊙ (Rz − ⟨p, Rz⟩) / B per sample, p = softmax(z). */
function lossTangent(z: F64, rz: F64, B: number, K: number): F64 {
  return softmaxNodeTangent(softmaxForward(z, B, K, false), rz, B, K, false).map((v) => v / B);
}

/** Σ of defined tensors (undefined = 0). */
function plus(a: F64 | undefined, b: F64 | undefined): F64 | undefined {
  if (!a) return b;
  if (!b) return a;
  const out = a.slice();
  for (let i = 0; i < out.length; i++) out[i]! += b[i]!;
  return out;
}

/** Tangents Rx of every evaluated node's output for the weight direction `v` (undefined: identically 0). */
function tangentForward(tape: Tape, v: ReadonlyMap<number, F64>): (F64 | undefined)[] {
  const { net, batch: B, params, records } = tape;
  const r: (F64 | undefined)[] = [];
  const zeros = (j: number) => new Float64Array(B * numel(net.nodes[j]!.shape));
  for (const n of net.nodes) {
    if (!tape.evaluated[n.id]) continue;
    const rin = r[n.inputs[0] ?? -1];
    const inShape = net.nodes[n.inputs[0] ?? 0]!.shape as S3;
    const x = records[n.inputs[0] ?? -1]?.out;
    switch (n.op) {
      case 'input':
      case 'zero':
        break;
      case 'relu': {
        const y = records[n.id]!.out!;
        if (rin) r[n.id] = rin.map((d, i) => reluCotangent(d, y[i]!, n));
        break;
      }
      case 'add':
        r[n.id] = n.inputs.reduce<F64 | undefined>((acc, j) => plus(acc, r[j]), undefined);
        break;
      case 'sigmoid': {
        const y = records[n.id]!.out!;
        if (rin) r[n.id] = rin.map((d, i) => d * sigmoidSlope(y[i]!, n.hard));
        break;
      }
      case 'act':
        if (rin) {
          const form = actFormAt(n, n.shape);
          r[n.id] = rin.map((d, i) => d * actSlope(x![i]!, form(i)));
        }
        break;
      case 'softmax':
        if (rin) r[n.id] = softmaxNodeTangent(records[n.id]!.out!, rin, B, n.shape[0]!, n.log === true);
        break;
      case 'mul': {
        // R(a ⊙ g) = Ra ⊙ g + a ⊙ Rg
        const [a, g] = n.inputs.map((j) => records[j]!.out!) as [F64, F64];
        const [ra, rg] = [r[n.inputs[0]!], r[n.inputs[1]!]];
        const plane = gatePlane(net.nodes[n.inputs[0]!]!.shape, net.nodes[n.inputs[1]!]!.shape);
        const out = (u: F64 | undefined, w: F64 | undefined) => {
          if (!u || !w) return undefined;
          const t = new Float64Array(a.length);
          mulInto(u, w, plane, t);
          return t;
        };
        r[n.id] = plus(out(ra, g), out(a, rg));
        break;
      }
      case 'concat':
        if (n.inputs.some((j) => r[j]))
          r[n.id] = concatForward(
            n.inputs.map((j) => net.nodes[j]!.shape),
            n.inputs.map((j) => r[j] ?? zeros(j)),
            numel(n.shape),
            B,
          );
        break;
      case 'bn':
        if (rin) r[n.id] = bnTangent(tape, n, rin);
        break;
      case 'gn':
        if (rin) r[n.id] = gnTangent(tape, n as NodeOf<'gn'>, rin);
        break;
      case 'avgpool':
        if (rin) r[n.id] = poolForward(n, inShape, n.shape as S3, rin, B).y;
        break;
      case 'maxpool': {
        const am = records[n.id]!.argmax!;
        if (rin) r[n.id] = Float64Array.from(am, (a) => (a >= 0 ? rin[a]! : 0));
        break;
      }
      case 'slice':
        if (rin) r[n.id] = sliceForward(n, inShape, n.shape as S3, rin, B);
        break;
      case 'gap':
        if (rin) r[n.id] = gapForward(inShape, rin, B);
        break;
      case 'flatten':
      case 'view':
        if (rin) r[n.id] = rin;
        break;
      case 'shuffle':
      case 'upsample':
      case 'chanpool':
      case 'expand':
        if (rin) r[n.id] = movedTangent(n, rin, B, inShape as S3, records[n.id]?.argmax);
        break;
      case 'conv': {
        const w = params[n.id]!.weight!;
        const dw = v.get(n.id);
        r[n.id] = plus(
          rin && convForward(n, inShape, n.shape as S3, rin, { weight: w }, B),
          dw && convForward(n, inShape, n.shape as S3, x!, { weight: dw }, B),
        );
        break;
      }
      case 'linear': {
        const dw = v.get(n.id);
        r[n.id] = plus(
          rin && linearForward(n, rin, { weight: params[n.id]!.weight! }, B),
          dw && linearForward(n, x!, { weight: dw }, B),
        );
        break;
      }
    }
  }
  return r;
}

/** Per-channel means over batch and positions of a (and of a·b when b is given). */
function channelMean(a: F64, b: F64 | undefined, C: number, hw: number, B: number): F64 {
  const out = new Float64Array(C);
  for (let s = 0; s < B; s++)
    for (let c = 0; c < C; c++) {
      let acc = 0;
      const o = (s * C + c) * hw;
      for (let i = 0; i < hw; i++) acc += b ? a[o + i]! * b[o + i]! : a[o + i]!;
      out[c]! += acc;
    }
  return out.map((t) => t / (B * hw));
}

/** Tangent of x̂ (train mode): inv·(Rx − mean(Rx) − x̂·mean(x̂·Rx)); eval mode: inv·Rx. Identity BN: Rx. */
function xhatTangent(tape: Tape, n: IRNode, rx: F64): F64 {
  const [C, H, W] = bnMap(n.shape);
  const hw = H * W;
  const B = tape.batch;
  const { xhat, inv } = tape.records[n.id]!;
  const train = bnModeOf(n, tape.bn) === 'train';
  const m = train ? channelMean(rx, undefined, C, hw, B) : new Float64Array(C);
  const mx = train ? channelMean(xhat!, rx, C, hw, B) : new Float64Array(C);
  const out = new Float64Array(rx.length);
  for (let k = 0; k < rx.length; k++) {
    const c = Math.floor(k / hw) % C;
    out[k] = inv![c]! * (rx[k]! - m[c]! - xhat![k]! * mx[c]!);
  }
  return out;
}

/** R(y) of a BN node: γ·R(x̂) (γ held fixed). */
function bnTangent(tape: Tape, n: IRNode, rx: F64): F64 {
  if (tape.bn === 'identity') return rx;
  const [C, H, W] = bnMap(n.shape);
  const gamma = tape.params[n.id]?.gamma;
  const out = xhatTangent(tape, n, rx);
  if (gamma) for (let k = 0; k < out.length; k++) out[k]! *= gamma[Math.floor(k / (H * W)) % C]!;
  return out;
}

/**
 * R(dx) of a BN or GroupNorm node from R(dy) `r`, its primal cotangent `g` and the input's tangent `rx` (undefined
 * where none reaches it): an identity BN passes R(dy), an eval-mode one scales it, train mode and GroupNorm add the
 * statistics' terms.
 */
function normCotangentTangent(
  tape: Tape,
  n: IRNode,
  r: F64 | undefined,
  g: F64 | undefined,
  rx: F64 | undefined,
): F64 | undefined {
  const { xhat, inv } = tape.records[n.id]!;
  const gamma = tape.params[n.id]?.gamma;
  if (n.op === 'gn')
    return r || rx ? gnCotangentTangent(bnMap(n.shape), n, tape.batch, xhat!, inv!, gamma, g!, r, rx) : undefined;
  if (tape.bn === 'identity') return r;
  if (bnModeOf(n, tape.bn) === 'eval')
    return r && bnBackward(bnMap(n.shape), r, tape.batch, xhat!, inv!, gamma, false).dx;
  return r || rx ? bnTrainCotangentTangent(tape, n, g!, r, rx) : undefined;
}

/** R(y) of a GroupNorm node: γ·R(x̂) (γ held fixed). */
function gnTangent(tape: Tape, n: NodeOf<'gn'>, rx: F64): F64 {
  const s = bnMap(n.shape);
  const { xhat, inv } = tape.records[n.id]!;
  const gamma = tape.params[n.id]?.gamma;
  const out = gnXhatTangent(s, n, tape.batch, xhat!, inv!, rx);
  if (gamma) for (let k = 0; k < out.length; k++) out[k]! *= gamma[Math.floor(k / (s[1] * s[2])) % s[0]]!;
  return out;
}

/**
 * R(dx) of a train-mode BN: with a = γ·inv and h = g − mean(g) − x̂·mean(g·x̂) (dx = a·h),
 * R(dx) = R(a)·h + a·(Rg − mean(Rg) − R(x̂)·mean(g·x̂) − x̂·mean(Rg·x̂ + g·R(x̂))), R(a) = −a·inv·mean(x̂·Rx).
 */
function bnTrainCotangentTangent(tape: Tape, n: IRNode, g: F64, rg: F64 | undefined, rx: F64 | undefined): F64 {
  const [C, H, W] = bnMap(n.shape);
  const hw = H * W;
  const B = tape.batch;
  const { xhat, inv } = tape.records[n.id]!;
  const gamma = tape.params[n.id]?.gamma;
  const rxh = rx ? xhatTangent(tape, n, rx) : undefined;
  const mg = channelMean(g, undefined, C, hw, B);
  const mgx = channelMean(g, xhat!, C, hw, B);
  const mrg = rg ? channelMean(rg, undefined, C, hw, B) : new Float64Array(C);
  const mrgx = rg ? channelMean(rg, xhat!, C, hw, B) : new Float64Array(C);
  const mgrx = rxh ? channelMean(g, rxh, C, hw, B) : new Float64Array(C);
  const mxr = rx ? channelMean(xhat!, rx, C, hw, B) : new Float64Array(C);
  const out = new Float64Array(g.length);
  for (let k = 0; k < g.length; k++) {
    const c = Math.floor(k / hw) % C;
    const a = (gamma ? gamma[c]! : 1) * inv![c]!;
    const h = g[k]! - mg[c]! - xhat![k]! * mgx[c]!;
    const rh = (rg ? rg[k]! : 0) - mrg[c]! - (rxh ? rxh[k]! : 0) * mgx[c]! - xhat![k]! * (mrgx[c]! + mgrx[c]!);
    out[k] = -a * inv![c]! * mxr[c]! * h + a * rh;
  }
  return out;
}

/**
 * R(dx) of a sigmoid with output y and cotangent g: R(g) ⊙ σ' + g ⊙ σ''(x) Rx, where σ'' Rx = (1 − 2σ) Ry for the
 * logistic (0 for the hard one: piecewise linear).
 */
function sigmoidCotangentTangent(n: IRNode, y: F64, g: F64, r: F64 | undefined, ry: F64 | undefined): F64 {
  const hard = n.op === 'sigmoid' && n.hard;
  const t = new Float64Array(y.length);
  for (let i = 0; i < t.length; i++) {
    const second = !hard && ry ? g[i]! * (1 - 2 * y[i]!) * ry[i]! : 0;
    t[i] = (r ? r[i]! * sigmoidSlope(y[i]!, hard) : 0) + second;
  }
  return t;
}

/** R(dx) of a smooth activation at input x with cotangent g: R(g) ⊙ f'(x) + g ⊙ f''(x) Rx. */
function actCotangentTangent(
  n: NodeOf<'act'>,
  x: F64,
  g: F64,
  r: F64 | undefined,
  rx: F64 | undefined,
): F64 | undefined {
  if (!r && !rx) return undefined;
  const form = actFormAt(n, n.shape);
  const t = new Float64Array(x.length);
  for (let i = 0; i < t.length; i++)
    t[i] = (r ? r[i]! * actSlope(x[i]!, form(i)) : 0) + (rx ? g[i]! * actCurve(x[i]!, form(i)) * rx[i]! : 0);
  return t;
}

/**
 * R of a product's input cotangents (da = dy ⊙ g, dg = Σ_plane dy ⊙ a): R(da) = R(dy) ⊙ g + dy ⊙ Rg and
 * R(dg) = Σ R(dy) ⊙ a + Σ dy ⊙ Ra.
 */
function mulCotangentTangent(
  tape: Tape,
  n: IRNode,
  d: F64,
  r: F64 | undefined,
  rx: readonly (F64 | undefined)[],
): [F64 | undefined, F64 | undefined] {
  const [a, g] = n.inputs.map((j) => tape.records[j]!.out!) as [F64, F64];
  const [ra, rgate] = [rx[n.inputs[0]!], rx[n.inputs[1]!]];
  const plane = gatePlane(tape.net.nodes[n.inputs[0]!]!.shape, tape.net.nodes[n.inputs[1]!]!.shape);
  const prod = (u: F64, w: F64) => {
    const t = new Float64Array(u.length);
    mulInto(u, w, plane, t);
    return t;
  };
  const reduce = (u: F64, w: F64) => {
    const t = new Float64Array(g.length);
    gateCotangent(u, w, plane, t);
    return t;
  };
  return [
    plus(r ? prod(r, g) : undefined, rgate ? prod(d, rgate) : undefined),
    plus(r ? reduce(r, a) : undefined, ra ? reduce(d, ra) : undefined),
  ];
}

/**
 * Tangents of the cotangents, from the output down: each node's R(dy) goes to its inputs as the op's (linear)
 * VJP of R(dy) plus, where the VJP itself depends on the direction, its tangent (conv/linear: the VJP with V;
 * train-mode BN: the batch statistics' terms). Returns R(∂L/∂W) of the conv/linear weights.
 */
function tangentBackward(
  tape: Tape,
  v: ReadonlyMap<number, F64>,
  rx: readonly (F64 | undefined)[],
  dy: ReadonlyMap<number, F64>,
  seeds: ReadonlyMap<number, F64>,
): Map<number, F64> {
  const { net, batch: B, params, records } = tape;
  const rg: (F64 | undefined)[] = [];
  for (const [id, t] of seeds) rg[id] = t;
  const hv = new Map<number, F64>();
  for (let id = net.output; id > 0; id--) {
    const n = net.nodes[id]!;
    if (!tape.evaluated[id]) continue;
    const r = rg[id];
    const give = (k: number, t: F64 | undefined) => {
      const j = n.inputs[k]!;
      if (t) rg[j] = plus(rg[j], t);
    };
    const inShape = (k = 0) => net.nodes[n.inputs[k]!]!.shape as S3;
    const x = records[n.inputs[0] ?? -1]?.out;
    switch (n.op) {
      case 'input':
      case 'zero':
        break;
      case 'relu': {
        const y = records[id]!.out!;
        if (r)
          give(
            0,
            r.map((d, i) => reluCotangent(d, y[i]!, n)),
          );
        break;
      }
      case 'add':
        if (r) n.inputs.forEach((_, k) => give(k, r));
        break;
      case 'sigmoid':
        give(0, sigmoidCotangentTangent(n, records[id]!.out!, dy.get(id)!, r, rx[id]));
        break;
      case 'act':
        give(0, actCotangentTangent(n, x!, dy.get(id)!, r, rx[n.inputs[0]!]));
        break;
      case 'softmax':
        give(
          0,
          softmaxCotangentTangent(records[id]!.out!, dy.get(id)!, r, rx[n.inputs[0]!], B, n.shape[0]!, n.log === true),
        );
        break;
      case 'mul': {
        const [da, dg] = mulCotangentTangent(tape, n, dy.get(id)!, r, rx);
        give(0, da);
        give(1, dg);
        break;
      }
      case 'concat':
        if (r)
          concatBackward(
            n.inputs.map((j) => net.nodes[j]!.shape),
            r,
            numel(n.shape),
            B,
          ).forEach((t, k) => give(k, t));
        break;
      case 'slice':
        if (r) give(0, sliceBackward(n, inShape(), n.shape as S3, r, B));
        break;
      case 'gap':
        if (r) give(0, gapBackward(inShape(), r, B));
        break;
      case 'flatten':
      case 'view':
        if (r) give(0, r);
        break;
      case 'shuffle':
      case 'upsample':
      case 'chanpool':
      case 'expand':
        if (r) give(0, movedCotangent(n, r, B, inShape() as S3, records[id]?.argmax));
        break;
      case 'avgpool':
      case 'maxpool':
        if (r) give(0, poolBackward(n, inShape(), n.shape as S3, r, B, records[id]!.argmax));
        break;
      case 'bn':
      case 'gn':
        give(0, normCotangentTangent(tape, n, r, dy.get(id), rx[n.inputs[0]!]));
        break;
      case 'conv':
      case 'linear': {
        const w = params[id]!.weight!;
        const g = dy.get(id)!;
        const dv = v.get(id);
        const vjp = (cot: F64, weight: F64 | undefined, input: F64 | undefined) =>
          n.op === 'conv'
            ? convBackward(n, inShape(), n.shape as S3, cot, B, weight, input)
            : linearBackward(n, cot, B, weight, input);
        const a = r ? vjp(r, w, x) : undefined; // VJP of R(dy): convᵀ(R dy, W), x ⋆ R dy
        const b = dv || rx[n.inputs[0]!] ? vjp(g, dv, rx[n.inputs[0]!]) : undefined; // convᵀ(dy, V), Rx ⋆ dy
        give(0, plus(a?.dx, b?.dx));
        const h = plus(a?.dw, b?.dw);
        if (h) hv.set(id, h);
        break;
      }
    }
  }
  return hv;
}

/**
 * The tangent of an op that only moves or picks values (a channel shuffle, an upsampling, a broadcast, a channel
 * pool): linear,
 * with the tape's argmax for a channel maximum.
 */
function movedTangent(n: IRNode, rin: F64, B: number, inShape: S3, argmax?: Int32Array): F64 {
  if (n.op === 'chanpool' && argmax) return Float64Array.from(argmax, (a) => rin[a]!);
  const y = new Float64Array(B * numel(n.shape));
  if (n.op === 'shuffle') shuffleInto(n.groups, n.shape as S3, rin, B, y);
  else if (n.op === 'upsample') upsampleInto(n, inShape, rin, B, y);
  else if (n.op === 'expand') expandInto(inShape, n.shape as S3, rin, B, y);
  else chanpoolInto(false, inShape, rin, B, y);
  return y;
}

/** The cotangent of such an op's input from its output's (the transpose of {@link movedTangent}). */
function movedCotangent(n: IRNode, r: F64, B: number, inShape: S3, argmax?: Int32Array): F64 {
  const dx = new Float64Array(B * numel(inShape));
  if (n.op === 'shuffle') shuffleInto(n.groups, n.shape as S3, r, B, dx, true);
  else if (n.op === 'upsample') upsampleInto(n, inShape, r, B, dx, true);
  else if (n.op === 'expand') expandInto(inShape, n.shape as S3, r, B, dx, true);
  else chanpoolBackInto(inShape, r, B, dx, argmax);
  return dx;
}
