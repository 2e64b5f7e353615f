#include "gemm.h"

namespace swapnas {

namespace {

template <int MR, int NV>
inline void microKernel(int K, const float* __restrict A, const float* __restrict B, const int32_t* __restrict off, float* __restrict C,
                        size_t ldc) {
  vfloat acc[MR][NV];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[m][v] = vfloat{};
  for (int k = 0; k < K; ++k) {
    const float* b = B + off[k];
    vfloat bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = loadu(b + v * kVecFloats);
    const float* a = A + static_cast<size_t>(k) * MR;
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const float am = a[m];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[m][v] += am * bv[v];
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) storeu(C + m * ldc + v * kVecFloats, acc[m][v]);
}

}  // namespace

void gemmOffsets(int mBlocks, int K, const float* A, const float* B, const int32_t* off, int N, float* C, size_t ldc) {
  const size_t aBlock = static_cast<size_t>(K) * kMR;
  // Column tile outermost: its B rows stay in L1 while every row block of A streams past.
  for (int n0 = 0; n0 < N; n0 += kNR) {
    for (int mb = 0; mb < mBlocks; ++mb) {
      microKernel<kMR, kNV>(K, A + mb * aBlock, B + n0, off, C + static_cast<size_t>(mb) * kMR * ldc + n0, ldc);
    }
  }
}

}  // namespace swapnas
