#pragma once

// Reverse mode on the CPU: one forward pass with explicit parameters that keeps only what the backward pass needs
// (ReLU outputs, BN x-hat and 1/sigma, max-pool argmaxes, conv/linear inputs when weight gradients are wanted),
// then one backward pass from the mean cross-entropy (integer labels) or from an all-ones output cotangent
// (d sum(outputs)). float32 storage, double accumulation for reductions; the TypeScript reference
// (src/backends/reference/backward.ts, float64) is the definition it is tested against.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "block_scale.h"
#include "common.h"
#include "forward.h"
#include "grad_ops.h"
#include "ir.h"
#include "nwot.h"
#include "parked_threads.h"
#include "proxy_reduce.h"

namespace swapnas {

// Work (floats or multiply-adds) below which an op runs as one part: waking a thread costs more.
inline constexpr size_t kMinSplitWork = size_t{1} << 16;

// BatchNorm behaviour (src/grad/types.ts BnMode).
enum class BnMode : int32_t { Train = 0, Eval = 1, Identity = 2 };

// The statistics BN node n normalises with in a pass of mode m (bnModeOf in src/ir/ops.ts): m, but batch statistics
// in eval mode for a BN without running statistics.
inline BnMode bnModeOf(const Node& n, BnMode m) { return m == BnMode::Eval && n.batchStats ? BnMode::Train : m; }

// Offsets of each node's parameters in the packed layout (src/backends/native/grad.ts packParams): per node in
// order, conv weight [cout][cin/g][k][k] then bias (if any); BN gamma, beta, running mean, running var (C each,
// always); linear weight [fout][fin] then bias (if any). offsets[nodes] is the total. Gradients use the same layout
// (running statistics get 0).
std::vector<size_t> packedParamOffsets(const Net& net);

// The packed direction V (layout `off`) as a direction on the network's weight TENSORS: `tied` holds (node, first use)
// pairs of conv / linear weights several nodes share (a module called twice), and every use's weight slice becomes
// the sum of the uses' slices, first use first, then the pairs in order. The uses' H V then sum to the tied tensor's.
// A pair (node, -1) holds the node's weight fixed (a functional F.conv2d weight, outside the official H): slice 0.
template <typename T>
std::vector<T> tiedDirection(const T* V, const std::vector<size_t>& off, const Net& net, const std::vector<int32_t>& tied) {
  std::vector<T> out(V, V + off.back());
  std::vector<std::vector<int32_t>> users(net.nodes.size());
  for (size_t p = 0; p + 1 < tied.size(); p += 2)
    if (tied[p + 1] >= 0) users[static_cast<size_t>(tied[p + 1])].push_back(tied[p]);
  for (size_t first = 0; first < users.size(); ++first) {
    if (users[first].empty()) continue;
    const size_t w = weightCount(net.nodes[first]);
    T* sum = out.data() + off[first];
    for (int32_t u : users[first])
      for (size_t k = 0; k < w; ++k) sum[k] += V[off[static_cast<size_t>(u)] + k];
    for (int32_t u : users[first]) std::copy(sum, sum + w, out.data() + off[static_cast<size_t>(u)]);
  }
  for (size_t p = 0; p + 1 < tied.size(); p += 2)
    if (tied[p + 1] < 0) {
      const size_t node = static_cast<size_t>(tied[p]);
      std::fill(out.data() + off[node], out.data() + off[node] + weightCount(net.nodes[node]), T(0));
    }
  return out;
}

// One extra backward pass over the same forward pass (GradRequest::passes): the cotangent `seed` (S x numel of
// `seedNode`) is propagated down; the total cotangent arriving at `readNode` (when >= 0) is returned, and so are the
// per-sample terms of GradRequest::scalars. AZ-NAS seeds block outputs and reads block inputs; VKDNW seeds one
// output column per pass and reads per-sample gradients of chosen parameter scalars.
struct BackwardPass {
  int seedNode = 0;
  const float* seed = nullptr;
  int readNode = -1;
};

struct GradRequest {
  BnMode bn = BnMode::Train;
  // Labels per sample (cross-entropy objective); null: objective = sum of the output node's values.
  const int32_t* labels = nullptr;
  bool wantParams = true;
  bool wantInput = false;
  // Per-sample channel saliency of every conv/linear output: s[b][c] = sum over positions of a * da (fisher).
  bool wantSaliency = false;
  // With wantSaliency, also per-sample row sums r[b][h] = sum over channels and columns of a * da (fisher of an
  // nn.Linear over a channels-last map, whose official hook sums over W and C): GradResult::rowSaliency.
  bool wantRowSaliency = false;
  // GraSP's <W, H g> per conv/linear node, H the Hessian of the mean cross-entropy w.r.t. the conv/linear weights and
  // g their gradient (needs labels and wantParams; GradResult::weightHv).
  bool wantHvp = false;
  // With wantHvp: (node, first use) pairs of conv / linear weights several nodes share (tiedDirection).
  const std::vector<int32_t>* tiedWeights = nullptr;
  // Nodes whose forward outputs are returned (in this order), e.g. feature maps for forward-only proxies.
  const int32_t* keepNodes = nullptr;
  size_t keepCount = 0;
  // Per kept node (null: all None): None returns its output; a reduction computes one value as the output is made
  // (GradResult::keptValues) and frees it as usual.
  const int32_t* keepModes = nullptr;
  // Per extra pass (null: all None): None returns the read cotangent; Trainability reduces it with the seed instead
  // (GradResult::passValues).
  const int32_t* passModes = nullptr;
  // Run the output-seeded backward pass (labels / sum objective) even when extra passes are given (before them).
  bool outputBackward = false;
  // Batch variance of every rank-3 BN node (train mode), node order, C each; NaN where the node was not evaluated.
  bool wantBnVar = false;
  // NWOT kernel K (S x S) over every evaluated ReLU's sign pattern.
  bool wantNwot = false;
  // Extra backward passes; when given, they replace the output-seeded pass unless `outputBackward` is set (otherwise
  // labels/wantParams/wantInput/wantSaliency only shape the forward pass).
  const BackwardPass* passes = nullptr;
  size_t passCount = 0;
  // Parameter scalars as (node, kind 0 weight / 1 bias / 2 gamma / 3 beta / 4 a PReLU's slope per channel / 5 its one
  // slope, flat index) triples, for per-sample terms.
  const int32_t* scalars = nullptr;
  size_t scalarCount = 0;
  // Set per extra pass by the executor: the node whose cotangent backward() returns (-1: none).
  int readNode = -1;
  // Block floating point (block_scale.h): every activation and cotangent carries a power-of-two exponent, so values
  // beyond float32's range (synflow's products of |weights| over a deep network) stay representable. For the
  // output-seeded pass of the sum objective with BN as identity only (the caller checks); weight gradients come
  // back as mantissas with GradResult::weightExp; bias gradients, logits' scale and every other output are not
  // meaningful then.
  bool blockScale = false;
};

struct GradResult {
  double loss = 0;            // mean cross-entropy (0 for the sum objective)
  std::vector<float> logits;  // S x numel(output)
  std::vector<float> params;  // packed gradients (empty unless wanted)
  std::vector<float> input;   // S x numel(input) (empty unless wanted)
  std::vector<float> saliency;  // per conv/linear node in node order, S x C (empty unless wanted)
  std::vector<float> rowSaliency;  // wantRowSaliency: per conv/linear node in node order, S x H (H = 1 for linear)
  std::vector<double> weightHv; // GradRequest::wantHvp: <W, (H g)_W> per node (conv/linear; 0 elsewhere), node order
  std::vector<float> activations;  // outputs of GradRequest::keepNodes, concatenated, S x numel each
  size_t peakBytes = 0;       // largest amount of activation + gradient memory held at once
  int threads = 1;            // most threads one op of this pass was split over (GradExecutor::setThreads)
  std::vector<double> bnVar;       // GradRequest::wantBnVar
  std::vector<double> nwotK;       // GradRequest::wantNwot, S x S
  std::vector<float> reads;        // per extra pass, S x numel(readNode) (nothing for passes without one)
  std::vector<float> perSample;    // per extra pass, per scalar, S values
  std::vector<double> keptValues;  // GradRequest::keepModes: one value per kept node (NaN for those returned whole)
  std::vector<double> passValues;  // GradRequest::passModes: one value per reduced extra pass
  // GradRequest::blockScale: per node, the exponent of its weight gradient (true = params mantissa * 2^exp;
  // kZeroExponent for an all-zero one; 0 for nodes without weights)
  std::vector<int32_t> weightExp;
  std::vector<double> params64;  // the float64 pass (f64_pass.h): packed gradients in double (params stays empty)
  std::vector<double> input64;   // the float64 pass: the input gradient in double (input stays empty)
  std::vector<double> saliency64;  // the float64 pass: the channel saliency in double (saliency stays empty)
  std::vector<double> rowSaliency64;  // the float64 pass: the row sums in double (rowSaliency stays empty)
};

// Helper threads for splitting ops, shared by the executors of one owner (GradBuffers): one split at a time runs on
// them (another executor's op meanwhile runs on its own thread, with the same values), so an owner keeps at most
// threads - 1 parked threads however many executors it lends out.
struct SplitHelpers {
  std::mutex busy;
  ParkedThreads threads;
};

// Runs fn(t) for t in [0, parts) on `h`'s threads (t = 0 on the caller; the caller holds h.busy) and rethrows the first
// part's failure after all returned.
void runParts(SplitHelpers& h, int parts, const std::function<void(int)>& fn);

// Per-thread engine; reuses its buffers across networks.
class GradExecutor {
 public:
  GradResult run(const Net& net, const float* params, const float* input, int S, const GradRequest& req, const CancelToken* cancel);
  // Bytes of the buffers kept for the next run (tensor pool and convolution scratch).
  size_t heldBytes() const;
  // Threads one network's convolutions may use: a job's threads beyond its networks (a lone network with two
  // threads). Every part computes whole outputs in the one-thread order, so values do not depend on it.
  // `helpers`: the owner's shared helper threads (null: the executor starts its own on first need).
  void setThreads(int threads, SplitHelpers* helpers) {
    threads_ = threads < 1 ? 1 : threads;
    shared_ = helpers;
  }

