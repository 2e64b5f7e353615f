// Base of the asynchronous count workers (CPU and CUDA): owns the promise, the progress callback and the JS cancel
// array; Execute() stays N-API free, all JS calls happen in OnProgress/OnOK/OnError on the main thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <new>
#include <string>

#include "napi_args.h"

namespace swapnas {

struct CountProgress {
  uint64_t done;
  uint64_t total;
};

class PromiseProgressWorker : public Napi::AsyncProgressWorker<CountProgress> {
 public:
  PromiseProgressWorker(Napi::Env env, const char* name, Napi::Object cancelArray, Napi::Value onProgress)
      : Napi::AsyncProgressWorker<CountProgress>(env, name), deferred_(Napi::Promise::Deferred::New(env)) {
    cancelRef_ = Napi::Persistent(cancelArray);
    if (onProgress.IsFunction()) onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void OnProgress(const CountProgress* data, size_t count) override {
    if (!data || count == 0) return;
    Napi::HandleScope scope(Env());
    const CountProgress& p = data[count - 1];
    if (p.done > delivered_) report(p.done, p.total);
  }

  // Delivers the final (total, total) progress; false when a throwing callback already rejected the promise.
  bool settleProgress(uint64_t total) {
    if (delivered_ < total) report(total, total);
    if (callbackError_.IsEmpty()) return true;
    deferred_.Reject(callbackError_.Value().Get("error"));
    return false;
  }

  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!callbackError_.IsEmpty()) {
      deferred_.Reject(callbackError_.Value().Get("error"));
      return;
    }
    deferred_.Reject(codedError(env, errorCode_, e.Message()).Value());
  }

  // Rejects the promise with `code` (from Execute(): the rejection happens in OnError on the main thread).
  void setCodedError(const std::string& code, const std::string& message) {
    errorCode_ = code;
    SetError(message);
  }

  // Runs the job's parsing step in Execute(); a Failure or exhausted memory rejects the promise (returns false).
  template <typename Parse>
  bool parseOrReject(Parse&& parse) {
    try {
      parse();
      return true;
    } catch (const Failure& f) {
      setCodedError(f.code, f.what());
    } catch (const std::bad_alloc&) {
      SetError("out of memory while parsing the programs");
    }
    return false;
  }

  Napi::Promise::Deferred deferred_;
  // Set when the progress callback throws: the job stops and rejects with that exception.
  int32_t stopFlag_ = 0;
  std::string errorCode_ = "E_BACKEND";

 private:
  void report(uint64_t done, uint64_t total) {
    if (onProgress_.IsEmpty() || !callbackError_.IsEmpty()) return;
    delivered_ = done;
    Napi::Env env = Env();
    try {
      onProgress_.Call({Napi::Number::New(env, static_cast<double>(done)), Napi::Number::New(env, static_cast<double>(total))});
    } catch (const Napi::Error& e) {
      Napi::Object holder = Napi::Object::New(env);
      holder.Set("error", e.Value());
      callbackError_ = Napi::Persistent(holder);
      __atomic_store_n(&stopFlag_, 1, __ATOMIC_RELAXED);
    }
  }

  Napi::ObjectReference cancelRef_;
  Napi::FunctionReference onProgress_;
  // { error } holding what the progress callback threw (any value, so it is wrapped in an object).
  Napi::ObjectReference callbackError_;
  uint64_t delivered_ = 0;
};

}  // namespace swapnas
