/**
 * AZ-NAS components (cvlab-yonsei/AZ-NAS `NB201/ZeroShotProxy/compute_az_nas_score.py`) over block features
 * F_0 … F_n (stem and block outputs) of one train-mode forward pass:
 * - expressivity e_i: eigenvalues s of the C × C covariance of F_i's positions (B·H·W rows, centred columns),
 *   p = s/Σs, e_i = −Σ p·ln(p + 1e-8); E = Σ_i e_i; progressivity P = min_i (e_{i+1} − e_i);
 * - trainability: for i = n … 1, a Rademacher cotangent G at F_i and its VJP G' at F_{i−1} (the block alone, BN
 *   batch terms included); identical G' = G ⇒ −∞; otherwise G' is space-to-depth'ed to F_i's size, M = G'ᵀG/(B·H·W)
 *   and t_i = −σ_max − 1/(σ_max + 1e-6) + 2; T = mean t_i.
 * NaN in any component becomes null (the official code maps it to −∞).
 */
import { backward } from '../backends/reference/backward.js';
import { forwardTape } from '../backends/reference/tape.js';
import type { NetParams } from '../grad/types.js';
import type { Network, Shape3 } from '../ir/types.js';
import { fillGaussian, type GaussianFill } from '../init/prng.js';
import { largestSingularValue, planeGram, symmetricEigenvalues } from './linalg.js';
import { finite, type ProxyValue } from './value.js';

export interface AzScores {
  readonly expressivity: ProxyValue;
  readonly progressivity: ProxyValue;
  readonly trainability: ProxyValue;
}

/** Rademacher cotangents: `draw(pair, length)` for pair k = 0 (last block) …; the default uses the PRNG. */
export type RademacherSource = (pair: number, length: number) => Float64Array;

/** PRNG tensor ids of the Rademacher draws (disjoint from node ids, uniform and input streams). */
const RADEMACHER_BASE = 0x60000000;

/**
 * The signs of the PRNG's N(0,1) draws of tensor RADEMACHER_BASE + pair; `fill` may be a faster bit-identical
 * Gaussian generator (the native addon's).
 */
export function prngRademacher(seed: number, fill: GaussianFill = fillGaussian): RademacherSource {
  return (pair, length) => {
    const g = fill(new Float32Array(length), seed, RADEMACHER_BASE + pair);
    const out = new Float64Array(length);
    for (let i = 0; i < length; i++) out[i] = g[i]! >= 0 ? 1 : -1;
    return out;
  };
}

/** Expressivity of one feature map (B × C × H × W). */
export function featureEntropy(a: ArrayLike<number>, B: number, shape: Shape3): number {
  const [C, H, W] = shape;
  const hw = H * W;
  const N = B * hw;
  const centred = new Float64Array(B * C * hw);
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let b = 0; b < B; b++) for (let i = 0; i < hw; i++) m += a[(b * C + c) * hw + i]!;
    m /= N;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < hw; i++) centred[(b * C + c) * hw + i] = a[(b * C + c) * hw + i]! - m;
  }
  const sigma = planeGram(centred, C, centred, C, B, hw, true).map((v) => v / N);
  const s = symmetricEigenvalues(sigma, C);
  let total = 0;
  for (const v of s) total += v;
  let e = 0;
  for (const v of s) {
    const p = v / total;
    e += -p * Math.log(p + 1e-8);
  }
  return e;
}

/** PixelUnshuffle by r: (B, C, H, W) → (B, C·r², H/r, W/r), channel c·r² + dy·r + dx. */
function spaceToDepth(g: Float64Array, B: number, [C, H, W]: Shape3, r: number): Float64Array {
  const oh = Math.floor(H / r);
  const ow = Math.floor(W / r);
  const out = new Float64Array(B * C * r * r * oh * ow);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let dy = 0; dy < r; dy++)
        for (let dx = 0; dx < r; dx++)
          for (let y = 0; y < oh; y++)
            for (let x = 0; x < ow; x++) {
              const oc = c * r * r + dy * r + dx;
              out[((b * C * r * r + oc) * oh + y) * ow + x] = g[((b * C + c) * H + y * r + dy) * W + x * r + dx]!;
            }
  return out;
}

