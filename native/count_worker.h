#pragma once
// countPatterns: an AsyncProgressWorker whose Execute() (no N-API calls) fans (network, repeat) items out to a
// thread group and settles a promise.

#include <napi.h>

#include "napi_args.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace swapnas {

// Plain copy of everything the worker threads read; only `cancel` points into JS memory (kept alive below).
struct CountJob : JobInputs {
  int threads = 1;
  // Also compute NWOT log|det K| per item (resolves to { counts, nwot }).
  bool nwot = false;
};

struct CountProgress {
  uint64_t done;
  uint64_t total;
};

class CountWorker : public Napi::AsyncProgressWorker<CountProgress> {
 public:
  CountWorker(Napi::Env env, CountJob job, Napi::Object cancelArray, Napi::Value onProgress);
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override;
  void OnProgress(const CountProgress* data, size_t count) override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  void report(uint64_t done, uint64_t total);

  CountJob job_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference cancelRef_;
  Napi::FunctionReference onProgress_;
  // { error } holding what the progress callback threw (any value, so it is wrapped in an object).
  Napi::ObjectReference callbackError_;
  // Set when the progress callback throws: the job stops and rejects with that exception.
  int32_t stopFlag_ = 0;
  std::vector<double> counts_;
  std::vector<double> nwot_;
  std::string errorCode_ = "E_BACKEND";
  uint64_t total_ = 0;
  uint64_t delivered_ = 0;
};

}  // namespace swapnas
