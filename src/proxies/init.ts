/**
 * Weight initialisations of the official proxy protocols, drawn from swapnas' counter-based PRNG (so every backend
 * and every run regenerates the same values; they are not PyTorch's random streams):
 * - `gaussian`: conv/linear weights N(0, 1), biases 0, BN γ = 1, β = 0 (SWAP, Zen-NAS) — {@link prngParams};
 * - `kaiming`: weights N(0, 2/fan_in) (kaiming-normal, fan-in, ReLU gain), biases 0 (AZ-NAS, VKDNW);
 * - `pytorch`: PyTorch's default `reset_parameters`: weights and biases U(−1/√fan_in, 1/√fan_in) (ZC, NASLib,
 *   ZiCo, MeCo).
 * BN running statistics are mean 0, variance 1 in every scheme (a freshly built network).
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
  if (scheme === 'pytorch') {
    // every weight and bias U(−1/√fan_in, 1/√fan_in): no Gaussian draws
    const draw = fills.uniform ?? uniformTensor;
    return paramsWith(net, (node, kind, length) =>
      draw(seed, UNIFORM_BASE + 2 * node + (kind === 'bias' ? 1 : 0), length, 1 / Math.sqrt(fanIn(net, node))),
    );
  }
  if (scheme === 'gaussian') return prngParams(net, seed, fills.gaussian);
  // kaiming: the Gaussian weights times √(2 / fan_in), biases 0
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
