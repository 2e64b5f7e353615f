// Transposed 2-D convolution (nn.ConvTranspose2d; NCHW, batch-major), with groups, stride, padding and dilation;
// no bias (as conv2d.wgsl). One invocation per output element gathers the input pixels whose window reaches it:
// oh = ih * stride - pad + kh * dilation. Weights at `w_off` in PyTorch's layout [cin][cout/groups][kh][kw];
// kernel, stride, pad and dilation hold the height's value in the low 16 bits and the width's in the high.

override WG: u32 = 64u;   // threads per workgroup (≤ 128 on compatibility-mode adapters)

struct Params {
  total: u32,   // S * cout * OH * OW invocations
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
  let oc = r % p.cout;
  let s = r / p.cout;
  let cin_g = p.cin / p.groups;
  let cout_g = p.cout / p.groups;
  let g = oc / cout_g;
  let ocg = oc % cout_g;
  let kh_n = p.k_hw & 0xffffu;
  let kw_n = p.k_hw >> 16u;
  let sh = i32(p.stride_hw & 0xffffu);
  let sw = i32(p.stride_hw >> 16u);
  let ph = i32(p.pad_hw & 0xffffu);
  let pw = i32(p.pad_hw >> 16u);
  let dh = i32(p.dilation_hw & 0xffffu);
  let dw = i32(p.dilation_hw >> 16u);
  let hw = p.h * p.w;
  var acc = 0.0;
  for (var icg = 0u; icg < cin_g; icg++) {
    let ic = g * cin_g + icg;
    let xc = (s * p.cin + ic) * hw;
    let wb = p.w_off + (ic * cout_g + ocg) * kh_n * kw_n;
    for (var kh = 0u; kh < kh_n; kh++) {
      let th = i32(oh) + ph - i32(kh) * dh;
      if (th < 0 || th % sh != 0 || th / sh >= i32(p.h)) {
        continue;
      }
      for (var kw = 0u; kw < kw_n; kw++) {
        let tw = i32(ow) + pw - i32(kw) * dw;
        if (tw < 0 || tw % sw != 0 || tw / sw >= i32(p.w)) {
          continue;
        }
        acc = fma(wt[wb + kh * kw_n + kw], x[xc + u32(th / sh) * p.w + u32(tw / sw)], acc);
      }
    }
  }
  y[i] = acc;
}
