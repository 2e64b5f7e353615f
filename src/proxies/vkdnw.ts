/**
 * VKDNW (ondratybl/VKDNW `NB201/ZeroShotProxy/compute_vkdnw_score.py`, `p = 1`: one scalar, flat index 0, of each of
 * the first 128 trainable tensors in parameter order): BN in eval mode (running statistics), per-sample Jacobians
 * J_b = ∂f(x_b)/∂θ_S (K × P) from K backward passes (one per class, all samples at once — eval-mode samples are
 * independent), the code's Cholesky-like factor L_b of diag(p̃) − p̃p̃ᵀ with p̃ = (1 − α)·softmax + α/K (α = 0.05
 * held in a float16 tensor, so 1 − α and α/K are float16-rounded, as in the code), F = mean_b (L_b J_b)ᵀ(L_b J_b), λ = its eigenvalues, q = quantiles of λ
 * at 0.1 … 0.9, q̃ = q/(Σ|q| + 1e-10) and VKDNW = −Σ q̃·ln(q̃ + 1e-10). `vkdnw_dim` = number of trainable tensors
 * (a tensor several nodes share counts once, as in `named_parameters()`; its scalar's derivative sums the uses').
 * An nn.PReLU's slopes are such a tensor ({@link vkdnwTensors}).
 */
import { backward } from '../backends/reference/backward.js';
import { forwardTape } from '../backends/reference/tape.js';
import { PARAM_KINDS, paramRefs, tensorUses } from '../grad/params.js';
import { slopeTensors } from '../grad/slopes.js';
import type { NetParams, ScalarRef } from '../grad/types.js';
import type { Network } from '../ir/types.js';
import { quantile, symmetricEigenvalues } from './linalg.js';
import { finite, type ProxyValue } from './value.js';

/** float16(0.05): the smoothing constant as the official code stores it (a float16 tensor). */
const ALPHA = 0.0499877929688;

/** Round to the nearest IEEE float16 value (ties to even): `1 − α` and `α/K` are float16 tensor results. */
export function toFloat16(x: number): number {
  const a = Math.abs(x);
  if (a === 0 || !Number.isFinite(a)) return x;
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const step = 2 ** (e - 10);
  const q = a / step;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 === 1) r -= 1;
  return Math.sign(x) * r * step;
}

export interface VkdnwScores {
  readonly vkdnw: ProxyValue;
  readonly vkdnw_dim: ProxyValue;
}

/** The code's factor L (K × K, row-major) for smoothed probabilities p. */
export function choleskyFactor(p: Float64Array): Float64Array {
  const K = p.length;
  const q = new Float64Array(K);
  let cum = 0;
  for (let k = 0; k < K; k++) {
    cum += p[k]!;
    q[k] = k === K - 1 ? 0 : 1 - cum;
  }
  const L = new Float64Array(K * K);
  for (let k = 0; k < K; k++) {
    const qPrev = k === 0 ? 1 : q[k - 1]!;
    const d = Math.sqrt((p[k]! * q[k]!) / qPrev);
    L[k * K + k] = d;
    if (q[k] === 0) continue; // −p/0 = −∞ becomes 0 in the code
    for (let i = k + 1; i < K; i++) L[i * K + k] = (-p[i]! / q[k]!) * d;
  }
  return L;
}

/** Smoothed softmax of one logit row. */
function smoothed(logits: Float64Array): Float64Array {
  const K = logits.length;
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  const keep = toFloat16(1 - ALPHA);
  const floor = toFloat16(ALPHA / K);
  return e.map((v) => (v / z) * keep + floor);
}

/**
 * VKDNW on a network with a one-slope nn.PReLU(): null with the official code's own error under torch 1.13, and
 * `vkdnw_dim` null likewise; also null where nn.Parameters are read only in part or reordered
 * (`Network.constantParams`: their columns are not computed). Undefined otherwise.
 */
