// GradExecutor::hessianVector: <W_l, (H g)_l> per conv/linear node, H the Hessian of the mean cross-entropy w.r.t. the
// conv/linear weights and g their gradient (GraSP's score is -sum of them), by forward mode over the reverse pass
// (Pearlmutter's R-operator). The forward and backward passes of run() have already been made (g in r.params, each
// conv/linear/BN node's cotangent kept in dyKeep_); this propagates the tangents Rx of the
// activations forward, then the tangents R(dy) of the cotangents backward, with the same GEMM kernels. Everything
// else is held fixed: biases and BN gamma/beta have tangent 0, ReLU masks and max-pool argmaxes do not move (their
// second derivative is 0). Only <W, R(dW)> is needed, not R(dW) itself. R(dW) = x * R dy + Rx * dy: the first term
// comes from the weight-gradient GEMM (double accumulation), the second by the adjoint identity
// <W, Rx * dy> = <conv(Rx, W), dy>, a dot product with the tangent the forward sweep computes anyway, so one of the two
// weight-gradient GEMMs per conv of an explicit H g is never run. (The same identity for the first term would read the
// float32 forward output and lost 1.3e-4 against the reference on a test network; the GEMM keeps it within 1e-4.) The
// float64 reference (explicit H g) is src/backends/reference/hvp.ts.
#include <cmath>
#include <cstring>

#include "backward.h"
#include "activations.h"
#include "ops.h"
#include "simd.h"

namespace swapnas {

namespace {

void addInto(float* dst, const float* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] += src[i];
}

// Per channel over samples and positions: sums of a, a*b (b may be null: then only the first). Per sample and channel
// eight double lanes (d8, simd.h: lane l takes i = l mod 8, the tail too), then the lanes in order, added to the
// channel's sum: a fixed order (the same values on every run, thread count and build), as vector adds instead of
// one chain of dependent adds.
struct ChannelSums {
  std::vector<double> s, sb;
  ChannelSums(const float* a, const float* b, int S, int C, size_t HW) : s(static_cast<size_t>(C), 0.0), sb(static_cast<size_t>(C), 0.0) {
    constexpr size_t L = 8;
    const size_t whole = HW - HW % L;
    for (int q = 0; q < S; ++q)
      for (int c = 0; c < C; ++c) {
        const float* x = a + (static_cast<size_t>(q) * C + c) * HW;
        const float* y = b ? b + (static_cast<size_t>(q) * C + c) * HW : nullptr;
        d8 t = {}, tb = {};
        for (size_t i = 0; i < whole; i += L) addWidened(t, x + i);
        if (y)
          for (size_t i = 0; i < whole; i += L) addProducts(tb, x + i, y + i);
        for (size_t r = whole; r < HW; ++r) {
          t[r % L] += x[r];
          if (y) tb[r % L] += static_cast<double>(x[r]) * y[r];
        }
        s[static_cast<size_t>(c)] += laneTotal(t);
        sb[static_cast<size_t>(c)] += laneTotal(tb);
      }
  }
};

// <a, b> over n floats, in double (eight lanes, d8 in simd.h, the tail too: a fixed order).
double dot(const float* a, const float* b, size_t n) {
  constexpr size_t L = 8;
  d8 t = {};
  size_t i = 0;
  for (; i + L <= n; i += L) addProducts(t, a + i, b + i);
  for (; i < n; ++i) t[i % L] += static_cast<double>(a[i]) * b[i];
  return laneTotal(t);
}

}  // namespace

