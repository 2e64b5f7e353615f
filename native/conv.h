#pragma once
// 2-D convolution (groups, stride, padding, dilation; bias ignored as in the reference) on NCHW float32 batches.

#include <cstdint>
#include <vector>

#include "common.h"
#include "ir.h"

namespace swapnas {

// Per-thread buffers reused across layers and work items.
struct ConvScratch {
  AlignedArray<float> packedA;
  AlignedArray<float> padded;
  AlignedArray<float> col;
  AlignedArray<float> wide;
  std::vector<int32_t> off;
  std::vector<int32_t> base;
  std::vector<int32_t> cbase;
};

// The pointwise path reads its input in whole column tiles, up to kNR - 1 floats past the tensor's end: inputs
// need that much readable slack (TensorPool provides it).
// y = conv(x) for S samples; w holds the node's weights in PyTorch layout [cout][cin/groups][k][k].
void convForward(const Node& n, const Node& in, const float* x, float* y, int S, const float* w, ConvScratch& sc);

// Non-zero when the convolution runs on the direct row path (stride 1, output rows of whole vectors (1) or of half
// vectors (2), channel blocks without padding rows).
int convRowsLayout(const Node& n);

}  // namespace swapnas
