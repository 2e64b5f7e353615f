#pragma once
// NWOT (Mellor et al. 2021, src/score/nwot.ts): K_ij = number of recorded neurons whose bits for samples i and j
// agree, score = log|det K|. K is built from the same packed per-neuron patterns the SWAP count uses: with
// G_ij = #neurons active on both i and j (so G_ii = #neurons active on i) and V neurons, K_ij = V - G_ii - G_jj + 2 G_ij.
// G is accumulated exactly (integer popcounts of 64-neuron bit-planes), so K equals the reference's K exactly.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace swapnas {

class NwotKernel {
 public:
  // Empties the kernel for S samples (storage is kept).
  void reset(int S);
  // Adds `per` neurons whose patterns are `codes` (patternWords(S) u64 words per neuron, bit s = sample s).
  void add(const uint64_t* codes, size_t per);
  // K (S x S, row-major) as doubles.
  void kernel(std::vector<double>& K) const;
  // log|det K|, -Infinity when K is singular.
  double logAbsDet() const;
  uint64_t neurons() const { return neurons_; }

 private:
  int S_ = 0;
  uint64_t neurons_ = 0;
  // Upper triangle of G, row-major S x S (only j >= i used).
  std::vector<uint64_t> gram_;
  // Bit-planes of the current layer: planes_[s * blocks + b] bit t = neuron 64b + t active on sample s.
  std::vector<uint64_t> planes_;
};

// log|det A| of a row-major n x n matrix (overwritten) by LU with partial pivoting, in the reference's operation
// order (src/score/nwot.ts logAbsDet); -Infinity when a pivot is exactly zero.
double logAbsDetInPlace(double* a, int n);

// Transposes a 64 x 64 bit matrix in place: afterwards bit j of a[i] is what bit i of a[j] was.
void transpose64(uint64_t* a);

}  // namespace swapnas
