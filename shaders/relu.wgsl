// Element-wise ReLU for ReLUs that are not recorded (on 1-D tensors; capped ones: min(max(x, 0), CAP) when CAPPED;
// leaky ones: SLOPE * x below 0 when LEAKY).

override WG: u32 = 64u;
override CAPPED: bool = false;
override CAP: f32 = 6.0;
override LEAKY: bool = false;
override SLOPE: f32 = 0.01;
// 1: the logistic sigmoid 1 / (1 + e^-x); 2: PyTorch's hardsigmoid, clamp(x / 6 + 1/2, 0, 1) (no ReLU then)
override SIGMOID: u32 = 0u;
// An act function (no ReLU then), 1 + its index in ACT_FNS (src/ir/activations.ts): 1 tanh, 2 ELU(ALPHA),
// 3 SELU, 4 softplus, 5 GELU, 6 Mish, 7 GELU's tanh approximation, 8 x * ALPHA, 9 x / ALPHA, 10 x + ALPHA,
// 11 PReLU (ALPHA * x at and below 0), 12 CELU(ALPHA), 13 1 / x
override ACT: u32 = 0u;
override ALPHA: f32 = 1.0;

// tanh without inf / inf: WGSL may evaluate tanh as sinh / cosh, which overflows beyond |x| ~ 89
fn tanh_safe(x: f32) -> f32 {
  return select(sign(x), tanh(x), abs(x) < 15.0);
}

// log(1 + z) without losing a small z (WGSL has no log1p): z (1 - z / 2) below 1e-4, relative error < 4e-9
fn log1p_small(z: f32) -> f32 {
  return select(log(1.0 + z), z * (1.0 - 0.5 * z), z < 1e-4);
}

// e^x - 1 without cancellation near 0 (WGSL has no expm1): its series below |x| = 1e-3, relative error < 5e-11
fn expm1_small(x: f32) -> f32 {
  return select(exp(x) - 1.0, x * (1.0 + x * (0.5 + x / 6.0)), abs(x) < 1e-3);
}

// log(1 + e^x) as PyTorch's softplus (the identity above its threshold 20)
fn softplus(x: f32) -> f32 {
  return select(max(x, 0.0) + log1p_small(exp(-abs(x))), x, x > 20.0);
}

// erf(x): WGSL has none. Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7 (float32 rounding of its value)
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-a * a));
}

fn act(x: f32) -> f32 {
  switch ACT {
    case 1u: { return tanh_safe(x); }
    case 2u: { return select(ALPHA * expm1_small(x), x, x > 0.0); }
    case 3u: { return 1.0507009873554805 * select(1.6732632423543772 * expm1_small(x), x, x > 0.0); }
    case 4u: { return softplus(x); }
    case 5u: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 6u: { return x * tanh_safe(softplus(x)); }
    case 7u: { return 0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
    case 8u: { return x * ALPHA; }
    case 9u: { return x / ALPHA; }
    case 10u: { return x + ALPHA; }
    case 11u: { return select(ALPHA * x, x, x > 0.0); }
    case 12u: { return select(ALPHA * expm1_small(x / ALPHA), x, x > 0.0); }
    case 13u: { return 1.0 / x; }
    // the planner emits the codes above only
    default: { return x; }
  }
}

struct Params {
  total: u32,
  grid_x: u32,
  _p0: u32,
  _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.grid_x + wg.x) * WG + li;
  if (i >= p.total) {
    return;
  }
  let xi = x[i];
  var v = max(xi, 0.0);
  if (CAPPED) {
    v = min(v, CAP);
  }
  if (LEAKY && !(xi > 0.0)) {
    v = xi * SLOPE;
  }
  if (SIGMOID == 1u) {
    // e^-|x| never overflows (WGSL may assume no infinities)
    let e = exp(-abs(xi));
    v = select(e / (1.0 + e), 1.0 / (1.0 + e), xi >= 0.0);
  } else if (SIGMOID == 2u) {
    v = clamp(xi / 6.0 + 0.5, 0.0, 1.0);
  }
  if (ACT != 0u) {
    v = act(xi);
  }
  y[i] = v;
}
