/**
 * The gradient-saliency family of Zero-Cost-NAS (SamsungLabs/zero-cost-nas `foresight/pruners/measures`; NASLib
 * runs the same code): grad_norm, snip, plain and fisher from ONE forward + cross-entropy backward pass in train
 * mode, synflow from its own pass (|θ|, BN removed, a single all-ones float64 input), and l2_norm (no pass).
 * "Weights" are the conv/linear weight tensors (biases and BN γ/β excluded), one per IR node.
 */
import { backward, lossGradients } from '../backends/reference/backward.js';
import { forwardTape } from '../backends/reference/tape.js';
import { fanIn, isTiedUse, mapParams, sumOf, tensorUses, tieGrads } from '../grad/params.js';
import type { BnMode, NetParams } from '../grad/types.js';
import { nonModuleWeights, numel } from '../ir/analysis.js';
import type { Network } from '../ir/types.js';
import { finite, type ProxyValue } from './value.js';

/** IR ids of the conv and linear nodes (the PyTorch `Conv2d`/`Linear` module calls). */
export function weightedNodes(net: Network): number[] {
  return net.nodes.filter((n) => n.op === 'conv' || n.op === 'linear').map((n) => n.id);
}

/**
 * The conv and linear nodes that are nn.Conv2d / nn.Linear module calls (the layers the official proxies sum over),
 * leaving out those that apply a parameter of their caller (`net.functionalWeights`: `F.conv2d(x, self.w)`) and the
 * transposed convs (an nn.ConvTranspose2d is no nn.Conv2d: the official `isinstance` tests skip it).
 */
export function moduleWeights(net: Network): number[] {
  const other = nonModuleWeights(net);
  return weightedNodes(net).filter((id) => !other.has(id));
}

/**
 * The module weight tensors, one node each: a module called again (`net.tied`) is scored once, at its first call,
 * with the sum of its calls' gradients ({@link tieGrads}), as PyTorch's `module.weight.grad` holds.
 */
export function weightTensors(net: Network): number[] {
  return moduleWeights(net).filter((id) => !isTiedUse(net, id, 'weight'));
}

/**
 * fisher's value where a conv / linear module is called more than once: the official code's hooks keep one
 * activation per module and delete it in the first backward hook, so the second call's raises (AttributeError).
 */
function fisherTied(net: Network): ProxyValue | undefined {
  const modules = new Set(moduleWeights(net));
  if (![...tensorUses(net, 'weight').keys()].some((id) => modules.has(id))) return undefined;
  return {
    value: null,
    reason:
      'fisher: a Conv2d / Linear module is called more than once (a shared weight tensor); the official code keeps one activation per module and raises on the second call',
  };
}

/** grad_norm, snip, plain and fisher of one labelled batch. */
export interface SaliencyScores {
  readonly grad_norm: ProxyValue;
  readonly snip: ProxyValue;
  readonly plain: ProxyValue;
  readonly fisher: ProxyValue;
}

/**
 * One forward/backward of the mean cross-entropy (train-mode BN): Σ_l ‖g_l‖ (grad_norm), Σ|W⊙g| (snip),
 * Σ W⊙g (plain), and fisher: per conv/linear output a_l and its gradient δ_l, Δ_lk = ½·mean_n(Σ_hw a·δ)², each
 * |Δ_lk| counted once per weight of output channel k (× fan-in), as ZC broadcasts it.
 */
export function saliencies(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
  bn: BnMode = 'train',
): SaliencyScores {
  const layers = weightedNodes(net);
  const { grads, activations } = lossGradients(net, params, x, labels, { bn, nodes: layers });
  const B = labels.length;
  let fisher = 0;
  for (const id of moduleWeights(net)) {
    const a = activations.get(id);
    const d = grads.nodes.get(id);
    if (a && d) fisher += fisherOfSums(fisherSums(net, id, a, d, B), B) * fanIn(net, id);
  }
  return {
    ...weightSaliencies(net, params, tieGrads(net, grads.params)),
    fisher: fisherTied(net) ?? finite('fisher', fisher),
  };
}