void GradExecutor::hessianVector(const Net& net, const float* params, int S, const GradRequest& req, GradResult& r, const CancelToken* cancel) {
  const size_t N = net.nodes.size();
  // the direction: the weight gradient, summed over the uses of a shared weight (biases, BN entries are never read)
  const std::vector<float> tiedV =
      req.tiedWeights && !req.tiedWeights->empty() ? tiedDirection(r.params.data(), offsets_, net, *req.tiedWeights) : std::vector<float>();
  const float* V = tiedV.empty() ? r.params.data() : tiedV.data();
  std::vector<uint8_t> eval(N, 0), needR(N, 0);
  eval[static_cast<size_t>(net.output)] = 1;
  for (size_t i = N; i-- > 0;)
    if (eval[i])
      for (int j : net.nodes[i].inputs) eval[static_cast<size_t>(j)] = 1;
  // Tangents read again by the backward sweep: inputs of train-mode BN (the conv/linear terms that read Rx are taken
  // in the forward sweep).
  for (const Node& n : net.nodes) {
    if (n.op == Op::Bn && bnModeOf(n, req.bn) == BnMode::Train) needR[static_cast<size_t>(n.inputs[0])] = 1;
    // a logistic sigmoid's second derivative reads its own output's tangent; a product, both inputs'
    if (n.op == Op::Sigmoid && !n.hard) needR[static_cast<size_t>(&n - net.nodes.data())] = 1;
    if (n.op == Op::Mul)
      for (int j : n.inputs) needR[static_cast<size_t>(j)] = 1;
    // a smooth activation's, its input's
    if (n.op == Op::Act) needR[static_cast<size_t>(n.inputs[0])] = 1;
  }
  std::vector<int> lastUse(N, -1);
  for (size_t i = 0; i < N; ++i)
    if (eval[i])
      for (int j : net.nodes[i].inputs) lastUse[static_cast<size_t>(j)] = static_cast<int>(i);
  std::vector<float*> rx(N, nullptr);
  r.weightHv.assign(N, 0.0);

  // ---- tangents of the activations, input to output (null: identically 0)
  for (size_t i = 1; i < N; ++i) {
    if (!eval[i]) continue;
    if (cancel && cancel->requested()) throw Cancelled{};
    const Node& n = net.nodes[i];
    const int j0 = n.inputs.empty() ? -1 : n.inputs[0];
    const Node* in = j0 < 0 ? nullptr : &net.nodes[static_cast<size_t>(j0)];
    const float* rin = j0 < 0 ? nullptr : rx[static_cast<size_t>(j0)];
    const float* x = j0 < 0 ? nullptr : out_[static_cast<size_t>(j0)];
    const size_t count = static_cast<size_t>(S) * n.numel();
    const size_t HW = static_cast<size_t>(n.h) * n.w;
    const float* p = params + offsets_[i];
    float* y = nullptr;
    switch (n.op) {
      case Op::GroupNorm:
        fail("a GroupNorm has no Hessian-vector form on the native engine (the reference engine has)");
      case Op::Input:
      case Op::Zero:
        break;
      case Op::Relu:
        if (rin) {
          y = acquire(count, false);
          const float* o = out_[i];
          reluCotangents(n, o, rin, y, count);
        }
        break;
      case Op::Add:
        for (int j : n.inputs)
          if (rx[static_cast<size_t>(j)]) {
            if (!y) y = acquire(count, true);
            addInto(y, rx[static_cast<size_t>(j)], count);
          }
        break;
      case Op::Concat: {
        bool any = false;
        for (int j : n.inputs) any = any || rx[static_cast<size_t>(j)];
        if (!any) break;
        y = acquire(count, false);
        size_t off = 0;
        for (int j : n.inputs) {
          const size_t per = net.nodes[static_cast<size_t>(j)].numel();
          const float* t = rx[static_cast<size_t>(j)];
          for (int s = 0; s < S; ++s) {
            float* dst = y + static_cast<size_t>(s) * n.numel() + off;
            if (t)
              std::memcpy(dst, t + static_cast<size_t>(s) * per, per * sizeof(float));
            else
              std::memset(dst, 0, per * sizeof(float));
          }
          off += per;
        }
        break;
      }
      case Op::Bn: {
        if (!rin) break;
        y = acquire(count, false);
        if (req.bn == BnMode::Identity) {
          std::memcpy(y, rin, count * sizeof(float));
          break;
        }
        // R(x-hat) = inv * (Rx - mean(Rx) - x-hat * mean(x-hat * Rx)) in train mode (inv * Rx in eval); R(y) = gamma R(x-hat)
        const bool train = bnModeOf(n, req.bn) == BnMode::Train;
        const ChannelSums m(rin, xhat_[i], S, n.c, HW);
        const double cnt = static_cast<double>(S) * HW;
        for (int s = 0; s < S; ++s)
          for (int c = 0; c < n.c; ++c) {
            const size_t o = (static_cast<size_t>(s) * n.c + c) * HW;
            const double a = static_cast<double>(p[c]) * inv_[i][static_cast<size_t>(c)];
            const double mr = train ? m.s[static_cast<size_t>(c)] / cnt : 0, mxr = train ? m.sb[static_cast<size_t>(c)] / cnt : 0;
            for (size_t e = 0; e < HW; ++e) y[o + e] = static_cast<float>(a * (rin[o + e] - mr - xhat_[i][o + e] * mxr));
          }
        break;
      }
      case Op::AvgPool:
        if (rin) {
          y = acquire(count, false);
          avgPool(n, *in, rin, y, S);
        }
        break;
      case Op::MaxPool:
        if (rin) {
          y = acquire(count, false);
          const size_t plane = static_cast<size_t>(n.h) * n.w, inPlane = static_cast<size_t>(in->h) * in->w;
          const int32_t* am = argmax_[i].data();
          for (size_t pl = 0; pl < count / plane; ++pl) {
            const float* src = rin + pl * inPlane;
            for (size_t o = pl * plane; o < (pl + 1) * plane; ++o) y[o] = am[o] >= 0 ? src[am[o]] : 0.0f;
          }
        }
        break;
      case Op::Conv: {
        // R(y) = conv(Rx, W) + conv(x, V)
        y = acquire(count, false);
        float* t = acquire(count, false);
        const size_t inPer = in->numel(), outPer = n.numel();
        split(S, 1, [&](int q, int lo, int hi) { nodeConvForward(n, *in, x + lo * inPer, y + lo * outPer, hi - lo, V + offsets_[i], scratch(q)); },
              convMacs(n, S));
        if (rin) {
          split(S, 1, [&](int q, int lo, int hi) { nodeConvForward(n, *in, rin + lo * inPer, t + lo * outPer, hi - lo, p, scratch(q)); },
                convMacs(n, S));
          if (dyKeep_[i]) r.weightHv[i] += dot(t, dyKeep_[i], count);  // <conv(Rx, W), dy>
          addInto(y, t, count);
        }
        release(t);
        break;
      }
      case Op::Slice:
        if (rin) {
          y = acquire(count, false);
          sliceWindow(n, *in, rin, y, S);
        }
        break;
      case Op::Gap:
        if (rin) {
          y = acquire(count, false);
          globalAvgPool(rin, y, S, in->c, static_cast<size_t>(in->h) * in->w);
        }
        break;
      case Op::Sigmoid:
        if (rin) {
          y = acquire(count, false);
          const float* o = out_[i];
          for (size_t e = 0; e < count; ++e) y[e] = rin[e] * sigmoidSlope(n, o[e]);
        }
        break;
      case Op::Softmax:
        fail("a softmax has no Hessian-vector form on the native engine (the reference engine has)");
      case Op::Act:
        if (rin) {
          y = acquire(count, false);
          const float* xin = out_[static_cast<size_t>(j0)];
          for (size_t e = 0; e < count; ++e) y[e] = rin[e] * actSlope(n, xin[e], e);
        }
        break;
      case Op::Mul: {
        // R(a g) = Ra g + a Rg (g broadcast over planes)
        const int j1 = n.inputs[1];
        const float* ra = rx[static_cast<size_t>(j0)];
        const float* rgate = rx[static_cast<size_t>(j1)];
        const float* a = out_[static_cast<size_t>(j0)];
        const float* gate = out_[static_cast<size_t>(j1)];
        const size_t plane = n.numel() / net.nodes[static_cast<size_t>(j1)].numel();
        if (ra || rgate) {
          y = acquire(count, true);
          for (size_t e = 0; e < count; ++e)
            y[e] = (ra ? ra[e] * gate[e / plane] : 0.0f) + (rgate ? a[e] * rgate[e / plane] : 0.0f);
        }
        break;
      }
      case Op::Shuffle:
        if (rin) {
          y = acquire(count, false);
          channelShuffle(n, rin, y, S, false);
        }
        break;
      case Op::Upsample:
        if (rin) {
          y = acquire(count, false);
          upsampleMap(n, rin, y, S, false);
        }
        break;
      case Op::Expand:
        if (rin) {
          y = acquire(count, false);
          expandMap(*in, n, rin, y, S, false);
        }
        break;
      case Op::ChanPool:
        // linear given the forward's argmax: the tangent's mean, or its value at the maximum's channel
        if (rin) {
          y = acquire(count, false);
          if (n.chanMax)
            for (size_t o = 0; o < count; ++o) y[o] = rin[static_cast<size_t>(argmax_[i][o])];
          else
            chanPoolMap(*in, false, rin, y, S, static_cast<int32_t*>(nullptr));
        }
        break;
      case Op::Flatten:
      case Op::View:
        if (rin) {
          y = acquire(count, false);
          std::memcpy(y, rin, count * sizeof(float));
        }
        break;
      case Op::Linear: {
        y = acquire(count, false);
        linearForward(x, V + offsets_[i], nullptr, y, S, n.fin, n.fout);
        if (rin) {
          float* t = acquire(count, false);
          linearForward(rin, p, nullptr, t, S, n.fin, n.fout);
          if (dyKeep_[i]) r.weightHv[i] += dot(t, dyKeep_[i], count);  // <W Rx, dy>
          addInto(y, t, count);
          release(t);
        }
        break;
      }
    }
    rx[i] = y;
    for (int j : n.inputs)
      if (lastUse[static_cast<size_t>(j)] == static_cast<int>(i) && !needR[static_cast<size_t>(j)]) release(rx[static_cast<size_t>(j)]);
  }

  // ---- R(dL/dlogits) of the mean cross-entropy: p * (Rz - <p, Rz>) / S per sample
  const size_t out = static_cast<size_t>(net.output);
  const size_t K = net.nodes[out].numel();
  std::vector<float*> rg(N, nullptr);
  if (rx[out]) {
    rg[out] = acquire(static_cast<size_t>(S) * K, false);
    std::vector<double> prob(K);
    for (int s = 0; s < S; ++s) {
      const float* f = r.logits.data() + static_cast<size_t>(s) * K;
      const float* rz = rx[out] + static_cast<size_t>(s) * K;
      double m = -INFINITY, z = 0, dot = 0;
      for (size_t k = 0; k < K; ++k) m = std::max(m, static_cast<double>(f[k]));
      for (size_t k = 0; k < K; ++k) z += prob[k] = std::exp(f[k] - m);
      for (size_t k = 0; k < K; ++k) dot += (prob[k] /= z) * rz[k];
      for (size_t k = 0; k < K; ++k) rg[out][static_cast<size_t>(s) * K + k] = static_cast<float>(prob[k] * (rz[k] - dot) / S);
    }
  }
  // Adds `t` (S x numel of input j) to rg[j], taking ownership.
  auto give = [&](int j, float*& t) {
    float*& g = rg[static_cast<size_t>(j)];
    if (j == 0 || !eval[static_cast<size_t>(j)]) {
      release(t);
    } else if (!g) {
      g = t;
      t = nullptr;
    } else {
      addInto(g, t, static_cast<size_t>(S) * net.nodes[static_cast<size_t>(j)].numel());
      release(t);
    }
  };

  // ---- tangents of the cotangents, output to input
  for (size_t i = out + 1; i-- > 1;) {
    if (!eval[i]) continue;
    if (cancel && cancel->requested()) throw Cancelled{};
    const Node& n = net.nodes[i];
    float* d = rg[i];
    rg[i] = nullptr;
    const int j0 = n.inputs.empty() ? -1 : n.inputs[0];
    const Node* in = j0 < 0 ? nullptr : &net.nodes[static_cast<size_t>(j0)];
    const float* rin = j0 < 0 ? nullptr : rx[static_cast<size_t>(j0)];
    const float* x = j0 < 0 ? nullptr : out_[static_cast<size_t>(j0)];
    const float* g = dyKeep_[i];  // primal cotangent (conv/linear/BN; null: none reached this node)
    const size_t count = static_cast<size_t>(S) * n.numel();
    const size_t HW = static_cast<size_t>(n.h) * n.w;
    const float* p = params + offsets_[i];
    const size_t inCount = in ? static_cast<size_t>(S) * in->numel() : 0;
    switch (n.op) {
      case Op::GroupNorm:
        fail("a GroupNorm has no Hessian-vector form on the native engine (the reference engine has)");
      case Op::Input:
      case Op::Zero:
        break;
      case Op::Relu:
        if (d) {
          const float* o = out_[i];
          reluCotangents(n, o, d, d, count);
          give(j0, d);
        }
        break;
      case Op::Add:
        if (d) {
          for (size_t k = 1; k < n.inputs.size(); ++k) {
            float* c = acquire(count, false);
            std::memcpy(c, d, count * sizeof(float));
            give(n.inputs[k], c);
          }
          give(j0, d);
        }
        break;
      case Op::Concat:
        if (d) {
          size_t off = 0;
          for (int j : n.inputs) {
            const size_t per = net.nodes[static_cast<size_t>(j)].numel();
            float* part = acquire(static_cast<size_t>(S) * per, false);
            for (int s = 0; s < S; ++s) std::memcpy(part + s * per, d + s * n.numel() + off, per * sizeof(float));
            off += per;
            give(j, part);
          }
        }
        break;
      case Op::Bn: {
        if (req.bn == BnMode::Identity) {
          if (d) give(j0, d);
          break;
        }
        if (bnModeOf(n, req.bn) == BnMode::Eval) {
          if (d) {
            float* t = acquire(count, false);
            bnBackward(false, d, xhat_[i], inv_[i].data(), S, n.c, HW, p, t, nullptr, nullptr, 0, n.c);
            give(j0, t);
          }
          break;
        }
        if (!g || (!d && !rin)) break;
        // Train mode: dx = a h, a = gamma inv, h = g - mean(g) - x-hat mean(g x-hat). With R(x-hat) as in the forward
        // sweep and R(inv) = -inv^2 mean(x-hat Rx): R(dx) = R(a) h + a (Rg - mean(Rg) - R(x-hat) mean(g x-hat)
        // - x-hat mean(Rg x-hat + g R(x-hat))).
        const float* xh = xhat_[i];
        const double cnt = static_cast<double>(S) * HW;
        const ChannelSums sg(g, xh, S, n.c, HW);
        const ChannelSums sr = rin ? ChannelSums(rin, xh, S, n.c, HW) : ChannelSums(g, nullptr, 0, n.c, HW);
        const ChannelSums sgr = rin ? ChannelSums(g, rin, S, n.c, HW) : ChannelSums(g, nullptr, 0, n.c, HW);
        const ChannelSums sd = d ? ChannelSums(d, xh, S, n.c, HW) : ChannelSums(g, nullptr, 0, n.c, HW);
        float* t = acquire(count, false);
        for (int c = 0; c < n.c; ++c) {
          const size_t cc = static_cast<size_t>(c);
          const double inv = inv_[i][cc], a = static_cast<double>(p[c]) * inv;
          const double mg = sg.s[cc] / cnt, mgx = sg.sb[cc] / cnt;
          const double mr = sr.s[cc] / cnt, mxr = sr.sb[cc] / cnt;  // mean(Rx), mean(x-hat Rx)
          const double mrg = sd.s[cc] / cnt, mrgx = sd.sb[cc] / cnt;
          // mean(g R(x-hat)) = inv (mean(g Rx) - mean(g) mean(Rx) - mean(g x-hat) mean(x-hat Rx))
          const double mgrx = inv * (sgr.sb[cc] / cnt - mg * mr - mgx * mxr);
          for (int s = 0; s < S; ++s) {
            const size_t o = (static_cast<size_t>(s) * n.c + c) * HW;
            for (size_t e = 0; e < HW; ++e) {
              const double xv = xh[o + e];
              const double rxh = rin ? inv * (rin[o + e] - mr - xv * mxr) : 0.0;
              const double h = g[o + e] - mg - xv * mgx;
              const double rh = (d ? d[o + e] : 0.0) - mrg - rxh * mgx - xv * (mrgx + mgrx);
              t[o + e] = static_cast<float>(-a * inv * mxr * h + a * rh);
            }
          }
        }
        release(d);
        give(j0, t);
        break;
      }
      case Op::AvgPool:
      case Op::MaxPool:
        if (d) {
          float* t = acquire(inCount, false);
          poolBackward(n, *in, d, n.op == Op::MaxPool ? argmax_[i].data() : nullptr, t, S);
          give(j0, t);
        }
        break;
      case Op::Conv: {
        // R(dx) = conv^T(R dy, W) + conv^T(dy, V); <W, R(dW)> gets <W, x * R dy> (<conv(Rx, W), dy> came in the forward sweep)
        const size_t inPer = in->numel(), outPer = n.numel();
        const size_t macs = convMacs(n, S);
        if (d) {
          const size_t wCount = static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps();
          const bool depthwise = n.cin == n.groups && n.cout == n.groups;
          std::vector<float> tw(wCount);
          split(depthwise ? 1 : weightRows(n), 4, [&](int q, int lo, int hi) { nodeConvBackwardWeights(n, *in, x, d, S, tw.data(), scratch(q), lo, hi); }, macs);
          r.weightHv[i] += dot(p, tw.data(), wCount);
        }
        if (j0 > 0 && (d || g)) {
          float* t = acquire(inCount, false);
          float* u = acquire(inCount, false);
          auto data = [&](const float* dy, const float* w, float* dst) {
            split(S, 1, [&](int q, int lo, int hi) { nodeConvBackwardData(n, *in, dy + lo * outPer, dst + lo * inPer, hi - lo, w, scratch(q)); }, macs);
          };
          if (d) data(d, p, t);
          if (g) {
            data(g, V + offsets_[i], u);
            if (d)
              addInto(t, u, inCount);
            else
              std::swap(t, u);
          }
          release(u);
          give(j0, t);
        }
        release(d);
        break;
      }
      case Op::Slice:
        if (d) {
          float* t = acquire(inCount, false);
          sliceBackward(n, *in, d, t, S);
          give(j0, t);
        }
        break;
      case Op::Gap:
        if (d) {
          float* t = acquire(inCount, false);
          gapBackward(d, t, S, in->c, static_cast<size_t>(in->h) * in->w);
          give(j0, t);
        }
        break;
      case Op::Flatten:
      case Op::View:
        if (d) give(j0, d);
        break;
      case Op::Sigmoid: {
        // R(dx) = R(dy) s' + dy s'' Rx, s'' Rx = (1 - 2y) Ry for the logistic (0 for the hard one)
        const float* o = out_[i];
        const float* ry = n.hard ? nullptr : rx[i];
        if (!d && !(ry && g)) break;
        float* t = acquire(inCount, false);
        for (size_t e = 0; e < count; ++e)
          t[e] = (d ? d[e] * sigmoidSlope(n, o[e]) : 0.0f) + (ry && g ? g[e] * (1.0f - 2.0f * o[e]) * ry[e] : 0.0f);
        give(j0, t);
        break;
      }
      case Op::Softmax:
        fail("a softmax has no Hessian-vector form on the native engine (the reference engine has)");
      case Op::Act: {
        // R(dx) = R(dy) f'(x) + dy f''(x) Rx
        const float* xin = out_[static_cast<size_t>(j0)];
        const float* rin = rx[static_cast<size_t>(j0)];
        if (!d && !(rin && g)) break;
        float* t = acquire(inCount, false);
        for (size_t e = 0; e < count; ++e)
          t[e] = (d ? d[e] * actSlope(n, xin[e], e) : 0.0f) + (rin && g ? g[e] * actCurve(n, xin[e], e) * rin[e] : 0.0f);
        give(j0, t);
        break;
      }
      case Op::Mul: {
        // da = dy g, dgate = sum over each plane of dy a: R(da) = R(dy) g + dy Rg, R(dgate) = sum R(dy) a + dy Ra
        const int j1 = n.inputs[1];
        const float* a = out_[static_cast<size_t>(j0)];
        const float* gate = out_[static_cast<size_t>(j1)];
        const float* ra = rx[static_cast<size_t>(j0)];
        const float* rgate = rx[static_cast<size_t>(j1)];
        const size_t gCount = static_cast<size_t>(S) * net.nodes[static_cast<size_t>(j1)].numel(), plane = count / gCount;
        const bool second = g && (ra || rgate);
        if (!d && !second) break;
        float* ta = acquire(count, false);
        float* tg = acquire(gCount, false);
        for (size_t q = 0; q < gCount; ++q) {
          double acc = 0;
          for (size_t e = q * plane; e < (q + 1) * plane; ++e) {
            ta[e] = (d ? d[e] * gate[q] : 0.0f) + (g && rgate ? g[e] * rgate[q] : 0.0f);
            acc += (d ? static_cast<double>(d[e]) * a[e] : 0.0) + (g && ra ? static_cast<double>(g[e]) * ra[e] : 0.0);
          }
          tg[q] = static_cast<float>(acc);
        }
        give(j1, tg);
        give(j0, ta);
        break;
      }
      case Op::Shuffle:
        if (d) {
          float* t = acquire(inCount, false);
          channelShuffle(n, d, t, S, true);
          give(j0, t);
        }
        break;
      case Op::Upsample:
        if (d) {
          float* t = acquire(inCount, false);
          upsampleMap(n, d, t, S, true);
          give(j0, t);
        }
        break;
      case Op::Expand:
        if (d) {
          float* t = acquire(inCount, false);
          expandMap(*in, n, d, t, S, true);
          give(j0, t);
        }
        break;
      case Op::ChanPool:
        if (d) {
          float* t = acquire(inCount, true);
          chanPoolBack(*in, d, t, S, n.chanMax ? argmax_[i].data() : nullptr);
          give(j0, t);
        }
        break;
      case Op::Linear: {
        // as the conv: R(dx) = W^T R dy + V^T dy; <W, R(dW)> gets <W, R dy x^T> (<W Rx, dy> came in the forward sweep)
        if (d) {
          std::vector<float> tw(static_cast<size_t>(n.fin) * n.fout);
          linearBackward(x, nullptr, d, nullptr, tw.data(), nullptr, S, n.fin, n.fout);
          r.weightHv[i] += dot(p, tw.data(), tw.size());
        }
        float* t = j0 > 0 && (d || g) ? acquire(inCount, true) : nullptr;
        float* u = t ? acquire(inCount, false) : nullptr;
        if (t && d) {
          linearBackward(nullptr, p, d, u, nullptr, nullptr, S, n.fin, n.fout);
          addInto(t, u, inCount);
        }
        if (t && g) {
          linearBackward(nullptr, V + offsets_[i], g, u, nullptr, nullptr, S, n.fin, n.fout);
          addInto(t, u, inCount);
        }
        release(u);
        release(d);
        if (t) give(j0, t);
        break;
      }
    }
    release(d);  // null when handed on
  }
  for (float*& t : rx) release(t);
  for (float*& t : rg) release(t);
  for (float*& t : dyKeep_) release(t);
}

}  // namespace swapnas
