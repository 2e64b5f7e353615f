#pragma once
// The smooth activations of the `act` op (actValue / actSlope / actCurve in src/ir/activations.ts): each function's
// value, derivative and second derivative, read off the op's input x. The float instantiations follow PyTorch's
// float32 CPU expressions (so a float32 pass rounds as the official code does); the double ones the reference's.

#include <cmath>
#include <type_traits>

#include "ir.h"

namespace swapnas {

// nn.SELU's constants and nn.Softplus's default threshold (src/ir/activations.ts)
inline constexpr double kSeluAlpha = 1.6732632423543772;
inline constexpr double kSeluScale = 1.0507009873554805;
inline constexpr double kSoftplusThreshold = 20;
inline constexpr double kInvSqrt2Pi = 0.3989422804014327;

// The logistic, for the derivatives of softplus and Mish.
template <typename T>
inline T logistic(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// Phi(x), the standard normal CDF, through erfc in double (no cancellation for negative x), through erf in float
// as PyTorch's float32 gelu writes it.
template <typename T>
inline T normalCdf(T x) {
  if constexpr (std::is_same_v<T, double>) return 0.5 * std::erfc(-x * M_SQRT1_2);
  else return T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
}

template <typename T>
inline T actValue(const Node& n, T x) {
  switch (n.act) {
    case ActFn::Tanh: return std::tanh(x);
    case ActFn::Elu: return x > T(0) ? x : T(n.alpha) * std::expm1(x);
    case ActFn::Selu: return T(kSeluScale) * (x > T(0) ? x : T(kSeluAlpha) * std::expm1(x));
    case ActFn::Softplus: return x > T(kSoftplusThreshold) ? x : std::log1p(std::exp(x));
    case ActFn::Gelu: return x * normalCdf(x);
    case ActFn::Mish: return x * std::tanh(std::log1p(std::exp(x)));
  }
  return x;
}

// The derivative, PyTorch's backward rule (ELU / SELU at 0: the left branch).
template <typename T>
inline T actSlope(const Node& n, T x) {
  switch (n.act) {
    case ActFn::Tanh: {
      const T t = std::tanh(x);
      return T(1) - t * t;
    }
    case ActFn::Elu: return x > T(0) ? T(1) : T(n.alpha) * std::exp(x);
    case ActFn::Selu: return T(kSeluScale) * (x > T(0) ? T(1) : T(kSeluAlpha) * std::exp(x));
    case ActFn::Softplus: return x > T(kSoftplusThreshold) ? T(1) : logistic(x);
    case ActFn::Gelu: return normalCdf(x) + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    case ActFn::Mish: {
      const T t = std::tanh(std::log1p(std::exp(x)));
      return t + x * logistic(x) * (T(1) - t * t);
    }
  }
  return T(1);
}

// The second derivative (0 on linear branches): the Hessian-vector pass's activation term.
template <typename T>
inline T actCurve(const Node& n, T x) {
  switch (n.act) {
    case ActFn::Tanh: {
      const T t = std::tanh(x);
      return T(-2) * t * (T(1) - t * t);
    }
    case ActFn::Elu: return x > T(0) ? T(0) : T(n.alpha) * std::exp(x);
    case ActFn::Selu: return x > T(0) ? T(0) : T(kSeluScale * kSeluAlpha) * std::exp(x);
    case ActFn::Softplus: {
      if (x > T(kSoftplusThreshold)) return T(0);
      const T s = logistic(x);
      return s * (T(1) - s);
    }
    case ActFn::Gelu: return T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x) * (T(2) - x * x);
    case ActFn::Mish: {
      const T t = std::tanh(std::log1p(std::exp(x)));
      const T s = logistic(x);
      return s * (T(1) - t * t) * (T(2) + x * (T(1) - s) - T(2) * x * s * t);
    }
  }
  return T(0);
}

}  // namespace swapnas
