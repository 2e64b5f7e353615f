#pragma once

namespace swapnas {

// Single-thread fp32 FMA throughput of this core in GFLOP/s (2 flops per lane per FMA), measured for ~`seconds`.
double measurePeakGflops(double seconds);

}  // namespace swapnas
