#include "prng.h"

#include <cmath>
#include <cstring>

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

}  // namespace swapnas
