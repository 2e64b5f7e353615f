// A window of the input: y[c][i][j] = x[c0 + c][h0 + i][w0 + j] per sample, one invocation per output element.
// Channel truncation (NAS-Bench-101) and the one-pixel offset of DARTS' FactorizedReduce. With groups > 1 (and a
// window of the whole input) ShuffleNet's channel shuffle: output channel c reads input channel
// (c % groups) * (C / groups) + c / groups.

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * C * H * W (output)
  grid_x: u32,
  c: u32,
  h: u32,
  w: u32,
  ic: u32,
  ih: u32,
  iw: u32,
  c0: u32,
  h0: u32,
  w0: u32,
  groups: u32,  // 1: a window
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
  let j = i % p.w;
  let r = i / p.w;
  let h = r % p.h;
  let r2 = r / p.h;
  let c = r2 % p.c;
  let s = r2 / p.c;
  var src = p.c0 + c;
  if (p.groups > 1u) {
    src = (c % p.groups) * (p.c / p.groups) + c / p.groups;
  }
  y[i] = x[((s * p.ic + src) * p.ih + p.h0 + h) * p.iw + p.w0 + j];
}
