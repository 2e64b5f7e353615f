/**
 * The fitted rule of `--fitness ensemble-fit` (docs/ensemble-study.md, "A fitted rule"): every suite member that
 * the fitness can compute on every space at the cost of a proxy pass, each as ln F̂ and as −ln(1 − F̂) against the
 * space's reference set, weighted by a ridge regression on NB201 sample A's accuracies (bench/ensemble-fit-study.mjs
 * regenerates the weights from the committed member values; test/rule-fit.test.ts checks they match).
 */
import type { RuleFitOptions } from '../study/rule-fit.js';
import type { EnsembleRule } from './ensemble.js';

/**
 * How the rule is chosen. Members: the rule study's candidates without jacov and epe_nas (on TransNAS-Bench-101 their
 * input Jacobian vanishes in float32, so they run only on the float64 reference engine, ≈ 4 s per network) and
 * without synflow_bn (BN in training mode on synflow's constant input leaves float32 rounding: the same cells moved
 * by up to 58 % between builds that only reordered sums).
 */
export const FIT_OPTIONS: RuleFitOptions = Object.freeze({
  members: Object.freeze([
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
    'vkdnw',
    'vkdnw_dim',
  ]),
  lambdas: Object.freeze([0.1, 0.3, 1, 3, 10, 30]),
  topWeights: Object.freeze([1, 2, 5, 10]),
  folds: 5,
  seed: 0,
  rhoTolerance: 0.01,
  topK: 5,
});

/**
 * `--fitness ensemble-fit`: the weights {@link FIT_OPTIONS} chose on NB201 sample A (λ 0.1, top-decile weight 10),
 * as bench/ensemble-fit-study.mjs prints them: the ln F̂ terms of the members in order, then their −ln(1 − F̂) terms.
 */
export const FITTED_ENSEMBLE: EnsembleRule = Object.freeze({
  name: 'fitted-A-18x2',
  members: Object.freeze([...FIT_OPTIONS.members, ...FIT_OPTIONS.members]),
  forms: Object.freeze([
    ...FIT_OPTIONS.members.map(() => 'log' as const),
    ...FIT_OPTIONS.members.map(() => 'upper' as const),
  ]),
  weights: Object.freeze([
    1.00795, -0.63428, 0.349192, 0.335393, -0.0772493, -0.225461, 0.0905676, -0.183757, 0.0373899, -0.0231872, 0.226438,
    -0.323433, 0.442897, 0.0281149, -0.117192, -0.00641898, -0.0542428, -0.00756757, 0.0252039, -0.250827, 0.21096,
    0.0922833, 0.0640351, 0.147636, 0.118498, -0.16597, -0.0419119, -0.0683953, 0.0278155, -0.0960561, -0.103792,
    0.0119655, -0.116424, 0.110477, 0.0517358, 0.0690529,
  ]),
  description: 'ridge-fitted weights of 18 suite members in both forms, ln F̂ and −ln(1 − F̂) (chosen on NB201 sample A)',
});
