#include "backward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>

#include "conv.h"
#include "ops.h"
#include "patterns.h"
#include "groupnorm.h"
#include "softmax.h"

namespace swapnas {

std::vector<size_t> packedParamOffsets(const Net& net) {
  std::vector<size_t> off(net.nodes.size() + 1, 0);
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& n = net.nodes[i];
    size_t size = weightCount(n);
    if (n.op == Op::Conv && n.bias) size += static_cast<size_t>(n.cout);
    if (n.op == Op::Bn) size = 4 * static_cast<size_t>(n.c);
    if (n.op == Op::GroupNorm) size = 2 * static_cast<size_t>(n.c);  // gamma, beta (1 and 0 when not affine)
    if (n.op == Op::Linear && n.bias) size += static_cast<size_t>(n.fout);
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

namespace {

size_t scratchBytes(const ConvGradScratch& g) {
  const ConvScratch& c = g.conv;
  const size_t floats = c.packedA.capacity() + c.padded.capacity() + c.col.capacity() + c.wide.capacity() + g.wT.capacity() + g.z.capacity() +
                        g.colT.capacity();
  return floats * sizeof(float) + g.acc.capacity() * sizeof(double);
}

}  // namespace

size_t GradExecutor::heldBytes() const {
  size_t bytes = pool_.heldFloats() * sizeof(float) + scratchBytes(conv_);
  for (const ConvGradScratch& h : helpers_) bytes += scratchBytes(h);
  return bytes;
}

// Below this much work per op (floats or multiply-adds) a second thread's wake-up costs more than it saves.

void GradExecutor::split(int count, int align, const std::function<void(int, int, int)>& fn, size_t work) {
  const int units = (count + align - 1) / align;
  const int parts = work < kMinSplitWork ? 1 : std::min(threads_, units);
  if (parts <= 1) {
    fn(0, 0, count);
    return;
  }
  if (!shared_ && !own_) own_ = std::make_unique<SplitHelpers>();
  SplitHelpers& h = shared_ ? *shared_ : *own_;
  std::unique_lock<std::mutex> lock(h.busy, std::try_to_lock);
  if (!lock.owns_lock()) {
    fn(0, 0, count);  // another executor's op holds the helpers: this one runs whole (the same values)
    return;
  }
  if (helpers_.size() < static_cast<size_t>(parts - 1)) helpers_.resize(static_cast<size_t>(parts - 1));
  partsUsed_ = std::max(partsUsed_, parts);
  runParts(h, parts, [&](int t) {
    const int lo = std::min(count, units * t / parts * align), hi = std::min(count, units * (t + 1) / parts * align);
    fn(t, lo, hi);
  });
}

void runParts(SplitHelpers& h, int parts, const std::function<void(int)>& fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
  h.threads.run(parts, [&](int t) {
    try {
      fn(t);
    } catch (...) {
      errors[static_cast<size_t>(t)] = std::current_exception();
    }
  });
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

GradResult GradExecutor::run(const Net& net, const float* params, const float* input, int S, const GradRequest& req, const CancelToken* cancel) {
  const size_t N = net.nodes.size();
  offsets_ = packedParamOffsets(net);
  out_.assign(N, nullptr);
  xhat_.assign(N, nullptr);
  grad_.assign(N, nullptr);
  fexp_.assign(req.blockScale ? N : 0, 0);
  gexp_.assign(req.blockScale ? N : 0, 0);
  dyKeep_.assign(N, nullptr);
  inv_.assign(N, {});
  argmax_.assign(N, {});
  sizes_.clear();
  live_ = peak_ = 0;
  partsUsed_ = 1;
  GradResult r;
  NwotKernel kernel;
  nwot_ = req.wantNwot ? &kernel : nullptr;
  if (nwot_) kernel.reset(S);
  try {
    forward(net, params, input, S, req, cancel);
    nwot_ = nullptr;
    if (req.keepModes) r.keptValues = keptValues_;
    for (size_t k = 0; k < req.keepCount; ++k) {
      if (req.keepModes && req.keepModes[k] != 0) continue;
      const size_t id = static_cast<size_t>(req.keepNodes[k]);
      const float* v = out_[id];
      r.activations.insert(r.activations.end(), v, v + static_cast<size_t>(S) * net.nodes[id].numel());
    }
    if (req.wantNwot) kernel.kernel(r.nwotK);
    if (req.wantBnVar) collectBnVar(net, req, r);
    if (req.passCount == 0 || req.outputBackward) {
      seedOutput(net, S, req, r);
      backward(net, params, S, req, r, cancel);
      if (req.wantHvp) hessianVector(net, params, S, req, r, cancel);
    } else {
      const float* f = out_[static_cast<size_t>(net.output)];
      r.logits.assign(f, f + static_cast<size_t>(S) * net.nodes[static_cast<size_t>(net.output)].numel());
    }
    if (req.passCount > 0) runPasses(net, params, S, req, r, cancel);
  } catch (...) {
    nwot_ = nullptr;
    pool_.releaseAll();
    throw;
  }
  r.peakBytes = peak_ * sizeof(float);
  r.threads = partsUsed_;
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
  // Kept for the backward pass: ReLU outputs (their masks), conv/linear inputs (weight gradients), the output;
  // gate and product operands; a smooth activation's input.
  keep[static_cast<size_t>(net.output)] = 1;
  for (const Node& n : net.nodes) {
    if (n.op == Op::Relu || n.op == Op::Sigmoid || n.op == Op::Softmax) keep[&n - net.nodes.data()] = 1;
    if (n.op == Op::Mul)
      for (int j : n.inputs) keep[static_cast<size_t>(j)] = 1;
    // a smooth activation's derivatives are read off its input
    if (n.op == Op::Act) keep[static_cast<size_t>(n.inputs[0])] = 1;
    if ((req.wantParams || req.scalarCount > 0) && (n.op == Op::Conv || n.op == Op::Linear)) keep[static_cast<size_t>(n.inputs[0])] = 1;
    if (req.wantSaliency && (n.op == Op::Conv || n.op == Op::Linear)) keep[&n - net.nodes.data()] = 1;
  }
  // a PReLU slope's per-sample term reads the (leaky) ReLU's input, which its own backward does not need
  for (size_t q = 0; q < req.scalarCount; ++q)
    if (req.scalars[3 * q + 1] >= 4) keep[static_cast<size_t>(net.nodes[static_cast<size_t>(req.scalars[3 * q])].inputs[0])] = 1;
  // NWOT counts the ReLUs on the way to the output only, whatever else is kept (so passes can be shared).
  const std::vector<uint8_t> onPath = eval;
  // Kept nodes: held to the end, or (keepModes) reduced as soon as they are made and then freed as usual.
  std::vector<uint8_t> reduce(N, 0);
  keptValues_.assign(req.keepModes ? req.keepCount : 0, std::nan(""));
  for (size_t k = 0; k < req.keepCount; ++k) {
    const size_t id = static_cast<size_t>(req.keepNodes[k]);
    (req.keepModes && req.keepModes[k] != 0 ? reduce : keep)[id] = 1;
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
  std::vector<float*> aligned;  // blockScale: inputs of an Add/Concat re-expressed at the largest exponent
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
    // blockScale: an op keeps its (first) input's exponent unless it sets its own (Add/Concat, biases)
    if (req.blockScale && !n.inputs.empty()) fexp_[i] = fexp_[static_cast<size_t>(n.inputs[0])];
    switch (n.op) {
      case Op::GroupNorm: {
        if (req.blockScale) fail("a GroupNorm has no block floating point form");
        xhat_[i] = acquire(count, false);
        inv_[i].assign(static_cast<size_t>(gnGroupCount(n, S)), 0.0);
        double* inv = inv_[i].data();
        float* xhat = xhat_[i];
        split(gnGroupCount(n, S), 1, [&](int, int lo, int hi) {
          gnForward(x, xhat, y, inv, n.c, HW, n.groups, n.pixelwise, p, p + n.c, n.affine, n.eps, lo, hi);
        }, 3 * count);
        break;
      }
      case Op::Input:
        std::memcpy(y, input, count * sizeof(float));
        break;
      case Op::Zero:
        break;
      case Op::Relu:
        if (nwot_ && onPath[i] && n.nwot) {
          // NWOT reads the same sign bits the SWAP count packs; the kernel accumulates them exactly.
          codes_.resize(n.numel() * static_cast<size_t>(patternWords(S)));
          reluPack(x, y, S, n.numel(), codes_.data());
          // each module call the node stands for is one hook (ReluNode.calls)
          for (int c = 0; c < n.nwotCalls; ++c) nwot_->add(codes_.data(), n.numel());
          // the codes are x > 0 either way; a capped ReLU's output is then clipped, a leaky one's recomputed
          if (n.capped) reluClip(y, y, count, n.clip);
          if (n.leaky) leakyRelu(x, y, count, static_cast<float>(n.slope));
        } else {
          const size_t per = n.numel();
          split(S, 1, [&](int, int lo, int hi) {
            if (n.capped)
              reluClip(x + lo * per, y + lo * per, (hi - lo) * per, n.clip);
            else if (n.leaky)
              leakyRelu(x + lo * per, y + lo * per, (hi - lo) * per, static_cast<float>(n.slope));
            else
              relu(x + lo * per, y + lo * per, (hi - lo) * per);
          }, count);
        }
        break;
      case Op::Add:
      case Op::Concat:
        xs.clear();
        per.clear();
        for (int j : n.inputs) {
          xs.push_back(out_[static_cast<size_t>(j)]);
          per.push_back(net.nodes[static_cast<size_t>(j)].numel());
        }
        if (req.blockScale) alignInputs(net, i, S, xs, aligned);
        if (n.op == Op::Add) {
          const size_t per = n.numel();
          split(S, 1, [&](int, int lo, int hi) {
            std::vector<const float*> part(xs.size());
            for (size_t k = 0; k < xs.size(); ++k) part[k] = xs[k] + lo * per;
            addTensors(part.data(), part.size(), y + lo * per, (hi - lo) * per);
          }, count);
        } else {
          concat(xs.data(), per.data(), xs.size(), y, S);
        }
        break;
      case Op::Bn:
        if (req.bn == BnMode::Identity) {
          std::memcpy(y, x, count * sizeof(float));
        } else {
          xhat_[i] = acquire(count, false);
          inv_[i].assign(static_cast<size_t>(n.c), 0.0);
          double* inv = inv_[i].data();
          float* xhat = xhat_[i];
          split(n.c, 1, [&](int, int lo, int hi) {
            bnForward(bnModeOf(n, req.bn) == BnMode::Train, x, xhat, y, inv, S, n.c, HW, p, p + n.c, p + 2 * n.c, p + 3 * n.c, n.eps, lo, hi);
          }, 3 * count);
        }
        break;
      case Op::AvgPool: {
        const size_t inPer = in->numel(), outPer = n.numel();
        split(S, 1, [&](int, int lo, int hi) { avgPool(n, *in, x + lo * inPer, y + lo * outPer, hi - lo); }, count * n.k * n.k);
        break;
      }
      case Op::MaxPool: {
        argmax_[i].assign(count, -1);
        const size_t inPer = in->numel(), outPer = n.numel();
        int32_t* am = argmax_[i].data();
        split(
            S, 1, [&](int, int lo, int hi) { maxPoolArgmax(n, *in, x + lo * inPer, y + lo * outPer, am + lo * outPer, hi - lo); }, count * n.k * n.k);
        break;
      }
      case Op::Conv: {
        // samples are independent: each part convolves its own (a lone network on two threads)
        const size_t inPer = in->numel(), outPer = n.numel();
        split(S, 1, [&](int t, int lo, int hi) { nodeConvForward(n, *in, x + lo * inPer, y + lo * outPer, hi - lo, p, scratch(t)); },
              convMacs(n, S));
        const float* bias = n.bias ? p + static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps() : nullptr;
        if (bias && req.blockScale)
          addScaledBias(y, bias, S, n.cout, HW, fexp_[i]);
        else if (bias)
          addChannelBias(y, bias, S, n.cout, HW);
        break;
      }
      case Op::Slice:
        sliceWindow(n, *in, x, y, S);
        break;
      case Op::Gap:
        globalAvgPool(x, y, S, in->c, static_cast<size_t>(in->h) * in->w);
        break;
      case Op::Flatten:
      case Op::View:
        std::memcpy(y, x, count * sizeof(float));
        break;
      case Op::Shuffle:
        channelShuffle(n, x, y, S, false);
        break;
      case Op::Upsample:
        upsampleMap(n, x, y, S, false);
        break;
      case Op::Expand:
        expandMap(*in, n, x, y, S, false);
        break;
      case Op::ChanPool:
        if (n.chanMax) argmax_[i].assign(count, -1);
        chanPoolMap(*in, n.chanMax, x, y, S, n.chanMax ? argmax_[i].data() : nullptr);
        break;
      // no block floating point through a gate: the float64 pass takes such networks (breaksScaling in src/ir/ops.ts)
      case Op::Sigmoid:
        if (req.blockScale) fail("a sigmoid gate has no block floating point form");
        sigmoidGate(n, x, y, count);
        break;
      case Op::Act:
        if (req.blockScale) fail("a smooth activation has no block floating point form");
        if (nwot_ && onPath[i] && n.nwot) {
          // an nn.PReLU: NASLib's hook reads its input, whose signs a negative slope would turn
          codes_.resize(n.numel() * static_cast<size_t>(patternWords(S)));
          reluPack(x, nullptr, S, n.numel(), codes_.data());
          nwot_->add(codes_.data(), n.numel());
        }
        actForward(n, x, y, count);
        break;
      case Op::Softmax:
        if (req.blockScale) fail("a softmax has no block floating point form");
        softmaxRows(x, y, S, n.c, n.logSoftmax);
        break;
      case Op::Mul: {
        if (req.blockScale) fail("a product has no block floating point form");
        const size_t plane = n.numel() / net.nodes[static_cast<size_t>(n.inputs[1])].numel();
        mulGate(x, out_[static_cast<size_t>(n.inputs[1])], y, count, plane);
        break;
      }
      case Op::Linear: {
        const float* bias = n.bias ? p + static_cast<size_t>(n.fin) * n.fout : nullptr;
        if (req.blockScale && bias) {
          // the bias starts the double sum, as in the unscaled pass: x is first raised to the bias's exponent if
          // that is larger, so the scaled bias stays a normal float
          int e = fexp_[i];
          const int kb = biasExponent(bias, n.fout);
          if (kb != kZeroExponent && (e == kZeroExponent || kb > e)) {
            const size_t inCount = static_cast<size_t>(S) * n.fin;
            float* t = acquire(inCount, false);
            alignedCopy(x, inCount, e, kb, t);
            aligned.push_back(t);
            x = t;
            e = kb;
          }
          fexp_[i] = e;
          const std::vector<float> at = kb == kZeroExponent ? std::vector<float>() : biasAt(bias, n.fout, e);
          linearForward(x, p, at.empty() ? nullptr : at.data(), y, S, n.fin, n.fout);
        } else {
          linearForward(x, p, bias, y, S, n.fin, n.fout);
        }
        break;
      }
    }
    if (req.blockScale) {
      renormalize(y, count, fexp_[i]);
      for (float*& t : aligned) release(t);
      aligned.clear();
    }
    out_[i] = y;
    if (reduce[i])
      for (size_t k = 0; k < req.keepCount; ++k)
        if (static_cast<size_t>(req.keepNodes[k]) == i && req.keepModes[k] != 0)
          keptValues_[k] = keptValue(static_cast<KeepReduce>(req.keepModes[k]), y, n, S);
    for (int j : n.inputs)
      if (lastUse[static_cast<size_t>(j)] == static_cast<int>(i) && !keep[static_cast<size_t>(j)]) release(out_[static_cast<size_t>(j)]);
  }
}

void GradExecutor::alignInputs(const Net& net, size_t i, int S, std::vector<const float*>& xs, std::vector<float*>& temps) {
  const std::vector<int>& ins = net.nodes[i].inputs;
  int top = kZeroExponent;
  for (int j : ins) top = std::max(top, fexp_[static_cast<size_t>(j)]);
  for (size_t k = 0; k < ins.size(); ++k) {
    const int from = fexp_[static_cast<size_t>(ins[k])];
    if (from == top) continue;
    const size_t count = static_cast<size_t>(S) * net.nodes[static_cast<size_t>(ins[k])].numel();
    float* t = acquire(count, false);
    alignedCopy(xs[k], count, from, top, t);
    xs[k] = t;
    temps.push_back(t);
  }
  fexp_[i] = top;
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

void GradExecutor::collectBnVar(const Net& net, const GradRequest& req, GradResult& r) const {
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& n = net.nodes[i];
    if (n.op != Op::Bn || n.rank != 3) continue;
    const bool have = bnModeOf(n, req.bn) == BnMode::Train && inv_[i].size() == static_cast<size_t>(n.c);
    // The batch variance is recovered from 1/sqrt(var + eps) (kept in double), exact to ~1e-16 relative.
    for (int c = 0; c < n.c; ++c)
      r.bnVar.push_back(have ? 1.0 / (inv_[i][c] * inv_[i][c]) - n.eps : std::nan(""));
  }
}

void GradExecutor::runPasses(const Net& net, const float* params, int S, const GradRequest& req, GradResult& r, const CancelToken* cancel) {
  for (size_t p = 0; p < req.passCount; ++p) {
    const BackwardPass& bp = req.passes[p];
    const size_t count = static_cast<size_t>(S) * net.nodes[static_cast<size_t>(bp.seedNode)].numel();
    float* g = acquire(count, false);
    std::memcpy(g, bp.seed, count * sizeof(float));
    grad_[static_cast<size_t>(bp.seedNode)] = g;
    GradRequest one = req;
    one.wantParams = one.wantInput = one.wantSaliency = one.wantHvp = false;
    one.readNode = bp.readNode;
    backward(net, params, S, one, r, cancel);
    if (req.passModes && req.passModes[p] == static_cast<int32_t>(PassReduce::Trainability) && bp.readNode >= 0) {
      // the read cotangent is the tail of r.reads: reduce it with the seed and drop it
      const Node& in = net.nodes[static_cast<size_t>(bp.readNode)];
      const size_t readCount = static_cast<size_t>(S) * in.numel();
      const float* gIn = r.reads.data() + (r.reads.size() - readCount);
      r.passValues.push_back(blockTrainability(bp.seed, net.nodes[static_cast<size_t>(bp.seedNode)], gIn, in, S));
      r.reads.resize(r.reads.size() - readCount);
    }
  }
}

void GradExecutor::scalarTerms(const Net& net, int node, const float* dy, int S, const GradRequest& req, std::vector<double>& out) {
  const Node& n = net.nodes[static_cast<size_t>(node)];
  const float* x = n.inputs.empty() ? nullptr : out_[static_cast<size_t>(n.inputs[0])];
  for (size_t q = 0; q < req.scalarCount; ++q) {
    const int32_t* t = req.scalars + 3 * q;
    if (t[0] != node) continue;
    const int kind = t[1];
    const size_t idx = static_cast<size_t>(t[2]);
    double* o = out.data() + q * static_cast<size_t>(S);
    if (n.op == Op::Linear) {
      const size_t oc = kind == 0 ? idx / n.fin : idx;
      for (int s = 0; s < S; ++s)
        o[s] = static_cast<double>(dy[static_cast<size_t>(s) * n.fout + oc]) * (kind == 0 ? x[static_cast<size_t>(s) * n.fin + idx % n.fin] : 1.0);
    } else if (n.op == Op::Conv && kind == 0) {
      const Node& in0 = net.nodes[static_cast<size_t>(n.inputs[0])];
      // a transposed conv's weight is its adjoint's, whose input is the output cotangent and whose output cotangent
      // is the input (adjointOf in ir.h)
      const Adjoint adj = n.transposed ? adjointOf(n, in0) : Adjoint{};
      const Node& c = n.transposed ? adj.conv : n;
      const Node& in = n.transposed ? adj.from : in0;
      const float* cx = n.transposed ? dy : x;
      const float* cdy = n.transposed ? x : dy;
      const Window a = windowOf(c);
      const size_t cinG = static_cast<size_t>(c.cin / c.groups), kk = static_cast<size_t>(a.taps());
      const int kw = static_cast<int>(idx % a.kw), kh = static_cast<int>((idx / a.kw) % a.kh);
      const size_t oc = idx / (kk * cinG), ic = (oc / (c.cout / c.groups)) * cinG + (idx / kk) % cinG;
      // output columns whose tap lands inside the input row (the same for every row): the loop below visits
      // exactly the positions the bounds checks would keep, in the same order
      int ow0 = 0, ow1 = c.w;
      while (ow0 < ow1 && ow0 * a.sw - a.pw + kw * a.dw < 0) ++ow0;
      while (ow1 > ow0 && (ow1 - 1) * a.sw - a.pw + kw * a.dw >= in.w) --ow1;
      const int iw0 = ow0 * a.sw - a.pw + kw * a.dw;
      for (int s = 0; s < S; ++s) {
        double acc = 0;
        const float* d = cdy + (static_cast<size_t>(s) * c.cout + oc) * c.h * c.w;
        const float* xs = cx + (static_cast<size_t>(s) * c.cin + ic) * in.h * in.w;
        for (int oh = 0; oh < c.h; ++oh) {
          const int ih = oh * a.sh - a.ph + kh * a.dh;
          if (ih < 0 || ih >= in.h) continue;
          const float* dr = d + oh * c.w;
          const float* xr = xs + ih * in.w + iw0;
          for (int ow = ow0; ow < ow1; ++ow) acc += static_cast<double>(dr[ow]) * xr[(ow - ow0) * a.sw];
        }
        o[s] = acc;
      }
    } else if (kind >= 4) {
      // A learned constant alpha's gradient, summed over its channel's plane (kind 4) or the whole node (kind 5):
      // PyTorch's prelu backward sums x * dy where x <= 0; x * alpha sums x * dy, x + alpha dy, x / alpha
      // -x * dy / alpha^2 (the parameter's sign, x - c imported as x + (-c), is applied by the caller).
      const size_t count = n.numel(), plane = kind == 5 ? count : count / static_cast<size_t>(n.c);
      const size_t at = kind == 5 ? 0 : idx * plane;
      const bool prelu = n.op == Op::Relu || n.act == ActFn::Prelu;
      const double a = kind == 5 || n.alphas.empty() ? n.alpha : n.alphas[idx];
      for (int s = 0; s < S; ++s) {
        double acc = 0;
        const size_t off = static_cast<size_t>(s) * count + at;
        if (prelu) {
          for (size_t e = 0; e < plane; ++e)
            if (x[off + e] <= 0) acc += static_cast<double>(dy[off + e]) * x[off + e];
        } else if (n.act == ActFn::Shift) {
          for (size_t e = 0; e < plane; ++e) acc += dy[off + e];
        } else {
          for (size_t e = 0; e < plane; ++e) acc += static_cast<double>(dy[off + e]) * x[off + e];
          if (n.act == ActFn::Divide) acc = -acc / (a * a);
        }
        o[s] = acc;
      }
    } else {
      // conv bias, BN / GroupNorm beta: sum of the channel's cotangent; gamma: times x-hat (the same (S, C, HW) layout).
      const size_t hw = static_cast<size_t>(n.h) * n.w;
      const float* xh = kind == 2 ? xhat_[static_cast<size_t>(node)] : nullptr;
      for (int s = 0; s < S; ++s) {
        double acc = 0;
        const size_t off = (static_cast<size_t>(s) * n.c + idx) * hw;
        for (size_t e = 0; e < hw; ++e) acc += static_cast<double>(dy[off + e]) * (xh ? xh[off + e] : 1.0f);
        o[s] = acc;
      }
    }
  }
}

float* GradExecutor::gradOf(const Net& net, int node, int S) {
  float*& g = grad_[static_cast<size_t>(node)];
  if (!g) g = acquire(static_cast<size_t>(S) * net.nodes[static_cast<size_t>(node)].numel(), true);
  return g;
}

}  // namespace swapnas
