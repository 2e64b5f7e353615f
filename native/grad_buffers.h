#pragma once
// Gradient executors kept across gradient jobs. A proxy run makes one addon call per pass, with one network each,
// and a full-size pass (NB201 C=16, batch 64) touches ~300 MB of activations and cotangents: with a fresh executor
// per job that memory came back from the kernel page by page on every call (page faults were ~17 % of jacov's CPU
// time). Executors - their tensor pools and convolution scratch - are lent to a job's threads and kept for the next
// job while the kept ones fit a byte budget. Owned by a JS object (the native proxy runner), never by the module.

#include <napi.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "backward.h"

namespace swapnas {

// Thread-safe stack of idle executors with a bound on the memory they hold, and the thread slots its jobs share.
//
// Slots: a runner keeps one pass queued beyond its threads, and that pass waits here, on its libuv thread, for a
// slot. When a running pass ends, the waiting one starts at once; without it, the next pass could only be handed
// over by the JS event loop, which is often busy reducing another network's results, and a core idled (~6 % of
// the all-proxy pass on 2 cores).
class GradBuffers {
 public:
  // slots = 0: jobs never wait.
  GradBuffers(size_t budgetBytes, int slots) : budget_(budgetBytes), slots_(slots) {}

  // An idle executor (the one most recently given back, so its memory is likely still cached) or a new one.
  std::unique_ptr<GradExecutor> take();
  // Keeps `ex` when the idle executors' memory stays within the budget with it; frees it otherwise.
  void give(std::unique_ptr<GradExecutor> ex);

  // Waits until `threads` slots are free (at most all of them), then holds them; returns how many it holds (0:
  // no slots, or `cancel` was requested while it waited).
  int acquireSlots(int threads, const CancelToken* cancel);
  void releaseSlots(int held);

  struct Stats {
    size_t idle = 0, bytes = 0, budget = 0;
    uint64_t reused = 0, created = 0, dropped = 0;
    size_t helperThreads = 0;  // parked split helpers started so far (at most the jobs' threads - 1)
    int slots = 0, slotsUsed = 0, peakSlotsUsed = 0;
    uint64_t slotWaits = 0;  // jobs that found too few slots free and waited
  };
  Stats stats() const;
  void clear();
  // The helper threads every executor lent by this object splits its ops on (GradExecutor::setThreads).
  SplitHelpers& helpers() { return helpers_; }

 private:
  const size_t budget_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<GradExecutor>> idle_;
  size_t bytes_ = 0;
  uint64_t reused_ = 0, created_ = 0, dropped_ = 0;
  const int slots_;
  int slotsUsed_ = 0, peakSlotsUsed_ = 0;
  uint64_t slotWaits_ = 0;
  std::condition_variable slotFreed_;
  SplitHelpers helpers_;  // declared last: destroyed (its threads joined) first, before the executors
};

// `job.<name>`: undefined -> null; a GradBuffers object (addon.GradBuffers) -> its buffers; anything else fails.
std::shared_ptr<GradBuffers> gradBuffersField(const Napi::Object& job, const char* name);

// Holds a job's slots for its lifetime (none without buffers or slots).
class SlotLease {
 public:
  SlotLease(GradBuffers* b, int threads, const CancelToken* cancel) : b_(b), held_(b ? b->acquireSlots(threads, cancel) : 0) {}
  int held() const { return held_; }
  ~SlotLease() {
    if (b_) b_->releaseSlots(held_);
  }
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;

 private:
  GradBuffers* b_;
  int held_;
};

// Exports the GradBuffers class: `new GradBuffers(budgetBytes?, slots?)`, `.stats()`, `.clear()`.
void registerGradBuffers(Napi::Env env, Napi::Object exports);

}  // namespace swapnas
