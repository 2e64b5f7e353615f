// The float64 pass's Hessian-vector product (Float64Request::hvp): <W_l, (H g)_l> per conv/linear node, H the Hessian
// of the mean cross-entropy w.r.t. the conv/linear weights and g their gradient (GraSP). It ports the float64
// reference, src/backends/reference/hvp.ts (lossHessianVector: Pearlmutter's R-operator, i.e. forward mode over the
// reverse pass), loop for loop and in its order of operations, so that its values are the reference's and not merely
// close to them: tangentForward propagates the tangents Rx of the activations for the direction V = g, then
// tangentBackward the tangents R(dy) of the cotangents from softmaxTangent's seed down, and R(dW) = H V at each weight.
//
// It runs over the pass's own tape (f64_tape.h) rather than a second forward pass: the activations, BN records and
// argmaxes the backward pass kept, and the primal cotangents of conv/linear/bn/sigmoid/mul/act outputs, which
// Pass::backward keeps for it when asked (lossHessianVector's `nodes: needDy`). The ops that are linear with a fixed
// tape (ReLU masks, max-pool argmaxes, eval / identity BN, adds, concats, slices, pools, shuffles) map tangents and
// R-cotangents exactly as they map values and cotangents, so they go through the pass's own routeForward and vjp.
//
// An empty Vec stands for the reference's undefined tensor (identically 0, not materialised): it decides, as there,
// which terms exist, e.g. a tangent is defined only downstream of a conv/linear node. Compiled without FMA
// contraction (SWAPNAS_EXACT_SOURCES): a fused multiply-add would round once where the reference rounds twice.
#include <algorithm>
#include <cmath>
#include <limits>

#include "activations.h"
#include "f64_conv.h"
#include "f64_tape.h"

namespace swapnas::f64 {

namespace {

bool weighted(const Node& n) { return n.op == Op::Conv || n.op == Op::Linear; }

// The nodes whose primal cotangent the R-operator reads: a conv/linear's second VJP term, train-mode BN's batch
// statistics, the second derivatives of sigmoid and act, a product's cross terms.
bool readsCotangent(const Node& n) {
  return weighted(n) || n.op == Op::Bn || n.op == Op::Sigmoid || n.op == Op::Mul || n.op == Op::Act;
}

// a + b element by element, a's value first; an undefined (empty) side is 0, as the reference's plus (which returns
// the other side itself, so no 0 is ever added).
Vec plus(Vec&& a, Vec&& b) {
  if (a.empty()) return std::move(b);
  if (b.empty()) return std::move(a);
  for (size_t k = 0; k < a.size(); ++k) a[k] += b[k];
  return std::move(a);
}

// Per channel, the mean over samples and positions of a (b null) or of a * b: per sample a sum over the positions,
// added into the channel's total, then divided by S * hw (channelMean in hvp.ts, in that order).
Vec channelMean(const Vec& a, const Vec* b, int S, int C, size_t hw) {
  Vec out(static_cast<size_t>(C), 0.0);
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < C; ++c) {
      const size_t o = (static_cast<size_t>(s) * C + c) * hw;
      double acc = 0;
      for (size_t i = 0; i < hw; ++i) acc += b ? a[o + i] * (*b)[o + i] : a[o + i];
      out[static_cast<size_t>(c)] += acc;
    }
  const double N = static_cast<double>(static_cast<size_t>(S) * hw);
  for (double& t : out) t = t / N;
  return out;
}

// R(dL/dz) of the mean cross-entropy: p (Rz - <p, Rz>) / S per sample, p = softmax(z) from max-shifted exponentials
// (softmaxTangent in hvp.ts: p is recomputed as e / sum for each use, as there). The labels drop out: the one-hot
// term of dL/dz does not move.
Vec softmaxTangent(const Vec& z, const Vec& rz, int S) {
  const size_t K = z.size() / static_cast<size_t>(S);
  Vec out(z.size());
  for (int b = 0; b < S; ++b) {
    const size_t o = static_cast<size_t>(b) * K;
    double m = -std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < K; ++k) m = std::max(m, z[o + k]);
    double sum = 0;
    for (size_t k = 0; k < K; ++k) sum += std::exp(z[o + k] - m);
    double dot = 0;
    for (size_t k = 0; k < K; ++k) dot += (std::exp(z[o + k] - m) / sum) * rz[o + k];
    for (size_t k = 0; k < K; ++k) out[o + k] = ((std::exp(z[o + k] - m) / sum) * (rz[o + k] - dot)) / S;
  }
  return out;
}

}  // namespace

