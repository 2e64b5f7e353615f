#include "f64_pass.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "activations.h"
#include "f64_conv.h"
#include "f64_tape.h"
#include "groupnorm.h"
#include "softmax.h"

namespace swapnas::f64 {

namespace {

// out[c] += per sample, the sum over positions of a (the reference's channelSums).
void channelSums(const Vec& a, int S, int C, size_t HW, double* out) {
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < C; ++c) {
      const double* p = a.data() + (static_cast<size_t>(s) * C + c) * HW;
      double sum = 0;
      for (size_t i = 0; i < HW; ++i) sum += p[i];
      out[c] += sum;
    }
}

// x-hat and 1/sigma: batch mean and biased variance (two passes, as bnTrainInto) or the running statistics.
void bnNormalise(bool train, const Vec& x, int S, int C, size_t HW, const double* runMean, const double* runVar, double eps, BnRecord& r) {
  r.xhat.assign(x.size(), 0.0);
  r.inv.assign(static_cast<size_t>(C), 0.0);
  const double N = static_cast<double>(S) * static_cast<double>(HW);
  for (int c = 0; c < C; ++c) {
    double m = runMean[c], var = runVar[c];
    if (train) {
      double sum = 0, sq = 0;
      for (int s = 0; s < S; ++s)
        for (size_t i = 0; i < HW; ++i) sum += x[(static_cast<size_t>(s) * C + c) * HW + i];
      m = sum / N;
      for (int s = 0; s < S; ++s)
        for (size_t i = 0; i < HW; ++i) {
          const double d = x[(static_cast<size_t>(s) * C + c) * HW + i] - m;
          sq += d * d;
        }
      var = sq / N;
    }
    r.inv[c] = 1 / std::sqrt(var + eps);
    for (int s = 0; s < S; ++s)
      for (size_t i = 0; i < HW; ++i) {
        const size_t k = (static_cast<size_t>(s) * C + c) * HW + i;
        r.xhat[k] = (x[k] - m) * r.inv[c];
      }
  }
}

// BN backward per channel: dgamma = sum dy * x-hat, dbeta = sum dy; dx = gamma * inv * (dy - mean(dy) - x-hat *
// mean(dy * x-hat)) in train mode, gamma * inv * dy with fixed statistics (the reference's bnBackward).
void bnBackward(bool train, const Vec& dy, const BnRecord& r, int S, int C, size_t HW, const double* gamma, Vec& dx, double* dgamma, double* dbeta) {
  dx.assign(dy.size(), 0.0);
  const double N = static_cast<double>(S) * static_cast<double>(HW);
  for (int c = 0; c < C; ++c) {
    double sdy = 0, sdyx = 0;
    for (int s = 0; s < S; ++s)
      for (size_t i = 0; i < HW; ++i) {
        const size_t k = (static_cast<size_t>(s) * C + c) * HW + i;
        sdy += dy[k];
        sdyx += dy[k] * r.xhat[k];
      }
    dgamma[c] = sdyx;
    dbeta[c] = sdy;
    const double a = gamma[c] * r.inv[c];
    const double mg = train ? sdy / N : 0, mgx = train ? sdyx / N : 0;
    for (int s = 0; s < S; ++s)
      for (size_t i = 0; i < HW; ++i) {
        const size_t k = (static_cast<size_t>(s) * C + c) * HW + i;
        dx[k] = a * (dy[k] - mg - r.xhat[k] * mgx);
      }
  }
}

// d mean cross-entropy / d logits: (softmax - onehot) / S per sample, in the order of crossEntropy in
// src/grad/loss.ts (max-shifted exponentials, divided by their sum, then by S), so the seeds equal the reference's.
std::vector<double> crossEntropyGrad(const std::vector<double>& logits, const int32_t* labels, int S) {
  const size_t K = logits.size() / static_cast<size_t>(S);
  std::vector<double> d(logits.size());
  for (int b = 0; b < S; ++b) {
    const double* l = logits.data() + b * K;
    double m = -std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < K; ++k) m = std::max(m, l[k]);
    double z = 0;
    for (size_t k = 0; k < K; ++k) z += std::exp(l[k] - m);
    for (size_t k = 0; k < K; ++k) d[b * K + k] = std::exp(l[k] - m) / z / S;
    d[b * K + static_cast<size_t>(labels[b])] -= 1.0 / S;
  }
  return d;
}

}  // namespace

