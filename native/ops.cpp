#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "simd.h"

namespace swapnas {

namespace {

typedef double vdouble __attribute__((vector_size(kVecFloats / 2 * sizeof(double))));
typedef float vhalf __attribute__((vector_size(kVecFloats * sizeof(float) / 2)));
constexpr int kHalf = kVecFloats / 2;

inline vdouble widen(const float* p) {
  vhalf h;
  std::memcpy(&h, p, sizeof h);
  return __builtin_convertvector(h, vdouble);
}

inline double hsum(vdouble v) {
  double s = 0;
  for (int l = 0; l < kHalf; ++l) s += v[l];
  return s;
}

// Sums of (x - k) and (x - k)^2 in double with four independent vector chains (add latency, not width, limits
// one chain). With the shift k taken from the data, sum2 - sum1^2/n has no cancellation problem: the variance
// matches the reference's two-pass formula far below float32 resolution, at one pass instead of two.
inline void shiftedSums(const float* x, size_t n, double k, double& sum1, double& sum2) {
  vdouble a0 = {}, a1 = {}, b0 = {}, b1 = {};
  size_t i = 0;
  for (; i + 2 * kHalf <= n; i += 2 * kHalf) {
    const vdouble d0 = widen(x + i) - k, d1 = widen(x + i + kHalf) - k;
    a0 += d0;
    a1 += d1;
    b0 += d0 * d0;
    b1 += d1 * d1;
  }
  double s1 = hsum(a0 + a1), s2 = hsum(b0 + b1);
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - k;
    s1 += d;
    s2 += d * d;
  }
  sum1 += s1;
  sum2 += s2;
}

inline void normalize(const float* x, float* y, size_t n, double mean, double inv) {
  size_t i = 0;
  for (; i + kHalf <= n; i += kHalf) {
    const vhalf r = __builtin_convertvector((widen(x + i) - mean) * inv, vhalf);
    std::memcpy(y + i, &r, sizeof r);
  }
  for (; i < n; ++i) y[i] = static_cast<float>((static_cast<double>(x[i]) - mean) * inv);
}

}  // namespace

void batchNorm(const float* x, float* y, int S, int C, size_t HW) {
  const size_t per = static_cast<size_t>(C) * HW;
  const double count = static_cast<double>(S) * static_cast<double>(HW);
  for (int c = 0; c < C; ++c) {
    const double k = static_cast<double>(x[c * HW]);
    double sum1 = 0, sum2 = 0;
    for (int s = 0; s < S; ++s) shiftedSums(x + s * per + c * HW, HW, k, sum1, sum2);
    const double mean = k + sum1 / count;
    const double var = std::max(0.0, (sum2 - sum1 * sum1 / count) / count);
    const double inv = 1 / std::sqrt(var + kBnEps);
    for (int s = 0; s < S; ++s) normalize(x + s * per + c * HW, y + s * per + c * HW, HW, mean, inv);
  }
}

void relu(const float* x, float* y, size_t count) {
  for (size_t i = 0; i < count; ++i) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void avgPool(const Node& n, const Node& in, const float* x, float* y, int S) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, st = n.stride, p = n.pad, C = n.c;
  // Window sums of at most k*k floats are exact in double, so a separable (rows, then columns) sum gives the
  // reference's value; the division by the window size happens in double as there.
  std::vector<double> rows(static_cast<size_t>(H) * OW);
  std::vector<double> acc(static_cast<size_t>(OW));
  std::vector<double> colCount(static_cast<size_t>(OW));
  // Output columns whose window lies inside the row: [lo, hi).
  int lo = 0, hi = OW;
  while (lo < OW && lo * st - p < 0) ++lo;
  while (hi > lo && (hi - 1) * st - p + k > W) --hi;
  for (int ow = 0; ow < OW; ++ow) {
    const int a = std::max(0, ow * st - p), b = std::min(W, ow * st - p + k);
    colCount[static_cast<size_t>(ow)] = b - a;
  }
  for (int s = 0; s < S; ++s) {
    for (int c = 0; c < C; ++c) {
      const float* xp = x + (static_cast<size_t>(s) * C + c) * H * W;
      float* yp = y + (static_cast<size_t>(s) * C + c) * OH * OW;
      for (int ih = 0; ih < H; ++ih) {
        const float* row = xp + static_cast<size_t>(ih) * W;
        double* r = rows.data() + static_cast<size_t>(ih) * OW;
        for (int ow = 0; ow < lo; ++ow) {
          double a = 0;
          for (int iw = std::max(0, ow * st - p); iw < std::min(W, ow * st - p + k); ++iw) a += static_cast<double>(row[iw]);
          r[ow] = a;
        }
        if (st == 1) {
          const float* base = row - p;
          for (int ow = lo; ow < hi; ++ow) r[ow] = static_cast<double>(base[ow]);
          for (int kw = 1; kw < k; ++kw)
            for (int ow = lo; ow < hi; ++ow) r[ow] += static_cast<double>(base[ow + kw]);
        } else {
          for (int ow = lo; ow < hi; ++ow) {
            double a = 0;
            for (int kw = 0; kw < k; ++kw) a += static_cast<double>(row[ow * st - p + kw]);
            r[ow] = a;
          }
        }
        for (int ow = std::max(lo, hi); ow < OW; ++ow) {
          double a = 0;
          for (int iw = std::max(0, ow * st - p); iw < std::min(W, ow * st - p + k); ++iw) a += static_cast<double>(row[iw]);
          r[ow] = a;
        }
      }
      for (int oh = 0; oh < OH; ++oh) {
        const int a = std::max(0, oh * st - p), b = std::min(H, oh * st - p + k);
        double* ac = acc.data();
        const double* r0 = rows.data() + static_cast<size_t>(a) * OW;
        for (int ow = 0; ow < OW; ++ow) ac[ow] = r0[ow];
        for (int ih = a + 1; ih < b; ++ih) {
          const double* ri = rows.data() + static_cast<size_t>(ih) * OW;
          for (int ow = 0; ow < OW; ++ow) ac[ow] += ri[ow];
        }
        float* out = yp + static_cast<size_t>(oh) * OW;
        if (n.countIncludePad) {
          const double div = static_cast<double>(k) * k;
          for (int ow = 0; ow < OW; ++ow) out[ow] = static_cast<float>(ac[ow] / div);
        } else {
          const double rowsIn = b - a;
          const double* cc = colCount.data();
          for (int ow = 0; ow < OW; ++ow) out[ow] = static_cast<float>(ac[ow] / (rowsIn * cc[ow]));
        }
      }
    }
  }
}