export function vkdnwOneSlope(net: Network): VkdnwScores | undefined {
  if (net.constantParams) {
    const reason = `vkdnw: ${net.constantParams.names.length} nn.Parameter(s) (${net.constantParams.names.slice(0, 2).join(', ').slice(0, 80)}) are read only in part, reordered or outside the layers and whole arithmetic reads, so their Jacobian columns are not computed`;
    return { vkdnw: { value: null, reason }, vkdnw_dim: { value: null, reason } };
  }
  const prelu = (id: number) => {
    const n = net.nodes[id]!;
    return n.op === 'relu' || (n.op === 'act' && n.fn === 'prelu');
  };
  if (!slopeTensors(net).some((t) => t.count === 1 && prelu(t.node))) return undefined;
  const reason =
    "vkdnw: the official code raises on a one-slope nn.PReLU() (its vmapped per-sample Jacobians under torch 1.13: 'Mismatch of parameter numbers and input channel size')";
  return { vkdnw: { value: null, reason }, vkdnw_dim: { value: null, reason } };
}

/**
 * VKDNW's tensors, as `named_parameters()` lists them: the trainable tensors ({@link paramRefs}) and each nn.PReLU's
 * slope tensor, placed before the first trainable tensor of a later node (a module's parameters come in call order)
 * or, in an imported model whose file order differs from node order, where that order puts it; each with every node
 * that uses it.
 */
export function vkdnwTensors(net: Network, params: NetParams): { ref: ScalarRef; uses: readonly number[] }[] {
  const slopes = slopeTensors(net);
  const out: { ref: ScalarRef; uses: readonly number[] }[] = [];
  const uses = new Map(PARAM_KINDS.map((k) => [k, tensorUses(net, k)]));
  let next = 0;
  for (const r of paramRefs(params, net)) {
    for (; next < slopes.length && slopes[next]!.node < r.node; next++)
      out.push({ ref: { node: slopes[next]!.node, kind: 'slope', index: 0 }, uses: slopes[next]!.uses });
    out.push({ ref: { ...r, index: 0 }, uses: uses.get(r.kind)!.get(r.node) ?? [r.node] });
  }
  for (const t of slopes.slice(next)) out.push({ ref: { node: t.node, kind: 'slope', index: 0 }, uses: t.uses });
  // an imported model's own order, where it places the slopes (a tensor it does not list keeps its place after)
  const order = net.parameterOrder;
  if (!order?.some((r) => r.kind === 'slope')) return out;
  const rank = new Map(order.map((r, i) => [`${r.node}:${r.kind}`, i]));
  return out
    .map((t, i) => ({ t, key: rank.get(`${t.ref.node}:${t.ref.kind}`) ?? order.length + i }))
    .sort((a, b) => a.key - b.key)
    .map(({ t }) => t);
}

export function vkdnw(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  batch: number,
  maxTensors = 128,
): VkdnwScores {
  const oneSlope = vkdnwOneSlope(net);
  if (oneSlope) return oneSlope;
  const tensors = vkdnwTensors(net, params);
  const chosen = scalarUses(tensors.slice(0, maxTensors));
  const per = x.length / batch;
  // the official Jacobians are vmapped one sample at a time: a BN without running statistics then normalises each
  // sample alone, so such a network runs sample by sample (else eval-mode samples are independent: one batch); its
  // probabilities come from one batched forward, where that BN normalises over the batch
  const parts = perSampleBn(net) ? batch : 1;
  const size = batch / parts;
  const rows = Array.from({ length: parts }, (_, t) =>
    jacobianRows(net, params, Array.from(x).slice(t * size * per, (t + 1) * size * per), size, chosen),
  );
  const K = rows[0]!.logits.length / size;
  const J = new Float64Array(batch * K * chosen.length);
  const logits = new Float64Array(batch * K);
  rows.forEach((r, t) => {
    J.set(r.J, t * r.J.length);
    logits.set(r.logits, t * r.logits.length);
  });
  if (parts > 1) logits.set(forwardTape(net, params, x, batch, { bn: 'eval' }).logits);
  return { vkdnw: vkdnwFromJacobian(J, logits, batch, K, chosen.length), vkdnw_dim: { value: tensors.length } };
}

/** Whether `net` has a BN without running statistics, which VKDNW's per-sample calls normalise sample by sample. */
export function perSampleBn(net: Network): boolean {
  return net.nodes.some((n) => n.op === 'bn' && n.batchStats === true);
}

/**
 * VKDNW's scalars: flat index 0 of each tensor of `tensors`, as every node using that tensor sees it (one use where
 * nothing is tied); a scalar's derivative is the sum over its uses'.
 */
export function scalarUses(tensors: readonly { ref: ScalarRef; uses: readonly number[] }[]): ScalarRef[][] {
  return tensors.map(({ ref, uses }) => uses.map((node) => ({ node, kind: ref.kind, index: 0 })));
}

