#include "grad_buffers.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "common.h"
#include "napi_args.h"

namespace swapnas {

std::unique_ptr<GradExecutor> GradBuffers::take() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<GradExecutor> ex = std::move(idle_.back());
      idle_.pop_back();
      bytes_ -= ex->heldBytes();
      ++reused_;
      return ex;
    }
    ++created_;
  }
  return std::make_unique<GradExecutor>();
}

void GradBuffers::give(std::unique_ptr<GradExecutor> ex) {
  if (!ex) return;
  const size_t held = ex->heldBytes();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (bytes_ + held <= budget_) {
      bytes_ += held;
      idle_.push_back(std::move(ex));
      return;
    }
    ++dropped_;
  }
  // freed outside the lock (returning ~100s of MB to the allocator is not instant)
  ex.reset();
}

int GradBuffers::acquireSlots(int threads, const CancelToken* cancel) {
  if (slots_ <= 0) return 0;
  const int want = std::max(1, std::min(threads, slots_));
  std::unique_lock<std::mutex> lock(mutex_);
  const auto free = [&] { return slotsUsed_ + want <= slots_; };
  if (!free()) ++slotWaits_;
  // woken when a job releases its slots; the timeout only lets a cancelled job stop waiting (it then runs its
  // cancelled queue, which takes no item)
  while (!slotFreed_.wait_for(lock, std::chrono::milliseconds(20), free))
    if (cancel && cancel->requested()) return 0;
  slotsUsed_ += want;
  peakSlotsUsed_ = std::max(peakSlotsUsed_, slotsUsed_);
  return want;
}

void GradBuffers::releaseSlots(int held) {
  if (held <= 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    slotsUsed_ -= held;
  }
  slotFreed_.notify_all();
}

GradBuffers::Stats GradBuffers::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return Stats{idle_.size(), bytes_, budget_, reused_, created_, dropped_, helpers_.threads.size(), slots_, slotsUsed_, peakSlotsUsed_, slotWaits_};
}

void GradBuffers::clear() {
  std::vector<std::unique_ptr<GradExecutor>> drop;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    drop.swap(idle_);
    bytes_ = 0;
  }
}

namespace {

// Marks objects made by the GradBuffers constructor, so a job cannot pass any other object as one.
constexpr napi_type_tag kBuffersTag = {0x6a7b0b0ff3e75001ull, 0x4772616442756673ull};

// Default budget: 1 GiB, room for both threads' executors of a full-size NB201 pass at the official protocol
// (~300-350 MB each); the default proxy network's passes hold a few MB.
constexpr double kDefaultBudgetBytes = 1024.0 * 1024 * 1024;

class GradBuffersWrap : public Napi::ObjectWrap<GradBuffersWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "GradBuffers",
                       {InstanceMethod<&GradBuffersWrap::statsJs>("stats"), InstanceMethod<&GradBuffersWrap::clearJs>("clear")});
  }

  explicit GradBuffersWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GradBuffersWrap>(info) {
    double budget = kDefaultBudgetBytes;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsNumber()) throw codedError(info.Env(), "E_BACKEND", "GradBuffers budget must be a number of bytes");
      budget = info[0].As<Napi::Number>().DoubleValue();
      if (!(budget >= 0 && budget <= 1e15)) throw codedError(info.Env(), "E_BACKEND", "GradBuffers budget out of range");
    }
    int slots = 0;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      if (!info[1].IsNumber()) throw codedError(info.Env(), "E_BACKEND", "GradBuffers slots must be a number of threads");
      const double v = info[1].As<Napi::Number>().DoubleValue();
      if (!(v >= 0 && v <= 4096 && v == static_cast<double>(static_cast<int>(v))))
        throw codedError(info.Env(), "E_BACKEND", "GradBuffers slots must be an integer 0 ... 4096");
      slots = static_cast<int>(v);
    }
    buffers_ = std::make_shared<GradBuffers>(static_cast<size_t>(budget), slots);
    info.This().As<Napi::Object>().TypeTag(&kBuffersTag);
  }

  const std::shared_ptr<GradBuffers>& buffers() const { return buffers_; }

 private:
  Napi::Value statsJs(const Napi::CallbackInfo& info) {
    const GradBuffers::Stats s = buffers_->stats();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("idle", static_cast<double>(s.idle));
    o.Set("bytes", static_cast<double>(s.bytes));
    o.Set("budget", static_cast<double>(s.budget));
    o.Set("reused", static_cast<double>(s.reused));
    o.Set("created", static_cast<double>(s.created));
    o.Set("dropped", static_cast<double>(s.dropped));
    o.Set("helperThreads", static_cast<double>(s.helperThreads));
    o.Set("slots", s.slots);
    o.Set("slotsUsed", s.slotsUsed);
    o.Set("peakSlotsUsed", s.peakSlotsUsed);
    o.Set("slotWaits", static_cast<double>(s.slotWaits));
    return o;
  }
  Napi::Value clearJs(const Napi::CallbackInfo& info) {
    buffers_->clear();
    return info.Env().Undefined();
  }

  std::shared_ptr<GradBuffers> buffers_;
};

}  // namespace

std::shared_ptr<GradBuffers> gradBuffersField(const Napi::Object& job, const char* name) {
  const GradBuffersWrap* w = keptObjectField<GradBuffersWrap>(job, name, kBuffersTag, "GradBuffers");
  return w ? w->buffers() : nullptr;
}

void registerGradBuffers(Napi::Env env, Napi::Object exports) {
  exports.Set("GradBuffers", GradBuffersWrap::define(env));
}

}  // namespace swapnas
