#include "peak.h"

#include "simd.h"
#include "stats.h"

namespace swapnas {

namespace {

// Enough independent chains to cover FMA latency times the number of FMA ports.
constexpr int kChains = 24;
constexpr long kInner = 1 << 14;

__attribute__((noinline)) float fmaBlock(long rounds) {
  vfloat acc[kChains];
#pragma GCC unroll 32
  for (int c = 0; c < kChains; ++c) acc[c] = vfloat{} + static_cast<float>(c) * 0.01f;
  const vfloat a = vfloat{} + 0.999f;
  const vfloat b = vfloat{} + 0.001f;
  for (long r = 0; r < rounds; ++r) {
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) {
      acc[c] = acc[c] * a + b;
      // Keeps every chain in a register and stops the compiler from collapsing the loop.
      __asm__ volatile("" : "+v"(acc[c]));
    }
  }
  vfloat s = vfloat{};
#pragma GCC unroll 32
  for (int c = 0; c < kChains; ++c) s += acc[c];
  float out = 0;
  for (int l = 0; l < kVecFloats; ++l) out += s[l];
  return out;
}

}  // namespace

double measurePeakGflops(double seconds) {
  volatile float sink = fmaBlock(1000);
  double best = 0;
  const uint64_t end = nowNs() + static_cast<uint64_t>(seconds * 1e9);
  do {
    const uint64_t t0 = nowNs();
    sink = sink + fmaBlock(kInner);
    const uint64_t dt = nowNs() - t0;
    const double gflops = static_cast<double>(kInner) * kChains * kVecFloats * 2.0 / static_cast<double>(dt);
    if (gflops > best) best = gflops;
  } while (nowNs() < end);
  (void)sink;
  return best;
}

}  // namespace swapnas
