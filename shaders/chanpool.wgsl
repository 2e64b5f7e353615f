// The mean or the maximum over a map's channels at each position (CBAM's spatial pools): y[s][0][p] of x[s][c][p],
// one invocation per output element; the maximum keeps the first channel holding it, as PyTorch's max over a dim.

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * H * W (output)
  grid_x: u32,
  c: u32,       // input channels
  hw: u32,
  is_max: u32,  // 1: the maximum, 0: the mean
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
  let s = i / p.hw;
  let q = i % p.hw;
  let base = s * p.c * p.hw + q;
  var acc = x[base];
  for (var c = 1u; c < p.c; c = c + 1u) {
    let v = x[base + c * p.hw];
    if (p.is_max == 1u) {
      if (v > acc) {
        acc = v;
      }
    } else {
      acc = acc + v;
    }
  }
  if (p.is_max == 1u) {
    y[i] = acc;
  } else {
    y[i] = acc / f32(p.c);
  }
}
