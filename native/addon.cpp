// Module exports only; the engine lives in the other files of native/.

#include <napi.h>

#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "stderr_capture.h"
#include "common.h"
#include "count_pool.h"
#include "count_worker.h"
#include "napi_args.h"
#include "forward.h"
#include "gemm.h"
#include "grad_worker.h"
#include "ir.h"
#include "job.h"
#include "patterns.h"
#include "peak.h"
#include "prng.h"
#include "simd.h"
#include "stats.h"
#include "weight_store.h"

// CMake passes quoted strings; node-gyp cannot, so it passes the bare version and a marker.
#define SWAPNAS_STR2(x) #x
#define SWAPNAS_STR(x) SWAPNAS_STR2(x)
#if !defined(SWAPNAS_VERSION) && defined(SWAPNAS_VERSION_RAW)
#define SWAPNAS_VERSION SWAPNAS_STR(SWAPNAS_VERSION_RAW)
#endif
#ifndef SWAPNAS_VERSION
#define SWAPNAS_VERSION "0.0.0"
#endif
#if !defined(SWAPNAS_BUILD_SYSTEM) && defined(SWAPNAS_BUILD_SYSTEM_GYP)
#define SWAPNAS_BUILD_SYSTEM "node-gyp"
#endif
#ifndef SWAPNAS_BUILD_SYSTEM
#define SWAPNAS_BUILD_SYSTEM "unknown"
#endif
#ifndef SWAPNAS_BUILD_FLAGS
#define SWAPNAS_BUILD_FLAGS ""
#endif

namespace swapnas {

#if defined(SWAPNAS_WITH_CUDA)
// native/cuda/cuda_addon.cpp: cudaProbe, cudaCountPatterns.
void registerCudaExports(Napi::Env env, Napi::Object exports);
#endif

namespace {

uint32_t u32Arg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) fail(std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<long long>(d))) fail(std::string(name) + " must be a u32");
  return static_cast<uint32_t>(d);
}

// One network program and its input batch, as taken by the synchronous diagnostics.
struct SyncArgs {
  Net net;
  std::vector<float> input;
  int n = 0;
  uint32_t seed = 0;
};

SyncArgs syncArgs(const Napi::CallbackInfo& info) {
  SyncArgs a;
  auto program = typedArg<Napi::Int32Array>(info[0], napi_int32_array, "program", "Int32Array");
  auto input = typedArg<Napi::Float32Array>(info[1], napi_float32_array, "input", "Float32Array");
  a.n = intArg(info[2], "n", 1, 1 << 20);
  const int c = intArg(info[3], "c", 1, 1 << 24), h = intArg(info[4], "h", 1, 1 << 24), w = intArg(info[5], "w", 1, 1 << 24);
  a.seed = u32Arg(info[6], "seed");
  if (static_cast<double>(input.ElementLength()) != static_cast<double>(a.n) * c * h * w) {
    fail("input has " + std::to_string(input.ElementLength()) + " values, not n*c*h*w");
  }
  a.net = parseNet(program.Data(), program.ElementLength(), c, h, w);
  a.input.assign(input.Data(), input.Data() + input.ElementLength());
  return a;
}

class CodesSink : public LayerSink {
 public:
  explicit CodesSink(int S) : words32_((S + 31) / 32), words64_(patternWords(S)) {}
  void layer(int node, size_t per, const uint64_t* codes) override {
    nodes.push_back(node);
    sizes.push_back(static_cast<int32_t>(per));
    for (size_t j = 0; j < per; ++j)
      for (int k = 0; k < words32_; ++k) codes32.push_back(static_cast<uint32_t>(codes[j * words64_ + k / 2] >> (32 * (k % 2))));
  }
  int words32() const { return words32_; }
  std::vector<int32_t> nodes, sizes;
  std::vector<uint32_t> codes32;

