// Direct 2-D convolution computing four output channels (of one group) per invocation as a vec4: every input value
// loaded feeds one vec4 multiply-add, and the four weights come in one 16-byte load. The host uploads such conv
// weights packed as [cout/4][cin/groups][kh][kw][4] (instead of PyTorch's [cout][cin/groups][kh][kw]) at a 4-float
// aligned offset; used when cout/groups is a multiple of 4. Same semantics (and packed window words) as conv2d.wgsl.

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * (cout / 4) * OH * OW invocations
  grid_x: u32,
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
  w_off: u32,   // in floats, a multiple of 4
  _p0: u32,
  _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
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
  let nb = p.cout / 4u;
  let ob = r % nb;
  let s = r / nb;
  let cin_g = p.cin / p.groups;
  let cout_g = p.cout / p.groups;
  let g = (ob * 4u) / cout_g;
  let kh_n = p.k_hw & 0xffffu;
  let kw_n = p.k_hw >> 16u;
  let dh = p.dilation_hw & 0xffffu;
  let dw = p.dilation_hw >> 16u;
  let kk = kh_n * kw_n;
  let hw = p.h * p.w;
  let x_base = s * p.cin * hw + g * cin_g * hw;
  let w_base = p.w_off / 4u + ob * cin_g * kk;
  let ih0 = i32(oh * (p.stride_hw & 0xffffu)) - i32(p.pad_hw & 0xffffu);
  let iw0 = i32(ow * (p.stride_hw >> 16u)) - i32(p.pad_hw >> 16u);
  var acc = vec4<f32>(0.0);
  for (var kh = 0u; kh < kh_n; kh++) {
    let ih = ih0 + i32(kh * dh);
    if (ih < 0 || ih >= i32(p.h)) {
      continue;
    }
    for (var kw = 0u; kw < kw_n; kw++) {
      let iw = iw0 + i32(kw * dw);
      if (iw < 0 || iw >= i32(p.w)) {
        continue;
      }
      var xi = x_base + u32(ih) * p.w + u32(iw);
      var wi = w_base + kh * kw_n + kw;
      for (var icg = 0u; icg < cin_g; icg++) {
        acc += wt[wi] * x[xi];
        xi += hw;
        wi += kk;
      }
    }
  }
  let plane = p.oh * p.ow;
  let yi = s * p.cout * plane + ob * 4u * plane + oh * p.ow + ow;
  y[yi] = acc.x;
  y[yi + plane] = acc.y;
  y[yi + 2u * plane] = acc.z;
  y[yi + 3u * plane] = acc.w;
}
