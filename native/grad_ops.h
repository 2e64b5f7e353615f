#pragma once
// Kernels of the CPU backward pass (and the forward pieces it needs that ops.h lacks: parameters, argmax).
// Backward-data reuses the forward convolution (and so its GEMM kernels): a convolution of the (zero-inserted, for
// strided convs) output gradient with the flipped, transposed weights. Backward-weights is a GEMM of the output
// gradient against the im2col of the input, reduced over positions (gemmNT). Reductions accumulate in double.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.h"
#include "conv.h"
#include "ir.h"

namespace swapnas {

struct ConvGradScratch {
  ConvScratch conv;
  AlignedArray<float> wT;   // flipped, transposed weights (backward-data)
  AlignedArray<float> z;    // zero-inserted output gradient (backward-data) / padded input sample (backward-weights)
  AlignedArray<float> colT; // im2col of a block of input samples (backward-weights)
  AlignedArray<float> dyBlock; // the output gradient's rows for a block of samples, position-contiguous (backward-weights)
  AlignedArray<double> acc; // weight-gradient accumulator
};

// Multiply-adds of conv node `n` over S samples (what one forward, backward-data or weight-gradient pass does).
inline size_t convMacs(const Node& n, int S) {
  return static_cast<size_t>(S) * n.numel() * static_cast<size_t>(n.cin / n.groups) * windowOf(n).taps();
}

// dx = d(conv)/dx applied to dy (overwrites dx; S x in.numel()). `dx` needs kNR floats of slack past its end.
void convBackwardData(const Node& n, const Node& in, const float* dy, float* dx, int S, const float* w, ConvGradScratch& sc);

// dw = sum over samples and positions of dy x im2col(x) (overwrites dw; [cout][cin/g][k][k]), for the output
// channels [r0, r1) of every group (a depthwise convolution computes all of them: call it with 0, 1).
void convBackwardWeights(const Node& n, const Node& in, const float* x, const float* dy, int S, float* dw, ConvGradScratch& sc, int r0, int r1);

// A conv node's passes whatever its kind: an ordinary conv's kernels above, or a transposed conv's through its
// adjoint (adjointOf in ir.h): forward = the adjoint's backward-data, backward-data = the adjoint's forward, weight
// gradient = the adjoint's with input and cotangent swapped, its rows [r0, r1) being the adjoint's output channels
// per group (weightRows). Same contracts (overwrites, slack) as the kernels they call.
void nodeConvForward(const Node& n, const Node& in, const float* x, float* y, int S, const float* w, ConvGradScratch& sc);
void nodeConvBackwardData(const Node& n, const Node& in, const float* dy, float* dx, int S, const float* w, ConvGradScratch& sc);
void nodeConvBackwardWeights(const Node& n, const Node& in, const float* x, const float* dy, int S, float* dw, ConvGradScratch& sc, int r0, int r1);
// Rows per group of a conv node's weight, the first axis of its PyTorch layout (cout; a transposed conv's cin).
inline int weightRows(const Node& n) { return (n.transposed ? n.cin : n.cout) / n.groups; }

// Self-check of the weight gradient's vectorised lane sums (exposed to tests as the addon's `laneSumCheck`): random
// accumulator tiles of float vectors (signs and magnitudes spread over 2^-24..2^24, so the order of the double adds
// shows in the last bits) summed by the vector path and by the scalar loop it replaces; they must agree bit for bit.
struct LaneSumCheck {
  int accumulators = 0;  // accumulators per tile whose lanes the vector path sums together (0: no vector path)
  int lanes = 0;         // float lanes per accumulator (16 on every build: kSumLanes)
  long long compared = 0;
  long long mismatches = 0;
};
LaneSumCheck laneSumSelfCheck(uint32_t seed, int tiles);

// Adds bias[c] to every position of channel c (S x C x HW).
void addChannelBias(float* y, const float* bias, int S, int C, size_t HW);

// out[c] = sum over samples and positions of a (times b, when given), in double.
void channelSums(const float* a, const float* b, int S, int C, size_t HW, float* out);

// out[s][h] = sum over channels, then columns, of a * da, in double: fisher's per-row sums of an nn.Linear over a
// channels-last map (its official hook sums the (N, H, W, C) output over W and C), in the reference's order
// (fisherRows in src/proxies/saliency.ts). Node n's output is S x C x H x W (a flat one: H = W = 1).
template <typename T, typename Q>
void rowSums(const T* a, const T* da, int S, const Node& n, Q* out) {
  const size_t C = static_cast<size_t>(n.c), H = static_cast<size_t>(n.h), W = static_cast<size_t>(n.w);
  for (size_t s = 0; s < static_cast<size_t>(S); ++s)
    for (size_t h = 0; h < H; ++h) {
      double acc = 0;
      for (size_t c = 0; c < C; ++c)
        for (size_t w = 0; w < W; ++w) {
          const size_t i = ((s * C + c) * H + h) * W + w;
          acc += static_cast<double>(a[i]) * da[i];
        }
      out[s * H + h] = static_cast<Q>(acc);
    }
}

// BN forward with parameters, for channels [c0, c1) of C. Train: batch mean / biased variance; Eval: running
// statistics. Writes x-hat, 1/sigma per channel and y = gamma * x-hat + beta.
void bnForward(bool train, const float* x, float* xhat, float* y, double* inv, int S, int C, size_t HW, const float* gamma, const float* beta,
               const float* runMean, const float* runVar, double eps, int c0, int c1);

// BN backward for channels [c0, c1) of C: dx (overwrites), dgamma / dbeta (overwrite, may be null). Eval mode without
// dgamma / dbeta reads no x-hat (dx = gamma / sigma * dy).
void bnBackward(bool train, const float* dy, const float* xhat, const double* inv, int S, int C, size_t HW, const float* gamma, float* dx,
                float* dgamma, float* dbeta, int c0, int c1);

// Max pooling that records, per output, the input offset (within the plane) of the first maximum in window order.
void maxPoolArgmax(const Node& n, const Node& in, const float* x, float* y, int32_t* argmax, int S);

// Pooling backward (overwrites dx). Max: routes through `argmax`; average: spreads over the window.
void poolBackward(const Node& n, const Node& in, const float* dy, const int32_t* argmax, float* dx, int S);

// y = W x + b ([fout][fin]; bias may be null).
void linearForward(const float* x, const float* w, const float* b, float* y, int S, int fin, int fout);

// dx = W^T dy (overwrites; may be null); dw = sum_s dy x^T (overwrites; may be null); db = sum_s dy (may be null).
void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int S, int fin, int fout);

// Scatters dy into the slice's window of a zeroed dx.
void sliceBackward(const Node& n, const Node& in, const float* dy, float* dx, int S);

// dx[s][c][i] = dy[s][c] / HW.
void gapBackward(const float* dy, float* dx, int S, int C, size_t HW);

}  // namespace swapnas