 private:
  int words32_, words64_;
};

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", SWAPNAS_VERSION);
  o.Set("simd", kSimdName);
  o.Set("vectorBits", kVecFloats * 32);
#if defined(SWAPNAS_WITH_CUDA)
  o.Set("cuda", true);
#else
  o.Set("cuda", false);
#endif
  o.Set("threads", static_cast<double>(std::max(1u, std::thread::hardware_concurrency())));
  o.Set("kernel", std::to_string(kMR) + "x" + std::to_string(kNR));
#if defined(__clang__)
  o.Set("compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
  o.Set("compiler", "gcc " __VERSION__);
#else
  o.Set("compiler", "unknown");
#endif
  o.Set("flags", SWAPNAS_BUILD_FLAGS);
  o.Set("buildSystem", SWAPNAS_BUILD_SYSTEM);
  o.Set("napiVersion", NAPI_VERSION);
  return o;
}

Napi::Value PrngFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const uint32_t seed = u32Arg(info[0], "seed");
    const uint32_t tensor = u32Arg(info[1], "tensor");
    const int count = intArg(info[2], "count", 0, 1 << 30);
    Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(count));
    fillGaussian(out.Data(), static_cast<size_t>(count), seed, tensor);
    return out;
  } catch (const Failure& f) {
    throw codedError(env, f.code, f.what());
  }
}

// prngUniform(seed, tensor, count, bound): the `pytorch` init scheme's draws of one tensor, as Float64Array.
Napi::Value PrngUniform(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const uint32_t seed = u32Arg(info[0], "seed");
    const uint32_t tensor = u32Arg(info[1], "tensor");
    const int count = intArg(info[2], "count", 0, 1 << 30);
    if (!info[3].IsNumber()) throw Failure("E_OPTION", "bound must be a number");
    const double bound = info[3].As<Napi::Number>().DoubleValue();
    Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(count));
    fillUniform(out.Data(), static_cast<size_t>(count), seed, tensor, bound);
    return out;
  } catch (const Failure& f) {
    throw codedError(env, f.code, f.what());
  }
}

// mapLargeAllocations(bytes): malloc serves blocks of `bytes` and more by mmap, and a freed one goes back to the system
// (glibc: M_MMAP_THRESHOLD, which also stops glibc raising the threshold after a large free). Process-wide: a CLI run
// asks for it; true when applied, false where the C library has no such setting.
Napi::Value MapLargeAllocations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const int bytes = intArg(info[0], "bytes", 1 << 16, 1 << 30);
#if defined(__GLIBC__)
    return Napi::Boolean::New(env, mallopt(M_MMAP_THRESHOLD, bytes) == 1);
#else
    (void)bytes;
    return Napi::Boolean::New(env, false);
#endif
  } catch (const Failure& f) {
    throw codedError(env, f.code, f.what());
  }
}

Napi::Value CountPatterns(const Napi::CallbackInfo& info) {
  return queueJob<CountWorker, CountJob>(info, [](const Napi::Object& job, CountJob& j) {
    j.threads = intArg(job.Get("threads"), "job.threads", 1, 4096);
    j.nwot = boolField(job, "nwot", false);
    j.weights = weightStoreField(job, "weights");
    j.pool = countPoolField(job, "pool");
  });
}

Napi::Value PatternCodes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    SyncArgs a = syncArgs(info);
    Executor ex;
    CodesSink sink(a.n);
    ex.run(a.net, a.input.data(), a.n, a.seed, sink, nullptr);
    Napi::Object o = Napi::Object::New(env);
    auto nodes = Napi::Int32Array::New(env, sink.nodes.size());
    std::copy(sink.nodes.begin(), sink.nodes.end(), nodes.Data());
    auto sizes = Napi::Int32Array::New(env, sink.sizes.size());
    std::copy(sink.sizes.begin(), sink.sizes.end(), sizes.Data());
    auto codes = Napi::Uint32Array::New(env, sink.codes32.size());
    std::copy(sink.codes32.begin(), sink.codes32.end(), codes.Data());
    o.Set("nodes", nodes);
    o.Set("sizes", sizes);
    o.Set("codes", codes);
    o.Set("words", sink.words32());
    return o;
  } catch (const Failure& f) {
    throw codedError(env, f.code, f.what());
  } catch (const std::bad_alloc&) {
    throw codedError(env, "E_BACKEND", "out of memory");
  }
}

