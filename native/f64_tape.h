#pragma once
// Internal to the float64 pass: its tape (class Pass) and the index helpers its two halves share. f64_pass.cpp
// records the forward tape and runs the backward pass over it; f64_hvp.cpp runs the R-operator (the Hessian-vector
// product) over the same tape, so that it reads the activations, BN records, argmaxes and cotangents the pass already
// made instead of recomputing them. Nothing outside those two files includes this.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backward.h"
#include "common.h"
#include "f64_conv.h"
#include "f64_pass.h"
#include "ir.h"

namespace swapnas::f64 {

using Vec = std::vector<double>;

// The linear layer's VJP in the reference's loop (linearBackward): dx += w * dy when dx is given, dw += x * dy when
// dw is given, per sample, output and input feature (each element's sum in that order). The backward pass and the
// R-operator both run it.
inline void linearVjp(const Node& n, const Vec& dy, int S, const double* w, const double* x, double* dx, double* dw) {
  const size_t fin = static_cast<size_t>(n.fin);
  for (int s = 0; s < S; ++s)
    for (int o = 0; o < n.fout; ++o) {
      const double d = dy[static_cast<size_t>(s) * n.fout + o];
      for (size_t k = 0; k < fin; ++k) {
        if (dx) dx[s * fin + k] += w[o * fin + k] * d;
        if (dw) dw[o * fin + k] += x[s * fin + k] * d;
      }
    }
}

// y = W x (+ bias when given: each sum starts at it, as the reference's linearInto) for S flat samples.
inline Vec linearApply(const Node& n, const double* w, const double* bias, const double* x, int S) {
  Vec y(static_cast<size_t>(S) * n.fout);
  for (int s = 0; s < S; ++s)
    for (int o = 0; o < n.fout; ++o) {
      double sum = bias ? bias[o] : 0.0;
      for (int k = 0; k < n.fin; ++k) sum += w[static_cast<size_t>(o) * n.fin + k] * x[static_cast<size_t>(s) * n.fin + k];
      y[static_cast<size_t>(s) * n.fout + o] = sum;
    }
  return y;
}

// What a BN node keeps for its backward pass.
struct BnRecord {
  Vec xhat, inv;
};

// Visits every (output, input) pair of a pooling window inside the input (the reference's forEachPoolTap):
// tap(o, i, first) per pair, done(o, count, padded) after each output (padded: its window's size within the padded
// input, the count_include_pad divisor).
template <typename Tap, typename Done>
void forEachPoolTap(const Node& n, const Node& in, int S, Tap tap, Done done) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w;
  const auto padded = [&](int oh, int ow) {
    return paddedExtent(oh, n.k, n.stride, n.pad, H) * paddedExtent(ow, n.k, n.stride, n.pad, W);
  };
  for (size_t sc = 0; sc < static_cast<size_t>(S) * in.c; ++sc)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        const size_t o = (sc * OH + oh) * OW + ow;
        int cnt = 0;
        for (int kh = 0; kh < n.k; ++kh) {
          const int ih = oh * n.stride - n.pad + kh;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < n.k; ++kw) {
            const int iw = ow * n.stride - n.pad + kw;
            if (iw < 0 || iw >= W) continue;
            tap(o, (sc * H + ih) * W + iw, cnt == 0);
            ++cnt;
          }
        }
        done(o, cnt, padded(oh, ow));
      }
}

// Index in the input of element j (per sample) of a slice's output (the reference's sliceSource).
inline size_t sliceSource(const Node& n, const Node& in, size_t j) {
  const size_t hw = static_cast<size_t>(n.h) * n.w;
  const size_t c = j / hw, h = (j / n.w) % n.h, w = j % n.w;
  return ((n.c0 + c) * in.h + n.h0 + h) * in.w + n.w0 + w;
}

// The forward tape and the backward pass over it (f64_pass.cpp); with Float64Request::hvp, the R-operator over both
// (f64_hvp.cpp).
class Pass {
 public:
  Pass(const Net& net, const double* params, int S, const Float64Request& req, const RowSplit& split, const CancelToken* cancel);

  void forward(const float* input);
  void backward(Float64Result& r);
  // <W, (H g)_W> per conv/linear node into r.weightHv, after backward() (g: r.params, the weight gradient)
  void hessianVector(Float64Result& r);
  size_t peakBytes() const { return peak_ * sizeof(double); }
  const Vec& output() const { return out_[static_cast<size_t>(net_.output)]; }

 private:
  void evalNode(size_t i, const float* input, Vec& y);
  // The ops that only move, pick or average values (concat, slice, flatten, shuffle, upsample, the pools' averages):
  // node i's output from its inputs' values xs. Linear, with nothing learnt, so the R-operator runs them on tangents
  // too.
  void routeForward(size_t i, const std::vector<const Vec*>& xs, Vec& y) const;
  // Cotangents of node i's inputs from its output cotangent dy (grad_ entries of inputs that carry flow).
  void vjp(size_t i, const Vec& dy, double* pgrad);
  void accumulate(int j, const Vec& dx);
  void accumulate(int j, Vec&& dx);
  void saliency(size_t i, const Vec& dy, double* out) const;
  const double* param(size_t i) const { return params_ + offsets_[i]; }
  bool flows(int j) const { return flow_[static_cast<size_t>(j)] != 0; }
  void hold(const Vec& v) {
    live_ += v.size();
    peak_ = std::max(peak_, live_);
  }
  void drop(Vec& v) {
    live_ -= v.size();
    Vec().swap(v);
  }

  // The R-operator (f64_hvp.cpp). V: the direction on the weights, in the packed layout (the weight gradient).
  std::vector<Vec> tangentForward(const double* V);
  Vec tangentOf(size_t i, const std::vector<Vec>& rx, const double* V) const;
  Vec xhatTangent(size_t i, const Vec& rx) const;
  Vec bnTrainCotangentTangent(size_t i, const Vec& rx) const;
  void cotangentTangent(size_t i, const std::vector<Vec>& rx, const double* V, Float64Result& r);
  void weightedCotangentTangent(size_t i, const std::vector<Vec>& rx, const double* V, Float64Result& r);

  const Net& net_;
  const int S_;
  const BnMode bn_;
  const bool wantParams_, wantInput_, wantSaliency_, wantRowSaliency_, wantHvp_;
  const std::vector<int32_t>* const tied_;
  const int32_t* const labels_;
  const RowSplit& split_;
  const CancelToken* cancel_;
  const std::vector<size_t> offsets_;
  const double* const params_;
  std::vector<Vec> out_, grad_;
  // wantHvp_: the primal cotangent of every conv/linear/bn/sigmoid/mul/act output, which the R-operator reads
  std::vector<Vec> dyKeep_;
  std::vector<BnRecord> bn_records_;
  std::vector<std::vector<size_t>> argmax_;
  std::vector<uint8_t> eval_, flow_;
  size_t live_ = 0, peak_ = 0;
};

}  // namespace swapnas::f64
