/**
 * ZiCo (SLDGroup/ZiCo `ZeroShotProxy/compute_zico.py`): the conv/linear weight gradients of the mean cross-entropy
 * on N ≥ 2 labelled batches (train-mode BN); per layer, over the elements whose gradient varies across batches,
 * tmp = Σ mean_t|g_t| / std_t(g_t) (population std); S = Σ_layers ln tmp (layers with tmp = 0 are skipped).
 */
import { lossGradients } from '../backends/reference/backward.js';
import type { NetParams } from '../grad/types.js';
import type { Network } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import { tieGrads } from '../grad/params.js';
import { weightTensors } from './saliency.js';
import { finite, type ProxyValue } from './value.js';

export interface LabelledBatch {
  readonly x: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
}

export function zico(net: Network, params: NetParams, batches: readonly LabelledBatch[]): ProxyValue {
  if (batches.length < 2) throw new SwapError('E_OPTION', `zico needs at least 2 batches, got ${batches.length}`);
  return zicoFromGrads(
    net,
    batches.map((b) => lossGradients(net, params, b.x, b.labels).grads.params),
  );
}

/** ZiCo from the weight gradients of each batch (any engine's, one per node; a tied tensor's are summed here). */
export function zicoFromGrads(net: Network, perUse: readonly (NetParams | undefined)[]): ProxyValue {
  const grads = perUse.map((g) => tieGrads(net, g));
  const T = grads.length;
  let s = 0;
  for (const id of weightTensors(net)) {
    const gs = grads.map((g) => g?.[id]?.weight);
    if (gs.some((g) => !g)) continue;
    const n = gs[0]!.length;
    let tmp = 0;
    for (let i = 0; i < n; i++) {
      let mean = 0;
      let meanAbs = 0;
      for (const g of gs) {
        mean += g![i]!;
        meanAbs += Math.abs(g![i]!);
      }
      mean /= T;
      meanAbs /= T;
      let v = 0;
      for (const g of gs) v += (g![i]! - mean) ** 2;
      const std = Math.sqrt(v / T);
      if (std !== 0) tmp += meanAbs / std;
    }
    if (tmp !== 0) s += Math.log(tmp);
  }
  return finite('zico', s);
}
