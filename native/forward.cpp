#include "forward.h"

#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "ops.h"
#include "patterns.h"
#include "prng.h"
#include "softmax.h"

namespace swapnas {

namespace {

// Zeroed floats after every activation buffer: tile-wide GEMM reads may run past a tensor's end.
constexpr size_t kSlack = 256;
static_assert(kSlack >= static_cast<size_t>(kNR), "conv reads up to one column tile past its input");

// Adds the thread CPU time of its scope to `acc` when `on` (per-stage timing requested); reads no clock otherwise.
class ScopedTimer {
 public:
  ScopedTimer(uint64_t& acc, bool on) : acc_(on ? &acc : nullptr), t0_(on ? threadCpuNs() : 0) {}
  ~ScopedTimer() {
    if (acc_) *acc_ += threadCpuNs() - t0_;
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  uint64_t* acc_;
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

size_t TensorPool::heldFloats() const {
  size_t n = 0;
  for (const Slot& s : slots_) n += s.mem.capacity();
  return n;
}

const float* WeightCache::get(uint32_t seed, uint32_t tensor, size_t count, AlignedArray<float>& scratch) {
  if (!valid_ || seed != seed_) {
    map_.clear();
    held_.clear();
    used_ = 0;
    seed_ = seed;
    valid_ = true;
  }
  const uint64_t key = (static_cast<uint64_t>(tensor) << 32) | static_cast<uint64_t>(count & 0xffffffffu);
  if (store_) {
    // The local map spares the store's lock for the repeats of a tensor within this seed; `count` is part of the
    // store's key, so a tensor id reused with another size (upper bits of count) still gets its own weights.
    auto it = held_.find(key);
    if (it != held_.end() && it->second->capacity() == count) return it->second->data();
    WeightTensor t = store_->get(seed, tensor, count);
    const float* w = t->data();
    held_[key] = std::move(t);
    return w;
  }
  auto it = map_.find(key);
  if (it != map_.end() && it->second.capacity() >= count) return it->second.data();
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

const float* Executor::weights(uint32_t seed, int tensor, size_t count) {
  if (cache_) return cache_->get(seed, static_cast<uint32_t>(tensor), count, weights_);
  float* w = weights_.reserve(count);
  fillGaussian(w, count, seed, static_cast<uint32_t>(tensor));
  return w;
}

void Executor::run(const Net& net, const float* input, int S, uint32_t seed, LayerSink& sink, const CancelToken* cancel) {
  timed_ = stageTimingOn();
  ScopedTimer t(timing_.item, timed_);
  forward(net, net.needed, net.lastUse, input, S, seed, &sink, cancel, -1, nullptr);
}

std::vector<float> Executor::nodeValues(const Net& net, const float* input, int S, uint32_t seed, int node) {
  timed_ = false;  // a diagnostics pass never times its stages, whatever the executor's last run() set
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

// Per-op steps of Executor::forward. Each returns the node's output buffer (null when nothing reads it) and times
// itself under the matching Timing field.

const float* Executor::in(const Node& n, size_t k) const { return vals_[static_cast<size_t>(n.inputs[k])]; }

float* Executor::takeInput(const Pass& p, const Node& n, int i, size_t k) {
  const size_t j = static_cast<size_t>(n.inputs[k]);
  if (!owned_[j] || p.lastUse[j] != i) return nullptr;
  float* buf = vals_[j];
  vals_[j] = nullptr;
  owned_[j] = 0;
  return buf;
}

float* Executor::takeOrAcquire(const Pass& p, const Node& n, int i, size_t k, size_t total) {
  float* y = takeInput(p, n, i, k);
  return y ? y : pool_.acquire(total);
}

float* Executor::runFill(const float* src, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  float* y = pool_.acquire(total);
  if (src)
    std::memcpy(y, src, total * sizeof(float));
  else
    std::memset(y, 0, total * sizeof(float));
  return y;
}

float* Executor::runConv(const Pass& p, const Node& n, size_t total) {
  const Node& in0 = p.net.nodes[static_cast<size_t>(n.inputs[0])];
  const float* w;
  {
    ScopedTimer t(timing_.prng, timed_);
    w = weights(p.seed, n.tensor, weightCount(n));
  }
  ScopedTimer t(timing_.conv, timed_);
  float* y = pool_.acquire(total);
  nodeConvForward(n, in0, in(n, 0), y, p.S, w, conv_);
  return y;
}

float* Executor::runBn(const Pass& p, const Node& n, int i, size_t total) {
  ScopedTimer t(timing_.bn, timed_);
  const float* x = in(n, 0);
  float* y = takeOrAcquire(p, n, i, 0, total);
  const size_t hw = static_cast<size_t>(n.h) * n.w;
  // a GroupNorm's groups are contiguous runs of (C / groups) * H * W values per sample: batch statistics over S * groups
  // "channels" of one sample each (gamma = 1, beta = 0 at initialisation, as a BN's)
  if (n.op == Op::GroupNorm && n.pixelwise) {
    // a pixelwise group is one sample's pixel's C / groups channels, hw apart: per sample and group, batch
    // statistics with the channels as "samples" and the pixels as "channels" of one value each
    const size_t cg = static_cast<size_t>(n.c / n.groups);
    for (size_t g = 0; g < static_cast<size_t>(p.S) * n.groups; ++g)
      batchNorm(x + g * cg * hw, y + g * cg * hw, static_cast<int>(cg), static_cast<int>(hw), 1, n.eps);
  } else if (n.op == Op::GroupNorm)
    batchNorm(x, y, 1, p.S * n.groups, hw * static_cast<size_t>(n.c / n.groups), n.eps);
  else
    batchNorm(x, y, p.S, n.c, hw, n.eps);
  return y;
}

// A recorded ReLU hands its packed sign bits to the sink; its values are written only when something reads them.
float* Executor::runRelu(const Pass& p, const Node& n, int i, size_t total, bool consumed) {
  const float* x = in(n, 0);
  float* y = consumed ? takeOrAcquire(p, n, i, 0, total) : nullptr;
  const size_t per = n.numel();
  if (n.recorded && p.sink) {
    uint64_t* codes = codes_.reserve(per * static_cast<size_t>(patternWords(p.S)));
    {
      ScopedTimer t(timing_.pack, timed_);
      reluPack(x, y, p.S, per, codes);
    }
    ScopedTimer t(timing_.count, timed_);
    p.sink->layer(i, per, codes);
  } else if (y) {
    ScopedTimer t(timing_.eltwise, timed_);
    if (n.capped)
      reluClip(x, y, total, n.clip);
    else if (n.leaky)
      leakyRelu(x, y, total, static_cast<float>(n.slope));
    else
      relu(x, y, total);
  }
  return y;
}

float* Executor::runPool(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.pool, timed_);
  const Node& in0 = p.net.nodes[static_cast<size_t>(n.inputs[0])];
  float* y = pool_.acquire(total);
  if (n.op == Op::AvgPool)
    avgPool(n, in0, in(n, 0), y, p.S);
  else
    maxPool(n, in0, in(n, 0), y, p.S);
  return y;
}

float* Executor::runAdd(const Pass& p, const Node& n, int i, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  std::vector<const float*> xs(n.inputs.size());
  for (size_t k = 0; k < xs.size(); ++k) xs[k] = in(n, k);
  float* y = nullptr;
  for (size_t k = 0; k < xs.size() && !y; ++k) y = takeInput(p, n, i, k);
  if (!y) y = pool_.acquire(total);
  addTensors(xs.data(), xs.size(), y, total);
  return y;
}

float* Executor::runConcat(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  std::vector<const float*> xs(n.inputs.size());
  std::vector<size_t> pers(n.inputs.size());
  for (size_t k = 0; k < xs.size(); ++k) {
    xs[k] = in(n, k);
    pers[k] = p.net.nodes[static_cast<size_t>(n.inputs[k])].numel();
  }
  float* y = pool_.acquire(total);
  concat(xs.data(), pers.data(), xs.size(), y, p.S);
  return y;
}

float* Executor::runSlice(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  float* y = pool_.acquire(total);
  sliceWindow(n, p.net.nodes[static_cast<size_t>(n.inputs[0])], in(n, 0), y, p.S);
  return y;
}

// Sigmoid gates, products (SiLU, Hardswish, squeeze-and-excitation), smooth activations (GELU, Tanh, ELU, ...) and
// a classifier's (log-)softmax
float* Executor::runGate(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  float* y = pool_.acquire(total);
  if (n.op == Op::Sigmoid)
    sigmoidGate(n, in(n, 0), y, total);
  else if (n.op == Op::Softmax)
    softmaxRows(in(n, 0), y, p.S, n.c, n.logSoftmax);
  else if (n.op == Op::Act)
    actForward(n, in(n, 0), y, total);
  else
    mulGate(in(n, 0), in(n, 1), y, total, n.numel() / p.net.nodes[static_cast<size_t>(n.inputs[1])].numel());
  return y;
}

float* Executor::runShuffle(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  float* y = pool_.acquire(total);
  channelShuffle(n, in(n, 0), y, p.S, false);
  return y;
}

float* Executor::runUpsample(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  float* y = pool_.acquire(total);
  upsampleMap(n, in(n, 0), y, p.S, false);
  return y;
}

float* Executor::runExpand(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.eltwise, timed_);
  float* y = pool_.acquire(total);
  expandMap(p.net.nodes[static_cast<size_t>(n.inputs[0])], n, in(n, 0), y, p.S, false);
  return y;
}

float* Executor::runChanPool(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.pool, timed_);
  float* y = pool_.acquire(total);
  chanPoolMap(p.net.nodes[static_cast<size_t>(n.inputs[0])], n.chanMax, in(n, 0), y, p.S, static_cast<int32_t*>(nullptr));
  return y;
}

float* Executor::runGap(const Pass& p, const Node& n, size_t total) {
  ScopedTimer t(timing_.pool, timed_);
  const Node& in0 = p.net.nodes[static_cast<size_t>(n.inputs[0])];
  float* y = pool_.acquire(total);
  globalAvgPool(in(n, 0), y, p.S, in0.c, static_cast<size_t>(in0.h) * in0.w);
  return y;
}

float* Executor::runLinear(const Pass& p, const Node& n, size_t total) {
  const float* w;
  {
    ScopedTimer t(timing_.prng, timed_);
    w = weights(p.seed, n.tensor, weightCount(n));
  }
  ScopedTimer t(timing_.conv, timed_);
  float* y = pool_.acquire(total);
  linear(in(n, 0), w, y, p.S, n.fin, n.fout);
  return y;
}

// No default: -Werror=switch makes a new opcode fail to compile until it has a kernel here.
float* Executor::runNode(const Pass& p, const Node& n, int i, bool consumed) {
  const size_t total = n.numel() * static_cast<size_t>(p.S);
  switch (n.op) {
    case Op::Input: return runFill(p.input, total);
    case Op::Zero: return runFill(nullptr, total);
    case Op::Conv: return runConv(p, n, total);
    case Op::Bn:
    case Op::GroupNorm: return runBn(p, n, i, total);
    case Op::Relu: return runRelu(p, n, i, total, consumed);
    case Op::AvgPool:
    case Op::MaxPool: return runPool(p, n, total);
    case Op::Add: return runAdd(p, n, i, total);
    case Op::Concat: return runConcat(p, n, total);
    case Op::Slice: return runSlice(p, n, total);
    case Op::Gap: return runGap(p, n, total);
    case Op::Linear: return runLinear(p, n, total);
    case Op::Flatten: return runFill(in(n, 0), total);  // NCHW is already the flat order
    case Op::View: return runFill(in(n, 0), total);  // the same values
    case Op::Shuffle: return runShuffle(p, n, total);
    case Op::Upsample: return runUpsample(p, n, total);
    case Op::Expand: return runExpand(p, n, total);
    case Op::ChanPool: return runChanPool(p, n, total);
    case Op::Sigmoid:
    case Op::Softmax:
    case Op::Act:
    case Op::Mul: return runGate(p, n, total);
  }
  fail(std::string("no kernel for op ") + opName(n.op));
}

// Frees node i's inputs whose last reader it was, and its own output when nothing reads it.
void Executor::releaseAfter(const Pass& p, const Node& n, int i, bool consumed) {
  for (int j : n.inputs) {
    const size_t uj = static_cast<size_t>(j);
    if (p.lastUse[uj] == i && vals_[uj]) {
      if (owned_[uj]) pool_.release(vals_[uj]);
      vals_[uj] = nullptr;
      owned_[uj] = 0;
    }
  }
  const size_t ui = static_cast<size_t>(i);
  if (!consumed && vals_[ui]) {
    pool_.release(vals_[ui]);
    vals_[ui] = nullptr;
    owned_[ui] = 0;
  }
}

void Executor::forward(const Net& net, const std::vector<uint8_t>& need, const std::vector<int>& lastUse, const float* input, int S,
                       uint32_t seed, LayerSink* sink, const CancelToken* cancel, int keep, std::vector<float>* kept) {
  const size_t count = net.nodes.size();
  pool_.releaseAll();
  vals_.assign(count, nullptr);
  owned_.assign(count, 0);
  const Pass p{net, lastUse, input, S, seed, sink};
  const int last = keep >= 0 ? keep : static_cast<int>(count) - 1;
  for (int i = 0; i <= last; ++i) {
    const size_t ui = static_cast<size_t>(i);
    if (!need[ui]) continue;
    if (cancel && cancel->requested()) throw Cancelled{};
    const Node& n = net.nodes[ui];
    // Consumers of this node's output (none: a recorded ReLU only feeding the skipped head).
    const bool consumed = lastUse[ui] >= 0 || i == keep;
    float* y = runNode(p, n, i, consumed);
    vals_[ui] = y;
    owned_[ui] = y ? 1 : 0;
    if (i == keep && kept) kept->assign(y, y + n.numel() * static_cast<size_t>(S));
    releaseAfter(p, n, i, consumed);
  }
  pool_.releaseAll();
}

}  // namespace swapnas
