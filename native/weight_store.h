#pragma once
// Generated weight tensors kept across count jobs. A weight is a pure function of (seed, tensor id, index), so every
// job under the same seeds needs the same tensors again: a warm process (serve, queue worker) that scores one small
// network per call would otherwise regenerate all of them per call, which costs more CPU than the forward pass of
// a small cell's convolutions. Owned by a JS object (the native backend instance), never by the module.

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common.h"

namespace swapnas {

// One generated tensor; shared by the store and every thread using it, so eviction never frees a tensor in use.
using WeightTensor = std::shared_ptr<const AlignedArray<float>>;

// Thread-safe, bounded (least recently used tensors go first) map (seed, tensor, count) -> weights.
class WeightStore {
 public:
  explicit WeightStore(size_t budgetFloats) : budget_(budgetFloats) {}

  // The tensor's weights: kept ones, else generated (outside the lock; two threads may both generate a missing
  // tensor, both get identical values) and kept when they fit the budget.
  WeightTensor get(uint32_t seed, uint32_t tensor, size_t count);

  struct Stats {
    size_t tensors = 0, floats = 0, budget = 0;
    uint64_t hits = 0, misses = 0, evictions = 0;
  };
  Stats stats() const;
  void clear();

 private:
  struct Key {
    uint32_t seed, tensor;
    uint64_t count;
    bool operator==(const Key& o) const { return seed == o.seed && tensor == o.tensor && count == o.count; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      const uint64_t h = (static_cast<uint64_t>(k.seed) * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(k.tensor) << 20) ^ k.count;
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  struct Entry {
    WeightTensor tensor;
    std::list<Key>::iterator age;
  };
  WeightTensor find(const Key& k);
  void keep(const Key& k, const WeightTensor& t);

  const size_t budget_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, Entry, KeyHash> map_;
  std::list<Key> ages_;  // front: most recently used
  size_t floats_ = 0;
  uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

// `job.<name>`: undefined -> null; a WeightStore object (addon.WeightStore) -> its store; anything else fails.
std::shared_ptr<WeightStore> weightStoreField(const Napi::Object& job, const char* name);

// Exports the WeightStore class: `new WeightStore(budgetFloats?)`, `.stats()`, `.clear()`.
void registerWeightStore(Napi::Env env, Napi::Object exports);

}  // namespace swapnas
