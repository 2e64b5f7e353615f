// Softmax and log-softmax over a flat tensor's features, per sample (the `softmax` op: a classifier's last op), in
// the order PyTorch computes them: the row's maximum subtracted first (so e^x cannot overflow), the sum of
// exponentials and its log in double whatever the storage type. With log, y = x - max - log(sum), and the softmax
// s = e^y.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace swapnas {

// y = (log-)softmax(x), S rows of K.
template <class X, class Y>
void softmaxRows(const X* x, Y* y, int S, int K, bool log) {
  for (int s = 0; s < S; ++s) {
    const X* xr = x + static_cast<size_t>(s) * K;
    Y* yr = y + static_cast<size_t>(s) * K;
    double m = static_cast<double>(xr[0]);
    for (int k = 1; k < K; ++k) m = std::max(m, static_cast<double>(xr[k]));
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += std::exp(static_cast<double>(xr[k]) - m);
    const double lse = std::log(sum);
    for (int k = 0; k < K; ++k) {
      const double d = static_cast<double>(xr[k]) - m;
      yr[k] = static_cast<Y>(log ? d - lse : std::exp(d) / sum);
    }
  }
}

// dy (S rows of K) becomes dx in place, from the output y: softmax y * (dy - <dy, y>), log-softmax dy - s * sum(dy).
template <class T>
void softmaxVjp(const T* y, T* dy, int S, int K, bool log) {
  for (int s = 0; s < S; ++s) {
    const T* yr = y + static_cast<size_t>(s) * K;
    T* g = dy + static_cast<size_t>(s) * K;
    double t = 0;
    for (int k = 0; k < K; ++k) t += log ? static_cast<double>(g[k]) : static_cast<double>(g[k]) * yr[k];
    for (int k = 0; k < K; ++k) {
      const double gk = static_cast<double>(g[k]);
      g[k] = static_cast<T>(log ? gk - std::exp(static_cast<double>(yr[k])) * t : yr[k] * (gk - t));
    }
  }
}

}  // namespace swapnas
