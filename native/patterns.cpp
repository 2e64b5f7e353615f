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

inline uint64_t hashWords(const uint64_t* w, int n) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < n; ++i) h = mix64(h ^ w[i]) + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
  return h;
}

}  // namespace

void reluPack(const float* x, float* y, int S, size_t per, uint64_t* codes) {
  const int words = patternWords(S);
  constexpr size_t kBlock = 1024;
  for (size_t j0 = 0; j0 < per; j0 += kBlock) {
    const size_t len = std::min(kBlock, per - j0);
    uint64_t* cb = codes + j0 * words;
    std::memset(cb, 0, len * words * sizeof(uint64_t));
    for (int s = 0; s < S; ++s) {
      const float* xs = x + static_cast<size_t>(s) * per + j0;
      if (y) {
        float* ys = y + static_cast<size_t>(s) * per + j0;
        for (size_t j = 0; j < len; ++j) ys[j] = xs[j] > 0 ? xs[j] : 0.0f;
      }
      if (words == 1) {
        for (size_t j = 0; j < len; ++j) cb[j] |= static_cast<uint64_t>(xs[j] > 0) << s;
      } else {
        const int wi = s >> 6;
        const int bit = s & 63;
        for (size_t j = 0; j < len; ++j) cb[j * words + wi] |= static_cast<uint64_t>(xs[j] > 0) << bit;
      }
    }
  }
}

void PatternSet::reset(int S) {
  words_ = patternWords(S);
  count_ = 0;
  hasZero_ = false;
  if (S <= kMaxBitmapSamples) {
    mode_ = Mode::Bitmap;
    const size_t n = std::max<size_t>(1, (size_t(1) << S) / 64);
    bitmap_.assign(n, 0);
  } else if (words_ == 1) {
    mode_ = Mode::Hash;
    if (table_.size() < kInitialSlots) table_.resize(kInitialSlots);
    std::fill(table_.begin(), table_.end(), 0);
    mask_ = table_.size() - 1;
  } else {
    mode_ = Mode::Wide;
    if (tags_.size() < kInitialSlots) tags_.resize(kInitialSlots);
    std::fill(tags_.begin(), tags_.end(), 0);
    keys_.resize(tags_.size() * words_);
    mask_ = tags_.size() - 1;
  }
}

uint64_t PatternSet::size() const { return count_ + (hasZero_ ? 1 : 0); }

void PatternSet::insert(const uint64_t* codes, size_t count) {
  switch (mode_) {
    case Mode::Bitmap: insertBitmap(codes, count); break;
    case Mode::Hash: insertHash(codes, count); break;
    case Mode::Wide: insertWide(codes, count); break;
  }
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
