// Batch normalisation with batch statistics (training mode) at initialisation: γ = 1, β = 0, biased variance,
// eps = EPS (the node's epsilon, BN_EPS of src/ir/ops.ts by default; a pipeline per value: batchnormProgram). One workgroup per channel: a strided pass plus a tree reduction in workgroup memory gives the mean,
// a second pass the variance (two-pass, like the reference), a third writes (x - mean) / sqrt(var + eps).
// Channel c starts at (c / plane) * block + (c % plane) * hw: plane = total for a BN (c * hw); a pixelwise GroupNorm
// (a LayerNorm over a map's channels) has one "channel" per sample, group and pixel, hw = 1, its s values HW apart.

override WG: u32 = 128u;  // power of two, ≤ 128 (the size of the reduction arrays)
override EPS: f32;  // BatchNorm epsilon, supplied by the pipeline (programs.ts)

struct Params {
  total: u32,   // workgroups that do work = channels
  grid_x: u32,
  c: u32,
  hw: u32,
  s: u32,
  plane: u32,
  block: u32,
  _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Two separate reduction arrays: with one array reused for both sums, Mesa's llvmpipe (via Dawn's GLSL) let a
// thread read the first total after another thread had already started overwriting red[0] for the second sum
// (a load moved across the barrier), so different threads used different means. Nothing is ever written to an
// array after its total has been read, which makes the result independent of such reordering.
var<workgroup> red_mean: array<f32, 128>;
var<workgroup> red_var: array<f32, 128>;

fn sum_mean(v: f32, li: u32) -> f32 {
  red_mean[li] = v;
  workgroupBarrier();
  for (var off = WG / 2u; off > 0u; off = off / 2u) {
    if (li < off) {
      red_mean[li] = red_mean[li] + red_mean[li + off];
    }
    workgroupBarrier();
  }
  return red_mean[0];
}

fn sum_var(v: f32, li: u32) -> f32 {
  red_var[li] = v;
  workgroupBarrier();
  for (var off = WG / 2u; off > 0u; off = off / 2u) {
    if (li < off) {
      red_var[li] = red_var[li] + red_var[li + off];
    }
    workgroupBarrier();
  }
  return red_var[0];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = wg.y * p.grid_x + wg.x;
  if (c >= p.total) {
    return;
  }
  let n = p.s * p.hw;
  let per = p.c * p.hw;
  let base = (c / p.plane) * p.block + (c % p.plane) * p.hw;
  var acc = 0.0;
  for (var e = li; e < n; e += WG) {
    acc += x[(e / p.hw) * per + base + e % p.hw];
  }
  let mean = sum_mean(acc, li) / f32(n);
  var sq = 0.0;
  for (var e = li; e < n; e += WG) {
    let d = x[(e / p.hw) * per + base + e % p.hw] - mean;
    sq += d * d;
  }
  let inv = 1.0 / sqrt(sum_var(sq, li) / f32(n) + EPS);
  for (var e = li; e < n; e += WG) {
    let k = (e / p.hw) * per + base + e % p.hw;
    y[k] = (x[k] - mean) * inv;
  }
}