Napi::Value NodeValues(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    SyncArgs a = syncArgs(info);
    const int node = intArg(info[7], "node", 0, static_cast<int>(a.net.nodes.size()) - 1);
    Executor ex;
    std::vector<float> v = ex.nodeValues(a.net, a.input.data(), a.n, a.seed, node);
    auto out = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), out.Data());
    return out;
  } catch (const Failure& f) {
    throw codedError(env, f.code, f.what());
  } catch (const std::bad_alloc&) {
    throw codedError(env, "E_BACKEND", "out of memory");
  }
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool reset = info.Length() > 0 && info[0].ToBoolean().Value();
  // Per-stage timing costs a clock read per stage: it starts with the first call here (benches call stats(true)
  // before the work they measure).
  enableStageTiming();
  uint64_t items = 0;
  const Timing t = globalTiming(items, reset);
  auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  Napi::Object o = Napi::Object::New(env);
  o.Set("items", static_cast<double>(items));
  o.Set("prngMs", ms(t.prng));
  o.Set("convMs", ms(t.conv));
  o.Set("bnMs", ms(t.bn));
  o.Set("poolMs", ms(t.pool));
  o.Set("eltwiseMs", ms(t.eltwise));
  o.Set("packMs", ms(t.pack));
  o.Set("countMs", ms(t.count));
  o.Set("nwotMs", ms(t.nwot));
  o.Set("itemMs", ms(t.item));
  return o;
}

Napi::Value PeakGflops(const Napi::CallbackInfo& info) {
  double seconds = 0.2;
  if (info.Length() > 0 && info[0].IsNumber()) seconds = std::min(5.0, std::max(0.01, info[0].As<Napi::Number>().DoubleValue()));
  return Napi::Number::New(info.Env(), measurePeakGflops(seconds));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("prngFill", Napi::Function::New(env, PrngFill, "prngFill"));
  exports.Set("prngUniform", Napi::Function::New(env, PrngUniform, "prngUniform"));
  exports.Set("mapLargeAllocations", Napi::Function::New(env, MapLargeAllocations, "mapLargeAllocations"));
  exports.Set("countPatterns", Napi::Function::New(env, CountPatterns, "countPatterns"));
  exports.Set("patternCodes", Napi::Function::New(env, PatternCodes, "patternCodes"));
  exports.Set("nodeValues", Napi::Function::New(env, NodeValues, "nodeValues"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("peakGflops", Napi::Function::New(env, PeakGflops, "peakGflops"));
  registerGradExports(env, exports);
  registerWeightStore(env, exports);
  registerCountPool(env, exports);
  swapnas::registerStderrCapture(env, exports);
#if defined(SWAPNAS_WITH_CUDA)
  registerCudaExports(env, exports);
#else
  // Without the CUDA engine only the probe exists, so `--backend cuda` can say why it is unavailable.
  exports.Set("cudaProbe", Napi::Function::New(
                               env,
                               [](const Napi::CallbackInfo& info) -> Napi::Value {
                                 Napi::Object o = Napi::Object::New(info.Env());
                                 o.Set("compiled", false);
                                 o.Set("available", false);
                                 o.Set("reason", "the addon was built without CUDA (no nvcc found at build time, or SWAPNAS_CUDA=0)");
                                 return o;
                               },
                               "cudaProbe"));
#endif
  return exports;
}

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return Init(env, exports); }

}  // namespace swapnas

using swapnas::InitModule;
NODE_API_MODULE(swapnas, InitModule)
