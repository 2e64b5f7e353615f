#pragma once
// Double-precision convolutions of the float64 pass (f64_pass.h). Every output element sums its terms in the
// reference's order (src/backends/reference/loops.ts convAccumulate, f64-backward.ts convBackward) in one chain, and
// skips the taps the reference skips, so values equal the reference's bit for bit. The speed comes from running
// eight elements' chains side by side in one vector (lanes: output channels; input channels for the data gradient)
// and several vectors at once, never from reordering a sum. Compiled without FMA contraction (SWAPNAS_EXACT_SOURCES).

#include <cstddef>
#include <functional>

#include "ir.h"

namespace swapnas {

// Runs fn(lo, hi) over contiguous parts of [0, count) covering it once, possibly on several threads at once. `work`
// (multiply-adds) lets it run small ones whole. Each part computes whole output elements, so values do not depend on
// the split.
using RowSplit = std::function<void(int count, size_t work, const std::function<void(int, int)>& fn)>;

// A RowSplit that runs everything on the calling thread.
inline void serialSplit(int count, size_t, const std::function<void(int, int)>& fn) { fn(0, count); }

// Each of the three takes a transposed conv too, through its adjoint (adjointOf in ir.h): its forward is the
// adjoint's backward-data (the bias added after), and so on.
// y (S x cout x OH x OW, overwritten) = conv(x, w) + bias (bias may be null).
void f64ConvForward(const Node& n, const Node& in, const double* x, const double* w, const double* bias, int S, double* y, const RowSplit& split);

// dx (S x cin x H x W, overwritten) = the transposed convolution of dy with w.
void f64ConvBackwardData(const Node& n, const Node& in, const double* dy, const double* w, int S, double* dx, const RowSplit& split);

// dw[oc][icg][kh][kw] += sum over positions of x * dy, sample by sample.
void f64ConvBackwardWeights(const Node& n, const Node& in, const double* x, const double* dy, int S, double* dw, const RowSplit& split);

}  // namespace swapnas
