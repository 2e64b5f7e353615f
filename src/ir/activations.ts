/**
 * The smooth activations of the `act` op, in float64, as PyTorch's CPU kernels define them: each function's value,
 * its derivative (the factor PyTorch's `*_backward` multiplies the cotangent by) and its second derivative (what
 * GraSP's double backward needs). All three are read off the op's input x. The native engine holds the same
 * formulas (`native/activations.h`); the float32 kernels there follow PyTorch's float32 expressions.
 */
import type { ActFn } from './types.js';

/** The functions of the `act` op, in attribute-code order. */
export const ACT_FNS: readonly ActFn[] = [
  'tanh',
  'elu',
  'selu',
  'softplus',
  'gelu',
  'mish',
  'gelu_tanh',
  'scale',
  'divide',
  'shift',
  'prelu',
  'celu',
  'reciprocal',
];

/** The functions that are arithmetic with a constant α (a function in the model, not a module; not a nonlinearity). */
export const ARITHMETIC_FNS: readonly ActFn[] = ['scale', 'divide', 'shift'];

/** Whether `fn` is arithmetic with a constant ({@link ARITHMETIC_FNS}). */
export function isArithmetic(fn: ActFn): boolean {
  return ARITHMETIC_FNS.includes(fn);
}

/**
 * Whether `fn` is computed by a function in the model rather than a module: the arithmetic with a constant, and 1/x
 * (`torch.reciprocal`, a division by a tensor). No hook sees it; it is not an activation on a path.
 */
export function isFunctionFn(fn: ActFn): boolean {
  return isArithmetic(fn) || fn === 'reciprocal';
}

/** nn.SELU's constants (PyTorch's, as in the SELU paper). */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;
/** nn.Softplus's default threshold (β = 1): the identity above it. */
export const SOFTPLUS_THRESHOLD = 20;

const SQRT1_2 = Math.SQRT1_2;
/** The tanh approximation of GELU: ½x(1 + tanh(β(x + κx³))), β = √(2/π) (PyTorch's kBeta, κ its kKappa). */
export const GELU_TANH_BETA = Math.SQRT2 * (2 / Math.sqrt(Math.PI)) * 0.5;
export const GELU_TANH_KAPPA = 0.044715;
const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)
const INV_SQRT_PI = 0.5641895835477563; // 1/√π

/** The attributes an activation is computed from (ELU's α, the arithmetic's constant; 1 when absent). */
export interface ActForm {
  readonly fn: ActFn;
  readonly alpha?: number | undefined;
}

/**
 * The form of element `i` of a batch of tensors of `shape` (NCHW, or flat) through an act node: its one α, or the
 * per-channel constant of element i's channel (⌊i / plane⌋ mod C). `round` maps α first (Math.fround for float32
 * storage: the constant as the file's float32 holds it).
 */
export function actFormAt(
  n: ActForm & { readonly alphas?: readonly number[] | undefined },
  shape: readonly number[],
  round: (a: number) => number = (a) => a,
): (i: number) => ActForm {
  const alphas = n.alphas;
  if (!alphas) {
    const one: ActForm = n.alpha === undefined ? { fn: n.fn } : { fn: n.fn, alpha: round(n.alpha) };
    return () => one;
  }
  const forms = alphas.map((a) => ({ fn: n.fn, alpha: round(a) }));
  const C = shape[0]!;
  const plane = (shape[1] ?? 1) * (shape[2] ?? 1);
  return (i) => forms[Math.floor(i / plane) % C]!;
}

