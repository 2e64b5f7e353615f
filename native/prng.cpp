#include "prng.h"

#include <cmath>
#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>
#define SWAPNAS_PRNG_AVX512 1
#endif

// Bit-exactness needs every double operation rounded on its own (the build adds -ffp-contract=off here).
#if defined(__FAST_MATH__)
#error "prng.cpp must not be compiled with -ffast-math"
#endif

namespace swapnas {

namespace {

constexpr uint32_t kGolden = 0x9e3779b9u;
constexpr double kLn2 = 0.6931471805599453;
constexpr double kSqrtHalf = 0.7071067811865476;
constexpr double kTwoPowM31 = 4.656612873077393e-10;
constexpr size_t kChunk = 512;

typedef double vdouble __attribute__((vector_size(64)));
typedef int64_t vi64 __attribute__((vector_size(64)));
typedef uint64_t vu64 __attribute__((vector_size(64)));
typedef uint32_t vu32 __attribute__((vector_size(32)));
typedef uint32_t vu32x16 __attribute__((vector_size(64)));
constexpr int kLanes = 8;

inline vu32x16 vmix32(vu32x16 x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

inline vu32 lanes8(vu32x16 v, int half) {
  vu32 r;
  std::memcpy(&r, reinterpret_cast<const char*>(&v) + half * sizeof r, sizeof r);
  return r;
}

inline vdouble vToUnit(vu32 u) { return (__builtin_convertvector(u, vdouble) + 0.5) * kTwoPowM31 - 1; }

// Lane-wise sqrt; with -fno-math-errno the compiler emits one vector sqrt (correctly rounded, like Math.sqrt).
inline vdouble vsqrt(vdouble v) {
  vdouble r = v;
  for (int k = 0; k < kLanes; ++k) r[k] = std::sqrt(v[k]);
  return r;
}

// ln m for m in [sqrt(1/2), sqrt(2)), followed by e*ln2: the tail of detLog in the reference's operation order
// (scalar or vector; IEEE +-*/ give the same bits lane by lane).
template <typename T>
inline T logTail(T m, T e) {
  const T t = (m - 1) / (m + 1);
  const T t2 = t * t;
  T p = T{} + 1.0 / 27;
  p = p * t2 + 1.0 / 25;
  p = p * t2 + 1.0 / 23;
  p = p * t2 + 1.0 / 21;
  p = p * t2 + 1.0 / 19;
  p = p * t2 + 1.0 / 17;
  p = p * t2 + 1.0 / 15;
  p = p * t2 + 1.0 / 13;
  p = p * t2 + 1.0 / 11;
  p = p * t2 + 1.0 / 9;
  p = p * t2 + 1.0 / 7;
  p = p * t2 + 1.0 / 5;
  p = p * t2 + 1.0 / 3;
  p = p * t2 + 1;
  return 2 * t * p + e * kLn2;
}

inline double toUnit(uint32_t u) { return (static_cast<double>(u) + 0.5) * kTwoPowM31 - 1; }

// First accepted polar-method attempt (from attempt `first` on) of one stream key: x and s = x*x + y*y.
inline void polarPair(uint32_t h, double& xOut, double& sOut, uint32_t first = 0) {
  for (uint32_t a = first;; ++a) {
    const double x = toUnit(mix32(h + (2 * a + 1) * kGolden));
    const double y = toUnit(mix32(h + (2 * a + 2) * kGolden));
    const double s = x * x + y * y;
    if (s < 1) {
      xOut = x;
      sOut = s;
      return;
    }
  }
}

#if defined(SWAPNAS_PRNG_AVX512)

// GCC 12 reports its own intrinsics' "undefined" pass-through operands as maybe-uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

inline __m512i zmix32(__m512i x) {
  x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
  x = _mm512_mullo_epi32(x, _mm512_set1_epi32(0x7feb352d));
  x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 15));
  x = _mm512_mullo_epi32(x, _mm512_set1_epi32(static_cast<int>(0x846ca68bu)));
  x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
  return x;
}

// (u + 0.5) * 2^-31 - 1 for 8 u32 lanes.
inline __m512d zunit(__m256i u) {
  const __m512d d = _mm512_cvtepu32_pd(u);
  return _mm512_sub_pd(_mm512_mul_pd(_mm512_add_pd(d, _mm512_set1_pd(0.5)), _mm512_set1_pd(kTwoPowM31)), _mm512_set1_pd(1.0));
}

inline __m256i half8(__m512i v, int hi) { return hi ? _mm512_extracti64x4_epi64(v, 1) : _mm512_castsi512_si256(v); }

inline __m512d zadd(__m512d a, __m512d b) { return _mm512_add_pd(a, b); }
inline __m512d zmul(__m512d a, __m512d b) { return _mm512_mul_pd(a, b); }
inline __m512d zc(double v) { return _mm512_set1_pd(v); }

// The polar attempts of 8 lanes: xv and s of the first accepted attempt among three, `done` marking lanes that found
// one (a lane rejects all three with probability 0.21^3 < 1%).
inline void zattempts(const __m512i* w, int hi, __m512d& xv, __m512d& sv, __mmask8& done) {
  xv = _mm512_setzero_pd();
  sv = _mm512_set1_pd(0.5);
  done = 0;
  for (int a = 0; a < 3; ++a) {
    const __m512d x = zunit(half8(w[2 * a], hi)), y = zunit(half8(w[2 * a + 1], hi));
    const __m512d s = zadd(zmul(x, x), zmul(y, y));
    const __mmask8 take = _mm512_cmp_pd_mask(s, zc(1.0), _CMP_LT_OQ) & static_cast<__mmask8>(~done);
    xv = _mm512_mask_mov_pd(xv, take, x);
    sv = _mm512_mask_mov_pd(sv, take, s);
    done |= take;
  }
}

// kV independent vectors side by side: the log series is a chain of 28 dependent operations, so one vector at a
// time would be latency-bound.
constexpr int kV = 4;

// 8 * kV weights per step: three polar attempts for every lane on vectors, the log/sqrt tail on vectors, and the
// rare lanes that rejected all three finished one by one. Every double operation is the reference's, in its order
// (no FMA: this file is compiled with -ffp-contract=off and the intrinsics are separate multiplies and adds).
void fillGaussianAvx512(float* out, size_t count, uint32_t base) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i golden = _mm512_set1_epi32(static_cast<int>(kGolden));
  size_t i = 0;
  for (; i + 8 * kV <= count; i += 8 * kV) {
    __m512d xv[kV], sv[kV];
    __mmask8 done[kV];
    for (int g = 0; g < kV / 2; ++g) {
      const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(i + 16 * g)), iota);
      const __m512i h = zmix32(_mm512_xor_si512(_mm512_set1_epi32(static_cast<int>(base)), idx));
      __m512i w[6];
      __m512i add = golden;
      for (int a = 0; a < 6; ++a) {
        w[a] = zmix32(_mm512_add_epi32(h, add));
        add = _mm512_add_epi32(add, golden);
      }
      zattempts(w, 0, xv[2 * g], sv[2 * g], done[2 * g]);
      zattempts(w, 1, xv[2 * g + 1], sv[2 * g + 1], done[2 * g + 1]);
    }
    // detLog(s): s = f * 2^E, f in [0.5, 1); m = f (e = E) when f >= sqrt(1/2), else m = 2f (e = E - 1).
    __m512d t[kV], t2[kV], e[kV], p[kV];
    for (int v = 0; v < kV; ++v) {
      const __m512i bits = _mm512_castpd_si512(sv[v]);
      const __m512i ex = _mm512_sub_epi64(_mm512_and_si512(_mm512_srli_epi64(bits, 52), _mm512_set1_epi64(0x7ff)), _mm512_set1_epi64(1022));
      const __m512d f = _mm512_castsi512_pd(
          _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi64(0x000fffffffffffffll)), _mm512_set1_epi64(0x3fell << 52)));
      const __mmask8 low = _mm512_cmp_pd_mask(f, zc(kSqrtHalf), _CMP_LT_OQ);
      const __m512d m = _mm512_mask_mul_pd(f, low, f, zc(2.0));
      e[v] = _mm512_cvtepi64_pd(_mm512_mask_sub_epi64(ex, low, ex, _mm512_set1_epi64(1)));
      t[v] = _mm512_div_pd(_mm512_sub_pd(m, zc(1.0)), zadd(m, zc(1.0)));
      t2[v] = zmul(t[v], t[v]);
      p[v] = zc(1.0 / 27);
    }
    static constexpr double kCoef[] = {1.0 / 25, 1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13,
                                       1.0 / 11, 1.0 / 9,  1.0 / 7,  1.0 / 5,  1.0 / 3,  1.0};
    for (double c : kCoef) {
#pragma GCC unroll 4
      for (int v = 0; v < kV; ++v) p[v] = zadd(zmul(p[v], t2[v]), zc(c));
    }
    for (int v = 0; v < kV; ++v) {
      const __m512d l = zadd(zmul(zmul(zc(2.0), t[v]), p[v]), zmul(e[v], zc(kLn2)));
      const __m512d z = zmul(xv[v], _mm512_sqrt_pd(_mm512_div_pd(zmul(zc(-2.0), l), sv[v])));
      float* o = out + i + 8 * v;
      _mm256_storeu_ps(o, _mm512_cvtpd_ps(z));
      if (__builtin_expect(done[v] != 0xff, 0)) {
        for (int k = 0; k < 8; ++k) {
          if (done[v] & (1u << k)) continue;
          const uint32_t index = static_cast<uint32_t>(i + 8 * v + k);
          double x, s;
          polarPair(mix32(base ^ index), x, s, 3);
          o[k] = static_cast<float>(x * std::sqrt((-2 * detLog(s)) / s));
        }
      }
    }
  }
  for (; i < count; ++i) {
    double x, s;
    polarPair(mix32(base ^ static_cast<uint32_t>(i)), x, s);
    out[i] = static_cast<float>(x * std::sqrt((-2 * detLog(s)) / s));
  }
}

