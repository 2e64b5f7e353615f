#pragma once
// gradients(job): one coarse N-API call for a batch of networks. An AsyncProgressWorker whose Execute() (no N-API
// calls) runs one network per work item on a thread group (GradExecutor per thread) and settles a promise with each
// network's loss, outputs and packed parameter / input gradients.

#include <napi.h>

#include <cstdint>
#include <vector>

#include "backward.h"
#include "grad_buffers.h"
#include "job.h"
#include "napi_args.h"
#include "promise_worker.h"

namespace swapnas {

struct GradJob : JobInputs {
  int threads = 1;
  std::vector<float> params;
  std::vector<double> params64;  // job.float64: the parameters in double (params stays empty)
  std::vector<int32_t> paramOffsets;
  std::vector<int32_t> labels;
  BnMode bn = BnMode::Train;
  bool wantParams = true;
  bool wantInput = false;
  bool wantSaliency = false;
  bool wantRowSaliency = false;  // GradRequest::wantRowSaliency
  bool wantHvp = false;
  std::vector<int32_t> tiedWeights;  // (node, first use) pairs, for every network (GradRequest::tiedWeights)
  std::vector<int32_t> keepNodes;
  std::vector<int32_t> keepOffsets;
  std::vector<int32_t> keepModes;  // per kept node (KeepReduce), parallel to keepNodes; empty: all None
  std::vector<int32_t> passModes;  // per extra pass (PassReduce); empty: all None
  bool outputBackward = false;
  bool wantBnVar = false;
  bool wantNwot = false;
  bool blockScale = false;
  // The float64 pass (f64_pass.h) instead of the float32 executor: sum objective, parameter / input gradients only.
  bool float64 = false;
  // Extra backward passes (the same for every network): seed node, read node (-1: none), seed values.
  std::vector<int32_t> passSeedNodes;
  std::vector<int32_t> passReadNodes;
  std::vector<int32_t> passSeedOffsets;
  std::vector<float> passSeeds;
  std::vector<int32_t> scalars;  // (node, kind, index) triples
  // Executors kept across jobs (null: one per thread for this job only).
  std::shared_ptr<GradBuffers> buffers;
};

class GradWorker : public PromiseProgressWorker {
 public:
  GradWorker(Napi::Env env, GradJob job, Napi::Object cancelArray, Napi::Value onProgress)
      : PromiseProgressWorker(env, "swapnas.gradients", cancelArray, onProgress), job_(std::move(job)) {}

 protected:
  void Execute(const ExecutionProgress& progress) override;
  void OnOK() override;

 private:
  // Execute() for job.float64: one float64 pass per network, the job's threads taking networks in parallel and `inner`
  // threads splitting each network's convolutions.
  void runFloat64(const std::vector<Net>& nets, int threads, int inner, ItemQueue& queue, const CancelToken& token, const ExecutionProgress& progress);
  GradJob job_;
  std::vector<GradResult> results_;
};

// Registers `gradients` on the addon's exports.
void registerGradExports(Napi::Env env, Napi::Object exports);

}  // namespace swapnas
