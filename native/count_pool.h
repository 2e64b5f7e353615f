#pragma once
// State of count jobs kept across jobs by whoever owns the pool (the native backend instance, like its
// WeightStore): parked threads and, per thread, the executor's activation buffers, the pattern set and the NWOT
// kernel. A warm server scoring one small network per request otherwise starts threads and allocates (and
// page-faults in) every buffer again per request. Only one job uses the pool at a time; a job that finds it busy
// runs as before, on its own threads and buffers. Counts do not depend on which buffers a job gets: every
// buffer is written before it is read, as when one job's threads move from network to network.

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "forward.h"
#include "nwot.h"
#include "parked_threads.h"
#include "patterns.h"

namespace swapnas {

// What one thread of a count job reuses from item to item (and, through a CountPool, from job to job).
struct CountBuffers {
  Executor ex;
  PatternSet set;
  NwotKernel nwot;
};

class CountPool {
 public:
  // One job's hold on the pool (empty when another job holds it); releasing it ends the job's use.
  class Lease {
   public:
    Lease() = default;
    Lease(CountPool* pool, std::unique_lock<std::mutex> lock) : pool_(pool), lock_(std::move(lock)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), lock_(std::move(o.lock_)) { o.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    explicit operator bool() const { return pool_ != nullptr; }
    // Buffers of thread t (t < the count given to prepare()).
    CountBuffers& buffers(int t) { return *pool_->buffers_[static_cast<size_t>(t)]; }
    // Makes buffers for `threads` threads (before they run: the vector must not grow under them).
    void prepare(int threads);
    ParkedThreads& threads() { return *pool_->threads_; }

   private:
    CountPool* pool_ = nullptr;
    std::unique_lock<std::mutex> lock_;
  };

  // The pool for one job, or an empty lease when another job holds it.
  Lease claim();
  // Drops the parked threads and buffers now, or when the job holding the pool ends.
  void release();

  struct Stats {
    size_t threads = 0, buffers = 0;
    uint64_t jobs = 0, busy = 0;
  };
  Stats stats();

 private:
  void dropLocked();

  std::mutex use_;  // held by the job using the pool
  std::unique_ptr<ParkedThreads> threads_ = std::make_unique<ParkedThreads>();
  std::vector<std::unique_ptr<CountBuffers>> buffers_;
  std::atomic<bool> dropPending_{false};
  std::atomic<uint64_t> jobs_{0}, busy_{0};
};

// `job.<name>`: undefined -> null; a CountPool object (addon.CountPool) -> its pool; anything else fails.
std::shared_ptr<CountPool> countPoolField(const Napi::Object& job, const char* name);

// Exports the CountPool class: `new CountPool()`, `.stats()`, `.release()`.
void registerCountPool(Napi::Env env, Napi::Object exports);

}  // namespace swapnas