void Pass::hessianVector(Float64Result& r) {
  const size_t N = net_.nodes.size(), out = static_cast<size_t>(net_.output);
  r.weightHv.assign(N, 0.0);
  // a listed node no primal cotangent reached has dy = 0 (the reference's backward returns zeros for it)
  for (size_t i = 0; i < N; ++i)
    if (eval_[i] && readsCotangent(net_.nodes[i]) && dyKeep_[i].empty()) {
      dyKeep_[i].assign(static_cast<size_t>(S_) * net_.nodes[i].numel(), 0.0);
      hold(dyKeep_[i]);
    }
  // the direction: the weight gradient, summed over the uses of a shared weight (its bias and BN entries are never read)
  const Vec tiedV = tied_ && !tied_->empty() ? tiedDirection(r.params.data(), offsets_, net_, *tied_) : Vec();
  const double* V = tiedV.empty() ? r.params.data() : tiedV.data();
  std::vector<Vec> rx = tangentForward(V);
  // R-cotangents flow only through nodes that are, or depend on, a conv/linear node: below the first of them, nothing
  // they carry can reach a weight. The pass's vjp and accumulate read this flow.
  flow_.assign(N, 0);
  for (size_t i = 0; i < N; ++i) {
    const Node& n = net_.nodes[i];
    flow_[i] = eval_[i] && weighted(n);
    for (int j : n.inputs) flow_[i] |= eval_[i] && flow_[static_cast<size_t>(j)];
  }
  grad_.assign(N, Vec());
  if (flow_[out]) {
    grad_[out] = softmaxTangent(output(), rx[out].empty() ? Vec(output().size(), 0.0) : rx[out], S_);
    hold(grad_[out]);
  }
  for (size_t i = out + 1; i-- > 1;) {
    if (!flow_[i]) continue;
    if (cancel_ && cancel_->requested()) throw Cancelled{};
    cotangentTangent(i, rx, V, r);
    // node i's consumers come after it: nothing further down reads its tangent, R-cotangent or primal cotangent
    drop(grad_[i]);
    drop(rx[i]);
    drop(dyKeep_[i]);
  }
}

// The tangents of every evaluated node's output, in node order (tangentForward in hvp.ts). Kept to the backward
// sweep: those R(dx) reads (inputs of conv / linear / act / mul / BN, sigmoid outputs) and the output's; the rest go
// after their last reader.
std::vector<Vec> Pass::tangentForward(const double* V) {
  const size_t N = net_.nodes.size();
  std::vector<uint8_t> keep(N, 0);
  std::vector<int> lastUse(N, -1);
  keep[static_cast<size_t>(net_.output)] = 1;
  for (size_t i = 0; i < N; ++i) {
    const Node& n = net_.nodes[i];
    if (!eval_[i]) continue;
    if (n.op == Op::Sigmoid) keep[i] = 1;
    if (weighted(n) || n.op == Op::Act || n.op == Op::Bn) keep[static_cast<size_t>(n.inputs[0])] = 1;
    if (n.op == Op::Mul)
      for (int j : n.inputs) keep[static_cast<size_t>(j)] = 1;
    for (int j : n.inputs) lastUse[static_cast<size_t>(j)] = static_cast<int>(i);
  }
  std::vector<Vec> rx(N);
  for (size_t i = 1; i < N; ++i) {
    if (!eval_[i]) continue;
    if (cancel_ && cancel_->requested()) throw Cancelled{};
    rx[i] = tangentOf(i, rx, V);
    hold(rx[i]);
    for (int j : net_.nodes[i].inputs)
      if (lastUse[static_cast<size_t>(j)] == static_cast<int>(i) && !keep[static_cast<size_t>(j)]) drop(rx[static_cast<size_t>(j)]);
  }
  return rx;
}