/** t_i of one block from the cotangent at its output and the VJP at its input. */
export function blockTrainability(gOut: Float64Array, outS: Shape3, gIn: Float64Array, inS: Shape3, B: number): number {
  if (gOut.length === gIn.length && outS.join() === inS.join() && gOut.every((v, i) => v === gIn[i])) return -Infinity;
  let g = gIn;
  let s: Shape3 = inS;
  if (inS[1] !== outS[1] || inS[2] !== outS[2]) {
    const r = Math.trunc(inS[1] / outS[1]);
    g = spaceToDepth(gIn, B, inS, r);
    s = [inS[0] * r * r, Math.floor(inS[1] / r), Math.floor(inS[2] / r)];
  }
  const rows = B * outS[1] * outS[2];
  const M = planeGram(g, s[0], gOut, outS[0], B, outS[1] * outS[2]).map((v) => v / rows);
  const sigma = largestSingularValue(M, s[0], outS[0]);
  return -sigma - 1 / (sigma + 1e-6) + 2;
}

/** The three AZ-NAS components of `net` with block features `features` (IR node ids, in order). */
export function azNas(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  batch: number,
  features: readonly number[],
  rademacher: RademacherSource,
): AzScores {
  const tape = forwardTape(net, params, x, batch, { keep: [...features], backward: { params: false } });
  const shapeOf = (id: number) => net.nodes[id]!.shape as Shape3;
  const e = features.map((id) => featureEntropy(tape.activations.get(id)!, batch, shapeOf(id)));
  const t: number[] = [];
  for (let i = features.length - 1, pair = 0; i >= 1; i--, pair++) {
    const out = features[i]!;
    const inp = features[i - 1]!;
    const gOut = rademacher(pair, tape.activations.get(out)!.length);
    const gIn = backward(tape, { seeds: new Map([[out, gOut]]), nodes: [inp] }).nodes.get(inp)!;
    t.push(blockTrainability(gOut, shapeOf(out), gIn, shapeOf(inp), batch));
  }
  return azFromComponents(e, t, azPairProblem(features.map(shapeOf)));
}

/**
 * Why the official trainability cannot be computed on these block features (in order), if it cannot: between two
 * features of different sizes it unshuffles the input gradient by the stride ⌊h_in / h_out⌋ (PixelUnshuffle, which
 * needs the stride to divide h_in and w_in) and then needs as many rows (positions) on both sides.
 */
export function azPairProblem(shapes: readonly Shape3[]): string | undefined {
  for (let i = 1; i < shapes.length; i++) {
    const [, hi, wi] = shapes[i - 1]!;
    const [, ho, wo] = shapes[i]!;
    if (hi === ho && wi === wo) continue;
    const r = Math.trunc(hi / ho);
    if (r >= 1 && hi % r === 0 && wi % r === 0 && (hi / r) * (wi / r) === ho * wo) continue;
    return `az_trainability: block features ${shapes[i - 1]!.join('x')} then ${shapes[i]!.join('x')} are not an integer downsampling (the official code's pixel_unshuffle or its product of the two gradients fails there)`;
  }
  return undefined;
}

/**
 * The three AZ-NAS scores from each feature's expressivity `e` (in feature order) and each block's trainability `t`;
 * `tProblem` ({@link azPairProblem}) makes trainability null with that reason.
 */
export function azFromComponents(e: ArrayLike<number>, t: ArrayLike<number>, tProblem?: string): AzScores {
  let prog = Infinity;
  let sumE = 0;
  let sumT = 0;
  for (let i = 0; i < e.length; i++) sumE += e[i]!;
  for (let i = 1; i < e.length; i++) prog = Math.min(prog, e[i]! - e[i - 1]!);
  for (let i = 0; i < t.length; i++) sumT += t[i]!;
  const few = (name: string, need: number): ProxyValue => ({
    value: null,
    reason: `${name}: ${e.length === 0 ? 'no block features' : `${e.length} block feature`}; it needs ${need} (${BLOCKS_HINT})`,
  });
  return {
    // no features: the empty sum, 0 (what the ensembles' reference sets hold), with the reason
    expressivity:
      e.length > 0 ? finite('az_expressivity', sumE) : { value: 0, reason: few('az_expressivity', 1).reason! },
    progressivity: e.length > 1 ? finite('az_progressivity', prog) : few('az_progressivity', 2),
    trainability: tProblem
      ? { value: null, reason: tProblem }
      : t.length > 0
        ? finite('az_trainability', sumT / t.length)
        : few('az_trainability', 2),
  };
}

/** Where block features come from, for the reason of a network with too few. */
const BLOCKS_HINT =
  'the points where all paths split or merge, e.g. block outputs; a plain chain has none: export the block outputs as extra graph outputs of the ONNX model';
