// Average and max pooling (k×k window, stride, zero padding), one invocation per output element.
// avgpool divides by the window's size within the padded input when count_include_pad (k*k, but for a ceil-mode
// window that overhangs the padding), else by the number of in-bounds taps (PyTorch semantics).

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * C * OH * OW
  grid_x: u32,
  c: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  k: u32,
  stride: u32,
  pad: u32,
  count_include_pad: u32,
  neg_inf: u32,  // 0xff800000: the bits of -inf (WGSL constants cannot be infinite)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn avg(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.grid_x + wg.x) * WG + li;
  if (i >= p.total) {
    return;
  }
  let ow = i % p.ow;
  let oh = (i / p.ow) % p.oh;
  let sc = i / (p.ow * p.oh);  // s * C + c
  let xb = sc * p.h * p.w;
  var acc = 0.0;
  var cnt = 0u;
  for (var kh = 0u; kh < p.k; kh++) {
    let ih = i32(oh * p.stride + kh) - i32(p.pad);
    if (ih < 0 || ih >= i32(p.h)) {
      continue;
    }
    for (var kw = 0u; kw < p.k; kw++) {
      let iw = i32(ow * p.stride + kw) - i32(p.pad);
      if (iw < 0 || iw >= i32(p.w)) {
        continue;
      }
      acc += x[xb + u32(ih) * p.w + u32(iw)];
      cnt++;
    }
  }
  var div = cnt;
  if (p.count_include_pad != 0u) {
    let hs = i32(oh * p.stride) - i32(p.pad);
    let ws = i32(ow * p.stride) - i32(p.pad);
    let eh = min(hs + i32(p.k), i32(p.h + p.pad)) - hs;
    let ew = min(ws + i32(p.k), i32(p.w + p.pad)) - ws;
    div = u32(eh * ew);
  }
  y[i] = acc / f32(div);
}

@compute @workgroup_size(WG)
fn max_pool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.grid_x + wg.x) * WG + li;
  if (i >= p.total) {
    return;
  }
  let ow = i % p.ow;
  let oh = (i / p.ow) % p.oh;
  let sc = i / (p.ow * p.oh);
  let xb = sc * p.h * p.w;
  var acc = bitcast<f32>(p.neg_inf);  // -inf, like the reference when a window has no in-bounds tap
  for (var kh = 0u; kh < p.k; kh++) {
    let ih = i32(oh * p.stride + kh) - i32(p.pad);
    if (ih < 0 || ih >= i32(p.h)) {
      continue;
    }
    for (var kw = 0u; kw < p.k; kw++) {
      let iw = i32(ow * p.stride + kw) - i32(p.pad);
      if (iw < 0 || iw >= i32(p.w)) {
        continue;
      }
      acc = max(acc, x[xb + u32(ih) * p.w + u32(iw)]);
    }
  }
  y[i] = acc;
}