// R of node i's output from its inputs' tangents (empty: undefined, so 0).
Vec Pass::tangentOf(size_t i, const std::vector<Vec>& rx, const double* V) const {
  const Node& n = net_.nodes[i];
  const size_t count = static_cast<size_t>(S_) * n.numel();
  static const Vec none;
  const int j0 = n.inputs.empty() ? -1 : n.inputs[0];
  const Vec& rin = j0 < 0 ? none : rx[static_cast<size_t>(j0)];
  Vec t;
  switch (n.op) {
    case Op::GroupNorm:
      fail("a GroupNorm has no Hessian-vector form on the native engine (the reference engine has)");
    case Op::Input:
    case Op::Zero:
      break;
    case Op::Relu:
      // the mask (and a leaky slope) of the primal output: a ReLU's tangent map is its cotangent map
      if (rin.empty()) break;
      t.resize(count);
      for (size_t k = 0; k < count; ++k) t[k] = reluCotangent(n, out_[i][k], rin[k]);
      break;
    case Op::Add:
      for (int j : n.inputs) {
        const Vec& u = rx[static_cast<size_t>(j)];
        if (u.empty()) continue;
        if (t.empty()) t = u;
        else
          for (size_t k = 0; k < count; ++k) t[k] += u[k];
      }
      break;
    case Op::Sigmoid:
      if (rin.empty()) break;
      t.resize(count);
      for (size_t k = 0; k < count; ++k) t[k] = rin[k] * sigmoidSlope(n, out_[i][k]);
      break;
    case Op::Softmax:
      fail("a softmax has no Hessian-vector form on the native engine (the reference engine has)");
    case Op::Act: {
      if (rin.empty()) break;
      const Vec& x = out_[static_cast<size_t>(j0)];
      t.resize(count);
      for (size_t k = 0; k < count; ++k) t[k] = rin[k] * actSlope(n, x[k], k);
      break;
    }
    case Op::Mul: {
      // R(a g) = Ra g + a Rg, g broadcast over each plane for a channel gate
      const size_t j1 = static_cast<size_t>(n.inputs[1]);
      const Vec &a = out_[static_cast<size_t>(j0)], &g = out_[j1], &rg = rx[j1];
      const size_t plane = a.size() / g.size();
      Vec u, w;
      if (!rin.empty()) {
        u.resize(count);
        for (size_t k = 0; k < count; ++k) u[k] = rin[k] * g[k / plane];
      }
      if (!rg.empty()) {
        w.resize(count);
        for (size_t k = 0; k < count; ++k) w[k] = a[k] * rg[k / plane];
      }
      t = plus(std::move(u), std::move(w));
      break;
    }
    case Op::Concat: {
      // undefined parts are zeros there, but only when some part is defined
      if (std::all_of(n.inputs.begin(), n.inputs.end(), [&](int j) { return rx[static_cast<size_t>(j)].empty(); })) break;
      std::vector<Vec> zeros(n.inputs.size());
      std::vector<const Vec*> xs;
      for (size_t q = 0; q < n.inputs.size(); ++q) {
        const size_t j = static_cast<size_t>(n.inputs[q]);
        if (rx[j].empty()) zeros[q].assign(static_cast<size_t>(S_) * net_.nodes[j].numel(), 0.0);
        xs.push_back(rx[j].empty() ? &zeros[q] : &rx[j]);
      }
      routeForward(i, xs, t);
      break;
    }
    case Op::AvgPool:
    case Op::Slice:
    case Op::Gap:
    case Op::Flatten:
    case Op::View:
    case Op::Shuffle:
    case Op::Upsample:
    case Op::Expand:
      if (!rin.empty()) routeForward(i, {&rin}, t);
      break;
    case Op::ChanPool:
      // linear given the forward's argmax: the tangent's mean, or its value at the maximum's channel
      if (rin.empty()) break;
      t.resize(count);
      if (n.chanMax)
        for (size_t o = 0; o < count; ++o) t[o] = rin[argmax_[i][o]];
      else
        chanPoolMap(net_.nodes[static_cast<size_t>(n.inputs[0])], false, rin.data(), t.data(), S_, static_cast<size_t*>(nullptr));
      break;
    case Op::MaxPool: {
      if (rin.empty()) break;
      const std::vector<size_t>& am = argmax_[i];
      t.resize(count);
      for (size_t o = 0; o < count; ++o) t[o] = am[o] != SIZE_MAX ? rin[am[o]] : 0.0;
      break;
    }
    case Op::Bn: {
      // gamma (and beta) hold still: R(y) = gamma R(x-hat); as identity, R(y) = Rx
      if (rin.empty()) break;
      if (bn_ == BnMode::Identity) {
        t = rin;
        break;
      }
      t = xhatTangent(i, rin);
      if (!n.affine) break;
      const size_t hw = static_cast<size_t>(n.h) * n.w;
      const double* gamma = param(i);
      for (size_t k = 0; k < count; ++k) t[k] *= gamma[(k / hw) % static_cast<size_t>(n.c)];
      break;
    }
    case Op::Conv: {
      // R conv(x, W) = conv(Rx, W) + conv(x, V), neither with the bias (it holds still)
      const Node& in = net_.nodes[static_cast<size_t>(j0)];
      Vec u, w(count);
      if (!rin.empty()) {
        u.resize(count);
        f64ConvForward(n, in, rin.data(), param(i), nullptr, S_, u.data(), split_);
      }
      f64ConvForward(n, in, out_[static_cast<size_t>(j0)].data(), V + offsets_[i], nullptr, S_, w.data(), split_);
      t = plus(std::move(u), std::move(w));
      break;
    }
    case Op::Linear: {
      Vec u;
      if (!rin.empty()) u = linearApply(n, param(i), nullptr, rin.data(), S_);
      t = plus(std::move(u), linearApply(n, V + offsets_[i], nullptr, out_[static_cast<size_t>(j0)].data(), S_));
      break;
    }
  }
  return t;
}

