#pragma once
// Reductions of the zero-cost proxies computed where the tensors are made (on the worker thread, in double), so a
// proxy pass returns scalars instead of feature maps: the C++ twins of the TypeScript definitions in
// src/proxies/meco.ts (mecoFromActivations) and src/proxies/az.ts (featureEntropy, blockTrainability), checked
// against them in test/proxies-native.test.ts.

#include <cstddef>
#include <cstdint>

#include "ir.h"

namespace swapnas {

// What a gradient job computes from each kept node's output instead of returning it.
// MecoRows: MeCo's term of a module PyTorch holds channels-last, (H, W, C) read as H rows (src/proxies/meco.ts).
enum class KeepReduce : int32_t { None = 0, Meco = 1, Entropy = 2, MecoRows = 3 };
// What it computes from each extra pass's seed and read cotangent instead of returning the read.
enum class PassReduce : int32_t { None = 0, Trainability = 1 };

// MeCo's term of one module output (sample 0, C x HW): the smallest eigenvalue of its channels' Pearson correlation
// with non-finite entries set to 0 (NaN when the eigenvalue is not finite).
double mecoTerm(const float* sample0, size_t C, size_t HW);

// AZ-NAS expressivity of one feature map (S x C x H x W): entropy of the normalised eigenvalues of the channel
// covariance over all S*H*W positions.
double featureEntropy(const float* a, int S, const Node& n);

// AZ-NAS trainability t_i of one block from the cotangent seeded at its output (`out`) and the one read at its input.
double blockTrainability(const float* gOut, const Node& out, const float* gIn, const Node& in, int S);

// The reduction `mode` of a kept node's output `y` (S x numel of `n`).
double keptValue(KeepReduce mode, const float* y, const Node& n, int S);

}  // namespace swapnas
