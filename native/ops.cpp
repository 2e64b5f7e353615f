#include "ops.h"
#include "activations.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "simd.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace swapnas {

namespace {

typedef double vdouble __attribute__((vector_size(kVecFloats / 2 * sizeof(double))));
typedef float vhalf __attribute__((vector_size(kVecFloats * sizeof(float) / 2)));
constexpr int kHalf = kVecFloats / 2;

inline vdouble widen(const float* p) {
#if defined(__AVX512F__)
  // One vcvtps2pd zmm (the generic conversion is split in two when GCC prefers 256-bit vectors).
  const __m512d r = _mm512_maskz_cvtps_pd(0xff, _mm256_loadu_ps(p));  // maskz: no "undefined" passthrough warning
  vdouble v;
  std::memcpy(&v, &r, sizeof v);
  return v;
#else
  vhalf h;
  std::memcpy(&h, p, sizeof h);
  return __builtin_convertvector(h, vdouble);
#endif
}

inline vhalf narrow(vdouble v) {
#if defined(__AVX512F__)
  __m512d d;
  std::memcpy(&d, &v, sizeof d);
  const __m256 r = _mm512_maskz_cvtpd_ps(0xff, d);
  vhalf h;
  std::memcpy(&h, &r, sizeof h);
  return h;
#else
  return __builtin_convertvector(v, vhalf);
#endif
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
    const vhalf r = narrow((widen(x + i) - mean) * inv);
    std::memcpy(y + i, &r, sizeof r);
  }
  for (; i < n; ++i) y[i] = static_cast<float>((static_cast<double>(x[i]) - mean) * inv);
}

typedef int64_t vi64 __attribute__((vector_size(kVecFloats / 2 * sizeof(int64_t))));
typedef uint64_t vu64 __attribute__((vector_size(kVecFloats / 2 * sizeof(uint64_t))));

