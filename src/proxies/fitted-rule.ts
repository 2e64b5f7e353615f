/**
 * The fitted rule of `--fitness ensemble-fit` (docs/ensemble-study.md, "A fitted rule"): every suite member that
 * the fitness can compute on every space at the cost of a proxy pass, each as ln F̂ and as −ln(1 − F̂) against the
 * space's reference set, weighted by a ridge regression on NB201 sample A's accuracies, shrunk toward the label-free
 * ensemble's weights (bench/ensemble-fit-study.mjs regenerates the weights from the committed member values;
 * test/rule-fit.test.ts checks they match).
 */
import type { EnsembleRule } from './ensemble.js';

/**
 * The fitted rule's members (each enters twice, log forms first). The rule study's candidates without jacov and epe_nas (on TransNAS-Bench-101 their
 * input Jacobian vanishes in float32, so they run only on the float64 reference engine, ≈ 4 s per network) and
 * without synflow_bn (BN in training mode on synflow's constant input left float32 rounding: the same cells moved
 * by up to 58 % between builds that only reordered sums; it runs in float64 since session 20, after the fit), and without vkdnw and vkdnw_dim (K − 1 backward passes for K
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
 * `--fitness ensemble-fit`, the default fitness: the weights `FIT_OPTIONS` (src/study/rule-fit.ts) chose on NB201
 * sample A — ridge toward the label-free ensemble's weights, λ 100 (the largest within 0.01 of the best CV ρ),
 * top-decile weight 2 — as bench/ensemble-fit-study.mjs prints them: the ln F̂ terms of the members in order, then
 * their −ln(1 − F̂) terms. (Session 11's plain-ridge weights, λ 0.1, ranked real DARTS networks at 0.49:
 * docs/ensemble-study.md, "A fitted rule, shrunk toward the label-free ensemble".)
 */
export const FITTED_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'fitted-A-16x2-shrunk',
  members: Object.freeze([...FITTED_MEMBERS, ...FITTED_MEMBERS]),
  forms: Object.freeze([...FITTED_MEMBERS.map(() => 'log' as const), ...FITTED_MEMBERS.map(() => 'upper' as const)]),
  weights: Object.freeze([
    0.0580499, 0.350202, 0.0855039, 0.0855012, 0.0181449, -0.0650103, 0.213067, -0.133919, 0.0255843, -0.0506596,
    0.101269, -0.0856387, 0.0902919, -0.00209859, -0.004392, -0.00661777, -0.0268178, 0.0427192, 0.0684829, 0.0684526,
    0.110199, 0.120004, 0.0793042, -0.164442, 0.0240503, -0.0671262, 0.0630354, -0.100399, -0.136542, 0.0192577,
    -0.0730356, 0.0560303,
  ]),
  description:
    'ridge-fitted weights of 16 suite members in both forms, ln F̂ and −ln(1 − F̂), shrunk toward the label-free ensemble (chosen on NB201 sample A)',
});