Pass::Pass(const Net& net, const double* params, int S, const Float64Request& req, const RowSplit& split, const CancelToken* cancel)
    : net_(net),
      S_(S),
      bn_(req.bn),
      wantParams_(req.params),
      wantInput_(req.input),
      wantSaliency_(req.saliency),
      wantRowSaliency_(req.saliency && req.rowSaliency),
      wantHvp_(req.hvp),
      tied_(req.tiedWeights),
      labels_(req.labels),
      split_(split),
      cancel_(cancel),
      offsets_(packedParamOffsets(net)),
      params_(params) {}

void Pass::forward(const float* input) {
  const size_t N = net_.nodes.size();
  eval_.assign(N, 0);
  eval_[static_cast<size_t>(net_.output)] = 1;
  for (size_t i = N; i-- > 0;)
    if (eval_[i])
      for (int j : net_.nodes[i].inputs) eval_[static_cast<size_t>(j)] = 1;
  // Kept for the backward pass: ReLU outputs (masks), conv / linear inputs (weight gradients, when asked), the output.
  // The R-operator reads nothing more: the inputs of conv / linear (its second VJP term), mul, act, the outputs of
  // ReLU and sigmoid, the BN records and argmaxes (always kept).
  std::vector<uint8_t> keep(N, 0);
  keep[static_cast<size_t>(net_.output)] = 1;
  std::vector<int> lastUse(N, -1);
  for (size_t i = 0; i < N; ++i) {
    const Node& n = net_.nodes[i];
    if (n.op == Op::Relu || n.op == Op::Sigmoid || n.op == Op::Softmax) keep[i] = 1;
    if (n.op == Op::Mul)
      for (int j : n.inputs) keep[static_cast<size_t>(j)] = 1;
    if (n.op == Op::Act) keep[static_cast<size_t>(n.inputs[0])] = 1;
    if ((wantParams_ || wantHvp_) && (n.op == Op::Conv || n.op == Op::Linear)) keep[static_cast<size_t>(n.inputs[0])] = 1;
    if (wantSaliency_ && (n.op == Op::Conv || n.op == Op::Linear)) keep[i] = 1;
    if (eval_[i])
      for (int j : n.inputs) lastUse[static_cast<size_t>(j)] = static_cast<int>(i);
  }
  out_.assign(N, Vec());
  bn_records_.assign(N, BnRecord());
  argmax_.assign(N, {});
  for (size_t i = 0; i < N; ++i) {
    if (!eval_[i]) continue;
    if (cancel_ && cancel_->requested()) throw Cancelled{};
    evalNode(i, input, out_[i]);
    hold(out_[i]);
    for (int j : net_.nodes[i].inputs)
      if (lastUse[static_cast<size_t>(j)] == static_cast<int>(i) && !keep[static_cast<size_t>(j)]) drop(out_[static_cast<size_t>(j)]);
  }
}