inline vdouble loadd(const double* p) {
  vdouble v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void stored(double* p, vdouble v) { std::memcpy(p, &v, sizeof v); }

// float(a / d) as the reference computes it (the double quotient rounded to float), from q = a * (1/d) with a
// correctly rounded reciprocal and no division. q is within 2 double ulps of RN(a / d), so float(q) is right unless
// q lies near a float halfway point M (low 29 mantissa bits 0x10000000). Those cases are common (sums of a few
// floats have ~26 significant bits, so exact quotients on M occur) and are settled exactly: P = M*d and a - P are
// exact (M has 25 significant bits, d is a small integer; Sterbenz), RN(a / d) = M iff |a - P| <= d*ulp(M)/2 (M is
// even, so a tie rounds to it), and otherwise RN(a / d) lies strictly on the side of M given by the sign of a - P.
// `slow` is set for lanes in the float subnormal range, which the caller divides.
inline vdouble quotient(vdouble a, vdouble d, vdouble q, vi64& slow) {
  const vu64 bits = (vu64)q;
  const vi64 low = (vi64)(bits & 0x1fffffffull) - 0x10000000ll;
  const vi64 nearM = (low < 8) & (low > -8);
  const vu64 mag = bits & 0x7fffffffffffffffull;
  // 0x3820000000000000 = 2^-125.
  slow |= (vi64)((mag < 0x3820000000000000ull) & (mag != 0));
  const vu64 mBits = (bits & ~0x1fffffffull) | 0x10000000ull;
  const vdouble M = (vdouble)mBits;
  const vdouble ulp = (vdouble)((mBits & 0x7ff0000000000000ull) - (52ull << 52));
  const vdouble diff = a - M * d;
  const vdouble absDiff = (vdouble)((vu64)diff & 0x7fffffffffffffffull);
  const vdouble side = diff > 0 ? M + ulp : M - ulp;
  const vdouble exact = absDiff <= d * ulp * 0.5 ? M : side;
  return nearM ? exact : q;
}

inline bool anyLane(vi64 m) {
#if defined(__AVX512F__)
  static_assert(sizeof(vi64) == 64, "AVX-512 double vectors are 8 lanes");
  __m512i v;
  std::memcpy(&v, &m, sizeof v);
  return _mm512_test_epi64_mask(v, v) != 0;
#else
  int64_t r = 0;
  for (int l = 0; l < kHalf; ++l) r |= m[l];
  return r != 0;
#endif
}

// Lanes shifted up by one (lane 0 = +0) / down by one (last lane = +0).
inline vdouble shiftInZeroLow(vdouble v) {
#if (defined(__clang__) || __GNUC__ >= 12) && defined(__AVX512F__)
  return __builtin_shufflevector(vdouble{}, v, 0, 8, 9, 10, 11, 12, 13, 14);
#elif (defined(__clang__) || __GNUC__ >= 12) && defined(__AVX__)
  return __builtin_shufflevector(vdouble{}, v, 0, 4, 5, 6);
#else
  vdouble r;
  r[0] = 0.0;
  for (int l = 1; l < kHalf; ++l) r[l] = v[l - 1];
  return r;
#endif
}

inline vdouble shiftInZeroHigh(vdouble v) {
#if (defined(__clang__) || __GNUC__ >= 12) && defined(__AVX512F__)
  return __builtin_shufflevector(v, vdouble{}, 1, 2, 3, 4, 5, 6, 7, 8);
#elif (defined(__clang__) || __GNUC__ >= 12) && defined(__AVX__)
  return __builtin_shufflevector(v, vdouble{}, 1, 2, 3, 4);
#else
  vdouble r;
  for (int l = 0; l + 1 < kHalf; ++l) r[l] = v[l + 1];
  r[kHalf - 1] = 0.0;
  return r;
#endif
}

// 3x3, stride 1, pad 1 average pooling (NB201's avg_pool_3x3) on rows that are whole double vectors. Per plane,
// every input row's 3-wide sums are formed in registers from shifted loads (in double) and kept in hs; output row
// oh then adds the rows of its window. The reference sums the window in (kh, kw) order; sums of at most 9 floats
// are exact in double, so the order does not change the value.
void avgPool3x3(const Node& n, const Node& in, const float* x, float* y, int S) {
  const int H = in.h, W = in.w, C = n.c;
  std::vector<double> hs(static_cast<size_t>(H) * W);
  // Divisor and its reciprocal per (rows in the window, output column).
  std::vector<double> div(static_cast<size_t>(4) * W, 1.0), rec(static_cast<size_t>(4) * W, 1.0);
  for (int rows = 1; rows <= 3; ++rows)
    for (int ow = 0; ow < W; ++ow) {
      const int cols = std::min(W, ow + 2) - std::max(0, ow - 1);
      const double d = n.countIncludePad ? 9.0 : static_cast<double>(rows) * cols;
      div[static_cast<size_t>(rows) * W + ow] = d;
      rec[static_cast<size_t>(rows) * W + ow] = 1.0 / d;
    }
  const size_t plane = static_cast<size_t>(H) * W;
  for (size_t pl = 0; pl < static_cast<size_t>(S) * C; ++pl) {
    const float* xp = x + pl * plane;
    float* yp = y + pl * plane;
    for (int ih = 0; ih < H; ++ih) {
      const float* xr = xp + static_cast<size_t>(ih) * W;
      double* h = hs.data() + static_cast<size_t>(ih) * W;
      for (int ow = 0; ow < W; ow += kHalf) {
        const vdouble c = widen(xr + ow);
        const vdouble l = ow > 0 ? widen(xr + ow - 1) : shiftInZeroLow(c);
        const vdouble r = ow + kHalf < W ? widen(xr + ow + 1) : shiftInZeroHigh(c);
        stored(h + ow, l + c + r);
      }
    }
    for (int oh = 0; oh < H; ++oh) {
      const int a = std::max(0, oh - 1), b = std::min(H, oh + 2);
      const double* dv = div.data() + static_cast<size_t>(b - a) * W;
      const double* rv = rec.data() + static_cast<size_t>(b - a) * W;
      const double* h0 = hs.data() + static_cast<size_t>(a) * W;
      float* out = yp + static_cast<size_t>(oh) * W;
      for (int ow = 0; ow < W; ow += kHalf) {
        // The reference starts its sum from +0 (so an all -0 window gives +0).
        vdouble acc = (vdouble{} + loadd(h0 + ow)) + loadd(h0 + W + ow);
        if (b - a == 3) acc += loadd(h0 + 2 * W + ow);
        const vdouble d = loadd(dv + ow);
        vi64 slow = vi64{};
        vdouble q = quotient(acc, d, acc * loadd(rv + ow), slow);
        if (__builtin_expect(anyLane(slow), 0)) q = acc / d;
        const vhalf r = narrow(q);
        std::memcpy(out + ow, &r, sizeof r);
      }
    }
  }
}

}  // namespace

