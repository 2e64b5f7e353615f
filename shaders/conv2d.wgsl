// Direct 2-D convolution (NCHW, batch-major), with groups, stride, padding and dilation. No bias: conv biases are
// not part of the SWAP forward pass (NB201-style convs have none, and the reference backend ignores them too).
// One invocation computes OCB consecutive output channels (same group) of one output pixel of one sample, so each
// input value it loads is reused OCB times. Weights live in one buffer for the whole network, at `w_off`,
// in PyTorch's layout [cout][cin/groups][kh][kw]. Kernel, stride, pad and dilation hold the height's value in the
// low 16 bits and the width's in the high (rectangular kernels: Inception's 1x7 / 7x1).

override WG: u32 = 64u;   // threads per workgroup (≤ 128 on compatibility-mode adapters)
override OCB: u32 = 1u;   // output channels per invocation: 1, 2 or 4; divides cout / groups

struct Params {
  total: u32,   // S * (cout / OCB) * OH * OW invocations
  grid_x: u32,  // workgroups along x (2-D dispatch when the count exceeds maxComputeWorkgroupsPerDimension)
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  oh: u32,
  ow: u32,
  k_hw: u32,
  stride_hw: u32,
  pad_hw: u32,
  dilation_hw: u32,
  groups: u32,
  w_off: u32,
  _p0: u32,
  _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.grid_x + wg.x) * WG + li;
  if (i >= p.total) {
    return;
  }
  let ow = i % p.ow;
  var r = i / p.ow;
  let oh = r % p.oh;
  r = r / p.oh;
  let nb = p.cout / OCB;
  let ob = r % nb;
  let s = r / nb;
  let oc0 = ob * OCB;
  let cin_g = p.cin / p.groups;
  let cout_g = p.cout / p.groups;
  let g = oc0 / cout_g;
  let kh_n = p.k_hw & 0xffffu;
  let kw_n = p.k_hw >> 16u;
  let sh = p.stride_hw & 0xffffu;
  let sw = p.stride_hw >> 16u;
  let ph = i32(p.pad_hw & 0xffffu);
  let pw = i32(p.pad_hw >> 16u);
  let dh = p.dilation_hw & 0xffffu;
  let dw = p.dilation_hw >> 16u;
  let kk = kh_n * kw_n;
  let hw = p.h * p.w;
  let x_base = s * p.cin * hw;
  let w_stride = cin_g * kk;  // distance between consecutive output channels' filters
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var icg = 0u; icg < cin_g; icg++) {
    let xc = x_base + (g * cin_g + icg) * hw;
    let wb = p.w_off + oc0 * w_stride + icg * kk;
    for (var kh = 0u; kh < kh_n; kh++) {
      let ih = i32(oh * sh + kh * dh) - ph;
      if (ih < 0 || ih >= i32(p.h)) {
        continue;
      }
      for (var kw = 0u; kw < kw_n; kw++) {
        let iw = i32(ow * sw + kw * dw) - pw;
        if (iw < 0 || iw >= i32(p.w)) {
          continue;
        }
        let xv = x[xc + u32(ih) * p.w + u32(iw)];
        let wi = wb + kh * kw_n + kw;
        for (var o = 0u; o < OCB; o++) {
          acc[o] += wt[wi + o * w_stride] * xv;
        }
      }
    }
  }
  let plane = p.oh * p.ow;
  let y_base = s * p.cout * plane + oh * p.ow + ow;
  for (var o = 0u; o < OCB; o++) {
    y[y_base + (oc0 + o) * plane] = acc[o];
  }
}
