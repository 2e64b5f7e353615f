// Upsampling, one invocation per output element: nearest neighbour by an integer factor, y[c][i][j] =
// x[c][i / scale][j / scale] per sample (nn.Upsample(scale_factor=scale), mode 'nearest'); or, with `bilinear`,
// PyTorch's bilinear resize of the ih x iw map to h x w (align_corners or half-pixel centres; float32 here, the
// reference's weights in double).

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * C * H * W (output)
  grid_x: u32,
  h: u32,       // output height and width
  w: u32,
  ih: u32,      // input height and width
  iw: u32,
  scale: u32,
  bilinear: u32,
  align: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// The two inputs and the second one's weight of output i along an axis of n inputs and `out` outputs.
fn tap(i: u32, n: u32, out: u32) -> vec3<f32> {
  var src = 0.0;
  if (p.align != 0u) {
    if (out > 1u) {
      src = f32(i) * f32(n - 1u) / f32(out - 1u);
    }
  } else {
    src = max((f32(i) + 0.5) * f32(n) / f32(out) - 0.5, 0.0);
  }
  let i0 = min(u32(floor(src)), n - 1u);
  return vec3<f32>(f32(i0), f32(min(i0 + 1u, n - 1u)), src - f32(i0));
}

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
  if (p.bilinear == 0u) {
    y[i] = x[(plane * p.ih + h / p.scale) * p.iw + j / p.scale];
    return;
  }
  let rt = tap(h, p.ih, p.h);
  let ct = tap(j, p.iw, p.w);
  let base = plane * p.ih * p.iw;
  let r0 = base + u32(rt.x) * p.iw;
  let r1 = base + u32(rt.y) * p.iw;
  let top = (1.0 - ct.z) * x[r0 + u32(ct.x)] + ct.z * x[r0 + u32(ct.y)];
  let bottom = (1.0 - ct.z) * x[r1 + u32(ct.x)] + ct.z * x[r1 + u32(ct.y)];
  y[i] = (1.0 - rt.z) * top + rt.z * bottom;
}