#pragma GCC diagnostic pop

#endif

}  // namespace

double detLog(double s) {
  double e = 0;
  double m = s;
  while (m < kSqrtHalf) {
    m *= 2;
    e -= 1;
  }
  return logTail(m, e);
}

float gaussian(uint32_t seed, uint32_t tensor, uint32_t index) {
  double x, s;
  polarPair(streamKey(seed, tensor, index), x, s);
  return static_cast<float>(x * std::sqrt((-2 * detLog(s)) / s));
}

void fillGaussian(float* out, size_t count, uint32_t seed, uint32_t tensor) {
  const uint32_t base = mix32(mix32(seed ^ kGolden) ^ tensor);
#if defined(SWAPNAS_PRNG_AVX512)
  // count < 2^32 in every caller (tensor sizes are capped at 2^30 elements).
  fillGaussianAvx512(out, count, base);
  return;
#endif
  double xs[kChunk], ss[kChunk];
  for (size_t start = 0; start < count; start += kChunk) {
    const size_t n = count - start < kChunk ? count - start : kChunk;
    // Attempts 0 and 1 for every element, branch-free on vectors; only the ~4.5% of elements that reject both
    // are finished one by one (a per-element branch on the 21% first rejections costs more).
    {
      size_t i = 0;
      for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
        vu32x16 idx;
        for (int k = 0; k < 2 * kLanes; ++k) idx[k] = static_cast<uint32_t>(start + i + k);
        const vu32x16 h = vmix32(base ^ idx);
        const vu32x16 u0 = vmix32(h + kGolden), v0 = vmix32(h + 2 * kGolden);
        const vu32x16 u1 = vmix32(h + 3 * kGolden), v1 = vmix32(h + 4 * kGolden);
        for (int half = 0; half < 2; ++half) {
          const vdouble x0 = vToUnit(lanes8(u0, half)), y0 = vToUnit(lanes8(v0, half));
          const vdouble x1 = vToUnit(lanes8(u1, half)), y1 = vToUnit(lanes8(v1, half));
          const vdouble s0 = x0 * x0 + y0 * y0;
          const vdouble s1 = x1 * x1 + y1 * y1;
          const vi64 first = s0 < 1.0;
          const vdouble xv = first ? x0 : x1;
          const vdouble sv = first ? s0 : s1;
          std::memcpy(xs + i + half * kLanes, &xv, sizeof xv);
          std::memcpy(ss + i + half * kLanes, &sv, sizeof sv);
        }
      }
      for (; i < n; ++i) polarPair(mix32(base ^ static_cast<uint32_t>(start + i)), xs[i], ss[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      if (!(ss[i] < 1)) polarPair(mix32(base ^ static_cast<uint32_t>(start + i)), xs[i], ss[i], 2);
    }
    // detLog's doubling loop in closed form: s = f*2^E with f in [0.5, 1) gives m = f (e = E) when f >= sqrt(1/2),
    // else m = 2f (e = E-1); scaling by powers of two is exact, so m and e equal the loop's bit for bit.
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      vdouble sv, xv;
      std::memcpy(&sv, ss + i, sizeof sv);
      std::memcpy(&xv, xs + i, sizeof xv);
      const vu64 bits = (vu64)sv;
      const vi64 ex = (vi64)((bits >> 52) & 0x7ff) - 1022;
      const vu64 fbits = (bits & 0x000fffffffffffffull) | (0x3feull << 52);
      const vdouble f = (vdouble)fbits;
      const vi64 low = f < kSqrtHalf;  // all ones where true
      const vdouble m = low ? f * 2 : f;
      const vdouble e = __builtin_convertvector(ex + low, vdouble);
      const vdouble l = logTail(m, e);
      const vdouble z = xv * vsqrt((-2 * l) / sv);
      for (int k = 0; k < kLanes; ++k) out[start + i + k] = static_cast<float>(z[k]);
    }
    for (; i < n; ++i) out[start + i] = static_cast<float>(xs[i] * std::sqrt((-2 * detLog(ss[i])) / ss[i]));
  }
}

void fillUniform(double* out, size_t count, uint32_t seed, uint32_t tensor, double bound) {
  const uint32_t base = mix32(mix32(seed ^ kGolden) ^ tensor);
  // the reference's operation order, each step rounded to double as in JavaScript (no FMA contraction here)
  for (size_t i = 0; i < count; ++i) {
    const double u = static_cast<double>(mix32(mix32(base ^ static_cast<uint32_t>(i))));
    out[i] = bound * (((u + 0.5) / 4294967296.0) * 2.0 - 1.0);
  }
}

}  // namespace swapnas
