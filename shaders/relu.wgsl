// Element-wise ReLU for ReLUs that are not recorded (on 1-D tensors, or capped ones: min(max(x, 0), CAP) when CAPPED).

override WG: u32 = 64u;
override CAPPED: bool = false;
override CAP: f32 = 6.0;

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
  var v = max(x[i], 0.0);
  if (CAPPED) {
    v = min(v, CAP);
  }
  y[i] = v;
}
