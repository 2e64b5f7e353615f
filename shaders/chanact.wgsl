// The arithmetic with one constant per channel (fn 7: x * a_c, 8: x / a_c, 9: x + a_c; the act op's codes) or a
// PReLU with one slope per channel (fn 10: x above 0, a_c * x at and below), the
// constants at `woff` in the weight buffer: channel (i / plane) % c of element i, one invocation per element.

override WG: u32 = 64u;

struct Params {
  total: u32,
  grid_x: u32,
  plane: u32,
  c: u32,
  woff: u32,
  fn_code: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wts: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.grid_x + wg.x) * WG + li;
  if (i >= p.total) {
    return;
  }
  let a = wts[p.woff + (i / p.plane) % p.c];
  let v = x[i];
  if (p.fn_code == 7u) {
    y[i] = v * a;
  } else if (p.fn_code == 8u) {
    y[i] = v / a;
  } else if (p.fn_code == 9u) {
    y[i] = v + a;
  } else if (p.fn_code == 10u) {
    y[i] = select(a * v, v, v > 0.0);
  } else {
    // the planner emits the codes above only
    y[i] = v;
  }
}