// R(x-hat) of BN node i for the input tangent rx: inv (Rx - mean(Rx) - x-hat mean(x-hat Rx)) per channel with batch
// statistics (they move with x), inv Rx with fixed ones (the subtracted means are then 0, as the reference writes it).
Vec Pass::xhatTangent(size_t i, const Vec& rx) const {
  const Node& n = net_.nodes[i];
  const BnRecord& rec = bn_records_[i];
  const size_t hw = static_cast<size_t>(n.h) * n.w;
  const bool train = bnModeOf(n, bn_) == BnMode::Train;
  const Vec m = train ? channelMean(rx, nullptr, S_, n.c, hw) : Vec(static_cast<size_t>(n.c), 0.0);
  const Vec mx = train ? channelMean(rec.xhat, &rx, S_, n.c, hw) : Vec(static_cast<size_t>(n.c), 0.0);
  Vec out(rx.size());
  for (size_t k = 0; k < rx.size(); ++k) {
    const size_t c = (k / hw) % static_cast<size_t>(n.c);
    out[k] = rec.inv[c] * (rx[k] - m[c] - rec.xhat[k] * mx[c]);
  }
  return out;
}

// R(dx) of a train-mode BN (bnTrainCotangentTangent in hvp.ts): with a = gamma inv and h = g - mean(g) - x-hat
// mean(g x-hat) (dx = a h), R(dx) = R(a) h + a (Rg - mean(Rg) - R(x-hat) mean(g x-hat) - x-hat mean(Rg x-hat +
// g R(x-hat))), R(a) = -a inv mean(x-hat Rx): the batch statistics' second-order terms. g: the primal cotangent, Rg:
// the R-cotangent arriving at node i, rx: the tangent of its input (either R may be undefined).
Vec Pass::bnTrainCotangentTangent(size_t i, const Vec& rx) const {
  const Node& n = net_.nodes[i];
  const BnRecord& rec = bn_records_[i];
  const Vec &g = dyKeep_[i], &rg = grad_[i];
  const int C = n.c;
  const size_t hw = static_cast<size_t>(n.h) * n.w;
  const Vec zeros(static_cast<size_t>(C), 0.0);
  const Vec rxh = rx.empty() ? Vec() : xhatTangent(i, rx);
  const Vec mg = channelMean(g, nullptr, S_, C, hw), mgx = channelMean(g, &rec.xhat, S_, C, hw);
  const Vec mrg = rg.empty() ? zeros : channelMean(rg, nullptr, S_, C, hw);
  const Vec mrgx = rg.empty() ? zeros : channelMean(rg, &rec.xhat, S_, C, hw);
  const Vec mgrx = rxh.empty() ? zeros : channelMean(g, &rxh, S_, C, hw);
  const Vec mxr = rx.empty() ? zeros : channelMean(rec.xhat, &rx, S_, C, hw);
  const double* gamma = param(i);
  Vec out(g.size());
  for (size_t k = 0; k < g.size(); ++k) {
    const size_t c = (k / hw) % static_cast<size_t>(C);
    const double a = (n.affine ? gamma[c] : 1.0) * rec.inv[c];
    const double h = g[k] - mg[c] - rec.xhat[k] * mgx[c];
    const double rh = (rg.empty() ? 0.0 : rg[k]) - mrg[c] - (rxh.empty() ? 0.0 : rxh[k]) * mgx[c] - rec.xhat[k] * (mrgx[c] + mgrx[c]);
    out[k] = -a * rec.inv[c] * mxr[c] * h + a * rh;
  }
  return out;
}

