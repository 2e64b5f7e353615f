#include "proxy_reduce.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "linalg.h"
#include "simd.h"

namespace swapnas {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// out[i][j] = sum over samples and positions of a[s][i][p] * b[s][j][p] for S x ca x hw and S x cb x hw planes,
// accumulated per sample as the TypeScript planeGram does (only j <= i with `symmetric`, then mirrored). Each entry
// is one running sum in position order per sample (the TypeScript order); eight entries j .. j + 7 run as the lanes
// of one double vector over the sample's planes transposed (position-major), so the adds are neither bound by one
// chain's latency nor scalar. This file is built without FMA contraction: a lane's multiply and add round as the
// scalar ones do, so the values are the scalar loop's bit for bit.
std::vector<double> planeGram(const double* a, size_t ca, const double* b, size_t cb, int S, size_t hw, bool symmetric) {
  std::vector<double> out(ca * cb, 0.0);
  const size_t cbp = (cb + 7) / 8 * 8;  // a row of bT: cb entries and zeros up to a whole vector
  std::vector<double> bT(hw * cbp, 0.0);
  for (int s = 0; s < S; ++s) {
    const double* bs = b + static_cast<size_t>(s) * cb * hw;
    for (size_t j = 0; j < cb; ++j)
      for (size_t p = 0; p < hw; ++p) bT[p * cbp + j] = bs[j * hw + p];
    for (size_t i = 0; i < ca; ++i) {
      const double* ai = a + (static_cast<size_t>(s) * ca + i) * hw;
      const size_t jn = symmetric ? i + 1 : cb;
      // four vectors (32 entries) at once where there are that many: four independent chains of adds
      for (size_t j = 0; j < jn; j += 32) {
        const size_t vecs = std::min<size_t>(4, (std::min(jn, cbp) - j + 7) / 8);
        d8 acc[4] = {};
        for (size_t p = 0; p < hw; ++p) {
          const double* row = bT.data() + p * cbp + j;
          for (size_t k = 0; k < 4; ++k) {
            if (k >= vecs) break;
            d8 v;
            std::memcpy(&v, row + 8 * k, sizeof v);
            acc[k] += ai[p] * v;
          }
        }
        for (size_t k = 0; k < vecs; ++k)
          for (size_t l = 0; l < 8 && j + 8 * k + l < jn; ++l) out[i * cb + j + 8 * k + l] += acc[k][l];
      }
    }
  }
  if (symmetric)
    for (size_t i = 0; i < ca; ++i)
      for (size_t j = i + 1; j < cb; ++j) out[i * cb + j] = out[j * cb + i];
  return out;
}

// PixelUnshuffle by r of S x C x H x W: (S, C*r*r, H/r, W/r), channel c*r*r + dy*r + dx.
std::vector<double> spaceToDepth(const float* g, int S, const Node& n, int r) {
  const int oh = n.h / r, ow = n.w / r;
  const size_t rr = static_cast<size_t>(r) * r;
  std::vector<double> out(static_cast<size_t>(S) * n.c * rr * oh * ow);
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < n.c; ++c)
      for (int dy = 0; dy < r; ++dy)
        for (int dx = 0; dx < r; ++dx) {
          const size_t oc = static_cast<size_t>(c) * rr + static_cast<size_t>(dy) * r + dx;
          for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x)
              out[((static_cast<size_t>(s) * n.c * rr + oc) * oh + y) * ow + x] =
                  g[((static_cast<size_t>(s) * n.c + c) * n.h + static_cast<size_t>(y) * r + dy) * n.w + static_cast<size_t>(x) * r + dx];
        }
  return out;
}

}  // namespace

double mecoTerm(const float* sample0, size_t C, size_t HW) {
  std::vector<double> corr = corrcoefRows(sample0, C, HW);
  for (double& v : corr)
    if (!std::isfinite(v)) v = 0;
  const double low = symmetricEigenvalues(corr, C)[0];
  return std::isfinite(low) ? low : kNaN;
}

