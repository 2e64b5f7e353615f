/**
 * Fitting a weighted rank-aggregation rule on a labelled sample (docs/ensemble-study.md, "A fitted rule"): each
 * candidate member enters twice, as ln F̂ and as −ln(1 − F̂) against its reference column, and the weights of those
 * terms are a ridge regression of the sample's accuracy normal scores on them. The fit uses accuracies; the rule it
 * returns does not (it is a fixed weighted sum of member terms, like every other ensemble rule).
 */
import {
  type EnsembleRule,
  LABEL_FREE_ENSEMBLE,
  type MemberForm,
  memberValueTerm,
  referenceColumn,
} from '../proxies/ensemble.js';
import { streamKey } from '../init/prng.js';
import { FITTED_MEMBERS, PASS_MEMBERS } from '../proxies/fitted-rule.js';
import { rankAverage, spearman } from '../stats/rank.js';
import { SwapError } from '../util/errors.js';

/** One labelled cell: its member values and its accuracy on each target (higher is better). */
export interface LabelledCell {
  readonly values: Readonly<Record<string, number | null>>;
  readonly targets: readonly number[];
}

/** The settings a fit is chosen over, and how. */
export interface RuleFitOptions {
  /** Candidate members (each enters in both forms). */
  readonly members: readonly string[];
  /** Ridge penalties tried (the intercept is never penalised). */
  readonly lambdas: readonly number[];
  /** Weights of the sample's top decile (by the mean normal score) tried; 1 = unweighted. */
  readonly topWeights: readonly number[];
  /** Cross-validation folds (seeded split). */
  readonly folds: number;
  /** Seed of the fold split. */
  readonly seed: number;
  /** Configurations whose CV mean ρ is within this of the best are compared by the quality of their top cells. */
  readonly rhoTolerance: number;
  /** The top cells per fold whose mean accuracy decides among those configurations. */
  readonly topK: number;
  /**
   * A rule the weights are shrunk toward instead of toward zero (each of its terms matched to this fit's member
   * and form), scaled to the target by least squares on the training cells; absent: plain ridge.
   */
  readonly prior?: EnsembleRule | undefined;
  /**
   * How the configuration is chosen among those within `rhoTolerance` of the best CV ρ: `top` (the best mean
   * accuracy of each fold's top cells) or `shrunk` (the largest λ, the one nearest the prior; then `top`).
   */
  readonly choose?: 'top' | 'shrunk';
}

/**
 * How `--fitness ensemble-fit` is chosen (docs/ensemble-study.md, "A fitted rule, shrunk toward the label-free
 * ensemble"; bench/ensemble-fit-study.mjs): ridge toward the label-free ensemble's weights, the largest λ whose CV ρ
 * is within 0.01 of the best.
 */
export const FIT_OPTIONS: RuleFitOptions = Object.freeze({
  members: FITTED_MEMBERS,
  lambdas: Object.freeze([0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000]),
  topWeights: Object.freeze([1, 2, 5, 10]),
  folds: 5,
  seed: 0,
  rhoTolerance: 0.01,
  topK: 5,
  prior: LABEL_FREE_ENSEMBLE,
  choose: 'shrunk',
});

/** How session 11's rule was chosen (plain ridge, the best top cells within tolerance): kept to reproduce it. */
export const FIT_OPTIONS_SESSION_11: RuleFitOptions = Object.freeze({
  members: PASS_MEMBERS, // the path members came in session 21
  lambdas: Object.freeze([0.1, 0.3, 1, 3, 10, 30]),
  topWeights: Object.freeze([1, 2, 5, 10]),
  folds: 5,
  seed: 0,
  rhoTolerance: 0.01,
  topK: 5,
});

/** One configuration's cross-validated quality. */
export interface FitTrial {
  readonly lambda: number;
  readonly topWeight: number;
  /** Mean over folds and targets of Spearman ρ on the held-out fold. */
  readonly cvRho: number;
  /** Mean over folds and targets of the mean accuracy of the fold's topK cells by the fitted score. */
  readonly cvTop: number;
}

/** The fitted rule, the trials it was chosen from and the choice. */
export interface RuleFit {
  readonly rule: EnsembleRule;
  readonly trials: readonly FitTrial[];
  readonly chosen: FitTrial;
}

/** Φ⁻¹(p) by Acklam's rational approximation (relative error below 1.2e-9 on (0, 1)). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Normal scores of a sample's values: Φ⁻¹(average rank / (n + 1)). */
export function normalScores(xs: readonly number[]): number[] {
  const r = rankAverage(xs);
  return r.map((v) => normalQuantile(v / (xs.length + 1)));
}

