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
import { fanIn, type GaussianFill, mapParams, prngParams } from '../grad/params.js';
import type { Network } from '../ir/types.js';
import { mix32, streamKey } from '../init/prng.js';

export type InitScheme = 'gaussian' | 'kaiming' | 'pytorch';

/** PRNG tensor id of node `id`'s uniform draws (`pytorch` scheme): disjoint from node ids and the input stream. */
const UNIFORM_BASE = 0x40000000;

/** A uniform value in (−1, 1) for element `i` of a tensor stream. */
function uniform(seed: number, tensor: number, i: number): number {
  return ((mix32(streamKey(seed, tensor, i)) + 0.5) / 4294967296) * 2 - 1;
}

/**
 * Parameters of `net` under `scheme`, for weight seed `seed`; `fill` may be a faster bit-identical Gaussian
 * generator (the native addon's).
 */
export function initParams(net: Network, scheme: InitScheme, seed: number, fill?: GaussianFill): NetParams {
  // `pytorch` replaces every weight and bias: its base needs no Gaussian draws
  const base = prngParams(net, seed, scheme === 'pytorch' ? (out) => out : fill);
  if (scheme === 'gaussian') return base;
  if (scheme === 'kaiming')
    return mapParams(base, (v, ref) => (ref.kind === 'weight' ? v * Math.sqrt(2 / fanIn(net, ref.node)) : v));
  return base.map((p, node) => {
    if (!p?.weight) return p;
    const bound = 1 / Math.sqrt(fanIn(net, node));
    const draw = (t: Float64Array, tensor: number) => {
      const out = new Float64Array(t.length);
      for (let i = 0; i < out.length; i++) out[i] = bound * uniform(seed, tensor, i);
      return out;
    };
    return {
      ...p,
      weight: draw(p.weight, UNIFORM_BASE + 2 * node),
      ...(p.bias ? { bias: draw(p.bias, UNIFORM_BASE + 2 * node + 1) } : {}),
    };
  });
}