/** grad_norm, snip and plain from the weight gradients (tied: summed over the uses), one term per weight tensor. */
function weightSaliencies(
  net: Network,
  params: NetParams,
  grads: NetParams | undefined,
): Omit<SaliencyScores, 'fisher'> {
  let gn = 0;
  let snip = 0;
  let plain = 0;
  for (const id of weightTensors(net)) {
    const g = grads?.[id]?.weight;
    if (!g) continue;
    const t = weightTerms(params[id]!.weight!, g);
    gn += t.norm;
    snip += t.snip;
    plain += t.plain;
  }
  return { grad_norm: finite('grad_norm', gn), snip: finite('snip', snip), plain: finite('plain', plain) };
}

/** One layer's weight terms: ‖g‖₂ (grad_norm), Σ|w·g| (snip) and Σ w·g (plain), summed in index order. */
function weightTerms(w: ArrayLike<number>, g: ArrayLike<number>): { norm: number; snip: number; plain: number } {
  let sq = 0;
  let snip = 0;
  let plain = 0;
  for (let i = 0; i < w.length; i++) {
    sq += g[i]! * g[i]!;
    snip += Math.abs(w[i]! * g[i]!);
    plain += w[i]! * g[i]!;
  }
  return { norm: Math.sqrt(sq), snip, plain };
}

/**
 * grad_norm, snip, plain and fisher from an engine's weight gradients and per-sample channel sums s[n][k] =
 * Σ_hw a·δ of every conv/linear output (the native path; the reference reduces activations itself, below).
 */
export function saliencyFromGrads(
  net: Network,
  params: NetParams,
  grads: NetParams,
  channelSums: ReadonlyMap<number, ArrayLike<number>>,
  B: number,
  rowSums?: ReadonlyMap<number, ArrayLike<number>>,
): SaliencyScores {
  let fisher = 0;
  const lastLinears = new Set(net.channelsLastLinears ?? []);
  for (const id of moduleWeights(net)) {
    // an nn.Linear over a channels-last map: the official hook's sums are per row h (fisherSums)
    const s = lastLinears.has(id) ? rowSums?.get(id) : channelSums.get(id);
    if (s) fisher += fisherOfSums(s, B) * fanIn(net, id);
  }
  return {
    ...weightSaliencies(net, params, tieGrads(net, grads)),
    fisher: fisherTied(net) ?? finite('fisher', fisher),
  };
}

/** Σ_k |½·mean_n s_nk²| of a layer's per-sample sums s (B × K, sample-major). */
function fisherOfSums(s: ArrayLike<number>, B: number): number {
  const K = s.length / B;
  let total = 0;
  for (let k = 0; k < K; k++) {
    let acc = 0;
    for (let n = 0; n < B; n++) acc += s[n * K + k]! * s[n * K + k]!;
    total += Math.abs((0.5 * acc) / B);
  }
  return total;
}

/**
 * A layer output's per-sample sums of a·δ as fisher's official hook takes them (B × K): s_nk = Σ_hw over each
 * channel k (B × C × HW or B × C); for an nn.Linear over a channels-last map, whose (N, H, W, C) output the hook
 * sums over W and C, one per row h (in c, then w order, as the addon's `rowSums`).
 */
function fisherSums(net: Network, id: number, a: Float64Array, d: Float64Array, B: number): Float64Array {
  const shape = net.nodes[id]!.shape;
  if (net.channelsLastLinears?.includes(id)) {
    const [C, H, W] = shape as readonly [number, number, number];
    const s = new Float64Array(B * H);
    for (let n = 0; n < B; n++)
      for (let h = 0; h < H; h++)
        for (let c = 0; c < C; c++)
          for (let w = 0; w < W; w++)
            s[n * H + h]! += a[((n * C + c) * H + h) * W + w]! * d[((n * C + c) * H + h) * W + w]!;
    return s;
  }
  const C = shape[0];
  const hw = numel(shape) / C;
  const s = new Float64Array(B * C);
  for (let nk = 0; nk < B * C; nk++) for (let i = 0; i < hw; i++) s[nk]! += a[nk * hw + i]! * d[nk * hw + i]!;
  return s;
}

/**
 * synflow (ZC `synflow`, NASLib's default): every trainable tensor replaced by its absolute value (biases and BN
 * γ/β included), BN removed (`identity`; `train` gives ZC's `synflow_bn`), one all-ones sample, the gradient of
 * Σ logits; S = Σ_l Σ |W_l ⊙ g_l|. Float64 throughout, as the official code casts the network to double.
 */
