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
// Vectors per register tile of the direct convolution path (kMR x 3 accumulators: 24 of the 32 AVX-512 registers;
// measured 5-10% faster than 2 there). With AVX2 + FMA, 4 x 3 accumulators, 3 B vectors and one broadcast fill the
// 16 registers exactly (no spills; the FMA reads its operands from registers): 12 independent FMA chains cover the
// FMA latency that 8 did not, measured 1.15-1.2x faster than 4 x 2 on Zen 3 at 16-64 channels. Without FMA the
// product needs a 17th register, so other targets stay at kNV.
#if defined(__AVX512F__)
inline constexpr int kDirectNV = 3;
#elif defined(__AVX2__) && defined(__FMA__)
inline constexpr int kDirectNV = 3;
#else
inline constexpr int kDirectNV = kNV;
#endif

// C[m][n0 + j] = sum_k A[k][m] * B[off[k] + n0 + j] for every MR-row block and NR-column tile.
// A is packed per row block as K x kMR (k-major); C has rows of ldc floats; N is a multiple of kNR.
void gemmOffsets(int mBlocks, int K, const float* A, const float* B, const int32_t* off, int N, float* C, size_t ldc);

// Direct-output variant for stride-1 convolutions over padded inputs: each of `vectors` output vectors is kVecFloats
// consecutive dense output positions (no padding columns computed, no compaction). Vector q's B operand at
// reduction step k is B + off[k] + bBase[q] (one row segment) or, with rowsPerVector = 2 (output rows of half a
// vector), the two half vectors at that address and rowStride floats further; its output channel m goes to
// C + m * ldc + cBase[q]. Vectors may come from different samples (different bases), so tiles need not stop at a
// sample's end.
void gemmDirect(int mBlocks, int K, const float* A, const float* B, const int32_t* off, const int32_t* bBase, const int32_t* cBase, int vectors,
                int rowsPerVector, int rowStride, float* C, size_t ldc);

}  // namespace swapnas
