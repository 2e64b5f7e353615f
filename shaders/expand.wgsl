// A map broadcast along its unit axes (expand_as): y[c][i][j] = x[c or 0][i or 0][j or 0] per sample, one
// invocation per output element.

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * C * H * W (output)
  grid_x: u32,
  c: u32,       // output channels, height and width
  h: u32,
  w: u32,
  ic: u32,      // input channels, height and width: each the output's or 1
  ih: u32,
  iw: u32,
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
  let h = (i / p.w) % p.h;
  let c = (i / (p.w * p.h)) % p.c;
  let s = i / (p.w * p.h * p.c);
  // an axis of size 1 reads index 0: min(index, size - 1)
  y[i] = x[((s * p.ic + min(c, p.ic - 1u)) * p.ih + min(h, p.ih - 1u)) * p.iw + min(j, p.iw - 1u)];
}
