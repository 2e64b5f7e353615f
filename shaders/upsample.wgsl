// Nearest-neighbour upsampling by an integer factor: y[c][i][j] = x[c][i / scale][j / scale] per sample, one
// invocation per output element (nn.Upsample(scale_factor=scale), mode 'nearest').

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * C * H * W (output)
  grid_x: u32,
  h: u32,       // output height and width
  w: u32,
  ih: u32,      // input height and width
  iw: u32,
  scale: u32,
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
  let plane = r / p.h;  // sample * C + channel
  y[i] = x[(plane * p.ih + h / p.scale) * p.iw + j / p.scale];
}
