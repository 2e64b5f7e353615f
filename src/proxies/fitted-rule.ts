/**
 * The fitted rule of `--fitness ensemble-fit` (docs/ensemble-study.md, "A fitted rule"): every suite member that
 * the fitness can compute on every space at the cost of a proxy pass, each as ln F̂ and as −ln(1 − F̂) against the
 * space's reference set, weighted by a ridge regression on NB201 sample A's accuracies (bench/ensemble-fit-study.mjs
 * regenerates the weights from the committed member values; test/rule-fit.test.ts checks they match).
 */
import type { EnsembleRule } from './ensemble.js';

/**
 * The fitted rule's members (each enters twice, log forms first). The rule study's candidates without jacov and epe_nas (on TransNAS-Bench-101 their
 * input Jacobian vanishes in float32, so they run only on the float64 reference engine, ≈ 4 s per network) and
 * without synflow_bn (BN in training mode on synflow's constant input leaves float32 rounding: the same cells moved
 * by up to 58 % between builds that only reordered sums), and without vkdnw and vkdnw_dim (K − 1 backward passes for K
 * classes: with them a CIFAR-100 search cost 144–163 s of CPU against 42–50 s on CIFAR-10).
 */
export const FITTED_MEMBERS: readonly string[] = Object.freeze([
  'swap',
  'reg-swap',
  'params',
  'flops',
  'l2_norm',
  'nwot',
  'meco',
  'zen',
  'az_expressivity',
  'az_progressivity',
  'az_trainability',
  'grad_norm',
  'snip',
  'plain',
  'fisher',
  'synflow',
]);

/**
 * `--fitness ensemble-fit`: the weights `FIT_OPTIONS` (src/study/rule-fit.ts) chose on NB201 sample A (λ 0.1, top-decile weight 10),
 * as bench/ensemble-fit-study.mjs prints them: the ln F̂ terms of the members in order, then their −ln(1 − F̂) terms.
 */
export const FITTED_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'fitted-A-16x2',
  members: Object.freeze([...FITTED_MEMBERS, ...FITTED_MEMBERS]),
  forms: Object.freeze([...FITTED_MEMBERS.map(() => 'log' as const), ...FITTED_MEMBERS.map(() => 'upper' as const)]),
  weights: Object.freeze([
    0.969586, -0.629241, 0.372464, 0.362205, -0.0700359, -0.220504, 0.110124, -0.195712, 0.0312021, -0.0230847,
    0.234742, -0.310626, 0.43721, 0.0259013, -0.137703, -0.0425582, 0.0247513, -0.250411, 0.211544, 0.116074, 0.102579,
    0.158633, 0.110541, -0.180067, -0.0411847, -0.0741856, 0.0239409, -0.0883533, -0.113165, 0.0128108, -0.103719,
    0.105956,
  ]),
  description: 'ridge-fitted weights of 16 suite members in both forms, ln F̂ and −ln(1 − F̂) (chosen on NB201 sample A)',
});
