/**
 * The fitted rule of `--fitness ensemble-fit` (docs/ensemble-study.md, "A fitted rule"): every suite member that
 * the fitness can compute on every space at the cost of a proxy pass, each as ln F̂ and as −ln(1 − F̂) against the
 * space's reference set, weighted by a ridge regression on NB201 sample A's accuracies, shrunk toward the label-free
 * ensemble's weights (bench/ensemble-fit-study.mjs regenerates the weights from the committed member values;
 * test/rule-fit.test.ts checks they match).
 */
import type { EnsembleRule } from './ensemble.js';

/**
 * The fitted rule's pass-based members: the rule study's candidates without jacov and epe_nas (on TransNAS-Bench-101 their
 * input Jacobian vanishes in float32, so they run only on the float64 reference engine, ≈ 4 s per network) and
 * without synflow_bn (BN in training mode on synflow's constant input left float32 rounding: the same cells moved
 * by up to 58 % between builds that only reordered sums; it runs in float64 since session 20, after the fit), and without vkdnw and vkdnw_dim (K − 1 backward passes for K
 * classes: with them a CIFAR-100 search cost 144–163 s of CPU against 42–50 s on CIFAR-10).
 */
export const PASS_MEMBERS: readonly string[] = Object.freeze([
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
 * The fitted rule's graph members: path statistics read from the architecture alone (src/ir/paths.ts), chosen in
 * session 21: of the 16 subsets of the four path candidates, all four give sample A's best cross-validated ρ (bench/path-members-study.mjs;
 * docs/ensemble-study.md, "Path members").
 */
export const PATH_MEMBERS: readonly string[] = Object.freeze([
  'path_depth',
  'path_min',
  'path_count',
  'pool_path_share',
]);

/** The fitted rule's members, in the order of its weights (each enters twice, log forms first). */
export const FITTED_MEMBERS: readonly string[] = Object.freeze([...PASS_MEMBERS, ...PATH_MEMBERS]);

/**
 * `--fitness ensemble-fit`, the default fitness: the weights `FIT_OPTIONS` (src/study/rule-fit.ts) chose on NB201
 * sample A — ridge toward the label-free ensemble's weights, λ 100 (the largest within 0.01 of the best CV ρ),
 * top-decile weight 5 — as bench/ensemble-fit-study.mjs prints them: the ln F̂ terms of the members in order, then
 * their −ln(1 − F̂) terms. (Session 11's plain-ridge weights, λ 0.1, ranked real DARTS networks at 0.49:
 * docs/ensemble-study.md, "A fitted rule, shrunk toward the label-free ensemble".)
 */
export const FITTED_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'fitted-A-20x2-shrunk',
  members: Object.freeze([...FITTED_MEMBERS, ...FITTED_MEMBERS]),
  forms: Object.freeze([...FITTED_MEMBERS.map(() => 'log' as const), ...FITTED_MEMBERS.map(() => 'upper' as const)]),
  weights: Object.freeze([
    0.04514, 0.354536, 0.0723316, 0.0723309, 0.0152644, -0.0855919, 0.232414, -0.126342, 0.0337564, -0.0444054,
    0.178593, -0.0968493, 0.137375, -0.00980437, 0.000588415, 0.0327346, 0.0843332, -0.0651741, -0.0931817, -0.0595398,
    0.0241389, 0.0337355, 0.0678524, 0.0678164, 0.0991779, 0.11685, 0.0601764, -0.164192, 0.00228731, -0.0639173,
    0.0515481, -0.0677259, -0.0776514, 0.000628165, -0.0706017, 0.0713297, -0.0936282, -0.177587, 0.0404416, 0.00707951,
  ]),
  description:
    'ridge-fitted weights of 20 suite members (16 pass-based, 4 graph-path) in both forms, ln F̂ and −ln(1 − F̂), shrunk toward the label-free ensemble (chosen on NB201 sample A)',
});