void Pass::evalNode(size_t i, const float* input, Vec& y) {
  const Node& n = net_.nodes[i];
  const size_t count = static_cast<size_t>(S_) * n.numel();
  const Node* in = n.inputs.empty() ? nullptr : &net_.nodes[static_cast<size_t>(n.inputs[0])];
  const Vec* x = n.inputs.empty() ? nullptr : &out_[static_cast<size_t>(n.inputs[0])];
  const double* p = param(i);
  const size_t HW = static_cast<size_t>(n.h) * n.w;
  switch (n.op) {
    case Op::GroupNorm: {
      BnRecord& r = bn_records_[i];
      r.xhat.assign(count, 0.0);
      r.inv.assign(static_cast<size_t>(gnGroupCount(n, S_)), 0.0);
      y.resize(count);
      gnForward(x->data(), r.xhat.data(), y.data(), r.inv.data(), n.c, HW, n.groups, n.pixelwise, p, p + n.c, n.affine, n.eps, 0, gnGroupCount(n, S_));
      hold(r.xhat);
      break;
    }
    case Op::Input:
      y.assign(input, input + count);
      break;
    case Op::Zero:
      y.assign(count, 0.0);
      break;
    case Op::Relu:
      y.resize(count);
      // NaN propagates, as Math.max in the reference and in PyTorch
      for (size_t k = 0; k < count; ++k) y[k] = ((*x)[k] > 0 || std::isnan((*x)[k])) ? (*x)[k] : n.leaky ? (*x)[k] * n.slope : 0.0;
      if (n.capped)
        for (size_t k = 0; k < count; ++k) y[k] = y[k] > n.clip ? static_cast<double>(n.clip) : y[k];
      break;
    case Op::Add:
      y.assign(count, 0.0);
      for (int j : n.inputs) {
        const Vec& v = out_[static_cast<size_t>(j)];
        for (size_t k = 0; k < count; ++k) y[k] += v[k];
      }
      break;
    case Op::Concat:
    case Op::AvgPool:
    case Op::Slice:
    case Op::Flatten:
    case Op::View:
    case Op::Shuffle:
    case Op::Upsample:
    case Op::Expand:
    case Op::Gap: {
      std::vector<const Vec*> xs;
      for (int j : n.inputs) xs.push_back(&out_[static_cast<size_t>(j)]);
      routeForward(i, xs, y);
      break;
    }
    case Op::Bn: {
      if (bn_ == BnMode::Identity) {
        y = *x;
        break;
      }
      BnRecord& r = bn_records_[i];
      bnNormalise(bnModeOf(n, bn_) == BnMode::Train, *x, S_, n.c, HW, p + 2 * n.c, p + 3 * n.c, n.eps, r);
      hold(r.xhat);
      if (!n.affine) {
        y = r.xhat;  // the reference copies x-hat (1 * x-hat + 0 would turn -0 into +0)
        break;
      }
      y.resize(count);
      for (size_t k = 0; k < count; ++k) {
        const size_t c = (k / HW) % static_cast<size_t>(n.c);
        y[k] = p[c] * r.xhat[k] + p[n.c + c];
      }
      break;
    }
    case Op::ChanPool: {
      y.resize(count);
      if (n.chanMax) argmax_[i].assign(count, SIZE_MAX);
      chanPoolMap(*in, n.chanMax, x->data(), y.data(), S_, n.chanMax ? argmax_[i].data() : nullptr);
      break;
    }
    case Op::MaxPool: {
      y.assign(count, 0.0);
      std::vector<size_t>& am = argmax_[i];
      am.assign(count, SIZE_MAX);
      forEachPoolTap(n, *in, S_,
                     [&](size_t o, size_t k, bool first) {
                       // strictly greater keeps the first maximum; a NaN wins, as in PyTorch
                       if (first || (*x)[k] > y[o] || std::isnan((*x)[k])) {
                         y[o] = (*x)[k];
                         am[o] = k;
                       }
                     },
                     [](size_t, int, int) {});
      break;
    }
    case Op::Conv:
      y.resize(count);
      f64ConvForward(n, *in, x->data(), p, n.bias ? p + static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps() : nullptr, S_, y.data(), split_);
      break;
    case Op::Sigmoid:
      y.resize(count);
      for (size_t k = 0; k < count; ++k) y[k] = sigmoidValue(n, (*x)[k]);
      break;
    case Op::Act:
      y.resize(count);
      for (size_t k = 0; k < count; ++k) y[k] = actValue(n, (*x)[k], k);
      break;
    case Op::Softmax:
      y.resize(count);
      softmaxRows(x->data(), y.data(), S_, n.c, n.logSoftmax);
      break;
    case Op::Mul: {
      const Vec& g = out_[static_cast<size_t>(n.inputs[1])];
      const size_t plane = count / g.size();
      y.resize(count);
      for (size_t k = 0; k < count; ++k) y[k] = (*x)[k] * g[k / plane];
      break;
    }
    case Op::Linear:
      y = linearApply(n, p, n.bias ? p + static_cast<size_t>(n.fin) * n.fout : nullptr, x->data(), S_);
      break;
  }
}

