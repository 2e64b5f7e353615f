#include "backward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "conv.h"
#include "ops.h"

namespace swapnas {

std::vector<size_t> packedParamOffsets(const Net& net) {
  std::vector<size_t> off(net.nodes.size() + 1, 0);
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& n = net.nodes[i];
    size_t size = 0;
    if (n.op == Op::Conv) size = static_cast<size_t>(n.cout) * (n.cin / n.groups) * n.k * n.k + (n.bias ? n.cout : 0);
    if (n.op == Op::Bn) size = 4 * static_cast<size_t>(n.c);
    if (n.op == Op::Linear) size = static_cast<size_t>(n.fin) * n.fout + (n.bias ? n.fout : 0);
    off[i + 1] = off[i] + size;
  }
  return off;
}

float* GradExecutor::acquire(size_t n, bool zero) {
  float* p = pool_.acquire(n);
  if (zero) std::memset(p, 0, n * sizeof(float));
  sizes_[p] = n;
  live_ += n;
  peak_ = std::max(peak_, live_);
  return p;
}

void GradExecutor::release(float*& p) {
  if (!p) return;
  live_ -= sizes_[p];
  sizes_.erase(p);
  pool_.release(p);
  p = nullptr;
}

GradResult GradExecutor::run(const Net& net, const float* params, const float* input, int S, const GradRequest& req, const CancelToken* cancel) {
  const size_t N = net.nodes.size();
  offsets_ = packedParamOffsets(net);
  out_.assign(N, nullptr);
  xhat_.assign(N, nullptr);
  grad_.assign(N, nullptr);
  inv_.assign(N, {});
  argmax_.assign(N, {});
  sizes_.clear();
  live_ = peak_ = 0;
  GradResult r;
  try {
    forward(net, params, input, S, req, cancel);
    for (size_t k = 0; k < req.keepCount; ++k) {
      const size_t id = static_cast<size_t>(req.keepNodes[k]);
      const float* v = out_[id];
      r.activations.insert(r.activations.end(), v, v + static_cast<size_t>(S) * net.nodes[id].numel());
    }
    seedOutput(net, S, req, r);
    backward(net, params, S, req, r, cancel);
  } catch (...) {
    pool_.releaseAll();
    throw;
  }
  r.peakBytes = peak_ * sizeof(float);
  pool_.releaseAll();
  return r;
}

