#pragma once
// Reverse mode on the CPU: one forward pass with explicit parameters that keeps only what the backward pass needs
// (ReLU outputs, BN x-hat and 1/sigma, max-pool argmaxes, conv/linear inputs when weight gradients are wanted),
// then one backward pass from the mean cross-entropy (integer labels) or from an all-ones output cotangent
// (d sum(outputs)). float32 storage, double accumulation for reductions; the TypeScript reference
// (src/backends/reference/backward.ts, float64) is the definition it is tested against.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "forward.h"
#include "grad_ops.h"
#include "ir.h"

namespace swapnas {

// BatchNorm behaviour (src/grad/types.ts BnMode).
enum class BnMode : int32_t { Train = 0, Eval = 1, Identity = 2 };

// Offsets of each node's parameters in the packed layout (src/backends/native/grad.ts packParams): per node in
// order, conv weight [cout][cin/g][k][k] then bias (if any); BN gamma, beta, running mean, running var (C each,
// always); linear weight [fout][fin] then bias (if any). offsets[nodes] is the total. Gradients use the same layout
// (running statistics get 0).
std::vector<size_t> packedParamOffsets(const Net& net);

struct GradRequest {
  BnMode bn = BnMode::Train;
  // Labels per sample (cross-entropy objective); null: objective = sum of the output node's values.
  const int32_t* labels = nullptr;
  bool wantParams = true;
  bool wantInput = false;
  // Per-sample channel saliency of every conv/linear output: s[b][c] = sum over positions of a * da (fisher).
  bool wantSaliency = false;
  // Nodes whose forward outputs are returned (in this order), e.g. feature maps for forward-only proxies.
  const int32_t* keepNodes = nullptr;
  size_t keepCount = 0;
};

struct GradResult {
  double loss = 0;            // mean cross-entropy (0 for the sum objective)
  std::vector<float> logits;  // S x numel(output)
  std::vector<float> params;  // packed gradients (empty unless wanted)
  std::vector<float> input;   // S x numel(input) (empty unless wanted)
  std::vector<float> saliency;  // per conv/linear node in node order, S x C (empty unless wanted)
  std::vector<float> activations;  // outputs of GradRequest::keepNodes, concatenated, S x numel each
  size_t peakBytes = 0;       // largest amount of activation + gradient memory held at once
};

// Per-thread engine; reuses its buffers across networks.
class GradExecutor {
 public:
  GradResult run(const Net& net, const float* params, const float* input, int S, const GradRequest& req, const CancelToken* cancel);

 private:
  void forward(const Net& net, const float* params, const float* input, int S, const GradRequest& req, const CancelToken* cancel);
  void backward(const Net& net, const float* params, int S, const GradRequest& req, GradResult& r, const CancelToken* cancel);
  void seedOutput(const Net& net, int S, const GradRequest& req, GradResult& r);
  float* acquire(size_t n, bool zero);
  void release(float*& p);
  float* gradOf(const Net& net, int node, int S);

  TensorPool pool_;
  ConvGradScratch conv_;
  std::vector<size_t> offsets_;
  std::vector<float*> out_;
  std::vector<float*> xhat_;
  std::vector<std::vector<double>> inv_;
  std::vector<std::vector<int32_t>> argmax_;
  std::vector<float*> grad_;
  std::unordered_map<const float*, size_t> sizes_;
  size_t live_ = 0, peak_ = 0;
};

}  // namespace swapnas
