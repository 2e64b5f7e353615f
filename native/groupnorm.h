#pragma once
// GroupNorm per sample (src/backends/reference/groupnorm.ts is the definition): each of the S * G groups is one
// contiguous run of m = (C / G) * HW values of one sample, normalised with its own mean and biased variance (two passes
// in double, as the reference), then gamma, beta per channel. A pixelwise node (a LayerNorm over the channel axis)
// has S * G * HW groups instead: one sample's pixel's C / G channel values, HW apart. Backward, with
// dxh = gamma_c * dy: dx = inv * (dxh - mean(dxh) - x-hat * mean(dxh * x-hat)) over the group; dgamma_c = sum dy * x-hat,
// dbeta_c = sum dy over samples and plane. T is the storage type (float for the float32 passes, double for the
// float64 one); every sum is in double and adds the group's values in NCHW order, as the reference. Groups g0..g1
// index all groups (sample-major), so threads split them without overlap.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace swapnas {

// Where the values of group g lie: channel k (0..cg) of the group contributes `run` values from o + k * HW.
struct GnGroups {
  size_t cg, HW, run, P;
  int G;
  GnGroups(int C, size_t hw, int groups, bool pixelwise)
      : cg(static_cast<size_t>(C / groups)), HW(hw), run(pixelwise ? 1 : hw), P(pixelwise ? hw : 1), G(groups) {}
  // groups per sample
  size_t perSample() const { return static_cast<size_t>(G) * P; }
  size_t m() const { return cg * run; }
  size_t offset(size_t g) const { return (g / P) * cg * HW + g % P; }
  size_t channel0(size_t g) const { return ((g / P) % static_cast<size_t>(G)) * cg; }
};

// Calls f(o, c0, p0, n) for runs of n pixelwise groups g0..g1 of one sample's group block: the groups' values are
// at o + k * HW + j (k < cg, j < n). Sweeping a run channel by channel reads contiguous memory and adds each group's
// values in the same order (k ascending) as one group at a time.
template <typename F>
void pixelRuns(const GnGroups& q, size_t g0, size_t g1, F f) {
  for (size_t g = g0; g < g1;) {
    const size_t p0 = g % q.P, n = std::min(q.P - p0, g1 - g);
    f(q.offset(g), q.channel0(g), g, n);
    g += n;
  }
}

template <typename T, typename P>
void gnForwardPixels(const T* x, T* xhat, T* y, double* inv, const GnGroups& q, const P* gamma, const P* beta, bool affine,
                     double eps, size_t g0, size_t g1) {
  const double m = static_cast<double>(q.cg);
  std::vector<double> mean, sq;
  pixelRuns(q, g0, g1, [&](size_t o, size_t c0, size_t g, size_t n) {
    mean.assign(n, 0.0);
    sq.assign(n, 0.0);
    for (size_t k = 0; k < q.cg; ++k)
      for (size_t j = 0; j < n; ++j) mean[j] += x[o + k * q.HW + j];
    for (size_t j = 0; j < n; ++j) mean[j] /= m;
    for (size_t k = 0; k < q.cg; ++k)
      for (size_t j = 0; j < n; ++j) {
        const double d = x[o + k * q.HW + j] - mean[j];
        sq[j] += d * d;
      }
    for (size_t j = 0; j < n; ++j) inv[g + j] = 1 / std::sqrt(sq[j] / m + eps);
    for (size_t k = 0; k < q.cg; ++k) {
      const double ga = gamma[c0 + k], be = beta[c0 + k];
      for (size_t j = 0; j < n; ++j) {
        const size_t e = o + k * q.HW + j;
        const double h = (x[e] - mean[j]) * inv[g + j];
        xhat[e] = static_cast<T>(h);
        y[e] = affine ? static_cast<T>(ga * h + be) : static_cast<T>(h);
      }
    }
  });
}

