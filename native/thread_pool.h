#pragma once
// Runs fn(worker) on `threads` threads (the caller is worker 0) and joins them. Jobs are coarse (one network
// forward per item), so threads are started per job rather than parked between jobs.

#include <functional>
#include <thread>
#include <vector>

namespace swapnas {

inline void runOnThreads(int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> pool;
  pool.reserve(threads > 1 ? static_cast<size_t>(threads - 1) : 0);
  for (int t = 1; t < threads; ++t) pool.emplace_back(fn, t);
  fn(0);
  for (auto& th : pool) th.join();
}

}  // namespace swapnas