/** The target of the fit: the mean over targets of each target's normal scores. */
export function fitTarget(cells: readonly LabelledCell[]): number[] {
  const k = cells[0]?.targets.length ?? 0;
  const out = new Array<number>(cells.length).fill(0);
  for (let j = 0; j < k; j++) normalScores(cells.map((c) => c.targets[j]!)).forEach((s, i) => (out[i]! += s / k));
  return out;
}

/** Solves the symmetric positive definite system A x = b by Cholesky (A is n × n, row-major; both are consumed). */
function choleskySolve(A: number[], b: number[], n: number): number[] {
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j]!;
    for (let k = 0; k < j; k++) s -= A[j * n + k]! ** 2;
    if (!(s > 0)) throw new SwapError('E_OPTION', 'rule fit: the normal equations are not positive definite');
    const l = Math.sqrt(s);
    A[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j]!;
      for (let k = 0; k < j; k++) t -= A[i * n + k]! * A[j * n + k]!;
      A[i * n + j] = t / l;
    }
  }
  for (let i = 0; i < n; i++) {
    let t = b[i]!;
    for (let k = 0; k < i; k++) t -= A[i * n + k]! * b[k]!;
    b[i] = t / A[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let t = b[i]!;
    for (let k = i + 1; k < n; k++) t -= A[k * n + i]! * b[k]!;
    b[i] = t / A[i * n + i]!;
  }
  return b;
}

/**
 * Weighted ridge regression of y on the rows of X plus an unpenalised intercept (the last coefficient); with `prior`
 * the penalty is λ‖β − prior‖² (shrinkage toward it) instead of λ‖β‖².
 */
export function ridge(
  X: readonly (readonly number[])[],
  y: readonly number[],
  w: readonly number[],
  lambda: number,
  prior?: readonly number[],
): number[] {
  const p = (X[0]?.length ?? 0) + 1;
  const A = new Array<number>(p * p).fill(0);
  const b = new Array<number>(p).fill(0);
  X.forEach((row, i) => {
    const z = [...row, 1];
    for (let r = 0; r < p; r++) {
      b[r]! += w[i]! * z[r]! * y[i]!;
      for (let c = 0; c <= r; c++) A[r * p + c]! += w[i]! * z[r]! * z[c]!;
    }
  });
  for (let r = 0; r < p; r++) for (let c = 0; c < r; c++) A[c * p + r] = A[r * p + c]!;
  for (let r = 0; r < p - 1; r++) {
    A[r * p + r]! += lambda;
    b[r]! += lambda * (prior?.[r] ?? 0);
  }
  return choleskySolve(A, b, p);
}

const FORMS: readonly MemberForm[] = ['log', 'upper'];

/** Each cell's terms: every member in both forms against its reference column (members × 2, log forms first). */
export function termMatrix(
  cells: readonly LabelledCell[],
  members: readonly string[],
  reference: Readonly<Record<string, readonly (number | null)[]>>,
): number[][] {
  for (const m of members)
    if (!reference[m]?.length) throw new SwapError('E_OPTION', `rule fit: no reference values of ${m.slice(0, 40)}`);
  const cols = Object.fromEntries(members.map((m) => [m, referenceColumn(reference[m]!)]));
  return cells.map((c) => FORMS.flatMap((f) => members.map((m) => memberValueTerm(f, cols[m]!, c.values[m] ?? null))));
}

/** The prior rule's weights on this fit's terms (members × forms, log forms first); 0 where it has no such term. */
export function priorTerms(prior: EnsembleRule, members: readonly string[]): number[] {
  const out = new Array<number>(2 * members.length).fill(0);
  prior.members.forEach((m, i) => {
    const j = members.indexOf(m);
    if (j < 0) throw new SwapError('E_OPTION', `rule fit: prior member ${m.slice(0, 40)} is not a candidate`);
    out[(prior.forms?.[i] === 'upper' ? members.length : 0) + j]! += prior.weights?.[i] ?? 1;
  });
  return out;
}

