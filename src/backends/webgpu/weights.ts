import { fillGaussian } from '../../init/prng.js';
import { loadAddon } from '../../native/loader.js';
import type { WeightTensor } from './plan.js';

/**
 * Weights of one (network, seed), generated on the CPU and uploaded once per evaluation.
 *
 * Why not on the device: the counter-based generator (`init/prng.ts`) maps hashes to doubles and applies the
 * polar method with a deterministic double-precision logarithm; WGSL has no f64, and an f32 emulation would not
 * round identically, so device-generated weights would differ in the last bits from every other backend. The
 * hashes are cheap, so the CPU path costs ~70 ns per weight in JavaScript (~0.1 s for the largest NB201 network),
 * less with the native addon's `prngFill` when the addon is built; both give bit-identical float32 values.
 */
export function generateWeights(tensors: readonly WeightTensor[], total: number, seed: number): Float32Array {
  const out = new Float32Array(Math.max(1, total));
  const addon = loadAddon();
  for (const t of tensors) {
    if (t.count === 0) continue;
    if (t.values) {
      out.set(t.values, t.offset);
      continue;
    }
    const w = addon.ok
      ? addon.addon.prngFill(seed >>> 0, t.tensor, t.count)
      : fillGaussian(new Float32Array(t.count), seed >>> 0, t.tensor);
    if (t.pack4) packOc4(w, t.pack4.cinG * t.pack4.kk, out, t.offset);
    else out.set(w, t.offset);
  }
  return out;
}

/**
 * PyTorch conv layout `[cout][inner]` (inner = cin/groups·k·k) → `[cout/4][inner][4]` at `out[offset…]`, the
 * layout of `conv2d_oc4.wgsl`. `cout` must be a multiple of 4.
 */
export function packOc4(w: Float32Array, inner: number, out: Float32Array, offset: number): void {
  const cout = w.length / inner;
  for (let oc = 0; oc < cout; oc++) {
    const dst = offset + (oc >> 2) * inner * 4 + (oc & 3);
    const src = oc * inner;
    for (let q = 0; q < inner; q++) out[dst + 4 * q] = w[src + q]!;
  }
}