/**
 * erfc(z) in float64 (JavaScript has no erf): 1 − erf by its positive series e^{−z²}·Σ (2z²)ⁿ z / (2n+1)!! below
 * |z| = 1.2 (no cancellation inside the sum), the continued fraction of erfc beyond (modified Lentz, ≤ 134 terms);
 * within 5e-15 of libm's erfc over [−8, 8].
 */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return z;
  if (z < 0) return 2 - erfc(-z);
  if (z < 1.2) {
    const z2 = z * z;
    let term = z;
    let sum = z;
    for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
      term *= (2 * z2) / (2 * n + 1);
      sum += term;
    }
    return 1 - 2 * INV_SQRT_PI * Math.exp(-z2) * sum;
  }
  if (z > 27) return 0; // e^{−z²} underflows
  // g = z + (1/2)/(z + 1/(z + (3/2)/(z + ...))): erfc = e^{−z²} / (√π g)
  const tiny = 1e-300;
  let f = z;
  let c = z;
  let d = 0;
  for (let j = 1; j < 5000; j++) {
    const a = j / 2;
    d = z + a * d;
    d = d === 0 ? tiny : d;
    c = z + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (INV_SQRT_PI * Math.exp(-z * z)) / f;
}

/** erf(x), rounded as libm's erf is (±1 exactly in the tails), from {@link erfc}. */
function erf(x: number): number {
  return x < 0 ? erfc(-x) - 1 : 1 - erfc(x);
}

/** Φ(x), the standard normal CDF (GELU's gate), as PyTorch writes it: ½(1 + erf(x/√2)), 0 below x ≈ −8.3. */
export function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x * SQRT1_2));
}

/** 1 − tanh²(u) without cancellation: 4e/(1 + e)² with e = e^{−2|u|} (tanh's derivative far into its tails). */
function sech2(u: number): number {
  const e = Math.exp(-2 * Math.abs(u));
  return (4 * e) / ((1 + e) * (1 + e));
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function softplus(x: number): number {
  return x > SOFTPLUS_THRESHOLD ? x : Math.log1p(Math.exp(x));
}

/** The input scale of PyTorch's celu derivative: 1 / α with α rounded to float32 (its `1.0 / alpha.toFloat()`). */
function celuScale(alpha: number | undefined): number {
  return 1 / Math.fround(alpha ?? 1);
}

/** The activation's output at x (NaN propagates). */
export function actValue(x: number, a: ActForm): number {
  switch (a.fn) {
    case 'tanh':
      return Math.tanh(x);
    case 'elu':
      return x > 0 ? x : (a.alpha ?? 1) * Math.expm1(x);
    case 'selu':
      return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x));
    case 'softplus':
      return softplus(x);
    case 'gelu':
      return x * normalCdf(x);
    case 'mish':
      // PyTorch's mish has no threshold: x · tanh(log1p(eˣ))
      return x * Math.tanh(Math.log1p(Math.exp(x)));
    case 'gelu_tanh':
      return 0.5 * x * (1 + Math.tanh(GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x)));
    case 'scale':
      return x * (a.alpha ?? 1);
    case 'divide':
      return x / (a.alpha ?? 1);
    case 'shift':
      return x + (a.alpha ?? 1);
    // PyTorch's prelu: x where x > 0, else w·x (NaN propagates through the product)
    case 'prelu':
      return x > 0 ? x : (a.alpha ?? 1) * x;
    // PyTorch's celu is its elu with input scale 1/α: α·(e^{x/α} − 1) at and below 0
    case 'celu':
      return x > 0 ? x : (a.alpha ?? 1) * Math.expm1(x * (1 / (a.alpha ?? 1)));
    // torch.reciprocal, and a division by a tensor (a / b imports as a · (1 / b))
    case 'reciprocal':
      return 1 / x;
  }
}

