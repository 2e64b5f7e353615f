#pragma once
// countPatterns: an AsyncProgressWorker whose Execute() (no N-API calls) fans (network, repeat) items out to a
// thread group and settles a promise.

#include <napi.h>

#include "napi_args.h"
#include "promise_worker.h"
#include "count_pool.h"
#include "weight_store.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace swapnas {

// Plain copy of everything the worker threads read; only `cancel` points into JS memory (kept alive below).
struct CountJob : JobInputs {
  int threads = 1;
  // Also compute NWOT log|det K| per item (resolves to { counts, nwot }).
  bool nwot = false;
  // Weights kept across jobs (optional; shared with the JS object that owns it, so it outlives this job).
  std::shared_ptr<WeightStore> weights;
  // Threads and buffers kept across jobs (optional; shared with the JS object that owns it, like `weights`).
  std::shared_ptr<CountPool> pool;
};



class CountWorker : public PromiseProgressWorker {
 public:
  CountWorker(Napi::Env env, CountJob job, Napi::Object cancelArray, Napi::Value onProgress)
      : PromiseProgressWorker(env, "swapnas.countPatterns", cancelArray, onProgress), job_(std::move(job)) {}

 protected:
  void Execute(const ExecutionProgress& progress) override;
  void OnOK() override;

 private:
  CountJob job_;
  std::vector<double> counts_;
  std::vector<double> nwot_;
  uint64_t total_ = 0;
};

}  // namespace swapnas
