#pragma once
// Block floating point for passes whose values span more than float32's range (synflow on deep networks): each
// tensor is a float32 mantissa array and one power-of-two exponent, true value = mantissa * 2^exponent. Scaling by
// a power of two is exact for normal floats, so every op that is linear in its inputs computes the same mantissas
// as an unscaled pass would have, as long as that pass had not overflowed; only elements more than ~2^120 below
// their tensor's largest one lose bits (they become subnormal or zero).

#include <cstddef>
#include <vector>

namespace swapnas {

// The exponent of a tensor that is all zeros: any exponent represents it; this one never wins an alignment.
inline constexpr int kZeroExponent = -(1 << 28);

// x *= 2^s, in steps a float can hold (|step| <= 100); shifts below -400 leave only zeros.
void scalePow2(float* x, size_t n, int s);

// Keeps the tensor's largest magnitude within [2^-32, 2^32): outside it the mantissas are scaled to [1, 2) and
// `exponent` takes the difference. Products of two such tensors summed over up to 2^60 terms stay finite and normal,
// which the weight gradients (forward mantissa x cotangent mantissa) need. An all-zero tensor gets kZeroExponent;
// non-finite values are left alone.
void renormalize(float* x, size_t n, int& exponent);

// A copy of `src` expressed at exponent `to` (>= its own `from`).
void alignedCopy(const float* src, size_t n, int from, int to, float* dst);

// The exponent of a bias vector's largest magnitude (kZeroExponent when all zero).
int biasExponent(const float* bias, int C);

// bias * 2^-exponent, rounded to float (exact while the result is a normal float).
std::vector<float> biasAt(const float* bias, int C, int exponent);

// y (S x C x HW, exponent `exponent`) += bias per channel (true values, unscaled): y's exponent is first raised to the
// bias's where that is larger, so the scaled bias stays a normal float.
void addScaledBias(float* y, const float* bias, int S, int C, size_t HW, int& exponent);

}  // namespace swapnas
