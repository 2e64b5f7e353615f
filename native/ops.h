#pragma once
// Non-convolution layers. Each follows src/backends/reference/forward.ts: sums in double, float32 storage.
// Element-wise ops read every input element before writing the same output element, so they run in place.

#include <cstddef>

#include "ir.h"

namespace swapnas {

// Batch-statistics BatchNorm (biased variance, gamma = 1, beta = 0) over S samples of C x HW; statistics in
// double from one shifted pass (the reference's two passes give the same float32 outputs up to rare last-bit ties).
void batchNorm(const float* x, float* y, int S, int C, size_t HW, double eps);

void relu(const float* x, float* y, size_t count);
// min(max(x, 0), clip) (ReLU6: clip 6), NaN propagating as in relu.
void reluClip(const float* x, float* y, size_t count, float clip);
// x below 0 times slope (nn.LeakyReLU; PyTorch multiplies by the slope rounded to float32), NaN propagating.
void leakyRelu(const float* x, float* y, size_t count, float slope);

void avgPool(const Node& n, const Node& in, const float* x, float* y, int S);
void maxPool(const Node& n, const Node& in, const float* x, float* y, int S);

// y = sum of the inputs, accumulated in double.
void addTensors(const float* const* xs, size_t nInputs, float* y, size_t count);

// Channel concatenation of 4-D inputs (per-sample sizes `per[i]`).
void concat(const float* const* xs, const size_t* per, size_t nInputs, float* y, int S);

// The window y[c][i][j] = x[n.c0 + c][n.h0 + i][n.w0 + j] (n: the slice node, in: its input).
void sliceWindow(const Node& n, const Node& in, const float* x, float* y, int S);
// Channel shuffle of S samples (planes copied: output channel c from input shuffleSource(c)); back: the transpose,
// for cotangents (each plane returns to its input channel).
void channelShuffle(const Node& n, const float* x, float* y, int S, bool back);

// A sigmoid gate of count floats (logistic in float, as torch.sigmoid; or hardsigmoid).
void sigmoidGate(const Node& n, const float* x, float* y, size_t count);
// A smooth activation of count floats (native/activations.h, in float as PyTorch's float32 kernels).
void actForward(const Node& n, const float* x, float* y, size_t count);
// y = a * g, g broadcast over planes of `plane` floats (1: the same shape; H*W: a channel gate).
void mulGate(const float* a, const float* g, float* y, size_t count, size_t plane);

void globalAvgPool(const float* x, float* y, int S, int C, size_t HW);

// w is [fout][fin]; bias ignored as in the reference.
void linear(const float* x, const float* w, float* y, int S, int fin, int fout);

}  // namespace swapnas