void GradExecutor::forward(const Net& net, const float* params, const float* input, int S, const GradRequest& req, const CancelToken* cancel) {
  const size_t N = net.nodes.size();
  std::vector<uint8_t> eval(N, 0), keep(N, 0);
  eval[static_cast<size_t>(net.output)] = 1;
  for (size_t i = N; i-- > 0;)
    if (eval[i])
      for (int j : net.nodes[i].inputs) eval[static_cast<size_t>(j)] = 1;
  // Kept for the backward pass: ReLU outputs (their masks), conv/linear inputs (weight gradients), the output.
  keep[static_cast<size_t>(net.output)] = 1;
  for (const Node& n : net.nodes) {
    if (n.op == Op::Relu) keep[&n - net.nodes.data()] = 1;
    if (req.wantParams && (n.op == Op::Conv || n.op == Op::Linear)) keep[static_cast<size_t>(n.inputs[0])] = 1;
    if (req.wantSaliency && (n.op == Op::Conv || n.op == Op::Linear)) keep[&n - net.nodes.data()] = 1;
  }
  for (size_t k = 0; k < req.keepCount; ++k) {
    const size_t id = static_cast<size_t>(req.keepNodes[k]);
    keep[id] = 1;
    eval[id] = 1;
  }
  for (size_t i = N; i-- > 0;)
    if (eval[i])
      for (int j : net.nodes[i].inputs) eval[static_cast<size_t>(j)] = 1;
  std::vector<int> lastUse(N, -1);
  for (size_t i = 0; i < N; ++i)
    if (eval[i])
      for (int j : net.nodes[i].inputs) lastUse[static_cast<size_t>(j)] = static_cast<int>(i);
  std::vector<const float*> xs;
  std::vector<size_t> per;
  for (size_t i = 0; i < N; ++i) {
    if (!eval[i]) continue;
    if (cancel && cancel->requested()) throw Cancelled{};
    const Node& n = net.nodes[i];
    const size_t count = static_cast<size_t>(S) * n.numel();
    float* y = acquire(count, n.op == Op::Zero);
    const Node* in = n.inputs.empty() ? nullptr : &net.nodes[static_cast<size_t>(n.inputs[0])];
    const float* x = n.inputs.empty() ? nullptr : out_[static_cast<size_t>(n.inputs[0])];
    const float* p = params + offsets_[i];
    const size_t HW = static_cast<size_t>(n.h) * n.w;
    switch (n.op) {
      case Op::Input:
        std::memcpy(y, input, count * sizeof(float));
        break;
      case Op::Zero:
        break;
      case Op::Relu:
        relu(x, y, count);
        break;
      case Op::Add:
      case Op::Concat:
        xs.clear();
        per.clear();
        for (int j : n.inputs) {
          xs.push_back(out_[static_cast<size_t>(j)]);
          per.push_back(net.nodes[static_cast<size_t>(j)].numel());
        }
        if (n.op == Op::Add)
          addTensors(xs.data(), xs.size(), y, count);
        else
          concat(xs.data(), per.data(), xs.size(), y, S);
        break;
      case Op::Bn:
        if (req.bn == BnMode::Identity) {
          std::memcpy(y, x, count * sizeof(float));
        } else {
          xhat_[i] = acquire(count, false);
          inv_[i].assign(static_cast<size_t>(n.c), 0.0);
          bnForward(req.bn == BnMode::Train, x, xhat_[i], y, inv_[i].data(), S, n.c, HW, p, p + n.c, p + 2 * n.c, p + 3 * n.c);
        }
        break;
      case Op::AvgPool:
        avgPool(n, *in, x, y, S);
        break;
      case Op::MaxPool:
        argmax_[i].assign(count, -1);
        maxPoolArgmax(n, *in, x, y, argmax_[i].data(), S);
        break;
      case Op::Conv:
        convForward(n, *in, x, y, S, p, conv_.conv);
        if (n.bias) addChannelBias(y, p + static_cast<size_t>(n.cout) * (n.cin / n.groups) * n.k * n.k, S, n.cout, HW);
        break;
      case Op::Slice:
        sliceWindow(n, *in, x, y, S);
        break;
      case Op::Gap:
        globalAvgPool(x, y, S, in->c, static_cast<size_t>(in->h) * in->w);
        break;
      case Op::Linear:
        linearForward(x, p, n.bias ? p + static_cast<size_t>(n.fin) * n.fout : nullptr, y, S, n.fin, n.fout);
        break;
    }
    out_[i] = y;
    for (int j : n.inputs)
      if (lastUse[static_cast<size_t>(j)] == static_cast<int>(i) && !keep[static_cast<size_t>(j)]) release(out_[static_cast<size_t>(j)]);
  }
}

void GradExecutor::seedOutput(const Net& net, int S, const GradRequest& req, GradResult& r) {
  const int out = net.output;
  const size_t K = net.nodes[static_cast<size_t>(out)].numel();
  const float* f = out_[static_cast<size_t>(out)];
  r.logits.assign(f, f + static_cast<size_t>(S) * K);
  float* g = acquire(static_cast<size_t>(S) * K, false);
  if (!req.labels) {
    std::fill(g, g + static_cast<size_t>(S) * K, 1.0f);
  } else {
    double loss = 0;
    for (int s = 0; s < S; ++s) {
      const float* row = f + static_cast<size_t>(s) * K;
      double m = -INFINITY, z = 0;
      for (size_t k = 0; k < K; ++k) m = std::max(m, static_cast<double>(row[k]));
      for (size_t k = 0; k < K; ++k) z += std::exp(row[k] - m);
      const int y = req.labels[s];
      loss += std::log(z) + m - row[y];
      for (size_t k = 0; k < K; ++k) {
        const double pk = std::exp(row[k] - m) / z - (static_cast<int>(k) == y ? 1.0 : 0.0);
        g[static_cast<size_t>(s) * K + k] = static_cast<float>(pk / S);
      }
    }
    r.loss = loss / S;
  }
  grad_[static_cast<size_t>(out)] = g;
}

float* GradExecutor::gradOf(const Net& net, int node, int S) {
  float*& g = grad_[static_cast<size_t>(node)];
  if (!g) g = acquire(static_cast<size_t>(S) * net.nodes[static_cast<size_t>(node)].numel(), true);
  return g;
}

}  // namespace swapnas
