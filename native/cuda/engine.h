#pragma once
// CUDA engine of swapnas (compiled only when CMake finds nvcc; see CMakeLists.txt). Plain C++ interface: no CUDA
// or N-API types here, so cuda_addon.cpp is compiled by the host compiler.
//
// Semantics follow the CPU engine (native/forward.cpp, ops.cpp): float32 activations, BN with batch statistics
// accumulated in double, pooling / add / GAP sums in double, ReLU fused with sign-bit packing, exact distinct-pattern
// counting (radix sort + unique on the device; only the counts come back). Convolutions accumulate in float32 (FMA)
// in a different order from the CPU GEMM, so recorded values can differ by float rounding and a sign bit can flip
// for values within rounding of zero: the same rule as native vs reference (test/native-fullsize.test.ts).
//
// Weights: generated on the host with the CPU port of the counter-based PRNG (native/prng.cpp, bit-identical to
// src/init/prng.ts) and uploaded once per (seed, tensor) into a per-stream device cache, so networks evaluated
// under the same seed share uploads (NB201 cells share most tensors).
//
// Limits: device 0 only; S (samples) <= 64 (one 64-bit pattern word per neuron); at most 16 inputs per add node.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common.h"
#include "ir.h"

namespace swapnas {
namespace cuda {

inline constexpr int kMaxSamples = 64;

struct Probe {
  bool available = false;
  // Why it is unavailable, e.g. "cudaGetDeviceCount: no CUDA-capable device is detected".
  std::string reason;
  int devices = 0;
  std::string name;
  int major = 0, minor = 0;
  double memoryBytes = 0;
  int smCount = 0;
  int runtimeVersion = 0, driverVersion = 0;
};

// Never throws; cheap after the first call (the CUDA context is created once).
Probe probe();

// Compiled targets (CMAKE_CUDA_ARCHITECTURES), for buildInfo and messages.
const char* architectures();

struct Job {
  const std::vector<Net>* nets = nullptr;
  const float* input = nullptr;  // n x c x h x w, host memory
  int n = 0, c = 0, h = 0, w = 0;
  const std::vector<uint32_t>* seeds = nullptr;
  // Host threads, one CUDA stream each (clamped to [1, 16] and to the number of items).
  int streams = 4;
  const CancelToken* cancel = nullptr;
  // Called from worker threads (must be thread-safe), throttled by the caller.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// counts[net * seeds + r]. Throws Failure (E_BACKEND, with the CUDA error string) or Cancelled.
void countPatterns(const Job& job, std::vector<double>& counts);

}  // namespace cuda
}  // namespace swapnas