void batchNorm(const float* x, float* y, int S, int C, size_t HW, double eps) {
  const size_t per = static_cast<size_t>(C) * HW;
  const double count = static_cast<double>(S) * static_cast<double>(HW);
  for (int c = 0; c < C; ++c) {
    const double k = static_cast<double>(x[c * HW]);
    double sum1 = 0, sum2 = 0;
    for (int s = 0; s < S; ++s) shiftedSums(x + s * per + c * HW, HW, k, sum1, sum2);
    const double mean = k + sum1 / count;
    const double var = std::max(0.0, (sum2 - sum1 * sum1 / count) / count);
    const double inv = 1 / std::sqrt(var + eps);
    for (int s = 0; s < S; ++s) normalize(x + s * per + c * HW, y + s * per + c * HW, HW, mean, inv);
  }
}

// NaN propagates (!(x <= 0) holds for it), as Math.max in the reference and torch.relu do: a NaN weight must reach
// the proxies that read the activations (zen) and make them null, not be rectified into a finite value.
void relu(const float* x, float* y, size_t count) {
  for (size_t i = 0; i < count; ++i) y[i] = !(x[i] <= 0) ? x[i] : 0.0f;
}

void reluClip(const float* x, float* y, size_t count, float clip) {
  for (size_t i = 0; i < count; ++i) {
    const float v = !(x[i] <= 0) ? x[i] : 0.0f;
    y[i] = v > clip ? clip : v;
  }
}

void leakyRelu(const float* x, float* y, size_t count, float slope) {
  for (size_t i = 0; i < count; ++i) y[i] = x[i] > 0 ? x[i] : x[i] * slope;  // NaN: NaN * slope
}

void avgPool(const Node& n, const Node& in, const float* x, float* y, int S) {
  if (n.k == 3 && n.stride == 1 && n.pad == 1 && in.w % kHalf == 0 && in.h >= 2) {
    avgPool3x3(n, in, x, y, S);
    return;
  }
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
          // k*k, but for a ceil-mode window that overhangs the padding
          const double eh = paddedExtent(oh, k, st, p, H);
          for (int ow = 0; ow < OW; ++ow) out[ow] = static_cast<float>(ac[ow] / (eh * paddedExtent(ow, k, st, p, W)));
        } else {
          const double rowsIn = b - a;
          const double* cc = colCount.data();
          for (int ow = 0; ow < OW; ++ow) out[ow] = static_cast<float>(ac[ow] / (rowsIn * cc[ow]));
        }
      }
    }
  }
}

namespace {

// Math.max semantics (NaN wins), one window, as the reference evaluates it.
void maxPoolPlaneExact(const Node& n, const Node& in, const float* xp, float* yp) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, st = n.stride, p = n.pad;
  for (int oh = 0; oh < OH; ++oh) {
    const int hlo = std::max(0, oh * st - p), hhi = std::min(H, oh * st - p + k);
    for (int ow = 0; ow < OW; ++ow) {
      const int wlo = std::max(0, ow * st - p), whi = std::min(W, ow * st - p + k);
      float m = -std::numeric_limits<float>::infinity();
      for (int ih = hlo; ih < hhi; ++ih)
        for (int iw = wlo; iw < whi; ++iw) {
          const float v = xp[static_cast<size_t>(ih) * W + iw];
          m = (v > m || std::isnan(v)) && !std::isnan(m) ? v : m;
        }
      yp[static_cast<size_t>(oh) * OW + ow] = m;
    }
  }
}

}  // namespace