export function synflow(net: Network, params: NetParams, bn: BnMode = 'identity'): ProxyValue {
  const abs = mapParams(params, (v) => Math.abs(v));
  const x = new Float64Array(numel(net.nodes[0]!.shape)).fill(1);
  const tape = forwardTape(synflowNetwork(net), abs, x, 1, { bn, backward: { params: true } });
  const g = backward(tape, {
    seeds: new Map([[net.output, new Float64Array(tape.logits.length).fill(1)]]),
    params: true,
  });
  return synflowFromGrads(net, abs, (id) => g.params?.[id]?.weight, bn);
}

/**
 * `net` as synflow's |state_dict| sees it: each arithmetic constant that is a state_dict entry replaced by
 * stateSign·|α| (`ActNode.stateSign`), each PReLU slope (a parameter) by |α|; `net` itself where that changes no
 * constant (none, or all of the sign |·| keeps).
 */
export function synflowNetwork(net: Network): Network {
  let changed = false;
  const nodes = net.nodes.map((n) => {
    if (n.op !== 'act' || (n.stateSign === undefined && n.learned === undefined)) return n;
    const sign = n.stateSign ?? 1;
    const f = (v: number) => sign * Math.abs(v);
    const [from, to] = n.alphas ? [n.alphas, n.alphas.map(f)] : [[n.alpha ?? 1], [f(n.alpha ?? 1)]];
    if (to.every((v, i) => v === from[i])) return n;
    changed = true;
    return n.alphas ? { ...n, alphas: to } : { ...n, alpha: to[0]! };
  });
  return changed ? { ...net, nodes } : net;
}

/**
 * Σ_l Σ |W_l ⊙ g_l| of synflow's |θ| and their gradients (any engine's): `weights` as drawn (|·| is taken here),
 * `grad(id)` node id's weight gradient, times 2^`exponent(id)` (the native pass's block exponent; exact, applied in
 * two halves so that neither factor overflows or underflows where the product does not).
 */
export function synflowFromGrads(
  net: Network,
  weights: NetParams,
  grad: (id: number) => ArrayLike<number> | undefined,
  bn: BnMode,
  exponent: (id: number) => number = () => 0,
): ProxyValue {
  const uses = tensorUses(net, 'weight');
  let s = 0;
  for (const id of weightTensors(net)) {
    const w = weights[id]!.weight!;
    const gw = uses.has(id) ? tiedGradient(uses.get(id)!, grad, exponent) : grad(id);
    if (!gw) continue;
    const e = uses.has(id) ? 0 : exponent(id); // a tied sum is scaled already
    const f1 = 2 ** Math.trunc(e / 2);
    const f2 = 2 ** (e - Math.trunc(e / 2));
    for (let i = 0; i < w.length; i++) s += Math.abs(Math.abs(w[i]!) * (gw[i]! * f1 * f2));
  }
  return finite(bn === 'identity' ? 'synflow' : 'synflow_bn', s);
}

/** A tied tensor's gradient: the sum of its uses' gradients, each times 2^exponent (in two halves), in node order. */
function tiedGradient(
  users: readonly number[],
  grad: (id: number) => ArrayLike<number> | undefined,
  exponent: (id: number) => number,
): Float64Array | undefined {
  const scaled = users.map((u) => {
    const g = grad(u);
    const e = exponent(u);
    const [f1, f2] = [2 ** Math.trunc(e / 2), 2 ** (e - Math.trunc(e / 2))];
    return g ? Float64Array.from(g, (v) => v * f1 * f2) : undefined;
  });
  return sumOf(scaled);
}

/** l2_norm: Σ_l ‖W_l‖_F over the conv/linear weights as initialised; no data and no pass. */
export function l2Norm(net: Network, params: NetParams): ProxyValue {
  let s = 0;
  for (const id of weightTensors(net)) {
    const w = params[id]!.weight!;
    let sq = 0;
    for (let i = 0; i < w.length; i++) sq += w[i]! * w[i]!;
    s += Math.sqrt(sq);
  }
  return finite('l2_norm', s);
}
