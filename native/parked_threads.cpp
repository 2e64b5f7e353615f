#include "parked_threads.h"

namespace swapnas {

ParkedThreads::~ParkedThreads() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ParkedThreads::loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      // A run with fewer threads than are parked leaves the rest asleep.
      if (index >= active_) continue;
      task = task_;
    }
    // Job functions catch their own failures (ItemQueue::run); anything escaping here would end the process, as
    // it would from a std::thread started per job.
    (*task)(index);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ParkedThreads::waitDone() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  task_ = nullptr;
}

void ParkedThreads::run(int threads, const std::function<void(int)>& fn) {
  if (threads <= 1) {
    fn(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    while (threads_.size() < static_cast<size_t>(threads - 1)) {
      const int index = static_cast<int>(threads_.size()) + 1;
      threads_.emplace_back([this, index] { loop(index); });
    }
    task_ = &fn;
    active_ = threads;
    pending_ = threads - 1;
    ++generation_;
  }
  wake_.notify_all();
  try {
    fn(0);
  } catch (...) {
    waitDone();  // the parked threads still read fn
    throw;
  }
  waitDone();
}

}  // namespace swapnas
