// Distinct-pattern counting on the device: every neuron inserts its pattern (`words` u32) into an open-addressing
// hash table of neuron indices (linear probing, capacity a power of two ≥ 2 × neurons, 0 = empty, else index + 1).
// The invocation that claims an empty slot with atomicCompareExchangeWeak owns a new pattern and bumps the counter;
// one that finds an equal pattern stops. Codes are complete before this dispatch starts, so a claimed slot can
// be compared at once. The result is the number of distinct patterns, independent of the order of insertion.

override WG: u32 = 64u;

struct Params {
  total: u32,   // neurons
  grid_x: u32,
  words: u32,
  mask: u32,    // capacity - 1
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read_write> table: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> counter: array<atomic<u32>>;

fn mix32(v: u32) -> u32 {
  var h = v;
  h = h ^ (h >> 16u);
  h = h * 0x7feb352du;
  h = h ^ (h >> 15u);
  h = h * 0x846ca68bu;
  h = h ^ (h >> 16u);
  return h;
}

fn same_pattern(a: u32, b: u32) -> bool {
  for (var w = 0u; w < p.words; w++) {
    if (codes[a * p.words + w] != codes[b * p.words + w]) {
      return false;
    }
  }
  return true;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = (wg.y * p.grid_x + wg.x) * WG + li;
  if (j >= p.total) {
    return;
  }
  var h = 0x9e3779b9u;
  for (var w = 0u; w < p.words; w++) {
    h = mix32(h ^ codes[j * p.words + w]) + w;
  }
  var slot = h & p.mask;
  for (var probe = 0u; probe <= p.mask; probe++) {
    var cur = atomicLoad(&table[slot]);
    if (cur == 0u) {
      loop {
        let r = atomicCompareExchangeWeak(&table[slot], 0u, j + 1u);
        if (r.exchanged) {
          atomicAdd(&counter[0], 1u);
          return;
        }
        if (r.old_value != 0u) {
          cur = r.old_value;
          break;
        }
        // spurious failure of the weak exchange: the slot is still empty, try again
      }
    }
    if (same_pattern(cur - 1u, j)) {
      return;
    }
    slot = (slot + 1u) & p.mask;
  }
}
