#pragma once
// A double-precision forward and backward pass of the sum objective (d sum(outputs) / d parameters or input), for proxies
// whose official code runs in float64 and whose value float32 cannot hold: synflow_bn, where train-mode BN on one
// all-ones sample leaves many gradients analytically near zero, so float32 rounding there outweighs the true value
// (docs/zero-cost-proxies.md); and jacov / epe_nas where the float32 input Jacobian cannot resolve them. It computes
// the same function as the TypeScript reference (f64-forward.ts, f64-backward.ts, backward.ts) through the same loops
// in the same order, on the same double parameters, and is compiled without FMA contraction (SWAPNAS_EXACT_SOURCES),
// so its values equal the reference's bit for bit. The job's threads take networks in parallel; a lone network
// splits its convolutions' rows over them. With labels it also gives GraSP's Hessian-vector product in double
// (Float64Request::hvp; f64_hvp.cpp ports the reference's R-operator, src/backends/reference/hvp.ts).

#include <cstdint>
#include <vector>

#include "backward.h"
#include "common.h"
#include "f64_conv.h"
#include "ir.h"

namespace swapnas {

// What the pass computes besides the outputs: gradients of sum(outputs) w.r.t. the parameters and / or the input.
struct Float64Request {
  BnMode bn = BnMode::Train;
  bool params = true;
  bool input = false;
  // per-sample channel sums of a * da of every conv/linear output (fisher), as GradRequest::wantSaliency
  bool saliency = false;
  // S labels: the objective is the mean cross-entropy (crossEntropy in src/grad/loss.ts); null: the sum of outputs
  const int32_t* labels = nullptr;
  // <W, (H g)_W> per conv/linear node, H the Hessian of the mean cross-entropy w.r.t. the conv/linear weights and g
  // their gradient (GraSP; GradRequest::wantHvp): needs labels and params. f64_hvp.cpp, the reference's hvp.ts
  bool hvp = false;
  // with hvp: (node, first use) pairs of conv / linear weights several nodes share (tiedDirection in backward.h)
  const std::vector<int32_t>* tiedWeights = nullptr;
  // with saliency, also per-sample row sums of every conv/linear output (GradRequest::wantRowSaliency)
  bool rowSaliency = false;
};

struct Float64Result {
  std::vector<double> logits;  // S x numel(output)
  std::vector<double> params;  // packed parameter gradients (packedParamOffsets; running statistics 0), when asked
  std::vector<double> input;   // S x numel(input), when asked
  std::vector<double> saliency;  // per conv/linear node in node order, S x C, when asked
  std::vector<double> rowSaliency;  // per conv/linear node in node order, S x H, when asked
  std::vector<double> weightHv;  // hvp: <W, (H g)_W> per node in node order (conv/linear; 0 elsewhere)
  size_t peakBytes = 0;        // most activation + cotangent memory held at once
};

// One pass on S samples of `input` with the packed double `params`; the convolutions' rows go through `split`
// (serialSplit: one thread). Values do not depend on the split.
Float64Result float64Pass(const Net& net, const double* params, const float* input, int S, const Float64Request& req, const RowSplit& split,
                          const CancelToken* cancel);

}  // namespace swapnas