void Pass::routeForward(size_t i, const std::vector<const Vec*>& xs, Vec& y) const {
  const Node& n = net_.nodes[i];
  const size_t count = static_cast<size_t>(S_) * n.numel();
  const Node* in = &net_.nodes[static_cast<size_t>(n.inputs[0])];
  const Vec* x = xs[0];
  switch (n.op) {
    case Op::Concat: {
      y.resize(count);
      size_t off = 0;
      for (size_t q = 0; q < xs.size(); ++q) {
        const size_t per = net_.nodes[static_cast<size_t>(n.inputs[q])].numel();
        const Vec& v = *xs[q];
        for (int s = 0; s < S_; ++s) std::copy_n(v.data() + s * per, per, y.data() + s * n.numel() + off);
        off += per;
      }
      break;
    }
    case Op::AvgPool:
      y.assign(count, 0.0);
      forEachPoolTap(n, *in, S_, [&](size_t o, size_t k, bool) { y[o] += (*x)[k]; },
                     [&](size_t o, int cnt, int padded) { y[o] /= n.countIncludePad ? padded : cnt; });
      break;
    case Op::Slice:
      y.resize(count);
      for (int s = 0; s < S_; ++s)
        for (size_t j = 0; j < n.numel(); ++j) y[s * n.numel() + j] = (*x)[s * in->numel() + sliceSource(n, *in, j)];
      break;
    case Op::Flatten:
    case Op::View:
      y = *x;  // NCHW is already the flat order
      break;
    case Op::Shuffle: {
      y.resize(count);
      const size_t hw = static_cast<size_t>(n.h) * n.w;
      for (int s = 0; s < S_; ++s)
        for (int c = 0; c < n.c; ++c)
          std::copy_n(x->data() + (static_cast<size_t>(s) * n.c + shuffleSource(c, n.groups, n.c)) * hw, hw,
                      y.data() + (static_cast<size_t>(s) * n.c + c) * hw);
      break;
    }
    case Op::Upsample:
      y.resize(count);
      upsampleMap(n, x->data(), y.data(), S_, false);
      break;
    case Op::Expand:
      y.resize(count);
      expandMap(*in, n, x->data(), y.data(), S_, false);
      break;
    case Op::Gap: {
      y.resize(count);
      const size_t ihw = static_cast<size_t>(in->h) * in->w;
      for (size_t sc = 0; sc < count; ++sc) {
        double sum = 0;
        for (size_t k = 0; k < ihw; ++k) sum += (*x)[sc * ihw + k];
        y[sc] = sum / static_cast<double>(ihw);
      }
      break;
    }
    default:
      fail(std::string("routeForward: ") + opName(n.op) + " is not a routing op");
  }
}

void Pass::accumulate(int j, const Vec& dx) {
  if (!flows(j)) return;
  Vec& g = grad_[static_cast<size_t>(j)];
  if (g.empty()) {
    g = dx;
    hold(g);
    return;
  }
  for (size_t k = 0; k < g.size(); ++k) g[k] += dx[k];
}

void Pass::accumulate(int j, Vec&& dx) {
  if (!flows(j)) return;
  Vec& g = grad_[static_cast<size_t>(j)];
  if (!g.empty()) return accumulate(j, static_cast<const Vec&>(dx));
  g = std::move(dx);
  hold(g);
}

