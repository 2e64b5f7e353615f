#include "nwot.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "patterns.h"

namespace swapnas {

void transpose64(uint64_t* a) {
  // Swap the off-diagonal blocks of 32, 16, ..., 1 bits (Hacker's Delight 7-3, LSB-first numbering).
  uint64_t m = 0x00000000FFFFFFFFull;
  for (int j = 32; j != 0; j >>= 1, m ^= m << j) {
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
  }
}

void NwotKernel::reset(int S) {
  S_ = S;
  neurons_ = 0;
  gram_.assign(static_cast<size_t>(S) * S, 0);
}

void NwotKernel::add(const uint64_t* codes, size_t per) {
  if (per == 0) return;
  const int S = S_;
  const int words = patternWords(S);
  const size_t blocks = (per + 63) / 64;
  planes_.resize(static_cast<size_t>(S) * blocks);
  uint64_t* planes = planes_.data();
  uint64_t tile[64];
  for (size_t b = 0; b < blocks; ++b) {
    const size_t j0 = b * 64;
    const size_t len = std::min<size_t>(64, per - j0);
    for (int w = 0; w < words; ++w) {
      for (size_t t = 0; t < len; ++t) tile[t] = codes[(j0 + t) * words + w];
      for (size_t t = len; t < 64; ++t) tile[t] = 0;
      transpose64(tile);
      const int s1 = std::min(64, S - 64 * w);
      for (int s = 0; s < s1; ++s) planes[static_cast<size_t>(64 * w + s) * blocks + b] = tile[s];
    }
  }
  for (int i = 0; i < S; ++i) {
    const uint64_t* pi = planes + static_cast<size_t>(i) * blocks;
    uint64_t* g = gram_.data() + static_cast<size_t>(i) * S;
    for (int j = i; j < S; ++j) {
      const uint64_t* pj = planes + static_cast<size_t>(j) * blocks;
      uint64_t c = 0;
      for (size_t b = 0; b < blocks; ++b) c += static_cast<uint64_t>(__builtin_popcountll(pi[b] & pj[b]));
      g[j] += c;
    }
  }
  neurons_ += per;
}

void NwotKernel::kernel(std::vector<double>& K) const {
  const int S = S_;
  K.assign(static_cast<size_t>(S) * S, 0.0);
  const double V = static_cast<double>(neurons_);
  for (int i = 0; i < S; ++i) {
    for (int j = i; j < S; ++j) {
      const double gij = static_cast<double>(gram_[static_cast<size_t>(i) * S + j]);
      const double gii = static_cast<double>(gram_[static_cast<size_t>(i) * S + i]);
      const double gjj = static_cast<double>(gram_[static_cast<size_t>(j) * S + j]);
      // Integers below 2^53: exact.
      const double k = V - gii - gjj + 2 * gij;
      K[static_cast<size_t>(i) * S + j] = k;
      K[static_cast<size_t>(j) * S + i] = k;
    }
  }
}

double NwotKernel::logAbsDet() const {
  std::vector<double> K;
  kernel(K);
  return logAbsDetInPlace(K.data(), S_);
}

double logAbsDetInPlace(double* a, int n) {
  double logdet = 0;
  for (int k = 0; k < n; ++k) {
    int p = k;
    for (int i = k + 1; i < n; ++i)
      if (std::fabs(a[static_cast<size_t>(i) * n + k]) > std::fabs(a[static_cast<size_t>(p) * n + k])) p = i;
    const double piv = a[static_cast<size_t>(p) * n + k];
    if (piv == 0) return -std::numeric_limits<double>::infinity();
    if (p != k) {
      for (int j = 0; j < n; ++j) std::swap(a[static_cast<size_t>(k) * n + j], a[static_cast<size_t>(p) * n + j]);
    }
    logdet += std::log(std::fabs(piv));
    for (int i = k + 1; i < n; ++i) {
      const double f = a[static_cast<size_t>(i) * n + k] / piv;
      if (f == 0) continue;
      double* ri = a + static_cast<size_t>(i) * n;
      const double* rk = a + static_cast<size_t>(k) * n;
      for (int j = k + 1; j < n; ++j) ri[j] -= f * rk[j];
    }
  }
  return logdet;
}

}  // namespace swapnas
