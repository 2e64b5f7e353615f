// Channel concatenation: copies one input (per_in values per sample) into the output at element offset `off`
// of each sample (per_out values per sample). One dispatch per input.

override WG: u32 = 64u;

struct Params {
  total: u32,   // S * per_in
  grid_x: u32,
  per_in: u32,
  per_out: u32,
  off: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
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
  let s = i / p.per_in;
  let j = i % p.per_in;
  y[s * p.per_out + p.off + j] = x[i];
}