double featureEntropy(const float* a, int S, const Node& n) {
  const size_t C = static_cast<size_t>(n.c), hw = static_cast<size_t>(n.h) * n.w;
  const double N = static_cast<double>(S) * static_cast<double>(hw);
  std::vector<double> centred(static_cast<size_t>(S) * C * hw);
  for (size_t c = 0; c < C; ++c) {
    double m = 0;
    for (int s = 0; s < S; ++s)
      for (size_t i = 0; i < hw; ++i) m += a[(s * C + c) * hw + i];
    m /= N;
    for (int s = 0; s < S; ++s)
      for (size_t i = 0; i < hw; ++i) centred[(s * C + c) * hw + i] = a[(s * C + c) * hw + i] - m;
  }
  std::vector<double> sigma = planeGram(centred.data(), C, centred.data(), C, S, hw, true);
  for (double& v : sigma) v /= N;
  const std::vector<double> ev = symmetricEigenvalues(sigma, C);
  double total = 0, e = 0;
  for (double v : ev) total += v;
  for (double v : ev) {
    const double p = v / total;
    e += -p * std::log(p + 1e-8);
  }
  return e;
}

double blockTrainability(const float* gOut, const Node& out, const float* gIn, const Node& in, int S) {
  const size_t outCount = static_cast<size_t>(S) * out.numel(), inCount = static_cast<size_t>(S) * in.numel();
  if (outCount == inCount && out.c == in.c && out.h == in.h && out.w == in.w && std::equal(gOut, gOut + outCount, gIn))
    return -std::numeric_limits<double>::infinity();
  const size_t hw = static_cast<size_t>(out.h) * out.w;
  std::vector<double> g;
  size_t ca = static_cast<size_t>(in.c);
  if (in.h != out.h || in.w != out.w) {
    const int r = in.h / out.h;
    if (r < 1) return kNaN;
    g = spaceToDepth(gIn, S, in, r);
    ca *= static_cast<size_t>(r) * r;
  } else {
    g.assign(gIn, gIn + inCount);
  }
  // the TypeScript reads ca planes of `hw` positions per sample; a layout that does not fit gives NaN there too
  if (g.size() < static_cast<size_t>(S) * ca * hw) return kNaN;
  const std::vector<double> b(gOut, gOut + outCount);
  std::vector<double> M = planeGram(g.data(), ca, b.data(), static_cast<size_t>(out.c), S, hw, false);
  const double rows = static_cast<double>(S) * static_cast<double>(hw);
  const size_t cb = static_cast<size_t>(out.c);
  for (double& v : M) v /= rows;
  std::vector<double> mtm(cb * cb, 0.0);  // M^T M
  for (size_t r = 0; r < ca; ++r)
    for (size_t i = 0; i < cb; ++i) {
      const double v = M[r * cb + i];
      if (v == 0) continue;
      for (size_t j = 0; j < cb; ++j) mtm[i * cb + j] += v * M[r * cb + j];
    }
  const double top = symmetricEigenvalues(mtm, cb)[cb - 1];
  const double sigma = std::isnan(top) ? top : std::sqrt(std::max(0.0, top));
  return -sigma - 1 / (sigma + 1e-6) + 2;
}

double keptValue(KeepReduce mode, const float* y, const Node& n, int S) {
  if (mode == KeepReduce::Meco) return n.rank == 3 ? mecoTerm(y, static_cast<size_t>(n.c), static_cast<size_t>(n.h) * n.w) : kNaN;
  if (mode == KeepReduce::MecoRows) {
    if (n.rank != 3) return kNaN;
    // sample 0's channels-last (H, W, C) as H rows; each row's values in (c, w) order, the same in every row
    const size_t C = static_cast<size_t>(n.c), H = static_cast<size_t>(n.h), W = static_cast<size_t>(n.w);
    std::vector<float> rows(C * H * W);
    for (size_t c = 0; c < C; ++c)
      for (size_t h = 0; h < H; ++h)
        for (size_t w = 0; w < W; ++w) rows[(h * C + c) * W + w] = y[(c * H + h) * W + w];
    return mecoTerm(rows.data(), H, C * W);
  }
  return featureEntropy(y, S, n);
}

}  // namespace swapnas
