/**
 * Weight initialisations of the official proxy protocols, drawn from swapnas' counter-based PRNG (so every backend
 * and every run regenerates the same values; they are not PyTorch's random streams):
 * - `gaussian`: conv/linear weights N(0, 1), biases 0, BN γ = 1, β = 0 (SWAP, Zen-NAS) — {@link prngParams};
 * - `kaiming`: weights N(0, 2/fan_in) (kaiming-normal, fan-in, ReLU gain), biases 0 (AZ-NAS, VKDNW);
 * - `pytorch`: PyTorch's default `reset_parameters`: weights and biases U(−1/√fan_in, 1/√fan_in) (ZC, NASLib,
 *   ZiCo, MeCo).
 * BN running statistics are mean 0, variance 1 in every scheme (a freshly built network). The official `gaussian` and
 * `kaiming` inits touch nn.Conv2d and nn.Linear modules only: a transposed conv (nn.ConvTranspose2d) keeps PyTorch's
 * default, so it takes the `pytorch` draws in every scheme.
 */
import type { NetParams } from '../grad/types.js';
import { fanIn, paramsWith, prngParams } from '../grad/params.js';
import type { Network } from '../ir/types.js';
import { fillGaussian, type GaussianFill, mix32, tensorKey } from '../init/prng.js';

export type InitScheme = 'gaussian' | 'kaiming' | 'pytorch';

/** PRNG tensor id of node `id`'s uniform draws (`pytorch` scheme): disjoint from node ids and the input stream. */
const UNIFORM_BASE = 0x40000000;

/**
 * `length` draws `bound` × U(−1, 1) of PRNG tensor `tensor` under `seed` (the `pytorch` scheme's; the native
 * addon's `prngUniform` is a faster bit-identical generator).
 */
export type UniformFill = (seed: number, tensor: number, length: number, bound: number) => Float64Array;

/** The reference {@link UniformFill}: element i is `bound` × ((mix32(streamKey(seed, tensor, i)) + ½) / 2³² × 2 − 1). */
export const uniformTensor: UniformFill = (seed, tensor, length, bound) => {
  const key = tensorKey(seed, tensor); // streamKey's tensor part, hoisted
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = bound * (((mix32(mix32(key ^ i)) + 0.5) / 4294967296) * 2 - 1);
  return out;
};

/** Faster bit-identical generators for {@link initParams} (the native addon's); absent ones are the reference's. */
export interface PrngFills {
  readonly gaussian?: GaussianFill;
  readonly uniform?: UniformFill;
}

/** Parameters of `net` under `scheme`, for weight seed `seed`, drawn by `fills` (the reference's by default). */
export function initParams(net: Network, scheme: InitScheme, seed: number, fills: PrngFills = {}): NetParams {
  const draw = fills.uniform ?? uniformTensor;
  // every weight and bias U(−1/√fan_in, 1/√fan_in): no Gaussian draws
  const uniform = (node: number, kind: 'weight' | 'bias', length: number) =>
    draw(seed, UNIFORM_BASE + 2 * node + (kind === 'bias' ? 1 : 0), length, 1 / Math.sqrt(fanIn(net, node)));
  if (scheme === 'pytorch') return paramsWith(net, uniform);
  const params = scheme === 'gaussian' ? prngParams(net, seed, fills.gaussian) : kaimingParams(net, seed, fills);
  return withDefaultTransposed(net, params, uniform);
}

/** `params` with each transposed conv's weight and bias drawn by `uniform` (PyTorch's default, which it keeps). */
function withDefaultTransposed(
  net: Network,
  params: NetParams,
  uniform: (node: number, kind: 'weight' | 'bias', length: number) => Float64Array,
): NetParams {
  const transposed = net.nodes.filter((n) => n.op === 'conv' && n.transposed);
  if (transposed.length === 0) return params;
  const out = params.slice();
  for (const n of transposed) {
    const p = params[n.id]!;
    out[n.id] = {
      ...p,
      weight: uniform(n.id, 'weight', p.weight!.length),
      ...(p.bias ? { bias: uniform(n.id, 'bias', p.bias.length) } : {}),
    };
  }
  // a transposed conv called again holds its first call's tensors, as PyTorch's one module does
  for (const t of net.tied ?? [])
    if (out[t.of] !== params[t.of]) out[t.node] = { ...out[t.node], [t.kind]: out[t.of]![t.kind] };
  return out;
}

/** The `kaiming` scheme: the Gaussian weights times √(2 / fan_in), biases 0. */
function kaimingParams(net: Network, seed: number, fills: PrngFills): NetParams {
  const fill = fills.gaussian ?? fillGaussian;
  return paramsWith(net, (node, kind, length) => {
    const out = new Float64Array(length);
    if (kind === 'bias') return out;
    const g = fill(new Float32Array(length), seed, node);
    const scale = Math.sqrt(2 / fanIn(net, node));
    for (let i = 0; i < length; i++) out[i] = g[i]! * scale;
    return out;
  });
}
