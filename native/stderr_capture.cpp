// Capturing what native libraries write to file descriptor 2 during one synchronous call.
//
// Dawn (the WebGPU implementation behind the `webgpu` package) prints driver warnings ("Couldn't load Vulkan",
// "maxDynamic… artificially reduced") straight to stderr with fprintf, with no option to turn them off. swapnas is
// quiet by default and shows them only with --verbose, so the TypeScript side brackets Dawn's synchronous calls
// with begin/end: fd 2 is pointed at an unlinked temporary file, and afterwards restored and the text returned.
// Only synchronous JavaScript runs in between, so no other output of this process can land in the capture.
#include "stderr_capture.h"

#include <cstdio>
#include <string>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace swapnas {
namespace {

int g_saved = -1;         // duplicate of the real fd 2 while a capture is open
std::FILE* g_tmp = nullptr;  // the capture file (tmpfile(): removed automatically when closed)

Napi::Value Begin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(_WIN32)
  return Napi::Boolean::New(env, false);
#else
  if (g_saved >= 0) return Napi::Boolean::New(env, false);  // nested captures are not supported
  std::fflush(stderr);
  g_tmp = std::tmpfile();
  if (g_tmp == nullptr) return Napi::Boolean::New(env, false);
  g_saved = dup(2);
  if (g_saved < 0 || dup2(fileno(g_tmp), 2) < 0) {
    if (g_saved >= 0) close(g_saved);
    g_saved = -1;
    std::fclose(g_tmp);
    g_tmp = nullptr;
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, true);
#endif
}

Napi::Value End(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string text;
#if !defined(_WIN32)
  if (g_saved < 0) return Napi::String::New(env, text);
  std::fflush(stderr);
  dup2(g_saved, 2);
  close(g_saved);
  g_saved = -1;
  // Bounded read: a runaway library cannot make this allocate without limit.
  constexpr long kMax = 1 << 20;
  std::fseek(g_tmp, 0, SEEK_END);
  long size = std::ftell(g_tmp);
  if (size > kMax) size = kMax;
  if (size > 0) {
    text.resize(static_cast<size_t>(size));
    std::fseek(g_tmp, 0, SEEK_SET);
    text.resize(std::fread(&text[0], 1, text.size(), g_tmp));
  }
  std::fclose(g_tmp);
  g_tmp = nullptr;
#endif
  return Napi::String::New(env, text);
}

}  // namespace

void registerStderrCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("captureStderrBegin", Napi::Function::New(env, Begin, "captureStderrBegin"));
  exports.Set("captureStderrEnd", Napi::Function::New(env, End, "captureStderrEnd"));
}

}  // namespace swapnas
