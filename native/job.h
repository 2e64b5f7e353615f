#pragma once
// What every asynchronous job shares (CPU count, gradients, CUDA count): reading the job object and queueing its
// worker, parsing its networks, and handing its items to a thread group under one cancellation and failure rule.
// Written once here so the three entry points cannot drift apart in what they accept or how they fail.

#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "common.h"
#include "ir.h"
#include "napi_args.h"

namespace swapnas {

// More threads than items (or than any machine has cores for) only costs memory: each holds its own buffers.
constexpr size_t kMaxJobThreads = 256;

inline int jobThreads(int asked, size_t items) {
  return static_cast<int>(std::min<size_t>({static_cast<size_t>(std::max(1, asked)), items, kMaxJobThreads}));
}

// The job's networks: program words [offsets[i], offsets[i+1]) parsed for the job's input shape. TypeScript builds
// the offsets, so a bad range is a caller bug, but it must fail as a coded error rather than read out of bounds.
inline std::vector<Net> parseJobNets(const JobInputs& job) {
  if (job.offsets.empty()) fail("offsets must hold at least one entry");
  const size_t count = job.offsets.size() - 1;
  std::vector<Net> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const int32_t a = job.offsets[i], b = job.offsets[i + 1];
    if (a < 0 || b < a || static_cast<size_t>(b) > job.program.size()) {
      fail("offsets[" + std::to_string(i) + ".." + std::to_string(i + 1) + "] = " + std::to_string(a) + ".." + std::to_string(b) +
           " is not a range of the " + std::to_string(job.program.size()) + "-word program");
    }
    try {
      out.push_back(parseNet(job.program.data() + a, static_cast<size_t>(b - a), job.c, job.h, job.w));
    } catch (const Failure& f) {
      throw Failure(f.code, "network " + std::to_string(i) + ": " + f.what());
    }
  }
  return out;
}

// Optional boolean field `job.<name>` (undefined: `dflt`).
inline bool boolField(const Napi::Object& job, const char* name, bool dflt) {
  const Napi::Value v = job.Get(name);
  if (v.IsUndefined()) return dflt;
  if (!v.IsBoolean()) fail(std::string("job.") + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// Entry point body of an asynchronous job: copies the common inputs (readJobInputs) and the worker's own fields
// (`readExtra(jobObject, job)`), queues a `Worker(env, job, cancelArray, onProgress)` and returns its promise. A
// malformed job rejects that promise with its coded error instead of throwing, so callers always get a promise.
template <typename Worker, typename Job, typename ReadExtra>
Napi::Value queueJob(const Napi::CallbackInfo& info, ReadExtra&& readExtra) {
  Napi::Env env = info.Env();
  try {
    if (!info[0].IsObject()) fail("job must be an object");
    Napi::Object job = info[0].As<Napi::Object>();
    Job j;
    Napi::Int32Array cancel = readJobInputs(job, j);
    readExtra(job, j);
    auto* worker = new Worker(env, std::move(j), cancel, info[1]);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  } catch (const Failure& f) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(codedError(env, f.code, f.what()).Value());
    return d.Promise();
  }
}

// Hands item indices 0..total-1 to the threads of one job, in order. The job stops at the first failed item (its
// error is the job's: later failures are consequences or noise) or when the cancel token fires; threads finish
// their current item and take no more.
class ItemQueue {
 public:
  ItemQueue(size_t total, const CancelToken& token) : total_(total), token_(token) {}

  // The next item for the calling thread; false when all are taken, the job was cancelled or an item failed.
  bool take(size_t& item) {
    if (stop_.load(std::memory_order_relaxed)) return false;
    if (token_.requested()) {
      cancel();
      return false;
    }
    item = next_.fetch_add(1);
    return item < total_;
  }

  // Runs one item. Cancelled stops the job; any other exception becomes the job's failure, its message prefixed with
  // `where()` (only built on failure). False when the calling thread must stop.
  template <typename Fn, typename Where>
  bool run(Fn&& fn, Where&& where) {
    try {
      fn();
      return true;
    } catch (const Cancelled&) {
      cancel();
    } catch (const Failure& f) {
      record(f.code, where() + ": " + f.what());
    } catch (const std::bad_alloc&) {
      record("E_BACKEND", where() + ": out of memory");
    } catch (const std::exception& e) {
      record("E_BACKEND", where() + ": " + e.what());
    }
    return false;
  }

  // Marks an item done; returns how many are done so far.
  uint64_t finished() { return done_.fetch_add(1) + 1; }

  // After the threads joined: the job's coded error (the first failure, else cancellation), or false when it ran to
  // the end.
  bool outcome(std::string& code, std::string& message, const char* cancelMessage) const {
    if (!errorMessage_.empty()) {
      code = errorCode_;
      message = errorMessage_;
      return true;
    }
    if (!cancelled_.load()) return false;
    code = "E_CANCELLED";
    message = cancelMessage;
    return true;
  }

 private:
  void cancel() {
    cancelled_.store(true);
    stop_.store(true);
  }
  void record(const std::string& code, const std::string& message) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    if (errorMessage_.empty()) {
      errorCode_ = code;
      errorMessage_ = message;
    }
    stop_.store(true);
  }

  const size_t total_;
  const CancelToken& token_;
  std::atomic<size_t> next_{0};
  std::atomic<uint64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> cancelled_{false};
  std::mutex errorMutex_;
  std::string errorCode_, errorMessage_;
};

}  // namespace swapnas