template <typename T, typename P>
void gnBackwardPixels(const T* dy, const T* xhat, const double* inv, const GnGroups& q, const P* gamma, T* dx, size_t g0,
                      size_t g1) {
  const double m = static_cast<double>(q.cg);
  std::vector<double> s1, s2;
  pixelRuns(q, g0, g1, [&](size_t o, size_t c0, size_t g, size_t n) {
    s1.assign(n, 0.0);
    s2.assign(n, 0.0);
    for (size_t k = 0; k < q.cg; ++k) {
      const double ga = gamma[c0 + k];
      for (size_t j = 0; j < n; ++j) {
        const size_t e = o + k * q.HW + j;
        const double d = ga * dy[e];
        s1[j] += d;
        s2[j] += d * xhat[e];
      }
    }
    for (size_t k = 0; k < q.cg; ++k) {
      const double ga = gamma[c0 + k];
      for (size_t j = 0; j < n; ++j) {
        const size_t e = o + k * q.HW + j;
        dx[e] = static_cast<T>(inv[g + j] * (ga * dy[e] - s1[j] / m - xhat[e] * (s2[j] / m)));
      }
    }
  });
}

template <typename T, typename P>
void gnForward(const T* x, T* xhat, T* y, double* inv, int C, size_t HW, int G, bool pixelwise, const P* gamma, const P* beta,
               bool affine, double eps, size_t g0, size_t g1) {
  const GnGroups q(C, HW, G, pixelwise);
  if (pixelwise) return gnForwardPixels(x, xhat, y, inv, q, gamma, beta, affine, eps, g0, g1);
  const double m = static_cast<double>(q.m());
  for (size_t g = g0; g < g1; ++g) {
    const size_t o = q.offset(g), c0 = q.channel0(g);
    double sum = 0;
    for (size_t k = 0; k < q.cg; ++k)
      for (size_t i = 0; i < q.run; ++i) sum += x[o + k * HW + i];
    const double mean = sum / m;
    double sq = 0;
    for (size_t k = 0; k < q.cg; ++k)
      for (size_t i = 0; i < q.run; ++i) {
        const double d = x[o + k * HW + i] - mean;
        sq += d * d;
      }
    inv[g] = 1 / std::sqrt(sq / m + eps);
    for (size_t k = 0; k < q.cg; ++k) {
      const double ga = gamma[c0 + k], be = beta[c0 + k];
      for (size_t i = 0; i < q.run; ++i) {
        const size_t e = o + k * HW + i;
        const double h = (x[e] - mean) * inv[g];
        xhat[e] = static_cast<T>(h);
        // without affine parameters y is x-hat itself (1 * h + 0 would turn -0 into +0; the reference copies x-hat)
        y[e] = affine ? static_cast<T>(ga * h + be) : static_cast<T>(h);
      }
    }
  }
}

template <typename T, typename P>
void gnBackward(const T* dy, const T* xhat, const double* inv, int C, size_t HW, int G, bool pixelwise, const P* gamma, T* dx,
                size_t g0, size_t g1) {
  const GnGroups q(C, HW, G, pixelwise);
  if (pixelwise) return gnBackwardPixels(dy, xhat, inv, q, gamma, dx, g0, g1);
  const double m = static_cast<double>(q.m());
  for (size_t g = g0; g < g1; ++g) {
    const size_t o = q.offset(g), c0 = q.channel0(g);
    double s1 = 0, s2 = 0;
    for (size_t k = 0; k < q.cg; ++k)
      for (size_t i = 0; i < q.run; ++i) {
        const size_t e = o + k * HW + i;
        const double d = static_cast<double>(gamma[c0 + k]) * dy[e];
        s1 += d;
        s2 += d * xhat[e];
      }
    const double mg = s1 / m, mgx = s2 / m;
    for (size_t k = 0; k < q.cg; ++k)
      for (size_t i = 0; i < q.run; ++i) {
        const size_t e = o + k * HW + i;
        dx[e] = static_cast<T>(inv[g] * (static_cast<double>(gamma[c0 + k]) * dy[e] - mg - xhat[e] * mgx));
      }
  }
}

// dgamma_c, dbeta_c for channels c0..c1 (each summed over every sample's plane).
template <typename T, typename Q>
void gnParamGrads(const T* dy, const T* xhat, int S, int C, size_t HW, Q* dgamma, Q* dbeta, int c0, int c1) {
  for (int c = c0; c < c1; ++c) {
    double a = 0, b = 0;
    for (int s = 0; s < S; ++s) {
      const size_t o = (static_cast<size_t>(s) * C + c) * HW;
      for (size_t i = 0; i < HW; ++i) {
        a += static_cast<double>(dy[o + i]) * xhat[o + i];
        b += dy[o + i];
      }
    }
    dgamma[c] = static_cast<Q>(a);
    dbeta[c] = static_cast<Q>(b);
  }
}

}  // namespace swapnas