// Separable: the max over each row segment of a window, then over the window's rows. The max of a set does not
// depend on the order it is taken in, so this equals the reference exactly (a plane holding a NaN takes the exact
// path, which reproduces Math.max's NaN propagation).
void maxPool(const Node& n, const Node& in, const float* x, float* y, int S) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, st = n.stride, p = n.pad, C = n.c;
  std::vector<float> rows(static_cast<size_t>(H) * OW);
  std::vector<int> wlo(static_cast<size_t>(OW)), whi(static_cast<size_t>(OW));
  for (int ow = 0; ow < OW; ++ow) {
    wlo[static_cast<size_t>(ow)] = std::max(0, ow * st - p);
    whi[static_cast<size_t>(ow)] = std::min(W, ow * st - p + k);
  }
  const size_t inPlane = static_cast<size_t>(H) * W, outPlane = static_cast<size_t>(OH) * OW;
  for (size_t pl = 0; pl < static_cast<size_t>(S) * C; ++pl) {
    const float* xp = x + pl * inPlane;
    float* yp = y + pl * outPlane;
    bool nan = false;
    for (size_t i = 0; i < inPlane; ++i) nan |= xp[i] != xp[i];
    if (nan) {
      maxPoolPlaneExact(n, in, xp, yp);
      continue;
    }
    for (int ih = 0; ih < H; ++ih) {
      const float* row = xp + static_cast<size_t>(ih) * W;
      float* r = rows.data() + static_cast<size_t>(ih) * OW;
      for (int ow = 0; ow < OW; ++ow) {
        const int a = wlo[static_cast<size_t>(ow)], b = whi[static_cast<size_t>(ow)];
        float m = row[a];
        for (int iw = a + 1; iw < b; ++iw) m = row[iw] > m ? row[iw] : m;
        r[ow] = m;
      }
    }
    for (int oh = 0; oh < OH; ++oh) {
      const int a = std::max(0, oh * st - p), b = std::min(H, oh * st - p + k);
      float* out = yp + static_cast<size_t>(oh) * OW;
      const float* r0 = rows.data() + static_cast<size_t>(a) * OW;
      for (int ow = 0; ow < OW; ++ow) out[ow] = r0[ow];
      for (int ih = a + 1; ih < b; ++ih) {
        const float* ri = rows.data() + static_cast<size_t>(ih) * OW;
        for (int ow = 0; ow < OW; ++ow) out[ow] = ri[ow] > out[ow] ? ri[ow] : out[ow];
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
    // float(double(a) + double(b)) is the float sum a + b (double has more than 2*24+2 bits, so the double rounding
    // is innocuous): add in float, a full vector at a time.
    const float* a = xs[0];
    const float* b = xs[1];
    size_t i = 0;
    for (; i + kVecFloats <= count; i += kVecFloats) storeu(y + i, loadu(a + i) + loadu(b + i));
    for (; i < count; ++i) y[i] = a[i] + b[i];
    return;
  }
  // Three or more inputs: accumulate in double (as the reference), kHalf lanes at a time.
  size_t i = 0;
  for (; i + kHalf <= count; i += kHalf) {
    vdouble acc = widen(xs[0] + i);
    for (size_t j = 1; j < nInputs; ++j) acc += widen(xs[j] + i);
    const vhalf r = narrow(acc);
    std::memcpy(y + i, &r, sizeof r);
  }
  for (; i < count; ++i) {
    double acc = static_cast<double>(xs[0][i]);
    for (size_t j = 1; j < nInputs; ++j) acc += static_cast<double>(xs[j][i]);
    y[i] = static_cast<float>(acc);
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

void sliceWindow(const Node& n, const Node& in, const float* x, float* y, int S) {
  const size_t inHW = static_cast<size_t>(in.h) * in.w;
  const size_t row = static_cast<size_t>(n.w) * sizeof(float);
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < n.c; ++c) {
      const float* xp = x + (static_cast<size_t>(s) * in.c + n.c0 + c) * inHW + static_cast<size_t>(n.h0) * in.w + n.w0;
      float* yp = y + (static_cast<size_t>(s) * n.c + c) * static_cast<size_t>(n.h) * n.w;
      for (int i = 0; i < n.h; ++i) std::memcpy(yp + static_cast<size_t>(i) * n.w, xp + static_cast<size_t>(i) * in.w, row);
    }
}

void channelShuffle(const Node& n, const float* x, float* y, int S, bool back) {
  const size_t hw = static_cast<size_t>(n.h) * n.w;
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < n.c; ++c) {
      const int src = shuffleSource(c, n.groups, n.c);
      const size_t o = static_cast<size_t>(s) * n.c + (back ? src : c), i = static_cast<size_t>(s) * n.c + (back ? c : src);
      std::memcpy(y + o * hw, x + i * hw, hw * sizeof(float));
    }
}

void sigmoidGate(const Node& n, const float* x, float* y, size_t count) {
  for (size_t i = 0; i < count; ++i) y[i] = sigmoidValue(n, x[i]);
}

void actForward(const Node& n, const float* x, float* y, size_t count) {
  if (n.act == ActFn::Prelu) {
    // actValue's PReLU, one slope per plane
    byPlanes(n, 0, count, [&](size_t lo, size_t hi, double alpha) {
      const float a = static_cast<float>(alpha);
      for (size_t i = lo; i < hi; ++i) y[i] = x[i] > 0 ? x[i] : a * x[i];
    });
    return;
  }
  for (size_t i = 0; i < count; ++i) y[i] = actValue(n, x[i], i);
}

void mulGate(const float* a, const float* g, float* y, size_t count, size_t plane) {
  for (size_t i = 0; i < count; ++i) y[i] = a[i] * g[i / plane];
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
