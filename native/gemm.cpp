#include "gemm.h"

#include <cstring>

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

template <int RPV>
inline vfloat loadB(const float* p, int rowStride) {
  if constexpr (RPV == 1) {
    (void)rowStride;
    return loadu(p);
  } else {
    return combineHalves(loadHalf(p), loadHalf(p + rowStride));
  }
}

// Register tile: MR output channels x NV vectors of output positions; vector v reads B + off[k] + bBase[v] and
// is stored at C + m * ldc + cBase[v].
template <int MR, int NV, int RPV>
inline void directKernel(int K, const float* __restrict A, const float* __restrict B, const int32_t* __restrict off, const int32_t* __restrict bBase,
                         const int32_t* __restrict cBase, int rowStride, float* __restrict C, size_t ldc) {
  vfloat acc[MR][NV];
  int32_t bs[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bs[v] = bBase[v];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[m][v] = vfloat{};
  for (int k = 0; k < K; ++k) {
    const float* b = B + off[k];
    vfloat bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = loadB<RPV>(b + bs[v], rowStride);
    const float* a = A + static_cast<size_t>(k) * MR;
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const float am = a[m];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[m][v] += am * bv[v];
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    float* c = C + cBase[v];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) storeu(c + m * ldc, acc[m][v]);
  }
}

template <int RPV>
void gemmDirectT(int mBlocks, int K, const float* A, const float* B, const int32_t* off, const int32_t* bBase, const int32_t* cBase, int vectors,
                 int rowStride, float* C, size_t ldc) {
  const size_t aBlock = static_cast<size_t>(K) * kMR;
  int q = 0;
  for (; q + kDirectNV <= vectors; q += kDirectNV) {
    for (int mb = 0; mb < mBlocks; ++mb)
      directKernel<kMR, kDirectNV, RPV>(K, A + mb * aBlock, B, off, bBase + q, cBase + q, rowStride, C + static_cast<size_t>(mb) * kMR * ldc, ldc);
  }
  for (; q + 2 <= vectors; q += 2) {
    for (int mb = 0; mb < mBlocks; ++mb)
      directKernel<kMR, 2, RPV>(K, A + mb * aBlock, B, off, bBase + q, cBase + q, rowStride, C + static_cast<size_t>(mb) * kMR * ldc, ldc);
  }
  for (; q < vectors; ++q) {
    for (int mb = 0; mb < mBlocks; ++mb)
      directKernel<kMR, 1, RPV>(K, A + mb * aBlock, B, off, bBase + q, cBase + q, rowStride, C + static_cast<size_t>(mb) * kMR * ldc, ldc);
  }
}

}  // namespace

void gemmDirect(int mBlocks, int K, const float* A, const float* B, const int32_t* off, const int32_t* bBase, const int32_t* cBase, int vectors,
                int rowsPerVector, int rowStride, float* C, size_t ldc) {
  if (rowsPerVector == 2)
    gemmDirectT<2>(mBlocks, K, A, B, off, bBase, cBase, vectors, rowStride, C, ldc);
  else
    gemmDirectT<1>(mBlocks, K, A, B, off, bBase, cBase, vectors, rowStride, C, ldc);
}

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