/**
 * The columns of each scalar of `chosen` summed over its uses (`cols` in the order of `chosen.flat()`). A use that
 * reads a learned constant as −c (`x - c`, imported as a shift by −c: `ActNode.stateSign`) counts negated: the
 * engines give ∂/∂α, the parameter's derivative is stateSign·∂/∂α.
 */
export function sumUseColumns<T extends ArrayLike<number>>(
  net: Network,
  chosen: readonly ScalarRef[][],
  cols: readonly T[],
): (T | Float64Array)[] {
  let at = 0;
  const sign = (r: ScalarRef) => {
    const n = net.nodes[r.node]!;
    return r.kind === 'slope' && n.op === 'act' ? (n.stateSign ?? 1) : 1;
  };
  return chosen.map((u) => {
    const parts = cols.slice(at, (at += u.length));
    const signs = u.map(sign);
    if (parts.length === 1 && signs[0] === 1) return parts[0]!;
    return Float64Array.from(parts[0]!, (_, b) => parts.reduce((acc, c, i) => acc + signs[i]! * c[b]!, 0));
  });
}

/** J[b][k][i] = ∂f_k(x_b)/∂θ_i of `batch` samples in one eval-mode pass, and their logits. */
function jacobianRows(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  batch: number,
  chosen: readonly ScalarRef[][],
): { J: Float64Array; logits: Float64Array } {
  const P = chosen.length;
  const tape = forwardTape(net, params, x, batch, { bn: 'eval', backward: { params: true } });
  const K = tape.logits.length / batch;
  const J = new Float64Array(batch * K * P);
  for (let k = 0; k < K; k++) {
    const seed = new Float64Array(batch * K);
    for (let b = 0; b < batch; b++) seed[b * K + k] = 1;
    const g = backward(tape, { seeds: new Map([[net.output, seed]]), perSample: chosen.flat() });
    sumUseColumns(net, chosen, g.perSample!).forEach((col, i) => {
      for (let b = 0; b < batch; b++) J[(b * K + k) * P + i] = col[b]!;
    });
  }
  return { J, logits: Float64Array.from(tape.logits) };
}

/**
 * VKDNW from the per-sample Jacobian J[b][k][i] = ∂f_k(x_b)/∂θ_i (batch × K × P) and the logits (any engine's).
 */
export function vkdnwFromJacobian(
  J: Float64Array,
  logits: ArrayLike<number>,
  batch: number,
  K: number,
  P: number,
): ProxyValue {
  const F = new Float64Array(P * P);
  for (let b = 0; b < batch; b++) {
    const L = choleskyFactor(smoothed(Float64Array.from({ length: K }, (_, k) => logits[b * K + k]!)));
    const A = new Float64Array(K * P); // L·J_b
    for (let r = 0; r < K; r++)
      for (let k = 0; k <= r; k++) {
        const l = L[r * K + k]!;
        if (l !== 0) for (let i = 0; i < P; i++) A[r * P + i]! += l * J[(b * K + k) * P + i]!;
      }
    for (let r = 0; r < K; r++)
      for (let i = 0; i < P; i++) {
        const a = A[r * P + i]! / batch;
        if (a !== 0) for (let j = i; j < P; j++) F[i * P + j]! += a * A[r * P + j]!;
      }
  }
  for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) F[j * P + i] = F[i * P + j]!;
  // The official code's SVD refuses a non-finite matrix, and it then takes the eigenvalues as zeros: entropy 0.
  // With many classes the float16 smoothing can leave a negative remainder under a square root (NaN in L).
  if (!F.every(Number.isFinite))
    return {
      value: 0,
      reason:
        'vkdnw: the Fisher matrix has non-finite entries (e.g. from the float16 smoothing over many classes); 0, as the official code gives when its SVD fails',
    };
  const lambdas = symmetricEigenvalues(F, P).map(Math.abs).sort();
  const q = Array.from({ length: 9 }, (_, i) => quantile(lambdas, Math.fround(0.1 + 0.1 * i)));
  const norm = q.reduce((a, v) => a + Math.abs(v), 0) + 1e-10;
  let h = 0;
  for (const v of q) h -= (v / norm) * Math.log(v / norm + 1e-10);
  return finite('vkdnw', h);
}