void maxPool(const Node& n, const Node& in, const float* x, float* y, int S) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, st = n.stride, p = n.pad, C = n.c;
  for (int s = 0; s < S; ++s) {
    for (int c = 0; c < C; ++c) {
      const float* xp = x + (static_cast<size_t>(s) * C + c) * H * W;
      float* yp = y + (static_cast<size_t>(s) * C + c) * OH * OW;
      for (int oh = 0; oh < OH; ++oh) {
        const int hlo = std::max(0, oh * st - p), hhi = std::min(H, oh * st - p + k);
        for (int ow = 0; ow < OW; ++ow) {
          const int wlo = std::max(0, ow * st - p), whi = std::min(W, ow * st - p + k);
          float m = -std::numeric_limits<float>::infinity();
          for (int ih = hlo; ih < hhi; ++ih)
            for (int iw = wlo; iw < whi; ++iw) {
              // Math.max semantics: NaN wins.
              const float v = xp[static_cast<size_t>(ih) * W + iw];
              m = (v > m || std::isnan(v)) && !std::isnan(m) ? v : m;
            }
          yp[static_cast<size_t>(oh) * OW + ow] = m;
        }
      }
    }
  }
}

void addTensors(const float* const* xs, size_t nInputs, float* y, size_t count) {
  if (nInputs == 1) {
    if (y != xs[0]) std::memcpy(y, xs[0], count * sizeof(float));
    return;
  }
  if (nInputs == 2) {
    const float* a = xs[0];
    const float* b = xs[1];
    for (size_t i = 0; i < count; ++i) y[i] = static_cast<float>(static_cast<double>(a[i]) + static_cast<double>(b[i]));
    return;
  }
  constexpr size_t kBlock = 1024;
  double acc[kBlock];
  for (size_t start = 0; start < count; start += kBlock) {
    const size_t len = std::min(kBlock, count - start);
    for (size_t i = 0; i < len; ++i) acc[i] = static_cast<double>(xs[0][start + i]);
    for (size_t j = 1; j < nInputs; ++j) {
      const float* xj = xs[j] + start;
      for (size_t i = 0; i < len; ++i) acc[i] += static_cast<double>(xj[i]);
    }
    for (size_t i = 0; i < len; ++i) y[start + i] = static_cast<float>(acc[i]);
  }
}

void concat(const float* const* xs, const size_t* per, size_t nInputs, float* y, int S) {
  size_t total = 0;
  for (size_t i = 0; i < nInputs; ++i) total += per[i];
  for (int s = 0; s < S; ++s) {
    size_t offset = 0;
    for (size_t i = 0; i < nInputs; ++i) {
      std::memcpy(y + s * total + offset, xs[i] + s * per[i], per[i] * sizeof(float));
      offset += per[i];
    }
  }
}

void globalAvgPool(const float* x, float* y, int S, int C, size_t HW) {
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < C; ++c) {
      const float* xp = x + (static_cast<size_t>(s) * C + c) * HW;
      double sum = 0;
      for (size_t i = 0; i < HW; ++i) sum += static_cast<double>(xp[i]);
      y[static_cast<size_t>(s) * C + c] = static_cast<float>(sum / static_cast<double>(HW));
    }
}

void linear(const float* x, const float* w, float* y, int S, int fin, int fout) {
  for (int s = 0; s < S; ++s)
    for (int o = 0; o < fout; ++o) {
      const float* wr = w + static_cast<size_t>(o) * fin;
      const float* xr = x + static_cast<size_t>(s) * fin;
      double sum = 0;
      for (int i = 0; i < fin; ++i) sum += static_cast<double>(wr[i]) * static_cast<double>(xr[i]);
      y[static_cast<size_t>(s) * fout + o] = static_cast<float>(sum);
    }
}

}  // namespace swapnas