// Node i's R-cotangent (grad_[i], empty if none arrived) to its inputs, plus the terms its VJP's own dependence on
// the direction adds (tangentBackward in hvp.ts).
void Pass::cotangentTangent(size_t i, const std::vector<Vec>& rx, const double* V, Float64Result& r) {
  const Node& n = net_.nodes[i];
  const Vec& rr = grad_[i];
  const int j0 = n.inputs.empty() ? -1 : n.inputs[0];
  const auto give = [&](int j, Vec&& t) {
    if (!t.empty()) accumulate(j, std::move(t));
  };
  switch (n.op) {
    case Op::GroupNorm:
      fail("a GroupNorm has no Hessian-vector form on the native engine (the reference engine has)");
    case Op::Conv:
    case Op::Linear:
      return weightedCotangentTangent(i, rx, V, r);
    case Op::Sigmoid: {
      // R(g sigma'(x)) = R(g) sigma' + g sigma''(x) Rx, with sigma'' Rx = (1 - 2 sigma) Ry for the logistic (0 for the
      // piecewise linear hard one)
      const Vec &y = out_[i], &g = dyKeep_[i], &ry = rx[i];
      if (rr.empty() && ry.empty()) return;
      Vec t(y.size());
      for (size_t k = 0; k < t.size(); ++k) {
        const double second = !n.hard && !ry.empty() ? g[k] * (1 - 2 * y[k]) * ry[k] : 0.0;
        t[k] = (rr.empty() ? 0.0 : rr[k] * sigmoidSlope(n, y[k])) + second;
      }
      return give(j0, std::move(t));
    }
    case Op::Softmax:
      fail("a softmax has no Hessian-vector form on the native engine (the reference engine has)");
    case Op::Act: {
      // R(g f'(x)) = R(g) f'(x) + g f''(x) Rx
      const Vec &x = out_[static_cast<size_t>(j0)], &g = dyKeep_[i], &rxin = rx[static_cast<size_t>(j0)];
      if (rr.empty() && rxin.empty()) return;
      Vec t(x.size());
      for (size_t k = 0; k < t.size(); ++k)
        t[k] = (rr.empty() ? 0.0 : rr[k] * actSlope(n, x[k], k)) + (rxin.empty() ? 0.0 : g[k] * actCurve(n, x[k], k) * rxin[k]);
      return give(j0, std::move(t));
    }
    case Op::Mul: {
      // da = dy g, dgate = sum over the plane of dy a: R(da) = R(dy) g + dy Rg, R(dgate) = sum R(dy) a + sum dy Ra
      const int j1 = n.inputs[1];
      const Vec &a = out_[static_cast<size_t>(j0)], &gate = out_[static_cast<size_t>(j1)], &d = dyKeep_[i];
      const Vec &ra = rx[static_cast<size_t>(j0)], &rgate = rx[static_cast<size_t>(j1)];
      const size_t plane = a.size() / gate.size();
      const auto product = [&](const Vec& u, const Vec& w) {
        Vec t(u.size());
        for (size_t k = 0; k < t.size(); ++k) t[k] = u[k] * w[k / plane];
        return t;
      };
      const auto reduce = [&](const Vec& u, const Vec& w) {
        Vec t(gate.size(), 0.0);
        for (size_t k = 0; k < u.size(); ++k) t[k / plane] += u[k] * w[k];
        return t;
      };
      Vec da = plus(rr.empty() ? Vec() : product(rr, gate), rgate.empty() ? Vec() : product(d, rgate));
      Vec dg = plus(rr.empty() ? Vec() : reduce(rr, a), ra.empty() ? Vec() : reduce(d, ra));
      give(j0, std::move(da));
      return give(j1, std::move(dg));
    }
    case Op::Bn:
      if (bn_ != BnMode::Identity && bnModeOf(n, bn_) == BnMode::Train) {
        const Vec& rxin = rx[static_cast<size_t>(j0)];
        if (!rr.empty() || !rxin.empty()) give(j0, bnTrainCotangentTangent(i, rxin));
        return;
      }
      // fixed statistics (or none): linear in the cotangent, the VJP itself (its dgamma / dbeta go to scratch)
      if (!rr.empty()) {
        Vec scratch(2 * static_cast<size_t>(n.c));
        vjp(i, rr, scratch.data());
      }
      return;
    case Op::Input:
    case Op::Zero:
    case Op::Relu:
    case Op::Add:
    case Op::Concat:
    case Op::Slice:
    case Op::Gap:
    case Op::Flatten:
    case Op::View:
    case Op::Shuffle:
    case Op::Upsample:
    case Op::Expand:
    case Op::ChanPool:
    case Op::AvgPool:
    case Op::MaxPool:
      // linear with the tape fixed (masks, argmaxes, windows): the R-cotangent maps as a cotangent does
      if (!rr.empty()) vjp(i, rr, nullptr);
      return;
  }
}