 private:
  void forward(const Net& net, const float* params, const float* input, int S, const GradRequest& req, const CancelToken* cancel);
  void backward(const Net& net, const float* params, int S, const GradRequest& req, GradResult& r, const CancelToken* cancel);
  void seedOutput(const Net& net, int S, const GradRequest& req, GradResult& r);
  // blockScale: re-expresses the inputs xs of Add/Concat node i at their largest exponent (copies in `temps`).
  void alignInputs(const Net& net, size_t i, int S, std::vector<const float*>& xs, std::vector<float*>& temps);
  void hessianVector(const Net& net, const float* params, int S, const GradRequest& req, GradResult& r, const CancelToken* cancel);
  void runPasses(const Net& net, const float* params, int S, const GradRequest& req, GradResult& r, const CancelToken* cancel);
  void scalarTerms(const Net& net, int node, const float* dy, int S, const GradRequest& req, std::vector<double>& out);
  void collectBnVar(const Net& net, const GradRequest& req, GradResult& r) const;
  float* acquire(size_t n, bool zero);
  void release(float*& p);
  float* gradOf(const Net& net, int node, int S);
  // Runs fn(part, lo, hi) on up to threads_ contiguous parts of [0, count) (bounds multiples of `align`, part 0 on
  // the calling thread, the others on parked threads) and rethrows the first part's failure after all returned.
  // `work` (floats or multiply-adds) below kMinSplitWork runs as one part: waking a thread costs more.
  void split(int count, int align, const std::function<void(int, int, int)>& fn, size_t work = SIZE_MAX);
  ConvGradScratch& scratch(int part) { return part == 0 ? conv_ : helpers_[static_cast<size_t>(part - 1)]; }

  TensorPool pool_;
  ConvGradScratch conv_;
  std::vector<size_t> offsets_;
  std::vector<float*> out_;
  std::vector<float*> xhat_;
  std::vector<std::vector<double>> inv_;
  std::vector<std::vector<int32_t>> argmax_;
  std::vector<float*> grad_;
  std::vector<int> fexp_, gexp_;  // GradRequest::blockScale: exponents of each node's output and cotangent
  std::vector<float*> dyKeep_;  // wantHvp: each conv/linear/train-BN node's cotangent, kept from backward()
  NwotKernel* nwot_ = nullptr;
  std::vector<uint64_t> codes_;
  std::vector<double> keptValues_;
  std::unordered_map<const float*, size_t> sizes_;
  size_t live_ = 0, peak_ = 0;
  int threads_ = 1;
  int partsUsed_ = 1;  // most parts one split ran with in this run (GradResult::threads)
  SplitHelpers* shared_ = nullptr;        // the owner's helpers (setThreads), else own_
  std::unique_ptr<SplitHelpers> own_;     // started on the first split with more than one part
  std::vector<ConvGradScratch> helpers_;  // convolution scratch of parts 1.. (part 0 uses conv_)
};

}  // namespace swapnas