/** The prior's weights scaled to the target: the least-squares slope of y on the prior's score (unweighted). */
function scaledPrior(X: readonly (readonly number[])[], y: readonly number[], prior: readonly number[]): number[] {
  const s = X.map((row) => score(row, prior));
  const ms = s.reduce((a, v) => a + v, 0) / s.length;
  const my = y.reduce((a, v) => a + v, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  s.forEach((v, i) => {
    sxy += (v - ms) * (y[i]! - my);
    sxx += (v - ms) ** 2;
  });
  // a prior that orders the cells against the target is not shrunk toward (its sign is not flipped)
  const c = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  return prior.map((v) => c * v);
}

/** Ridge of the fit: toward the scaled prior when the options name one, else toward zero. */
function fitCoef(
  X: readonly (readonly number[])[],
  y: readonly number[],
  w: readonly number[],
  lambda: number,
  prior: readonly number[] | undefined,
): number[] {
  return ridge(X, y, w, lambda, prior && scaledPrior(X, y, prior));
}

function score(row: readonly number[], coef: readonly number[]): number {
  let s = 0;
  row.forEach((v, i) => (s += v * coef[i]!));
  return s;
}

/** Sample weights: `top` for the cells in the top decile of the target, 1 for the rest. */
function topWeighting(y: readonly number[], top: number): number[] {
  const cut = [...y].sort((a, b) => b - a)[Math.max(0, Math.floor(y.length / 10) - 1)]!;
  return y.map((v) => (v >= cut ? top : 1));
}

/** Seeded fold of each cell (a counter-based hash of its index, then balanced by rank). */
function foldOf(n: number, k: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => streamKey(seed, 0, a) - streamKey(seed, 0, b) || a - b,
  );
  const out = new Array<number>(n);
  order.forEach((cell, pos) => (out[cell] = pos % k));
  return out;
}

function trial(
  X: readonly number[][],
  cells: readonly LabelledCell[],
  folds: readonly number[],
  o: RuleFitOptions,
  lambda: number,
  topWeight: number,
  prior: readonly number[] | undefined,
): FitTrial {
  let rho = 0;
  let top = 0;
  const k = cells[0]!.targets.length;
  for (let f = 0; f < o.folds; f++) {
    const tr = cells.flatMap((_, i) => (folds[i] === f ? [] : [i]));
    const te = cells.flatMap((_, i) => (folds[i] === f ? [i] : []));
    const y = fitTarget(tr.map((i) => cells[i]!));
    const coef = fitCoef(
      tr.map((i) => X[i]!),
      y,
      topWeighting(y, topWeight),
      lambda,
      prior,
    );
    const s = te.map((i) => score(X[i]!, coef));
    const best = te
      .map((i, j) => [s[j]!, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, o.topK);
    for (let j = 0; j < k; j++) {
      rho +=
        spearman(
          s,
          te.map((i) => cells[i]!.targets[j]!),
        ) /
        (o.folds * k);
      top += best.reduce((acc, [, i]) => acc + cells[i]!.targets[j]!, 0) / best.length / (o.folds * k);
    }
  }
  return { lambda, topWeight, cvRho: rho, cvTop: top };
}

/**
 * Chooses λ and the top-decile weight by seeded k-fold cross-validation on the sample (mean ρ; among the
 * configurations within `rhoTolerance` of the best, the best mean accuracy of each fold's top cells), refits on the
 * whole sample and returns the rule: 2 × members terms with their weights (the intercept dropped: it orders nothing).
 */
export function fitRankRule(
  name: string,
  cells: readonly LabelledCell[],
  reference: Readonly<Record<string, readonly (number | null)[]>>,
  o: RuleFitOptions,
): RuleFit {
  if (cells.length < 2 * o.folds || cells.some((c) => c.targets.length === 0 || !c.targets.every(Number.isFinite)))
    throw new SwapError('E_OPTION', `rule fit: needs ≥ ${2 * o.folds} cells, each with finite targets`);
  const X = termMatrix(cells, o.members, reference);
  const prior = o.prior && priorTerms(o.prior, o.members);
  const folds = foldOf(cells.length, o.folds, o.seed);
  const trials = o.lambdas.flatMap((l) => o.topWeights.map((t) => trial(X, cells, folds, o, l, t, prior)));
  const bestRho = Math.max(...trials.map((t) => t.cvRho));
  let near = trials.filter((t) => t.cvRho >= bestRho - o.rhoTolerance);
  if (near.length === 0) throw new SwapError('E_OPTION', 'rule fit: cross-validation gave no finite ρ');
  if (o.choose === 'shrunk') {
    const most = Math.max(...near.map((t) => t.lambda));
    near = near.filter((t) => t.lambda === most);
  }
  const chosen = near.reduce((a, b) => (b.cvTop > a.cvTop ? b : a));
  const y = fitTarget(cells);
  const coef = fitCoef(X, y, topWeighting(y, chosen.topWeight), chosen.lambda, prior);
  const rule: EnsembleRule = {
    name,
    members: FORMS.flatMap(() => o.members),
    forms: FORMS.flatMap((f) => o.members.map(() => f)),
    weights: coef.slice(0, -1).map((v) => Number(v.toPrecision(6))),
    description: `ridge fit of ${o.members.length} members × (ln F̂, −ln(1 − F̂)) on a labelled sample${o.prior ? `, shrunk toward ${o.prior.name}` : ''}`,
  };
  return { rule, trials, chosen };
}
