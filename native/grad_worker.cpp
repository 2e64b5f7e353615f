#include "grad_worker.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "common.h"
#include "ir.h"
#include "thread_pool.h"

namespace swapnas {

namespace {

constexpr size_t kMaxThreads = 256;

// Parses every network and checks its parameter range against the packed layout and the labels against its output.
std::vector<Net> parseGradJob(const GradJob& job) {
  if (job.offsets.empty() || job.paramOffsets.size() != job.offsets.size()) fail("offsets and paramOffsets must have one entry per network plus one");
  std::vector<Net> nets;
  for (size_t i = 0; i + 1 < job.offsets.size(); ++i) {
    const int32_t a = job.offsets[i], b = job.offsets[i + 1];
    if (a < 0 || b < a || static_cast<size_t>(b) > job.program.size()) fail("network " + std::to_string(i) + ": bad program range");
    Net net;
    try {
      net = parseNet(job.program.data() + a, static_cast<size_t>(b - a), job.c, job.h, job.w);
    } catch (const Failure& f) {
      throw Failure(f.code, "network " + std::to_string(i) + ": " + f.what());
    }
    const int32_t pa = job.paramOffsets[i], pb = job.paramOffsets[i + 1];
    if (pa < 0 || pb < pa || static_cast<size_t>(pb) > job.params.size() || static_cast<size_t>(pb - pa) != packedParamOffsets(net).back())
      fail("network " + std::to_string(i) + ": parameter range does not match its packed layout");
    if (!job.keepOffsets.empty()) {
      const int32_t ka = job.keepOffsets[i], kb = job.keepOffsets[i + 1];
      if (ka < 0 || kb < ka || static_cast<size_t>(kb) > job.keepNodes.size()) fail("network " + std::to_string(i) + ": bad keep range");
      for (int32_t k = ka; k < kb; ++k)
        if (job.keepNodes[static_cast<size_t>(k)] < 0 || static_cast<size_t>(job.keepNodes[static_cast<size_t>(k)]) >= net.nodes.size())
          fail("network " + std::to_string(i) + ": kept node " + std::to_string(job.keepNodes[static_cast<size_t>(k)]) + " does not exist");
    }
    const size_t K = net.nodes[static_cast<size_t>(net.output)].numel();
    for (int32_t y : job.labels)
      if (y < 0 || static_cast<size_t>(y) >= K) fail("network " + std::to_string(i) + ": label " + std::to_string(y) + " is outside its outputs");
    nets.push_back(std::move(net));
  }
  return nets;
}

}  // namespace

void GradWorker::Execute(const ExecutionProgress& progress) {
  std::vector<Net> nets;
  try {
    nets = parseGradJob(job_);
  } catch (const Failure& f) {
    errorCode_ = f.code;
    SetError(f.what());
    return;
  } catch (const std::bad_alloc&) {
    SetError("out of memory while parsing the programs");
    return;
  }
  const size_t total = nets.size();
  results_.assign(total, GradResult{});
  if (total == 0) return;
  const int threads = static_cast<int>(std::min<size_t>({static_cast<size_t>(std::max(1, job_.threads)), total, kMaxThreads}));
  CancelToken token;
  token.flags[0] = job_.cancel;
  token.flags[1] = &stopFlag_;
  GradRequest req;
  req.bn = job_.bn;
  req.labels = job_.labels.empty() ? nullptr : job_.labels.data();
  req.wantParams = job_.wantParams;
  req.wantInput = job_.wantInput;
  req.wantSaliency = job_.wantSaliency;
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> stop{false}, cancelled{false};
  std::mutex errorMutex;
  std::string errorCode, errorMessage;
  runOnThreads(threads, [&](int) {
    GradExecutor ex;
    while (!stop.load(std::memory_order_relaxed)) {
      if (token.requested()) {
        cancelled.store(true);
        stop.store(true);
        break;
      }
      const size_t i = next.fetch_add(1);
      if (i >= total) break;
      try {
        GradRequest mine = req;
        if (!job_.keepOffsets.empty()) {
          mine.keepNodes = job_.keepNodes.data() + job_.keepOffsets[i];
          mine.keepCount = static_cast<size_t>(job_.keepOffsets[i + 1] - job_.keepOffsets[i]);
        }
        results_[i] = ex.run(nets[i], job_.params.data() + job_.paramOffsets[i], job_.input.data(), job_.n, mine, &token);
      } catch (const Cancelled&) {
        cancelled.store(true);
        stop.store(true);
        break;
      } catch (const std::exception& e) {
        const Failure* f = dynamic_cast<const Failure*>(&e);
        const bool oom = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
        std::lock_guard<std::mutex> lock(errorMutex);
        if (errorMessage.empty()) {
          errorCode = f ? f->code : "E_BACKEND";
          errorMessage = "network " + std::to_string(i) + ": " + (oom ? "out of memory" : e.what());
        }
        stop.store(true);
        break;
      }
      const CountProgress p{done.fetch_add(1) + 1, total};
      progress.Send(&p, 1);
    }
  });
  if (!errorMessage.empty()) {
    errorCode_ = errorCode;
    SetError(errorMessage);
  } else if (cancelled.load()) {
    errorCode_ = "E_CANCELLED";
    SetError("gradient job cancelled");
  }
}

void GradWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (!settleProgress(results_.size())) return;
  Napi::Array out = Napi::Array::New(env, results_.size());
  auto f32 = [&](const std::vector<float>& v) {
    Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  };
  for (size_t i = 0; i < results_.size(); ++i) {
    const GradResult& r = results_[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", r.loss);
    o.Set("outputs", f32(r.logits));
    o.Set("params", f32(r.params));
    o.Set("input", f32(r.input));
    o.Set("saliency", f32(r.saliency));
    o.Set("activations", f32(r.activations));
    o.Set("peakBytes", static_cast<double>(r.peakBytes));
    out.Set(static_cast<uint32_t>(i), o);
  }
  deferred_.Resolve(out);
}

namespace {

bool boolField(const Napi::Object& job, const char* name, bool dflt) {
  const Napi::Value v = job.Get(name);
  if (v.IsUndefined()) return dflt;
  if (!v.IsBoolean()) fail(std::string("job.") + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

Napi::Value Gradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (!info[0].IsObject()) fail("job must be an object");
    Napi::Object job = info[0].As<Napi::Object>();
    GradJob j;
    Napi::Int32Array cancel = readJobInputs(job, j);
    j.threads = intArg(job.Get("threads"), "job.threads", 1, 4096);
    auto params = typedArg<Napi::Float32Array>(job.Get("params"), napi_float32_array, "job.params", "Float32Array");
    auto poff = typedArg<Napi::Int32Array>(job.Get("paramOffsets"), napi_int32_array, "job.paramOffsets", "Int32Array");
    auto labels = typedArg<Napi::Int32Array>(job.Get("labels"), napi_int32_array, "job.labels", "Int32Array");
    if (labels.ElementLength() != 0 && labels.ElementLength() != static_cast<size_t>(j.n)) fail("job.labels must be empty or hold one label per sample");
    j.params.assign(params.Data(), params.Data() + params.ElementLength());
    j.paramOffsets.assign(poff.Data(), poff.Data() + poff.ElementLength());
    j.labels.assign(labels.Data(), labels.Data() + labels.ElementLength());
    j.bn = static_cast<BnMode>(intArg(job.Get("bn"), "job.bn", 0, 2));
    j.wantParams = boolField(job, "wantParams", true);
    j.wantInput = boolField(job, "wantInput", false);
    j.wantSaliency = boolField(job, "wantSaliency", false);
    if (!job.Get("keepNodes").IsUndefined()) {
      auto kn = typedArg<Napi::Int32Array>(job.Get("keepNodes"), napi_int32_array, "job.keepNodes", "Int32Array");
      auto ko = typedArg<Napi::Int32Array>(job.Get("keepOffsets"), napi_int32_array, "job.keepOffsets", "Int32Array");
      if (ko.ElementLength() != j.offsets.size()) fail("job.keepOffsets must have one entry per network plus one");
      j.keepNodes.assign(kn.Data(), kn.Data() + kn.ElementLength());
      j.keepOffsets.assign(ko.Data(), ko.Data() + ko.ElementLength());
    }
    auto* worker = new GradWorker(env, std::move(j), cancel, info[1]);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  } catch (const Failure& f) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(codedError(env, f.code, f.what()).Value());
    return d.Promise();
  }
}

}  // namespace

void registerGradExports(Napi::Env env, Napi::Object exports) {
  exports.Set("gradients", Napi::Function::New(env, Gradients, "gradients"));
}

}  // namespace swapnas
