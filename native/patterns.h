#pragma once
// Sample-wise activation patterns (src/score/patterns.ts): bit s of neuron j's pattern is "value for sample s > 0";
// Psi is the number of distinct patterns over every recorded ReLU of a network. Counting is exact.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace swapnas {

// 64-bit words per pattern for S samples.
inline int patternWords(int S) { return (S + 63) / 64; }

// Applies ReLU to S samples of `per` values (y may be null when no layer consumes the output, or alias x)
// and packs the sign bits: codes[j * words + s / 64] bit s % 64.
void reluPack(const float* x, float* y, int S, size_t per, uint64_t* codes);

class PatternSet {
 public:
  // Empties the set for patterns of S samples, sized for `expected` inserts (growing if exceeded); storage is
  // kept for the next work item.
  void reset(int S, size_t expected = 0);
  void insert(const uint64_t* codes, size_t count);
  // Distinct patterns inserted since reset (flushes pending inserts).
  uint64_t size();

 private:
  enum class Mode { Bitmap, Hash, Wide };
  void flush();
  void insertBitmap(const uint64_t* codes, size_t count);
  void insertHash(const uint64_t* codes, size_t count);
  void insertWide(const uint64_t* codes, size_t count);
  void growHash();
  void growWide();

  Mode mode_ = Mode::Bitmap;
  int words_ = 1;
  uint64_t count_ = 0;
  bool hasZero_ = false;
  std::vector<uint64_t> bitmap_;
  // Hash: open addressing with linear probing, 0 marks an empty slot (the zero pattern is tracked apart).
  std::vector<uint64_t> table_;
  uint64_t mask_ = 0;
  // Wide: slot i holds words_ key words at keys_[i * words_]; tags_[i] = hash | 1, 0 when empty.
  std::vector<uint64_t> tags_;
  std::vector<uint64_t> keys_;
  // Hash/Wide: codes are queued per network and hashed in one burst, while the table is cache-resident rather
  // than evicted by the convolutions between layers (measured 4x faster at S=64).
  std::vector<uint64_t> pending_;
};

}  // namespace swapnas
