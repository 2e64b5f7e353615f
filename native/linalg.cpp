#include "linalg.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace swapnas {

namespace {

constexpr double kEps = 0x1p-52;

// sqrt(x^2 + z^2); std::hypot only when the squares would under- or overflow (it is several times slower).
double radius(double x, double z) {
  const double r = std::sqrt(x * x + z * z);
  return r > 1e-150 && r < 1e150 ? r : std::hypot(x, z);
}

// Householder transforms H_k = I - 2vv^T zero column k below the subdiagonal; the trailing block is updated as
// A <- A - 2(v w^T + w v^T), w = Av - (v^T A v) v. Diagonal to d, subdiagonal to e.
void tridiagonalise(std::vector<double>& m, size_t n, std::vector<double>& d, std::vector<double>& e) {
  std::vector<double> v(n), w(n);
  for (size_t k = 0; k + 2 < n; ++k) {
    double norm2 = 0;
    for (size_t i = k + 1; i < n; ++i) norm2 += m[i * n + k] * m[i * n + k];
    const double x0 = m[(k + 1) * n + k];
    const double alpha = -(x0 >= 0 ? 1.0 : -1.0) * std::sqrt(norm2);
    d[k] = m[k * n + k];
    e[k] = alpha;
    const double vnorm2 = norm2 - x0 * x0 + (x0 - alpha) * (x0 - alpha);
    if (norm2 == 0 || vnorm2 == 0) {
      e[k] = x0;
      continue;
    }
    const double scale = 1 / std::sqrt(vnorm2);
    v[k + 1] = (x0 - alpha) * scale;
    for (size_t i = k + 2; i < n; ++i) v[i] = m[i * n + k] * scale;
    double K = 0;
    for (size_t i = k + 1; i < n; ++i) {
      double s = 0;
      for (size_t j = k + 1; j < n; ++j) s += m[i * n + j] * v[j];
      w[i] = s;
      K += v[i] * s;
    }
    for (size_t i = k + 1; i < n; ++i) w[i] -= K * v[i];
    for (size_t i = k + 1; i < n; ++i)
      for (size_t j = k + 1; j < n; ++j) m[i * n + j] -= 2 * (v[i] * w[j] + w[i] * v[j]);
  }
  if (n >= 2) {
    d[n - 2] = m[(n - 2) * n + n - 2];
    e[n - 2] = m[(n - 1) * n + n - 2];
  }
  if (n >= 1) d[n - 1] = m[(n - 1) * n + n - 1];
}

bool negligible(const std::vector<double>& d, const std::vector<double>& e, size_t i) {
  const double t = std::fabs(e[i]);
  return t <= kEps * (std::fabs(d[i]) + std::fabs(d[i + 1])) || t < 1e-300;
}

// One implicit QR step with the Wilkinson shift on rows lo..hi: Givens rotations chase the bulge down the band.
void qrStep(std::vector<double>& d, std::vector<double>& e, size_t lo, size_t hi) {
  const double f = e[hi - 1];
  const double dd = (d[hi - 1] - d[hi]) / 2;
  const double mu = d[hi] - f * f / (dd + (dd >= 0 ? 1.0 : -1.0) * radius(dd, f));
  double x = d[lo] - mu, z = e[lo];
  for (size_t k = lo; k < hi; ++k) {
    const double r = radius(x, z);
    const double c = r == 0 ? 1 : x / r, s = r == 0 ? 0 : -z / r;
    if (k > lo) e[k - 1] = r;
    const double a = d[k], b = d[k + 1], g = e[k];
    d[k] = c * c * a - 2 * c * s * g + s * s * b;
    d[k + 1] = s * s * a + 2 * c * s * g + c * c * b;
    e[k] = c * s * (a - b) + (c * c - s * s) * g;
    if (k + 1 < hi) {
      z = -s * e[k + 1];
      e[k + 1] = c * e[k + 1];
    }
    x = e[k];
  }
}

}  // namespace

std::vector<double> symmetricEigenvalues(std::vector<double>& a, size_t n) {
  for (double v : a)
    if (!std::isfinite(v)) return std::vector<double>(n, std::numeric_limits<double>::quiet_NaN());
  std::vector<double> d(n), e(n > 0 ? n - 1 : 0);
  tridiagonalise(a, n, d, e);
  size_t hi = n > 0 ? n - 1 : 0;
  for (size_t iter = 0; hi > 0 && iter < 60 * n; ++iter) {
    while (hi > 0 && negligible(d, e, hi - 1)) e[--hi] = 0;
    if (hi == 0) break;
    size_t lo = hi - 1;
    while (lo > 0 && !negligible(d, e, lo - 1)) --lo;
    qrStep(d, e, lo, hi);
  }
  std::sort(d.begin(), d.end());
  return d;
}

std::vector<double> corrcoefRows(const float* m, size_t rows, size_t cols) {
  std::vector<double> centred(rows * cols), norm(rows), out(rows * rows);
  for (size_t r = 0; r < rows; ++r) {
    double mean = 0;
    for (size_t c = 0; c < cols; ++c) mean += m[r * cols + c];
    mean /= static_cast<double>(cols);
    double ss = 0;
    for (size_t c = 0; c < cols; ++c) {
      const double dv = m[r * cols + c] - mean;
      centred[r * cols + c] = dv;
      ss += dv * dv;
    }
    norm[r] = std::sqrt(ss);
  }
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = i; j < rows; ++j) {
      double s = 0;
      const double* a = &centred[i * cols];
      const double* b = &centred[j * cols];
      for (size_t c = 0; c < cols; ++c) s += a[c] * b[c];
      const double q = s / (norm[i] * norm[j]);
      // NaN (a constant row) passes through the clip, as in numpy/torch
      const double v = std::isnan(q) ? q : std::max(-1.0, std::min(1.0, q));
      out[i * rows + j] = out[j * rows + i] = v;
    }
  return out;
}

}  // namespace swapnas
