#include "patterns.h"

#include <algorithm>
#include <cstring>

namespace swapnas {

namespace {

// Above this, clearing a 2^S-bit map per work item costs more than hashing the ~1e5-1e6 neurons of a network.
constexpr int kMaxBitmapSamples = 22;
constexpr size_t kInitialSlots = size_t(1) << 16;
constexpr size_t kBatch = 16;

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// Slots for `expected` inserts at load <= 1/2, so a network's patterns never trigger a rehash.
inline size_t slotsFor(size_t expected, int S) {
  size_t distinct = expected;
  if (S < 62) distinct = std::min(distinct, size_t(1) << S);
  size_t slots = kInitialSlots;
  while (slots < 2 * distinct && slots < (size_t(1) << 40)) slots <<= 1;
  return slots;
}

inline uint64_t hashWords(const uint64_t* w, int n) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < n; ++i) h = mix64(h ^ w[i]) + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
  return h;
}

}  // namespace

void reluPack(const float* x, float* y, int S, size_t per, uint64_t* codes) {
  const int words = patternWords(S);
  constexpr size_t kBlock = 1024;
  // Bits are gathered 32 samples at a time in 32-bit lanes (twice the neurons per vector of 64-bit lanes).
  uint32_t c32[kBlock];
  for (size_t j0 = 0; j0 < per; j0 += kBlock) {
    const size_t len = std::min(kBlock, per - j0);
    uint64_t* cb = codes + j0 * words;
    for (int s0 = 0; s0 < S; s0 += 32) {
      const int s1 = std::min(S, s0 + 32);
      std::memset(c32, 0, sizeof c32);
      for (int s = s0; s < s1; ++s) {
        const float* xs = x + static_cast<size_t>(s) * per + j0;
        const int bit = s - s0;
        if (y) {
          float* ys = y + static_cast<size_t>(s) * per + j0;
          for (size_t j = 0; j < len; ++j) {
            const float v = xs[j];
            ys[j] = !(v <= 0) ? v : 0.0f;  // NaN propagates, as in relu(); its sign bit is 0, as torch's (x > 0)
            c32[j] |= static_cast<uint32_t>(v > 0) << bit;
          }
        } else {
          for (size_t j = 0; j < len; ++j) c32[j] |= static_cast<uint32_t>(xs[j] > 0) << bit;
        }
      }
      const int word = s0 / 64;
      if (s0 % 64 == 0) {
        if (words == 1) {
          for (size_t j = 0; j < len; ++j) cb[j] = c32[j];
        } else {
          for (size_t j = 0; j < len; ++j) cb[j * words + word] = c32[j];
        }
      } else {
        for (size_t j = 0; j < len; ++j) cb[j * words + word] |= static_cast<uint64_t>(c32[j]) << 32;
      }
    }
  }
}

void PatternSet::reset(int S, size_t expected) {
  words_ = patternWords(S);
  count_ = 0;
  pending_.clear();
  hasZero_ = false;
  if (S <= kMaxBitmapSamples) {
    mode_ = Mode::Bitmap;
    const size_t n = std::max<size_t>(1, (size_t(1) << S) / 64);
    bitmap_.assign(n, 0);
  } else if (words_ == 1) {
    mode_ = Mode::Hash;
    const size_t want = slotsFor(expected, S);
    if (table_.size() < want) table_.resize(want);
    std::fill(table_.begin(), table_.end(), 0);
    mask_ = table_.size() - 1;
  } else {
    mode_ = Mode::Wide;
    const size_t want = slotsFor(expected, S);
    if (tags_.size() < want) tags_.resize(want);
    std::fill(tags_.begin(), tags_.end(), 0);
    keys_.resize(tags_.size() * words_);
    mask_ = tags_.size() - 1;
  }
}

uint64_t PatternSet::size() {
  flush();
  return count_ + (hasZero_ ? 1 : 0);
}