// A conv / linear node: VJP(R dy; W, x) + VJP(dy; V, Rx). The weight part, R(dW) = x * R(dy) + Rx * dy, is (H V) at
// this node, reduced to <W, H V> in index order; the data part, convT(R dy, W) + convT(dy, V), goes down.
void Pass::weightedCotangentTangent(size_t i, const std::vector<Vec>& rx, const double* V, Float64Result& r) {
  const Node& n = net_.nodes[i];
  const bool conv = n.op == Op::Conv;
  const int j0 = n.inputs[0];
  const Node& in = net_.nodes[static_cast<size_t>(j0)];
  const Vec &x = out_[static_cast<size_t>(j0)], &g = dyKeep_[i], &rr = grad_[i], &rxin = rx[static_cast<size_t>(j0)];
  const double *W = param(i), *Vi = V + offsets_[i];
  const size_t wn = conv ? static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps() : static_cast<size_t>(n.fin) * n.fout;
  // the weight gradient of cotangent dy at input a, into a zeroed buffer (the reference's dw starts at 0)
  const auto weightVjp = [&](const Vec& a, const Vec& dy) {
    Vec dw(wn, 0.0);
    if (conv) f64ConvBackwardWeights(n, in, a.data(), dy.data(), S_, dw.data(), split_);
    else linearVjp(n, dy, S_, nullptr, a.data(), nullptr, dw.data());
    return dw;
  };
  Vec h = plus(rr.empty() ? Vec() : weightVjp(x, rr), rxin.empty() ? Vec() : weightVjp(rxin, g));
  if (!h.empty()) {
    double s = 0;
    for (size_t k = 0; k < wn; ++k) s += W[k] * h[k];
    r.weightHv[i] = s;
  }
  if (!flows(j0)) return;
  const auto dataVjp = [&](const Vec& dy, const double* w) {
    Vec dx(static_cast<size_t>(S_) * in.numel(), 0.0);
    if (conv) f64ConvBackwardData(n, in, dy.data(), w, S_, dx.data(), split_);
    else linearVjp(n, dy, S_, w, nullptr, dx.data(), nullptr);
    return dx;
  };
  Vec dx = plus(rr.empty() ? Vec() : dataVjp(rr, W), dataVjp(g, Vi));
  accumulate(j0, std::move(dx));
}

}  // namespace swapnas::f64
