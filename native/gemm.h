#pragma once
// Register-blocked single-precision GEMM micro-kernel over an "offset table" B operand, shared by the
// implicit (padded-input) and explicit (im2col) convolution paths.

#include <cstddef>
#include <cstdint>

#include "simd.h"

namespace swapnas {

#if defined(__AVX512F__)
// 32 zmm registers: 8x2 vectors of accumulators, two B vectors and a broadcast leave room to spare.
inline constexpr int kMR = 8;
inline constexpr int kNV = 2;
#else
// 16 registers (AVX2/SSE/NEON): 4x2 accumulators.
inline constexpr int kMR = 4;
inline constexpr int kNV = 2;
#endif
inline constexpr int kNR = kNV * kVecFloats;

// C[m][n0 + j] = sum_k A[k][m] * B[off[k] + n0 + j] for every MR-row block and NR-column tile.
// A is packed per row block as K x kMR (k-major); C has rows of ldc floats; N is a multiple of kNR.
void gemmOffsets(int mBlocks, int K, const float* A, const float* B, const int32_t* off, int N, float* C, size_t ldc);

}  // namespace swapnas
