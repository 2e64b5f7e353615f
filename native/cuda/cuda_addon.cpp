// N-API entry points of the CUDA engine: cudaProbe() and cudaCountPatterns(job, onProgress?). Compiled only with
// SWAPNAS_WITH_CUDA (CMakeLists.txt); addon.cpp calls registerCudaExports. Execute() makes no N-API calls.

#include <napi.h>

#include <atomic>
#include <string>
#include <vector>

#include "common.h"
#include "cuda/engine.h"
#include "ir.h"
#include "job.h"
#include "napi_args.h"
#include "promise_worker.h"
#include "stats.h"

namespace swapnas {

namespace {

constexpr uint64_t kProgressIntervalNs = 50'000'000;

struct CudaJobData : JobInputs {
  int streams = 4;
};

class CudaCountWorker : public PromiseProgressWorker {
 public:
  CudaCountWorker(Napi::Env env, CudaJobData job, Napi::Object cancelArray, Napi::Value onProgress)
      : PromiseProgressWorker(env, "swapnas.cudaCountPatterns", cancelArray, onProgress), job_(std::move(job)) {}

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      const std::vector<Net> nets = parseJobNets(job_);
      CancelToken token;
      token.flags[0] = job_.cancel;
      token.flags[1] = &stopFlag_;
      total_ = nets.size() * job_.seeds.size();
      std::atomic<uint64_t> lastSend{0};
      cuda::Job j;
      j.nets = &nets;
      j.input = job_.input.data();
      j.n = job_.n;
      j.c = job_.c;
      j.h = job_.h;
      j.w = job_.w;
      j.seeds = &job_.seeds;
      j.streams = job_.streams;
      j.cancel = &token;
      j.progress = [&](uint64_t done, uint64_t total) {
        const uint64_t now = nowNs();
        uint64_t prev = lastSend.load();
        if ((done == total || now - prev >= kProgressIntervalNs) && lastSend.compare_exchange_strong(prev, now)) {
          const CountProgress p{done, total};
          progress.Send(&p, 1);
        }
      };
      cuda::countPatterns(j, counts_);
    } catch (const Cancelled&) {
      errorCode_ = "E_CANCELLED";
      SetError("scoring cancelled");
    } catch (const Failure& f) {
      errorCode_ = f.code;
      SetError(f.what());
    } catch (const std::bad_alloc&) {
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!settleProgress(total_)) return;
    Napi::Float64Array out = Napi::Float64Array::New(env, counts_.size());
    std::copy(counts_.begin(), counts_.end(), out.Data());
    deferred_.Resolve(out);
  }

 private:
  CudaJobData job_;
  std::vector<double> counts_;
  uint64_t total_ = 0;
};

Napi::Value CudaProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cuda::Probe p = cuda::probe();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiled", true);
  o.Set("available", p.available);
  o.Set("reason", p.available ? std::string() : p.reason);
  o.Set("architectures", cuda::architectures());
  o.Set("devices", p.devices);
  o.Set("device", p.name);
  o.Set("computeCapability", p.available || p.major ? std::to_string(p.major) + "." + std::to_string(p.minor) : std::string());
  o.Set("memoryBytes", p.memoryBytes);
  o.Set("multiprocessors", p.smCount);
  o.Set("runtimeVersion", p.runtimeVersion);
  o.Set("driverVersion", p.driverVersion);
  o.Set("maxSamples", cuda::kMaxSamples);
  return o;
}

Napi::Value CudaCountPatterns(const Napi::CallbackInfo& info) {
  return queueJob<CudaCountWorker, CudaJobData>(info, [](const Napi::Object& job, CudaJobData& j) {
    j.streams = intArg(job.Get("streams"), "job.streams", 1, 4096);
  });
}

}  // namespace

void registerCudaExports(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaProbe", Napi::Function::New(env, CudaProbe, "cudaProbe"));
  exports.Set("cudaCountPatterns", Napi::Function::New(env, CudaCountPatterns, "cudaCountPatterns"));
}

}  // namespace swapnas
