#include "block_scale.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "grad_ops.h"

namespace swapnas {

void scalePow2(float* x, size_t n, int s) {
  if (s < -400) {
    std::memset(x, 0, n * sizeof(float));
    return;
  }
  while (s != 0) {
    const int step = std::max(-100, std::min(100, s));
    const float f = std::ldexp(1.0f, step);
    for (size_t i = 0; i < n; ++i) x[i] *= f;
    s -= step;
  }
}

void renormalize(float* x, size_t n, int& exponent) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  if (!std::isfinite(m)) return;
  if (m == 0) {
    exponent = kZeroExponent;
    return;
  }
  if (exponent == kZeroExponent) exponent = 0;  // a tensor that was zero got values (an add of a zero input)
  const int k = std::ilogb(m);
  if (k >= -32 && k < 32) return;
  scalePow2(x, n, -k);
  exponent += k;
}

void alignedCopy(const float* src, size_t n, int from, int to, float* dst) {
  std::memcpy(dst, src, n * sizeof(float));
  if (from != to) scalePow2(dst, n, from == kZeroExponent ? -1000 : from - to);
}

int biasExponent(const float* bias, int C) {
  float bmax = 0;
  for (int c = 0; c < C; ++c) bmax = std::max(bmax, std::fabs(bias[c]));
  return bmax == 0 ? kZeroExponent : std::ilogb(bmax);
}

std::vector<float> biasAt(const float* bias, int C, int exponent) {
  std::vector<float> scaled(static_cast<size_t>(C));
  for (int c = 0; c < C; ++c) scaled[static_cast<size_t>(c)] = static_cast<float>(std::ldexp(static_cast<double>(bias[c]), -exponent));
  return scaled;
}

void addScaledBias(float* y, const float* bias, int S, int C, size_t HW, int& exponent) {
  const int kb = biasExponent(bias, C);
  if (kb == kZeroExponent) return;
  if (exponent == kZeroExponent || kb > exponent) {
    if (exponent != kZeroExponent) scalePow2(y, static_cast<size_t>(S) * C * HW, exponent - kb);
    exponent = kb;
  }
  addChannelBias(y, biasAt(bias, C, exponent).data(), S, C, HW);
}

}  // namespace swapnas
