// Recorded ReLU fused with sign-bit packing. Invocation (word w, neuron j) reads samples 32w … 32w+31 of neuron j,
// writes ReLU(x) when the output feeds later layers (`write_y`), and stores the 32-bit word of the neuron's
// sample-wise pattern: bit (s - 32w) = x[s][j] > 0. Codes are `words` u32 per neuron, neurons of all recorded
// ReLUs of the network back to back (this layer's first neuron is `code_base`).

override WG: u32 = 64u;

struct Params {
  total: u32,   // per * words
  grid_x: u32,
  s: u32,
  per: u32,     // neurons per sample (C*H*W)
  words: u32,   // ceil(S / 32)
  code_base: u32,
  write_y: u32,
  _p0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> codes: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.grid_x + wg.x) * WG + li;
  if (i >= p.total) {
    return;
  }
  let j = i % p.per;
  let wd = i / p.per;
  let s0 = wd * 32u;
  let s1 = min(p.s, s0 + 32u);
  var bits = 0u;
  for (var s = s0; s < s1; s++) {
    let v = x[s * p.per + j];
    if (p.write_y != 0u) {
      y[s * p.per + j] = max(v, 0.0);
    }
    if (v > 0.0) {
      bits = bits | (1u << (s - s0));
    }
  }
  codes[(p.code_base + j) * p.words + wd] = bits;
}
