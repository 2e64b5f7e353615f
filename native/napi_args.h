// Argument checks shared by every N-API entry point (CPU and CUDA): TypeScript validates first, these checks only
// keep a malformed call from crashing the process; failures become coded JS errors.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace swapnas {

inline Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

// The object a job names in field `name` (a WeightStore, CountPool, GradBuffers … the caller keeps across jobs):
// null when the field is undefined; anything not made by the addon's `Wrap` class (its constructor type-tags the
// object with `tag`) fails, so a job cannot pass an arbitrary object where native state is expected.
template <typename Wrap>
Wrap* keptObjectField(const Napi::Object& job, const char* name, const napi_type_tag& tag, const char* className) {
  const Napi::Value v = job.Get(name);
  if (v.IsUndefined()) return nullptr;
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&tag)) {
    fail(std::string("job.") + name + " must be a " + className + " made by the addon");
  }
  return Wrap::Unwrap(v.As<Napi::Object>());
}

template <typename T>
T typedArg(const Napi::Value& v, napi_typedarray_type type, const char* name, const char* typeName) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) fail(std::string(name) + " must be a " + typeName);
  return v.As<T>();
}

inline int intArg(const Napi::Value& v, const char* name, int min, int max) {
  if (!v.IsNumber()) fail(std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<long long>(d))) {
    fail(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int>(d);
}

// The fields every count job carries; engines extend it with their own options.
struct JobInputs {
  std::vector<int32_t> program;
  std::vector<int32_t> offsets;
  std::vector<float> input;
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<uint32_t> seeds;
  // Points into the JS cancel array, which the worker keeps alive through a persistent reference.
  const int32_t* cancel = nullptr;
};

// Copies program, offsets, input and seeds out of `job` (the worker must not touch JS memory but `cancel`) and
// returns the cancel array for the worker to reference.
inline Napi::Int32Array readJobInputs(const Napi::Object& job, JobInputs& j) {
  auto program = typedArg<Napi::Int32Array>(job.Get("program"), napi_int32_array, "job.program", "Int32Array");
  auto offsets = typedArg<Napi::Int32Array>(job.Get("offsets"), napi_int32_array, "job.offsets", "Int32Array");
  auto input = typedArg<Napi::Float32Array>(job.Get("input"), napi_float32_array, "job.input", "Float32Array");
  auto seeds = typedArg<Napi::Uint32Array>(job.Get("seeds"), napi_uint32_array, "job.seeds", "Uint32Array");
  auto cancel = typedArg<Napi::Int32Array>(job.Get("cancel"), napi_int32_array, "job.cancel", "Int32Array");
  if (cancel.ElementLength() < 1) fail("job.cancel must hold at least one element");
  j.n = intArg(job.Get("n"), "job.n", 1, 1 << 20);
  j.c = intArg(job.Get("c"), "job.c", 1, 1 << 24);
  j.h = intArg(job.Get("h"), "job.h", 1, 1 << 24);
  j.w = intArg(job.Get("w"), "job.w", 1, 1 << 24);
  if (static_cast<double>(input.ElementLength()) != static_cast<double>(j.n) * j.c * j.h * j.w) {
    fail("job.input has " + std::to_string(input.ElementLength()) + " values, not n*c*h*w");
  }
  j.program.assign(program.Data(), program.Data() + program.ElementLength());
  j.offsets.assign(offsets.Data(), offsets.Data() + offsets.ElementLength());
  j.input.assign(input.Data(), input.Data() + input.ElementLength());
  j.seeds.assign(seeds.Data(), seeds.Data() + seeds.ElementLength());
  j.cancel = cancel.Data();
  return cancel;
}

}  // namespace swapnas
