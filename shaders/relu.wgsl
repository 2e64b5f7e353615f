// Element-wise ReLU for ReLUs that are not recorded (on 1-D tensors; capped ones: min(max(x, 0), CAP) when CAPPED;
// leaky ones: SLOPE * x below 0 when LEAKY).

override WG: u32 = 64u;
override CAPPED: bool = false;
override CAP: f32 = 6.0;
override LEAKY: bool = false;
override SLOPE: f32 = 0.01;
// 1: the logistic sigmoid 1 / (1 + e^-x); 2: PyTorch's hardsigmoid, clamp(x / 6 + 1/2, 0, 1) (no ReLU then)
override SIGMOID: u32 = 0u;

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
  y[i] = v;
}
