/**
 * GraSP (Wang et al., ICLR 2020) as Zero-Cost-NAS computes it (`foresight/pruners/measures/grasp.py`; NASLib runs
 * the same code): g = ∂L/∂W of the mean cross-entropy over the conv/linear weights, Hg from the double backward of
 * ⟨stopgrad(g), ∂L/∂W⟩, and S = Σ_l Σ −W_l ⊙ (Hg)_l (temperature 1, one iteration, train-mode BN). Hg is exact
 * (forward over reverse, src/backends/reference/hvp.ts), not a finite difference.
 */
import { lossHessianVector } from '../backends/reference/hvp.js';
import type { BnMode, NetParams } from '../grad/types.js';
import type { Network } from '../ir/types.js';
import { finite, type ProxyValue } from './value.js';

/** grasp of one labelled batch on the float64 reference engine. */
export function grasp(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
  bn: BnMode = 'train',
): ProxyValue {
  const { hv } = lossHessianVector(net, params, x, labels, 'gradient', bn);
  return graspFromHv(params, hv);
}

/** S = −Σ_l ⟨W_l, (Hg)_l⟩ from each conv/linear node's ⟨W, Hg⟩ (the native engine's), in node order. */
export function graspFromWeightHv(layers: readonly number[], weightHv: ArrayLike<number>): ProxyValue {
  let s = 0;
  for (const id of layers) s -= weightHv[id]!;
  return finite('grasp', s);
}

/** S = Σ −W ⊙ Hg over the conv/linear weights, in node order (an explicit Hg). */
export function graspFromHv(params: NetParams, hv: ReadonlyMap<number, ArrayLike<number>>): ProxyValue {
  let s = 0;
  for (const id of [...hv.keys()].sort((a, b) => a - b)) {
    const w = params[id]!.weight!;
    const h = hv.get(id)!;
    for (let i = 0; i < w.length; i++) s -= w[i]! * h[i]!;
  }
  return finite('grasp', s);
}
