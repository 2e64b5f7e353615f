/**
 * Input-Jacobian proxies: jacov (ZC `jacob_cov`, NASLib `jacov`) and epe_nas (NASLib). Both take J = ∂(Σ_b Σ_c
 * f_c(x_b))/∂x from one backward pass seeded with ones at the logits; with train-mode BN the rows are the
 * batch-coupled gradients the official code reads from `x.grad`.
 */
import { backward } from '../backends/reference/backward.js';
import { forwardTape } from '../backends/reference/tape.js';
import type { BnMode, NetParams } from '../grad/types.js';
import type { Network } from '../ir/types.js';
import { corrcoefRows, symmetricEigenvalues } from './linalg.js';
import { finite, type ProxyValue } from './value.js';

/** Rows of ∂(Σ logits)/∂x, one per sample (batch × input numel), and the number of outputs per sample. */
export function inputJacobian(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  batch: number,
  bn: BnMode = 'train',
): { rows: Float64Array; outputs: number } {
  const tape = forwardTape(net, params, x, batch, { bn, backward: { params: false } });
  const g = backward(tape, {
    seeds: new Map([[net.output, new Float64Array(tape.logits.length).fill(1)]]),
    input: true,
  });
  return { rows: g.input!, outputs: tape.logits.length / batch };
}

/** jacov score of a B × D Jacobian: −Σ_b [ln(λ_b + 1e-5) + 1/(λ_b + 1e-5)] over the eigenvalues of its row correlations. */
export function jacovScore(rows: Float64Array, batch: number): ProxyValue {
  // np.linalg.eig refuses the 0-d corrcoef of one row, and the official code returns NaN
  if (batch < 2) return { value: null, reason: 'jacov: needs a batch of at least 2 (one row has no correlation)' };
  const D = rows.length / batch;
  const corr = corrcoefRows({ rows: batch, cols: D, data: rows });
  if (corr.some(Number.isNaN)) return { value: null, reason: 'jacov: a Jacobian row is constant (NaN correlation)' };
  let s = 0;
  for (const l of symmetricEigenvalues(corr, batch)) s += Math.log(l + 1e-5) + 1 / (l + 1e-5);
  return finite('jacov', -s);
}

/**
 * epe_nas (NASLib): group the Jacobian rows by label; per class c, s_c = Σ ln(|corr| + 1e-5) over its row
 * correlation matrix (a single-row class gives ln(1 + 1e-5), as `np.corrcoef` of one vector is 1). With ≤ 100
 * outputs S = Σ_c |s_c|; otherwise each s_c is divided by its row count (classes with one row are skipped, as the
 * official `len()` of a scalar raises) and S = Σ_c Σ_c' |s_c − s_c'| / (number of classes seen).
 */
export function epeNasScore(rows: Float64Array, labels: ArrayLike<number>, outputs: number): ProxyValue {
  const B = labels.length;
  const D = rows.length / B;
  const groups = new Map<number, number[]>();
  for (let b = 0; b < B; b++) groups.set(labels[b]!, [...(groups.get(labels[b]!) ?? []), b]);
  const scores: number[] = [];
  for (const members of groups.values()) {
    const data = new Float64Array(members.length * D);
    members.forEach((b, i) => data.set(rows.subarray(b * D, (b + 1) * D), i * D));
    const corr = members.length === 1 ? singleRow(data) : corrcoefRows({ rows: members.length, cols: D, data });
    let s = 0;
    for (const v of corr) s += Math.log(Math.abs(v) + 1e-5);
    if (outputs > 100) {
      if (members.length === 1) continue;
      s /= members.length;
    }
    scores.push(s);
  }
  let total = 0;
  if (outputs <= 100) for (const s of scores) total += Math.abs(s);
  else {
    for (const a of scores) for (const b of scores) total += Math.abs(a - b);
    if (scores.length > 0) total /= scores.length;
  }
  return finite('epe_nas', total);
}

/**
 * Why epe_nas is the same for every network on these labels (undefined: it is not): with one sample per class the
 * official value is the constant ln(1 + 1e-5) per class.
 */
export function epeNasConstant(labels: ArrayLike<number>): string | undefined {
  if (new Set(Array.from(labels)).size < labels.length) return undefined;
  const n = labels.length;
  return `epe_nas: ${n === 1 ? 'the batch holds one sample' : `each of the ${n} samples has its own class`}, so its value is the same for every network (it correlates samples within a class); use a larger --proxy-batch`;
}

/** `np.corrcoef` of one vector: 1, or NaN when the vector is constant. */
function singleRow(v: Float64Array): Float64Array {
  const first = v[0];
  return Float64Array.of(v.every((x) => x === first) ? Number.NaN : 1);
}