/** Its derivative at x, PyTorch's backward rule (ELU / SELU at x = 0: the left branch, α·e⁰). */
export function actSlope(x: number, a: ActForm): number {
  switch (a.fn) {
    case 'tanh':
      return sech2(x);
    case 'elu':
      return x > 0 ? 1 : (a.alpha ?? 1) * Math.exp(x);
    case 'selu':
      return SELU_SCALE * (x > 0 ? 1 : SELU_ALPHA * Math.exp(x));
    case 'softplus':
      return x > SOFTPLUS_THRESHOLD ? 1 : sigmoid(x);
    case 'gelu':
      return normalCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case 'mish': {
      const sp = Math.log1p(Math.exp(x));
      return Math.tanh(sp) + x * sigmoid(x) * sech2(sp);
    }
    case 'gelu_tanh': {
      const u = GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x);
      return 0.5 * (1 + Math.tanh(u)) + 0.5 * x * sech2(u) * GELU_TANH_BETA * (1 + 3 * GELU_TANH_KAPPA * x * x);
    }
    case 'scale':
      return a.alpha ?? 1;
    // PyTorch's div backward divides the cotangent by α; its product with 1/α differs in the last bit at most
    case 'divide':
      return 1 / (a.alpha ?? 1);
    case 'shift':
      return 1;
    // PyTorch's prelu backward: the slope at x <= 0
    case 'prelu':
      return x > 0 ? 1 : (a.alpha ?? 1);
    // elu_backward's left branch at and below 0, s·α·e^{x·s}: PyTorch's celu derivative takes its input scale s as
    // 1 / α rounded to float32 (`1.0 / alpha.toFloat()`), 2e-7 from e^{x/α} at x = −10 for α = 0.7
    case 'celu': {
      const s = celuScale(a.alpha);
      return x > 0 ? 1 : s * (a.alpha ?? 1) * Math.exp(x * s);
    }
    // PyTorch's reciprocal backward: −y² (y = 1/x)
    case 'reciprocal':
      return -(1 / x) * (1 / x);
  }
}

/** Its second derivative at x (0 on the linear branches), PyTorch's double backward. */
export function actCurve(x: number, a: ActForm): number {
  switch (a.fn) {
    case 'tanh':
      return -2 * Math.tanh(x) * sech2(x);
    // PyTorch's elu_double_backward takes the exponential branch below 0 only (0 at x = 0, where the slope is α)
    case 'elu':
      return x < 0 ? (a.alpha ?? 1) * Math.exp(x) : 0;
    case 'selu':
      return x < 0 ? SELU_SCALE * SELU_ALPHA * Math.exp(x) : 0;
    case 'softplus': {
      // PyTorch's softplus_double_backward: below the threshold only (0 at x = 20, where the slope is σ(20))
      if (!(x < SOFTPLUS_THRESHOLD)) return 0;
      const s = sigmoid(x);
      return s * (1 - s);
    }
    case 'gelu':
      return INV_SQRT_2PI * Math.exp(-0.5 * x * x) * (2 - x * x);
    case 'mish': {
      // y' = t + x s (1 − t²) with t = tanh(softplus x), s = σ(x), t' = s (1 − t²)
      const sp = Math.log1p(Math.exp(x));
      const t = Math.tanh(sp);
      const s = sigmoid(x);
      return s * sech2(sp) * (2 + x * (1 - s) - 2 * x * s * t);
    }
    case 'gelu_tanh': {
      // y' = ½(1 + t) + ½x(1 − t²)u' with u = β(x + κx³), t = tanh u
      const u = GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x);
      const t = Math.tanh(u);
      const du = GELU_TANH_BETA * (1 + 3 * GELU_TANH_KAPPA * x * x);
      const d2u = 6 * GELU_TANH_BETA * GELU_TANH_KAPPA * x;
      return sech2(u) * (du + 0.5 * x * (d2u - 2 * t * du * du));
    }
    // elu_double_backward: the exponential branch below 0 only, with the same input scale s
    case 'celu': {
      const s = celuScale(a.alpha);
      return x < 0 ? s * s * (a.alpha ?? 1) * Math.exp(x * s) : 0;
    }
    // the derivative of −y² (y = 1/x): 2y³
    case 'reciprocal': {
      const y = 1 / x;
      return 2 * y * y * y;
    }
    case 'scale':
    case 'divide':
    case 'shift':
    case 'prelu':
      return 0;
  }
}
