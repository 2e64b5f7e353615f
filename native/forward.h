#pragma once
// One forward pass of one network under one weight seed, single-threaded, with per-thread reusable buffers.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.h"
#include "conv.h"
#include "ir.h"
#include "stats.h"

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

 private:
  struct Slot {
    AlignedArray<float> mem;
    bool used = false;
  };
  std::vector<Slot> slots_;
};

class Executor {
 public:
  // Evaluates the ancestors of recorded ReLUs, handing their patterns to `sink`. `cancel` (may be null) is
  // polled between layers; a request throws Cancelled.
  void run(const Net& net, const float* input, int S, uint32_t seed, LayerSink& sink, const CancelToken* cancel);

  // Diagnostics: the S x numel values of node `node` (evaluating only its ancestors).
  std::vector<float> nodeValues(const Net& net, const float* input, int S, uint32_t seed, int node);

  const Timing& timing() const { return timing_; }
  void clearTiming() { timing_ = Timing{}; }

 private:
  void forward(const Net& net, const std::vector<uint8_t>& need, const std::vector<int>& lastUse, const float* input, int S, uint32_t seed,
               LayerSink* sink, const CancelToken* cancel, int keep, std::vector<float>* kept);

  TensorPool pool_;
  ConvScratch conv_;
  AlignedArray<float> weights_;
  AlignedArray<uint64_t> codes_;
  std::vector<float*> vals_;
  std::vector<uint8_t> owned_;
  Timing timing_;
};

}  // namespace swapnas
