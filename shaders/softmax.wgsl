// Softmax (log = 0) or log-softmax (log = 1) of flat rows: (S, K) → (S, K), one invocation per sample. The maximum
// is subtracted first, as PyTorch does, so e^x cannot overflow.

override WG: u32 = 64u;

struct Params {
  total: u32,   // S
  grid_x: u32,
  k: u32,
  log: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let s = (wg.y * p.grid_x + wg.x) * WG + li;
  if (s >= p.total) {
    return;
  }
  let o = s * p.k;
  var m = x[o];
  for (var j = 1u; j < p.k; j++) {
    m = max(m, x[o + j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < p.k; j++) {
    sum += exp(x[o + j] - m);
  }
  let lse = log(sum);
  for (var j = 0u; j < p.k; j++) {
    if (p.log == 1u) {
      y[o + j] = x[o + j] - m - lse;
    } else {
      y[o + j] = exp(x[o + j] - m) / sum;
    }
  }
}
