#include "stats.h"

#include <atomic>
#include <mutex>

namespace swapnas {

namespace {
std::mutex gMutex;
Timing gTiming;
uint64_t gItems = 0;
std::atomic<bool> gStageTiming{false};
}  // namespace

bool stageTimingOn() { return gStageTiming.load(std::memory_order_relaxed); }

void enableStageTiming() { gStageTiming.store(true, std::memory_order_relaxed); }

void addGlobalTiming(const Timing& t, uint64_t items) {
  std::lock_guard<std::mutex> lock(gMutex);
  gTiming += t;
  gItems += items;
}

Timing globalTiming(uint64_t& items, bool reset) {
  std::lock_guard<std::mutex> lock(gMutex);
  Timing t = gTiming;
  items = gItems;
  if (reset) {
    gTiming = Timing{};
    gItems = 0;
  }
  return t;
}

}  // namespace swapnas
