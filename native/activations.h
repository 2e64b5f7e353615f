#pragma once
// The functions of the `act` op (actValue / actSlope / actCurve in src/ir/activations.ts), smooth activations and
// arithmetic with a constant alpha: each function's value, derivative and second derivative, read off the op's
// input x. The float instantiations follow PyTorch's float32 CPU expressions (so a float32 pass rounds as the
// official code does); the double ones the reference's.

#include <algorithm>
#include <cmath>

#include "ir.h"

namespace swapnas {

// nn.SELU's constants and nn.Softplus's default threshold (src/ir/activations.ts)
inline constexpr double kSeluAlpha = 1.6732632423543772;
inline constexpr double kSeluScale = 1.0507009873554805;
inline constexpr double kSoftplusThreshold = 20;
inline constexpr double kInvSqrt2Pi = 0.3989422804014327;
// GELU's tanh approximation: 1/2 x (1 + tanh(beta (x + kappa x^3))), PyTorch's kBeta and kKappa
inline constexpr double kGeluBeta = 0.7978845608028654;
inline constexpr double kGeluKappa = 0.044715;

// The logistic, for the derivatives of softplus and Mish.
template <typename T>
inline T logistic(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// Phi(x), the standard normal CDF, as PyTorch's gelu writes it: (1 + erf(x / sqrt 2)) / 2.
template <typename T>
inline T normalCdf(T x) {
  return T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
}

// 1 - tanh^2(u) without cancellation: 4e / (1 + e)^2, e = exp(-2|u|) (sech2 in src/ir/activations.ts).
template <typename T>
inline T sech2(T u) {
  const T e = std::exp(T(-2) * std::abs(u));
  return T(4) * e / ((T(1) + e) * (T(1) + e));
}

// The constant of element e of a batch of the node's tensors (NCHW): its one alpha, or its channel's
// (e / (h * w) mod c) where the arithmetic or a PReLU has one per channel.
inline double alphaAt(const Node& n, size_t e) {
  return n.alphas.empty() ? n.alpha : n.alphas[(e / (static_cast<size_t>(n.h) * n.w)) % static_cast<size_t>(n.c)];
}

// Elements [lo, hi) of a batch of node n's tensors, visited plane by plane (the h * w elements of one sample's
// channel share one constant): f(begin, end, that plane's alpha). A PReLU's loops then take no division per element
// and vectorise.
template <typename F>
inline void byPlanes(const Node& n, size_t lo, size_t hi, F f) {
  const size_t hw = static_cast<size_t>(n.h) * n.w;
  for (size_t e = lo; e < hi;) {
    const size_t end = std::min(hi, (e / hw + 1) * hw);
    f(e, end, alphaAt(n, e));
    e = end;
  }
}

template <typename T>
inline T actValue(const Node& n, T x, size_t e = 0) {
  switch (n.act) {
    case ActFn::Tanh: return std::tanh(x);
    case ActFn::Elu: return x > T(0) ? x : T(n.alpha) * std::expm1(x);
    case ActFn::Selu: return T(kSeluScale) * (x > T(0) ? x : T(kSeluAlpha) * std::expm1(x));
    case ActFn::Softplus: return x > T(kSoftplusThreshold) ? x : std::log1p(std::exp(x));
    case ActFn::Gelu: return x * normalCdf(x);
    case ActFn::Mish: return x * std::tanh(std::log1p(std::exp(x)));
    case ActFn::GeluTanh: return T(0.5) * x * (T(1) + std::tanh(T(kGeluBeta) * (x + T(kGeluKappa) * x * x * x)));
    // the constant rounded to T, as PyTorch computes x * 0.5 in the tensor's dtype
    case ActFn::Scale: return x * T(alphaAt(n, e));
    case ActFn::Divide: return x / T(alphaAt(n, e));
    case ActFn::Shift: return x + T(alphaAt(n, e));
    // PyTorch's prelu: x > 0 ? x : w * x, the slope rounded to T
    case ActFn::Prelu: return x > T(0) ? x : T(alphaAt(n, e)) * x;
    // PyTorch's celu: its elu with input scale 1 / alpha (each coefficient rounded to T)
    case ActFn::Celu: return x > T(0) ? x : T(n.alpha) * std::expm1(x * T(1 / n.alpha));
    // torch.reciprocal, and a division by a tensor (imported as a product with 1 / b)
    case ActFn::Reciprocal: return T(1) / x;
  }
  return x;
}

// The derivative, PyTorch's backward rule (ELU / SELU at 0: the left branch).
template <typename T>
inline T actSlope(const Node& n, T x, size_t e = 0) {
  switch (n.act) {
    case ActFn::Tanh: return sech2(x);
    case ActFn::Elu: return x > T(0) ? T(1) : T(n.alpha) * std::exp(x);
    case ActFn::Selu: return T(kSeluScale) * (x > T(0) ? T(1) : T(kSeluAlpha) * std::exp(x));
    case ActFn::Softplus: return x > T(kSoftplusThreshold) ? T(1) : logistic(x);
    case ActFn::Gelu: return normalCdf(x) + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    case ActFn::Mish: {
      const T sp = std::log1p(std::exp(x));
      return std::tanh(sp) + x * logistic(x) * sech2(sp);
    }
    case ActFn::GeluTanh: {
      const T u = T(kGeluBeta) * (x + T(kGeluKappa) * x * x * x);
      return T(0.5) * (T(1) + std::tanh(u)) + T(0.5) * x * sech2(u) * T(kGeluBeta) * (T(1) + T(3 * kGeluKappa) * x * x);
    }
    case ActFn::Scale: return T(alphaAt(n, e));
    // PyTorch divides the cotangent by alpha; the product with 1 / alpha differs in the last bit at most
    case ActFn::Divide: return T(1) / T(alphaAt(n, e));
    case ActFn::Shift: return T(1);
    // PyTorch's prelu backward: the slope at x <= 0
    case ActFn::Prelu: return x > T(0) ? T(1) : T(alphaAt(n, e));
    // PyTorch's celu derivative takes its input scale as 1 / alpha rounded to float (its `1.0 / alpha.toFloat()`)
    case ActFn::Celu: {
      const double s = 1 / static_cast<double>(static_cast<float>(n.alpha));
      return x > T(0) ? T(1) : T(s) * T(n.alpha) * std::exp(x * T(s));
    }
    // PyTorch's reciprocal backward: -y^2 of its output y = 1 / x
    case ActFn::Reciprocal: {
      const T y = T(1) / x;
      return -(y * y);
    }
  }
  return T(1);
}

// The second derivative (0 on linear branches): the Hessian-vector pass's activation term.
template <typename T>
inline T actCurve(const Node& n, T x, [[maybe_unused]] size_t e = 0) {
  switch (n.act) {
    case ActFn::Tanh: return T(-2) * std::tanh(x) * sech2(x);
    // PyTorch's elu_double_backward: the exponential branch below 0 only (0 at x = 0, where the slope is alpha)
    case ActFn::Elu: return x < T(0) ? T(n.alpha) * std::exp(x) : T(0);
    case ActFn::Selu: return x < T(0) ? T(kSeluScale * kSeluAlpha) * std::exp(x) : T(0);
    case ActFn::Softplus: {
      // PyTorch's softplus_double_backward: below the threshold only
      if (!(x < T(kSoftplusThreshold))) return T(0);
      const T s = logistic(x);
      return s * (T(1) - s);
    }
    case ActFn::Gelu: return T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x) * (T(2) - x * x);
    case ActFn::Mish: {
      const T sp = std::log1p(std::exp(x));
      const T t = std::tanh(sp);
      const T s = logistic(x);
      return s * sech2(sp) * (T(2) + x * (T(1) - s) - T(2) * x * s * t);
    }
    case ActFn::GeluTanh: {
      const T u = T(kGeluBeta) * (x + T(kGeluKappa) * x * x * x);
      const T t = std::tanh(u);
      const T du = T(kGeluBeta) * (T(1) + T(3 * kGeluKappa) * x * x);
      const T d2u = T(6 * kGeluBeta * kGeluKappa) * x;
      return sech2(u) * (du + T(0.5) * x * (d2u - T(2) * t * du * du));
    }
    // elu_double_backward: the exponential branch below 0 only
    case ActFn::Celu: {
      const double s = 1 / static_cast<double>(static_cast<float>(n.alpha));
      return x < T(0) ? T(s) * T(s) * T(n.alpha) * std::exp(x * T(s)) : T(0);
    }
    // the derivative of -y^2 (y = 1 / x): 2 y^3
    case ActFn::Reciprocal: {
      const T y = T(1) / x;
      return T(2) * y * y * y;
    }
    case ActFn::Scale:
    case ActFn::Divide:
    case ActFn::Shift:
    case ActFn::Prelu: return T(0);
  }
  return T(0);
}

}  // namespace swapnas
