// GradExecutor::backward: reverse topological order over the nodes between the output and the requested targets
// (parameters, input), accumulating cotangents; a node's cotangent buffer is handed on to an input (element-wise
// ops work in place) or released once the node is done.
#include <algorithm>
#include <cstring>

#include "backward.h"
#include "activations.h"
#include "ops.h"
#include "groupnorm.h"
#include "simd.h"
#include "softmax.h"

namespace swapnas {

namespace {

void addInto(float* dst, const float* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] += src[i];
}

// blockScale: expresses two cotangents of one node (g at exponent eg, buf at e) at the larger exponent, so they add.
void alignCotangents(int& eg, float* g, int e, float* buf, size_t n) {
  if (e > eg) {
    scalePow2(g, n, eg == kZeroExponent ? -1000 : eg - e);
    eg = e;
  } else if (e < eg) {
    scalePow2(buf, n, e == kZeroExponent ? -1000 : e - eg);
  }
}

// Σ a[e] * b[e] in double: eight lanes (lane l takes e = l mod 8, in order), then the lanes in order, then the tail.
// Every product of two floats is exact in double, so only the order of the adds shows; the lanes (d8, simd.h) are
// fixed at eight whatever the vector width, and run as vector adds where one chain of dependent scalar adds ran
// (fisher's channel saliency, ~5 % of a saliency pass).
double dotDouble(const float* a, const float* b, size_t n) {
  d8 lanes = {};
  size_t e = 0;
  for (; e + 8 <= n; e += 8) addProducts(lanes, a + e, b + e);
  double acc = laneTotal(lanes);
  for (; e < n; ++e) acc += static_cast<double>(a[e]) * b[e];
  return acc;
}

}  // namespace