void Pass::backward(Float64Result& r) {
  const size_t N = net_.nodes.size();
  // Cotangents flow only through nodes that are, or depend on, a target (the reference's reachesTarget): the input
  // when its gradient is asked for, the nodes with parameters when theirs are.
  flow_.assign(N, 0);
  for (size_t i = 0; i < N; ++i) {
    const Node& n = net_.nodes[i];
    const bool weighted = n.op == Op::Conv || n.op == Op::Linear;
    flow_[i] = i == 0 ? wantInput_ : (wantParams_ && (weighted || n.op == Op::Bn || n.op == Op::GroupNorm)) || (wantSaliency_ && weighted);
    for (int j : n.inputs) flow_[i] |= flow_[static_cast<size_t>(j)];
  }
  grad_.assign(N, Vec());
  dyKeep_.assign(N, Vec());
  // parameter gradients land in a scratch layout when not asked for (BN's dgamma / dbeta cost nothing extra)
  Vec scratch;
  Vec& pg = wantParams_ ? r.params : scratch;
  pg.assign(offsets_.back(), 0.0);
  const size_t out = static_cast<size_t>(net_.output);
  if (flow_[out]) {
    if (labels_) grad_[out] = crossEntropyGrad(output(), labels_, S_);
    else grad_[out].assign(output().size(), 1.0);  // d sum(outputs) / d outputs
    hold(grad_[out]);
  }
  // saliency: conv/linear nodes in node order, S x C each (zero where no cotangent arrives, as the reference)
  std::vector<size_t> salOff(N, 0), rowOff(N, 0);
  if (wantSaliency_) {
    size_t total = 0, rows = 0;
    for (size_t i = 0; i < N; ++i) {
      const Node& n = net_.nodes[i];
      if (n.op != Op::Conv && n.op != Op::Linear) continue;
      salOff[i] = total;
      total += static_cast<size_t>(S_) * (n.op == Op::Conv ? n.c : n.fout);
      rowOff[i] = rows;
      rows += static_cast<size_t>(S_) * n.h;
    }
    r.saliency.assign(total, 0.0);
    if (wantRowSaliency_) r.rowSaliency.assign(rows, 0.0);
  }
  for (size_t i = out + 1; i-- > 1;) {
    if (grad_[i].empty() || !flow_[i]) continue;
    if (cancel_ && cancel_->requested()) throw Cancelled{};
    const Op op = net_.nodes[i].op;
    if (wantSaliency_ && (op == Op::Conv || op == Op::Linear)) saliency(i, grad_[i], r.saliency.data() + salOff[i]);
    if (wantRowSaliency_ && (op == Op::Conv || op == Op::Linear))
      rowSums(out_[i].data(), grad_[i].data(), S_, net_.nodes[i], r.rowSaliency.data() + rowOff[i]);
    vjp(i, grad_[i], pg.data() + offsets_[i]);
    // the R-operator's terms that come from the primal cotangent itself (lossHessianVector's `nodes: needDy`)
    const bool keepDy = op == Op::Conv || op == Op::Linear || op == Op::Bn || op == Op::Sigmoid || op == Op::Mul || op == Op::Act;
    if (wantHvp_ && keepDy) dyKeep_[i] = std::move(grad_[i]);
    else drop(grad_[i]);
  }
  if (wantInput_) r.input = grad_[0].empty() ? Vec(static_cast<size_t>(S_) * net_.nodes[0].numel(), 0.0) : std::move(grad_[0]);
}

// out[s][c] = sum over positions of a * da, in the order of the reference's saliency (grad-job.ts).
void Pass::saliency(size_t i, const Vec& dy, double* out) const {
  const Node& n = net_.nodes[i];
  const Vec& a = out_[i];
  const size_t C = static_cast<size_t>(n.op == Op::Conv ? n.c : n.fout);
  const size_t hw = a.size() / (static_cast<size_t>(S_) * C);
  for (size_t bc = 0; bc < static_cast<size_t>(S_) * C; ++bc) {
    double acc = 0;
    for (size_t e = 0; e < hw; ++e) acc += a[bc * hw + e] * dy[bc * hw + e];
    out[bc] = acc;
  }
}

