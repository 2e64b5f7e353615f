// Global average pooling: (S, C, H, W) → (S, C), one invocation per (sample, channel).

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * C
  grid_x: u32,
  hw: u32,
  _p0: u32,
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
  var acc = 0.0;
  for (var q = 0u; q < p.hw; q++) {
    acc += x[i * p.hw + q];
  }
  y[i] = acc / f32(p.hw);
}
