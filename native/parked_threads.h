#pragma once
// Threads kept parked between jobs. Starting threads per job costs a warm server one clone + stack mmap + first
// touch per thread per request; parked threads sleep on a condition variable (no CPU) and run the next job at once.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace swapnas {

class ParkedThreads {
 public:
  ParkedThreads() = default;
  ParkedThreads(const ParkedThreads&) = delete;
  ParkedThreads& operator=(const ParkedThreads&) = delete;
  // Wakes and joins every parked thread; no run may be in progress.
  ~ParkedThreads();

  // Runs fn(t) for t in [0, threads): t = 0 on the caller, the others on parked threads (started on first need),
  // and returns when all have returned. One run at a time: the owner serialises callers.
  void run(int threads, const std::function<void(int)>& fn);

  // Threads started so far (the caller's own not counted).
  size_t size() const { return threads_.size(); }

 private:
  void loop(int index);
  void waitDone();

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* task_ = nullptr;
  uint64_t generation_ = 0;  // bumped per run, so a parked thread knows a new task arrived
  int active_ = 0;           // threads taking part in the current run, the caller included
  int pending_ = 0;          // parked threads of the current run not yet finished
  bool stop_ = false;
};

}  // namespace swapnas