void Pass::vjp(size_t i, const Vec& dy, double* pgrad) {
  const Node& n = net_.nodes[i];
  const Node* in = n.inputs.empty() ? nullptr : &net_.nodes[static_cast<size_t>(n.inputs[0])];
  const int j0 = n.inputs.empty() ? -1 : n.inputs[0];
  const size_t HW = static_cast<size_t>(n.h) * n.w;
  const double* p = param(i);
  Vec dx;
  switch (n.op) {
    case Op::GroupNorm: {
      if (wantHvp_) fail("a GroupNorm has no Hessian-vector form on the native engine (the reference engine has)");
      const BnRecord& r = bn_records_[i];
      gnParamGrads(dy.data(), r.xhat.data(), S_, n.c, HW, pgrad, pgrad + n.c, 0, n.c);
      dx.assign(dy.size(), 0.0);
      gnBackward(dy.data(), r.xhat.data(), r.inv.data(), n.c, HW, n.groups, n.pixelwise, p, dx.data(), 0, gnGroupCount(n, S_));
      break;
    }
    case Op::Input:
    case Op::Zero:
      return;
    case Op::Relu: {
      const Vec& y = out_[i];
      dx.resize(dy.size());
      for (size_t k = 0; k < dy.size(); ++k) dx[k] = reluCotangent(n, y[k], dy[k]);
      break;
    }
    case Op::Add:
    case Op::Flatten:
    case Op::View:
      for (int j : n.inputs) accumulate(j, dy);
      return;
    case Op::Sigmoid: {
      const Vec& y = out_[i];
      dx.resize(dy.size());
      for (size_t k = 0; k < dy.size(); ++k) dx[k] = dy[k] * sigmoidSlope(n, y[k]);
      break;
    }
    case Op::Act: {
      const Vec& x = out_[static_cast<size_t>(j0)];
      dx.resize(dy.size());
      for (size_t k = 0; k < dy.size(); ++k) dx[k] = dy[k] * actSlope(n, x[k], k);
      break;
    }
    case Op::Softmax:
      if (wantHvp_) fail("a softmax has no Hessian-vector form on the native engine (the reference engine has)");
      dx = dy;
      softmaxVjp(out_[i].data(), dx.data(), S_, n.c, n.logSoftmax);
      break;
    case Op::Mul: {
      // d a = dy * g (g broadcast), d g = the sum over each plane of dy * a
      const Vec& a = out_[static_cast<size_t>(j0)];
      const Vec& g = out_[static_cast<size_t>(n.inputs[1])];
      const size_t plane = dy.size() / g.size();
      Vec dg(g.size(), 0.0);
      dx.resize(dy.size());
      for (size_t k = 0; k < dy.size(); ++k) {
        dx[k] = dy[k] * g[k / plane];
        dg[k / plane] += dy[k] * a[k];
      }
      accumulate(n.inputs[1], std::move(dg));
      break;
    }
    case Op::Upsample:
      dx.resize(static_cast<size_t>(S_) * in->numel());
      upsampleMap(n, dy.data(), dx.data(), S_, true);
      break;
    case Op::Expand:
      dx.resize(static_cast<size_t>(S_) * in->numel());
      expandMap(*in, n, dy.data(), dx.data(), S_, true);
      break;
    case Op::Shuffle: {
      // each cotangent plane returns to the input channel its output plane came from
      const size_t hw = static_cast<size_t>(n.h) * n.w;
      dx.resize(dy.size());
      for (int s = 0; s < S_; ++s)
        for (int c = 0; c < n.c; ++c)
          std::copy_n(dy.data() + (static_cast<size_t>(s) * n.c + c) * hw, hw,
                      dx.data() + (static_cast<size_t>(s) * n.c + shuffleSource(c, n.groups, n.c)) * hw);
      break;
    }
    case Op::Concat: {
      size_t off = 0;
      for (int j : n.inputs) {
        const size_t per = net_.nodes[static_cast<size_t>(j)].numel();
        Vec part(static_cast<size_t>(S_) * per);
        for (int s = 0; s < S_; ++s) std::copy_n(dy.data() + s * n.numel() + off, per, part.data() + s * per);
        accumulate(j, std::move(part));
        off += per;
      }
      return;
    }
    case Op::Slice:
      dx.assign(static_cast<size_t>(S_) * in->numel(), 0.0);
      for (size_t j = 0; j < n.numel(); ++j) {
        const size_t src = sliceSource(n, *in, j);
        for (int s = 0; s < S_; ++s) dx[s * in->numel() + src] += dy[s * n.numel() + j];
      }
      break;
    case Op::Gap: {
      const size_t ihw = static_cast<size_t>(in->h) * in->w;
      dx.resize(dy.size() * ihw);
      for (size_t sc = 0; sc < dy.size(); ++sc) std::fill_n(dx.data() + sc * ihw, ihw, dy[sc] / static_cast<double>(ihw));
      break;
    }
    case Op::AvgPool: {
      dx.assign(static_cast<size_t>(S_) * in->numel(), 0.0);
      std::vector<size_t> taps;
      forEachPoolTap(n, *in, S_, [&](size_t, size_t k, bool) { taps.push_back(k); },
                     [&](size_t o, int cnt, int padded) {
                       const double v = dy[o] / (n.countIncludePad ? padded : cnt);
                       for (size_t k : taps) dx[k] += v;
                       taps.clear();
                     });
      break;
    }
    case Op::ChanPool:
      dx.assign(static_cast<size_t>(S_) * in->numel(), 0.0);
      chanPoolBack(*in, dy.data(), dx.data(), S_, n.chanMax ? argmax_[i].data() : nullptr);
      break;
    case Op::MaxPool:
      dx.assign(static_cast<size_t>(S_) * in->numel(), 0.0);
      for (size_t o = 0; o < dy.size(); ++o)
        if (argmax_[i][o] != SIZE_MAX) dx[argmax_[i][o]] += dy[o];
      break;
    case Op::Bn:
      if (bn_ == BnMode::Identity) {
        accumulate(j0, dy);
        return;
      }
      bnBackward(bnModeOf(n, bn_) == BnMode::Train, dy, bn_records_[i], S_, n.c, HW, p, dx, pgrad, pgrad + n.c);
      break;
    case Op::Conv: {
      const size_t wn = static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps();
      if (wantParams_) {
        f64ConvBackwardWeights(n, *in, out_[static_cast<size_t>(j0)].data(), dy.data(), S_, pgrad, split_);
        if (n.bias) channelSums(dy, S_, n.cout, HW, pgrad + wn);
      }
      if (!flows(j0)) return;
      dx.resize(static_cast<size_t>(S_) * in->numel());
      f64ConvBackwardData(n, *in, dy.data(), p, S_, dx.data(), split_);
      break;
    }
    case Op::Linear: {
      const bool needDx = flows(j0);
      if (needDx) dx.assign(static_cast<size_t>(S_) * n.fin, 0.0);
      const double* x = out_[static_cast<size_t>(j0)].data();
      linearVjp(n, dy, S_, p, x, needDx ? dx.data() : nullptr, wantParams_ ? pgrad : nullptr);
      if (wantParams_ && n.bias) channelSums(dy, S_, n.fout, 1, pgrad + static_cast<size_t>(n.fin) * n.fout);
      break;
    }
  }
  accumulate(j0, std::move(dx));
}

}  // namespace swapnas::f64

namespace swapnas {

Float64Result float64Pass(const Net& net, const double* params, const float* input, int S, const Float64Request& req, const RowSplit& split,
                          const CancelToken* cancel) {
  // the R-operator starts from the loss's gradient, seeds and all (lossHessianVector in src/backends/reference/hvp.ts)
  if (req.hvp && (!req.labels || !req.params)) fail("the float64 Hessian-vector product needs labels and the weight gradients");
  f64::Pass pass(net, params, S, req, split, cancel);
  pass.forward(input);
  Float64Result r;
  r.logits = pass.output();
  pass.backward(r);
  if (req.hvp) pass.hessianVector(r);
  r.peakBytes = pass.peakBytes();
  return r;
}

}  // namespace swapnas
