// N-ary element-wise sum, up to four inputs per dispatch; longer sums chain dispatches with `accumulate` = 1,
// which adds onto the output's current contents. Unused input bindings point at a dummy buffer. With MUL: the
// product a * b[i / plane] of two inputs (plane 1: the same shape; H*W: a per-channel gate, squeeze-and-excitation).

override WG: u32 = 64u;
override MUL: bool = false;

struct Params {
  total: u32,
  grid_x: u32,
  n_in: u32,        // 1 … 4
  accumulate: u32,
  plane: u32,       // MUL only
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> c: array<f32>;
@group(0) @binding(5) var<storage, read> d: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.grid_x + wg.x) * WG + li;
  if (i >= p.total) {
    return;
  }
  if (MUL) {
    y[i] = a[i] * b[i / p.plane];
    return;
  }
  var acc = 0.0;
  if (p.accumulate != 0u) {
    acc = y[i];
  }
  acc += a[i];
  if (p.n_in > 1u) {
    acc += b[i];
  }
  if (p.n_in > 2u) {
    acc += c[i];
  }
  if (p.n_in > 3u) {
    acc += d[i];
  }
  y[i] = acc;
}
