// Fully connected layer without bias (biases are zero at initialisation): y[s][o] = Σ_i W[o][i] x[s][i].

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * fout
  grid_x: u32,
  fin: u32,
  fout: u32,
  w_off: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
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
  let o = i % p.fout;
  let s = i / p.fout;
  var acc = 0.0;
  for (var q = 0u; q < p.fin; q++) {
    acc += wt[p.w_off + o * p.fin + q] * x[s * p.fin + q];
  }
  y[i] = acc;
}
