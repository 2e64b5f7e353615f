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

}  // namespace swapnas
