#pragma once
// Portable SIMD through GCC/Clang vector extensions: the width follows the target the addon is built for.

#include <cstring>

namespace swapnas {

#if defined(__AVX512F__)
inline constexpr int kVecFloats = 16;
inline constexpr const char* kSimdName = "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
inline constexpr int kVecFloats = 8;
inline constexpr const char* kSimdName = "avx2+fma";
#elif defined(__AVX__)
inline constexpr int kVecFloats = 8;
inline constexpr const char* kSimdName = "avx";
#elif defined(__ARM_NEON) || defined(__aarch64__)
inline constexpr int kVecFloats = 4;
inline constexpr const char* kSimdName = "neon";
#elif defined(__SSE2__)
inline constexpr int kVecFloats = 4;
inline constexpr const char* kSimdName = "sse2";
#else
inline constexpr int kVecFloats = 4;
inline constexpr const char* kSimdName = "generic";
#endif

typedef float vfloat __attribute__((vector_size(kVecFloats * sizeof(float))));

inline vfloat loadu(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void storeu(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }

typedef float vhalf __attribute__((vector_size(kVecFloats * sizeof(float) / 2)));

inline vhalf loadHalf(const float* p) {
  vhalf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// [lo, hi] as one register (a lane insert, not a round trip through memory).
inline vfloat combineHalves(vhalf lo, vhalf hi) {
#if defined(__clang__) || __GNUC__ >= 12
#if defined(__AVX512F__)
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#elif defined(__AVX__)
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
#else
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3);
#endif
#else
  vfloat r;
  for (int i = 0; i < kVecFloats / 2; ++i) {
    r[i] = lo[i];
    r[i + kVecFloats / 2] = hi[i];
  }
  return r;
#endif
}

// Eight double lanes whatever the vector width (one AVX-512 vector, two AVX2 ones): double sums that keep one order
// on every build. A plain `double lane[8]` array is not vectorised by GCC; these are. The helpers take the lanes by
// reference: a 64-byte vector passed or returned by value is an ABI question on AVX2 builds (-Wpsabi).
typedef float f8 __attribute__((vector_size(8 * sizeof(float))));
typedef double d8 __attribute__((vector_size(8 * sizeof(double))));

// acc += p[0..8), widened to double.
inline void addWidened(d8& acc, const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  acc += __builtin_convertvector(v, d8);
}

// acc += a[0..8) * b[0..8) in double (each product exact).
inline void addProducts(d8& acc, const float* a, const float* b) {
  f8 x, y;
  std::memcpy(&x, a, sizeof x);
  std::memcpy(&y, b, sizeof y);
  acc += __builtin_convertvector(x, d8) * __builtin_convertvector(y, d8);
}

// acc += (p[0..8) - shift)² in double.
inline void addSquaredDeviations(d8& acc, const float* p, double shift) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  const d8 d = __builtin_convertvector(v, d8) - shift;
  acc += d * d;
}

// lane 0 + lane 1 + ... + lane 7, in that order.
inline double laneTotal(const d8& v) {
  double acc = 0;
  for (int l = 0; l < 8; ++l) acc += v[l];
  return acc;
}

}  // namespace swapnas
