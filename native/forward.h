#pragma once
// One forward pass of one network under one weight seed, single-threaded, with per-thread reusable buffers.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "conv.h"
#include "grad_ops.h"
#include "ir.h"
#include "stats.h"
#include "weight_store.h"

namespace swapnas {

// Receives the packed sign bits of each recorded ReLU as soon as it is computed.
class LayerSink {
 public:
  virtual ~LayerSink() = default;
  // codes: per neurons x patternWords(S) words.
  virtual void layer(int node, size_t per, const uint64_t* codes) = 0;
};

// Activation buffers recycled by size; the number of buffers stays at the peak number of live tensors.
class TensorPool {
 public:
  float* acquire(size_t n);
  void release(float* p);
  void releaseAll();
  // Floats held by all slots, used or not.
  size_t heldFloats() const;

 private:
  struct Slot {
    AlignedArray<float> mem;
    bool used = false;
  };
  std::vector<Slot> slots_;
};

// Generated weight tensors of one seed, kept for the next networks evaluated under the same seed: a weight is a pure
// function of (seed, tensor id, index), so networks sharing a node id and tensor size share the tensor (NB201 cells
// share most of them). Bounded: past `budget` floats, tensors are generated without being kept. With a WeightStore
// the tensors come from (and go to) that store instead, which outlives the job; this cache then only holds the
// current seed's tensors alive while the thread uses them.
class WeightCache {
 public:
  explicit WeightCache(size_t budgetFloats, WeightStore* store = nullptr) : budget_(budgetFloats), store_(store) {}
  // The `count` weights of tensor `tensor` under `seed`; `scratch` holds them when they are not kept.
  const float* get(uint32_t seed, uint32_t tensor, size_t count, AlignedArray<float>& scratch);

 private:
  size_t budget_;
  size_t used_ = 0;
  uint32_t seed_ = 0;
  bool valid_ = false;
  std::unordered_map<uint64_t, AlignedArray<float>> map_;
  WeightStore* store_;
  std::unordered_map<uint64_t, WeightTensor> held_;
};

class Executor {
 public:
  // Weights come from `cache` (not owned; null: generated per network) from now on.
  void setWeightCache(WeightCache* cache) { cache_ = cache; }

  // Evaluates the ancestors of recorded ReLUs, handing their patterns to `sink`. `cancel` (may be null) is
  // polled between layers; a request throws Cancelled.
  void run(const Net& net, const float* input, int S, uint32_t seed, LayerSink& sink, const CancelToken* cancel);

  // Diagnostics: the S x numel values of node `node` (evaluating only its ancestors).
  std::vector<float> nodeValues(const Net& net, const float* input, int S, uint32_t seed, int node);

  const Timing& timing() const { return timing_; }
  void clearTiming() { timing_ = Timing{}; }

 private:
  // What the per-op steps of one forward pass share.
  struct Pass {
    const Net& net;
    const std::vector<int>& lastUse;
    const float* input;
    int S;
    uint32_t seed;
    LayerSink* sink;
  };

  const float* weights(uint32_t seed, int tensor, size_t count);
  const float* in(const Node& n, size_t k) const;
  // Input k's buffer when node i is its last reader (the op then runs in place), else null.
  float* takeInput(const Pass& p, const Node& n, int i, size_t k);
  float* takeOrAcquire(const Pass& p, const Node& n, int i, size_t k, size_t total);
  float* runNode(const Pass& p, const Node& n, int i, bool consumed);
  float* runFill(const float* src, size_t total);
  float* runConv(const Pass& p, const Node& n, size_t total);
  float* runBn(const Pass& p, const Node& n, int i, size_t total);
  float* runRelu(const Pass& p, const Node& n, int i, size_t total, bool consumed);
  float* runPool(const Pass& p, const Node& n, size_t total);
  float* runAdd(const Pass& p, const Node& n, int i, size_t total);
  float* runConcat(const Pass& p, const Node& n, size_t total);
  float* runSlice(const Pass& p, const Node& n, size_t total);
  float* runShuffle(const Pass& p, const Node& n, size_t total);
  float* runUpsample(const Pass& p, const Node& n, size_t total);
  float* runExpand(const Pass& p, const Node& n, size_t total);
  float* runChanPool(const Pass& p, const Node& n, size_t total);
  float* runGate(const Pass& p, const Node& n, size_t total);
  float* runGap(const Pass& p, const Node& n, size_t total);
  float* runLinear(const Pass& p, const Node& n, size_t total);
  void releaseAfter(const Pass& p, const Node& n, int i, bool consumed);
  void forward(const Net& net, const std::vector<uint8_t>& need, const std::vector<int>& lastUse, const float* input, int S, uint32_t seed,
               LayerSink* sink, const CancelToken* cancel, int keep, std::vector<float>* kept);

  TensorPool pool_;
  ConvGradScratch conv_;  // (a transposed conv runs the backward-data kernel: its scratch too)
  AlignedArray<float> weights_;
  WeightCache* cache_ = nullptr;
  AlignedArray<uint64_t> codes_;
  std::vector<float*> vals_;
  std::vector<uint8_t> owned_;
  Timing timing_;
  // Whether this pass times its stages: stageTimingOn() at the start of run(); nodeValues() (diagnostics) clears it.
  bool timed_ = false;
};

}  // namespace swapnas
