#pragma once
#include <napi.h>

namespace swapnas {

// Registers captureStderrBegin() / captureStderrEnd() on the addon's exports (see stderr_capture.cpp).
void registerStderrCapture(Napi::Env env, Napi::Object exports);

}  // namespace swapnas