void GradExecutor::backward(const Net& net, const float* params, int S, const GradRequest& req, GradResult& r, const CancelToken* cancel) {
  const size_t N = net.nodes.size();
  // flow[i]: node i is, or depends on, a target; only through such nodes do cotangents need to go.
  std::vector<uint8_t> flow(N, 0), hasScalar(N, 0);
  for (size_t q = 0; q < req.scalarCount; ++q) hasScalar[static_cast<size_t>(req.scalars[3 * q])] = 1;
  std::vector<double> perSample(req.scalarCount * static_cast<size_t>(S), 0.0);
  bool readDone = false;
  for (size_t i = 0; i < N; ++i) {
    const Node& n = net.nodes[i];
    const bool hasParams =
        n.op == Op::Conv || n.op == Op::Linear || n.op == Op::GroupNorm || (n.op == Op::Bn && req.bn != BnMode::Identity);
    const bool weighted = n.op == Op::Conv || n.op == Op::Linear;
    flow[i] = (req.wantParams && hasParams) || (req.wantSaliency && weighted) || (req.wantInput && i == 0) ||
              static_cast<int>(i) == req.readNode || hasScalar[i];
    for (int j : n.inputs) flow[i] |= flow[static_cast<size_t>(j)];
  }
  if (req.wantParams) r.params.assign(offsets_.back(), 0.0f);
  // Saliency offsets: conv/linear nodes in node order, S x C each.
  std::vector<size_t> salOff(N, 0), rowOff(N, 0);
  if (req.wantSaliency) {
    size_t total = 0, rows = 0;
    for (size_t i = 0; i < N; ++i)
      if (net.nodes[i].op == Op::Conv || net.nodes[i].op == Op::Linear) {
        salOff[i] = total;
        total += static_cast<size_t>(S) * net.nodes[i].c;
        rowOff[i] = rows;
        rows += static_cast<size_t>(S) * net.nodes[i].h;
      }
    r.saliency.assign(total, 0.0f);
    if (req.wantRowSaliency) r.rowSaliency.assign(rows, 0.0f);
  }
  if (req.blockScale) r.weightExp.assign(N, 0);
  int cur = 0;  // blockScale: the exponent of the cotangents the current node hands on
  // Hands `buf` (S x numel of node j) to input j: owned when j had no cotangent yet, else added and released.
  auto give = [&](int j, float*& buf) {
    float*& g = grad_[static_cast<size_t>(j)];
    const size_t per = net.nodes[static_cast<size_t>(j)].numel();
    if (!flow[static_cast<size_t>(j)]) {
      release(buf);
    } else if (!g) {
      g = buf;
      buf = nullptr;
      if (req.blockScale) gexp_[static_cast<size_t>(j)] = cur;
    } else {
      if (req.blockScale) alignCotangents(gexp_[static_cast<size_t>(j)], g, cur, buf, S * per);
      split(S, 1, [&](int, int lo, int hi) { addInto(g + lo * per, buf + lo * per, (hi - lo) * per); }, S * per);
      release(buf);
    }
  };
  for (size_t i = static_cast<size_t>(net.output) + 1; i-- > 1;) {
    float* dy = grad_[i];
    if (!dy) continue;
    if (cancel && cancel->requested()) throw Cancelled{};
    grad_[i] = nullptr;
    const Node& n = net.nodes[i];
    const int j0 = n.inputs.empty() ? -1 : n.inputs[0];
    const Node* in = j0 < 0 ? nullptr : &net.nodes[static_cast<size_t>(j0)];
    const size_t count = static_cast<size_t>(S) * n.numel();
    if (req.blockScale) {
      renormalize(dy, count, gexp_[i]);
      cur = gexp_[i];
      if (n.op == Op::Conv || n.op == Op::Linear) {
        const int ex = fexp_[static_cast<size_t>(j0)];
        r.weightExp[i] = ex == kZeroExponent || cur == kZeroExponent ? kZeroExponent : ex + cur;
      }
    }
    if (req.wantHvp && (n.op == Op::Conv || n.op == Op::Linear || n.op == Op::Sigmoid || n.op == Op::Mul || n.op == Op::Act ||
                        (n.op == Op::Bn && bnModeOf(n, req.bn) == BnMode::Train))) {
      dyKeep_[i] = acquire(count, false);
      std::memcpy(dyKeep_[i], dy, count * sizeof(float));
    }
    const float* p = params + offsets_[i];
    float* dp = req.wantParams ? r.params.data() + offsets_[i] : nullptr;
    const bool dx = j0 >= 0 && flow[static_cast<size_t>(j0)];
    if (static_cast<int>(i) == req.readNode) {
      r.reads.insert(r.reads.end(), dy, dy + count);
      readDone = true;
    }
    if (hasScalar[i]) scalarTerms(net, static_cast<int>(i), dy, S, req, perSample);
    if (req.wantSaliency && (n.op == Op::Conv || n.op == Op::Linear)) {
      const size_t hw = static_cast<size_t>(n.h) * n.w, C = static_cast<size_t>(n.c);
      const float* a = out_[i];
      float* sal = r.saliency.data() + salOff[i];
      split(S, 1, [&](int, int lo, int hi) {
        for (size_t sc = lo * C; sc < hi * C; ++sc) sal[sc] = static_cast<float>(dotDouble(a + sc * hw, dy + sc * hw, hw));
      }, count);
      if (req.wantRowSaliency) rowSums(a, dy, S, n, r.rowSaliency.data() + rowOff[i]);
    }
    switch (n.op) {
      case Op::GroupNorm: {
        if (req.wantHvp) fail("a GroupNorm has no Hessian-vector form on the native engine (the reference engine has)");
        const size_t hw = static_cast<size_t>(n.h) * n.w;
        const float* xhat = xhat_[i];
        if (dp) split(n.c, 1, [&](int, int lo, int hi) { gnParamGrads(dy, xhat, S, n.c, hw, dp, dp + n.c, lo, hi); }, 2 * count);
        if (dx) {
          float* g = acquire(count, false);
          const double* inv = inv_[i].data();
          split(gnGroupCount(n, S), 1, [&](int, int lo, int hi) { gnBackward(dy, xhat, inv, n.c, hw, n.groups, n.pixelwise, p, g, lo, hi); }, 3 * count);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Input:
      case Op::Zero:
        release(dy);
        break;
      case Op::Relu: {
        const float* y = out_[i];
        const size_t per = n.numel();
        split(S, 1, [&](int, int lo, int hi) {
          // PyTorch's rules: relu passes where x > 0, hardtanh (ReLU6) where 0 < x < clip, leaky_relu scales by the
          // slope where x <= 0
          reluCotangents(n, y + lo * per, dy + lo * per, dy + lo * per, (hi - lo) * per);
        }, count);
        give(j0, dy);
        break;
      }
      case Op::Add:
        for (size_t k = 1; k < n.inputs.size(); ++k) {
          float* copy = acquire(count, false);
          std::memcpy(copy, dy, count * sizeof(float));
          give(n.inputs[k], copy);
        }
        give(j0, dy);
        break;
      case Op::Concat: {
        size_t off = 0;
        for (int j : n.inputs) {
          const size_t per = net.nodes[static_cast<size_t>(j)].numel();
          float* part = acquire(static_cast<size_t>(S) * per, false);
          for (int s = 0; s < S; ++s) std::memcpy(part + s * per, dy + s * n.numel() + off, per * sizeof(float));
          off += per;
          give(j, part);
        }
        release(dy);
        break;
      }
      case Op::Bn: {
        if (req.bn == BnMode::Identity) {
          give(j0, dy);
          break;
        }
        float* g = dx ? acquire(count, false) : nullptr;
        float* scratch = g ? g : acquire(count, false);
        const float* xhat = xhat_[i];
        const double* inv = inv_[i].data();
        split(n.c, 1, [&](int, int lo, int hi) {
          bnBackward(bnModeOf(n, req.bn) == BnMode::Train, dy, xhat, inv, S, n.c, static_cast<size_t>(n.h) * n.w, p, scratch, dp ? dp : nullptr,
                     dp ? dp + n.c : nullptr, lo, hi);
        }, 3 * count);
        release(dy);
        if (g)
          give(j0, g);
        else
          release(scratch);
        break;
      }
      case Op::AvgPool:
      case Op::MaxPool: {
        if (dx) {
          float* g = acquire(static_cast<size_t>(S) * in->numel(), false);
          const size_t inPer = in->numel(), outPer = n.numel();
          const int32_t* am = n.op == Op::MaxPool ? argmax_[i].data() : nullptr;
          split(S, 1, [&](int, int lo, int hi) {
            poolBackward(n, *in, dy + lo * outPer, am ? am + lo * outPer : nullptr, g + lo * inPer, hi - lo);
          }, count * n.k * n.k);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Conv: {
        const size_t wCount = static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps();
        const size_t macs = convMacs(n, S);
        if (dp) {
          // parts own whole rows of every group's weight gradient (output channels), each summed over all samples
          const float* x = out_[static_cast<size_t>(j0)];
          const bool depthwise = n.cin == n.groups && n.cout == n.groups;
          split(depthwise ? 1 : weightRows(n), 4, [&](int t, int lo, int hi) { nodeConvBackwardWeights(n, *in, x, dy, S, dp, scratch(t), lo, hi); }, macs);
          if (n.bias && !req.blockScale) channelSums(dy, nullptr, S, n.cout, static_cast<size_t>(n.h) * n.w, dp + wCount);
        }
        if (dx) {
          float* g = acquire(static_cast<size_t>(S) * in->numel(), false);
          const size_t inPer = in->numel(), outPer = n.numel();
          split(S, 1, [&](int t, int lo, int hi) { nodeConvBackwardData(n, *in, dy + lo * outPer, g + lo * inPer, hi - lo, p, scratch(t)); }, macs);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Slice: {
        if (dx) {
          float* g = acquire(static_cast<size_t>(S) * in->numel(), false);
          sliceBackward(n, *in, dy, g, S);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Flatten:
      case Op::View:
        // the same elements in the same order
        if (dx) give(j0, dy);
        else release(dy);
        break;
      case Op::Sigmoid:
      case Op::Act: {
        // a sigmoid's slope is read off its output, a smooth activation's off its input
        const bool gate = n.op == Op::Sigmoid;
        const float* v = gate ? out_[i] : out_[static_cast<size_t>(j0)];
        split(S, 1, [&](int, int lo, int hi) {
          if (!gate && n.act == ActFn::Prelu) {
            // actSlope's PReLU, one slope per plane
            byPlanes(n, lo * n.numel(), hi * n.numel(), [&](size_t b, size_t e, double alpha) {
              const float a = static_cast<float>(alpha);
              for (size_t k = b; k < e; ++k) dy[k] *= v[k] > 0 ? 1.0f : a;
            });
            return;
          }
          for (size_t e = lo * n.numel(); e < hi * n.numel(); ++e) dy[e] *= gate ? sigmoidSlope(n, v[e]) : actSlope(n, v[e], e);
        }, count);
        give(j0, dy);
        break;
      }
      case Op::Softmax:
        if (req.wantHvp) fail("a softmax has no Hessian-vector form on the native engine (the reference engine has)");
        softmaxVjp(out_[i], dy, S, n.c, n.logSoftmax);
        give(j0, dy);
        break;
      case Op::Mul: {
        // d a = dy * g (g broadcast), d g = the sum over each plane of dy * a
        const int j1 = n.inputs[1];
        const float* a = out_[static_cast<size_t>(j0)];
        const float* g = out_[static_cast<size_t>(j1)];
        const size_t gCount = static_cast<size_t>(S) * net.nodes[static_cast<size_t>(j1)].numel(), plane = count / gCount;
        float* dg = acquire(gCount, false);
        for (size_t q = 0; q < gCount; ++q) {
          double acc = 0;
          for (size_t e = q * plane; e < (q + 1) * plane; ++e) acc += static_cast<double>(dy[e]) * a[e];
          dg[q] = static_cast<float>(acc);
        }
        for (size_t e = 0; e < count; ++e) dy[e] *= g[e / plane];
        give(j1, dg);
        give(j0, dy);
        break;
      }
      case Op::ChanPool: {
        if (dx) {
          float* g = acquire(static_cast<size_t>(S) * in->numel(), true);
          chanPoolBack(*in, dy, g, S, n.chanMax ? argmax_[i].data() : nullptr);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Upsample: {
        if (dx) {
          float* g = acquire(static_cast<size_t>(S) * in->numel(), false);
          upsampleMap(n, dy, g, S, true);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Expand: {
        if (dx) {
          float* g = acquire(static_cast<size_t>(S) * in->numel(), false);
          expandMap(*in, n, dy, g, S, true);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Shuffle: {
        if (dx) {
          float* g = acquire(count, false);
          channelShuffle(n, dy, g, S, true);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Gap: {
        if (dx) {
          float* g = acquire(static_cast<size_t>(S) * in->numel(), false);
          gapBackward(dy, g, S, in->c, static_cast<size_t>(in->h) * in->w);
          give(j0, g);
        }
        release(dy);
        break;
      }
      case Op::Linear: {
        float* g = dx ? acquire(static_cast<size_t>(S) * in->numel(), false) : nullptr;
        const size_t wCount = static_cast<size_t>(n.fin) * n.fout;
        linearBackward(out_[static_cast<size_t>(j0)], p, dy, g, dp, dp && n.bias && !req.blockScale ? dp + wCount : nullptr, S, n.fin, n.fout);
        release(dy);
        if (g) give(j0, g);
        break;
      }
    }
  }
  if (req.readNode >= 0 && !readDone) {
    const size_t count = static_cast<size_t>(S) * net.nodes[static_cast<size_t>(req.readNode)].numel();
    if (req.readNode == 0 && grad_[0])
      r.reads.insert(r.reads.end(), grad_[0], grad_[0] + count);
    else
      r.reads.insert(r.reads.end(), count, 0.0f);
  }
  for (double v : perSample) r.perSample.push_back(static_cast<float>(v));
  if (req.wantInput) {
    const size_t count = static_cast<size_t>(S) * net.nodes[0].numel();
    if (grad_[0])
      r.input.assign(grad_[0], grad_[0] + count);
    else
      r.input.assign(count, 0.0f);
  }
  release(grad_[0]);
}

}  // namespace swapnas
