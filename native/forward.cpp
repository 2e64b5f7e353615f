#include "forward.h"

#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "ops.h"
#include "patterns.h"
#include "prng.h"

namespace swapnas {

namespace {

// Zeroed floats after every activation buffer: tile-wide GEMM reads may run past a tensor's end.
constexpr size_t kSlack = 256;
static_assert(kSlack >= static_cast<size_t>(kNR), "conv reads up to one column tile past its input");

class ScopedTimer {
 public:
  explicit ScopedTimer(uint64_t& acc) : acc_(acc), t0_(threadCpuNs()) {}
  ~ScopedTimer() { acc_ += threadCpuNs() - t0_; }

 private:
  uint64_t& acc_;
  uint64_t t0_;
};

}  // namespace

float* TensorPool::acquire(size_t n) {
  const size_t need = n + kSlack;
  Slot* best = nullptr;
  Slot* spare = nullptr;
  for (Slot& s : slots_) {
    if (s.used) continue;
    if (s.mem.capacity() >= need) {
      if (!best || s.mem.capacity() < best->mem.capacity()) best = &s;
    } else if (!spare || s.mem.capacity() > spare->mem.capacity()) {
      spare = &s;
    }
  }
  if (!best) {
    if (!spare) {
      slots_.emplace_back();
      spare = &slots_.back();
    }
    spare->mem.reserve(need);
    best = spare;
  }
  best->used = true;
  float* p = best->mem.data();
  std::memset(p + n, 0, kSlack * sizeof(float));
  return p;
}

void TensorPool::release(float* p) {
  for (Slot& s : slots_) {
    if (s.mem.data() == p) {
      s.used = false;
      return;
    }
  }
}

void TensorPool::releaseAll() {
  for (Slot& s : slots_) s.used = false;
}

const float* WeightCache::get(uint32_t seed, uint32_t tensor, size_t count, AlignedArray<float>& scratch) {
  if (!valid_ || seed != seed_) {
    map_.clear();
    used_ = 0;
    seed_ = seed;
    valid_ = true;
  }
  const uint64_t key = (static_cast<uint64_t>(tensor) << 32) | static_cast<uint64_t>(count & 0xffffffffu);
  auto it = map_.find(key);
  if (it != map_.end() && it->second.capacity() >= count) {
    ++hits_;
    return it->second.data();
  }
  ++misses_;
  float* w;
  if (used_ + count <= budget_) {
    AlignedArray<float>& slot = map_[key];
    w = slot.reserve(count);
    used_ += count;
  } else {
    w = scratch.reserve(count);
  }
  fillGaussian(w, count, seed, tensor);
  return w;
}

const float* Executor::weights(uint32_t seed, int node, size_t count) {
  if (cache_) return cache_->get(seed, static_cast<uint32_t>(node), count, weights_);
  float* w = weights_.reserve(count);
  fillGaussian(w, count, seed, static_cast<uint32_t>(node));
  return w;
}

void Executor::run(const Net& net, const float* input, int S, uint32_t seed, LayerSink& sink, const CancelToken* cancel) {
  ScopedTimer t(timing_.item);
  forward(net, net.needed, net.lastUse, input, S, seed, &sink, cancel, -1, nullptr);
}

std::vector<float> Executor::nodeValues(const Net& net, const float* input, int S, uint32_t seed, int node) {
  const size_t count = net.nodes.size();
  std::vector<uint8_t> need(count, 0);
  need[static_cast<size_t>(node)] = 1;
  for (int i = node; i >= 0; --i) {
    if (!need[static_cast<size_t>(i)]) continue;
    for (int j : net.nodes[static_cast<size_t>(i)].inputs) need[static_cast<size_t>(j)] = 1;
  }
  std::vector<int> lastUse(count, -1);
  for (int i = 0; i <= node; ++i) {
    if (!need[static_cast<size_t>(i)]) continue;
    for (int j : net.nodes[static_cast<size_t>(i)].inputs) lastUse[static_cast<size_t>(j)] = i;
  }
  std::vector<float> kept;
  forward(net, need, lastUse, input, S, seed, nullptr, nullptr, node, &kept);
  return kept;
}

void Executor::forward(const Net& net, const std::vector<uint8_t>& need, const std::vector<int>& lastUse, const float* input, int S,
                       uint32_t seed, LayerSink* sink, const CancelToken* cancel, int keep, std::vector<float>* kept) {
  const size_t count = net.nodes.size();
  pool_.releaseAll();
  vals_.assign(count, nullptr);
  owned_.assign(count, 0);
  const int words = patternWords(S);
  const int last = keep >= 0 ? keep : static_cast<int>(count) - 1;

  for (int i = 0; i <= last; ++i) {
    const size_t ui = static_cast<size_t>(i);
    if (!need[ui]) continue;
    if (cancel && cancel->requested()) throw Cancelled{};
    const Node& n = net.nodes[ui];
    const size_t per = n.numel();
    const size_t total = per * static_cast<size_t>(S);
    // Consumers of this node's output (none: a recorded ReLU only feeding the skipped head).
    const bool consumed = lastUse[ui] >= 0 || i == keep;
    auto x = [&](size_t k) { return vals_[static_cast<size_t>(n.inputs[k])]; };
    // Takes over input k's buffer when this node is its last consumer.
    auto inPlace = [&](size_t k) -> float* {
      const size_t j = static_cast<size_t>(n.inputs[k]);
      if (!owned_[j] || lastUse[j] != i) return nullptr;
      float* p = vals_[j];
      vals_[j] = nullptr;
      owned_[j] = 0;
      return p;
    };
    float* y = nullptr;
    switch (n.op) {
      case Op::Input: {
        ScopedTimer t(timing_.eltwise);
        y = pool_.acquire(total);
        std::memcpy(y, input, total * sizeof(float));
        break;
      }
      case Op::Zero: {
        ScopedTimer t(timing_.eltwise);
        y = pool_.acquire(total);
        std::memset(y, 0, total * sizeof(float));
        break;
      }
      case Op::Conv: {
        const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
        const size_t wcount = static_cast<size_t>(n.cout) * (n.cin / n.groups) * n.k * n.k;
        const float* w;
        {
          ScopedTimer t(timing_.prng);
          w = weights(seed, i, wcount);
        }
        ScopedTimer t(timing_.conv);
        y = pool_.acquire(total);
        convForward(n, in, x(0), y, S, w, conv_);
        break;
      }
      case Op::Bn: {
        ScopedTimer t(timing_.bn);
        const float* xi = x(0);
        y = inPlace(0);
        if (!y) y = pool_.acquire(total);
        batchNorm(xi, y, S, n.c, static_cast<size_t>(n.h) * n.w);
        break;
      }
      case Op::Relu: {
        const float* xi = x(0);
        if (consumed) {
          y = inPlace(0);
          if (!y) y = pool_.acquire(total);
        }
        if (n.recorded && sink) {
          uint64_t* codes = codes_.reserve(per * static_cast<size_t>(words));
          {
            ScopedTimer t(timing_.pack);
            reluPack(xi, y, S, per, codes);
          }
          ScopedTimer t(timing_.count);
          sink->layer(i, per, codes);
        } else if (y) {
          ScopedTimer t(timing_.eltwise);
          relu(xi, y, total);
        }
        break;
      }
      case Op::AvgPool:
      case Op::MaxPool: {
        ScopedTimer t(timing_.pool);
        const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
        y = pool_.acquire(total);
        if (n.op == Op::AvgPool)
          avgPool(n, in, x(0), y, S);
        else
          maxPool(n, in, x(0), y, S);
        break;
      }
      case Op::Add: {
        ScopedTimer t(timing_.eltwise);
        std::vector<const float*> xs(n.inputs.size());
        for (size_t k = 0; k < xs.size(); ++k) xs[k] = x(k);
        for (size_t k = 0; k < xs.size() && !y; ++k) y = inPlace(k);
        if (!y) y = pool_.acquire(total);
        addTensors(xs.data(), xs.size(), y, total);
        break;
      }
      case Op::Concat: {
        ScopedTimer t(timing_.eltwise);
        std::vector<const float*> xs(n.inputs.size());
        std::vector<size_t> pers(n.inputs.size());
        for (size_t k = 0; k < xs.size(); ++k) {
          xs[k] = x(k);
          pers[k] = net.nodes[static_cast<size_t>(n.inputs[k])].numel();
        }
        y = pool_.acquire(total);
        concat(xs.data(), pers.data(), xs.size(), y, S);
        break;
      }
      case Op::Slice: {
        ScopedTimer t(timing_.eltwise);
        const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
        y = pool_.acquire(total);
        sliceWindow(n, in, x(0), y, S);
        break;
      }
      case Op::Gap: {
        ScopedTimer t(timing_.pool);
        const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
        y = pool_.acquire(total);
        globalAvgPool(x(0), y, S, in.c, static_cast<size_t>(in.h) * in.w);
        break;
      }
      case Op::Linear: {
        const size_t wcount = static_cast<size_t>(n.fin) * n.fout;
        const float* w;
        {
          ScopedTimer t(timing_.prng);
          w = weights(seed, i, wcount);
        }
        ScopedTimer t(timing_.conv);
        y = pool_.acquire(total);
        linear(x(0), w, y, S, n.fin, n.fout);
        break;
      }
    }
    vals_[ui] = y;
    owned_[ui] = y ? 1 : 0;
    if (i == keep && kept) kept->assign(y, y + total);
    for (int j : n.inputs) {
      const size_t uj = static_cast<size_t>(j);
      if (lastUse[uj] == i && vals_[uj]) {
        if (owned_[uj]) pool_.release(vals_[uj]);
        vals_[uj] = nullptr;
        owned_[uj] = 0;
      }
    }
    if (!consumed && y) {
      pool_.release(y);
      vals_[ui] = nullptr;
      owned_[ui] = 0;
    }
  }
  pool_.releaseAll();
}

}  // namespace swapnas
