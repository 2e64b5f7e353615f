#pragma once
// Process-wide timing counters (thread CPU nanoseconds), filled per work item, read by the `stats` export.
// Per-stage timing is off until the `stats` export is first called: every timed stage reads the thread's CPU clock,
// a system call (CLOCK_THREAD_CPUTIME_ID has no vDSO fast path), about 2,300 per full-size NB201 cell at R=8.

#include <chrono>
#include <cstdint>
#include <ctime>

namespace swapnas {

struct Timing {
  uint64_t prng = 0;
  uint64_t conv = 0;
  uint64_t bn = 0;
  uint64_t pool = 0;
  uint64_t eltwise = 0;
  uint64_t pack = 0;
  uint64_t count = 0;
  // NWOT kernel accumulation and log-determinant (only when requested).
  uint64_t nwot = 0;
  // Whole work items (parsing and set reset excluded).
  uint64_t item = 0;

  Timing& operator+=(const Timing& o) {
    prng += o.prng;
    conv += o.conv;
    bn += o.bn;
    pool += o.pool;
    eltwise += o.eltwise;
    pack += o.pack;
    count += o.count;
    nwot += o.nwot;
    item += o.item;
    return *this;
  }
};

// CPU time of the calling thread: the breakdown stays meaningful when other processes share the cores.
inline uint64_t threadCpuNs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

inline uint64_t nowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// Whether work items time their stages (a relaxed atomic read; read once per item).
bool stageTimingOn();
// Turn per-stage timing on for the rest of the process (the `stats` export does, on its first call).
void enableStageTiming();

void addGlobalTiming(const Timing& t, uint64_t items);
// Returns the totals since the last reset; resets them when `reset`.
Timing globalTiming(uint64_t& items, bool reset);

}  // namespace swapnas
