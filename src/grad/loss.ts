import { SwapError } from '../util/errors.js';

/** Mean cross-entropy of a batch and its gradient w.r.t. the logits. */
export interface LossValue {
  /** L = mean_b −ln softmax(f_b)[y_b]. */
  readonly loss: number;
  /** ∂L/∂f, batch × classes: (softmax(f_b) − onehot(y_b)) / batch. */
  readonly dlogits: Float64Array;
}

/**
 * PyTorch's `F.cross_entropy(logits, labels)` (mean reduction, integer labels) in float64, with a max-shifted
 * log-sum-exp. `logits` is batch × classes, row-major.
 */
export function crossEntropy(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): LossValue {
  const B = labels.length;
  if (B < 1 || logits.length !== B * classes) {
    throw new SwapError('E_INPUT_SHAPE', `${logits.length} logits do not form ${B} samples x ${classes} classes`);
  }
  const dlogits = new Float64Array(B * classes);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const y = labels[b]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new SwapError('E_OPTION', `label ${y} of sample ${b} is outside 0…${classes - 1}`);
    }
    const o = b * classes;
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, logits[o + k]!);
    let z = 0;
    for (let k = 0; k < classes; k++) z += Math.exp(logits[o + k]! - m);
    loss += Math.log(z) + m - logits[o + y]!;
    for (let k = 0; k < classes; k++) dlogits[o + k] = Math.exp(logits[o + k]! - m) / z / B;
    dlogits[o + y]! -= 1 / B;
  }
  return { loss: loss / B, dlogits };
}