void PatternSet::insert(const uint64_t* codes, size_t count) {
  if (mode_ == Mode::Bitmap) {
    insertBitmap(codes, count);
  } else {
    pending_.insert(pending_.end(), codes, codes + count * words_);
  }
}

void PatternSet::flush() {
  if (pending_.empty()) return;
  if (mode_ == Mode::Hash)
    insertHash(pending_.data(), pending_.size());
  else
    insertWide(pending_.data(), pending_.size() / words_);
  pending_.clear();
}

void PatternSet::insertBitmap(const uint64_t* codes, size_t count) {
  uint64_t* bm = bitmap_.data();
  uint64_t added = 0;
  for (size_t j = 0; j < count; ++j) {
    const uint64_t c = codes[j];
    uint64_t& w = bm[c >> 6];
    const uint64_t b = uint64_t(1) << (c & 63);
    added += (w & b) == 0;
    w |= b;
  }
  count_ += added;
}

void PatternSet::growHash() {
  std::vector<uint64_t> old;
  old.swap(table_);
  table_.assign(old.size() * 2, 0);
  mask_ = table_.size() - 1;
  for (uint64_t c : old) {
    if (!c) continue;
    uint64_t i = mix64(c) & mask_;
    while (table_[i]) i = (i + 1) & mask_;
    table_[i] = c;
  }
}

void PatternSet::insertHash(const uint64_t* codes, size_t count) {
  uint64_t slot[kBatch];
  for (size_t j0 = 0; j0 < count; j0 += kBatch) {
    const size_t len = std::min(kBatch, count - j0);
    // Load factor <= 1/2 before each batch, so the batch cannot fill the table.
    if ((count_ + len) * 2 > table_.size()) growHash();
    // The table outgrows the caches on large networks: hash a batch and prefetch before probing.
    for (size_t j = 0; j < len; ++j) {
      slot[j] = mix64(codes[j0 + j]) & mask_;
      __builtin_prefetch(&table_[slot[j]]);
    }
    for (size_t j = 0; j < len; ++j) {
      const uint64_t c = codes[j0 + j];
      if (c == 0) {
        hasZero_ = true;
        continue;
      }
      uint64_t i = slot[j];
      for (;;) {
        const uint64_t t = table_[i];
        if (t == c) break;
        if (t == 0) {
          table_[i] = c;
          ++count_;
          break;
        }
        i = (i + 1) & mask_;
      }
    }
  }
}

void PatternSet::growWide() {
  std::vector<uint64_t> oldTags, oldKeys;
  oldTags.swap(tags_);
  oldKeys.swap(keys_);
  tags_.assign(oldTags.size() * 2, 0);
  keys_.assign(tags_.size() * words_, 0);
  mask_ = tags_.size() - 1;
  for (size_t s = 0; s < oldTags.size(); ++s) {
    const uint64_t tag = oldTags[s];
    if (!tag) continue;
    uint64_t i = tag & mask_;
    while (tags_[i]) i = (i + 1) & mask_;
    tags_[i] = tag;
    std::memcpy(&keys_[i * words_], &oldKeys[s * words_], words_ * sizeof(uint64_t));
  }
}

void PatternSet::insertWide(const uint64_t* codes, size_t count) {
  const int W = words_;
  for (size_t j = 0; j < count; ++j) {
    if ((count_ + 1) * 2 > tags_.size()) growWide();
    const uint64_t* key = codes + j * W;
    const uint64_t tag = hashWords(key, W) | 1;
    uint64_t i = tag & mask_;
    for (;;) {
      const uint64_t t = tags_[i];
      if (t == 0) {
        tags_[i] = tag;
        std::memcpy(&keys_[i * W], key, W * sizeof(uint64_t));
        ++count_;
        break;
      }
      if (t == tag && std::memcmp(&keys_[i * W], key, W * sizeof(uint64_t)) == 0) break;
      i = (i + 1) & mask_;
    }
  }
}

}  // namespace swapnas
