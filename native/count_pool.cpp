#include "count_pool.h"

#include <string>

#include "napi_args.h"

namespace swapnas {

CountPool::Lease::~Lease() {
  if (pool_ && pool_->dropPending_.exchange(false)) pool_->dropLocked();
}

void CountPool::Lease::prepare(int threads) {
  auto& b = pool_->buffers_;
  while (b.size() < static_cast<size_t>(threads)) b.push_back(std::make_unique<CountBuffers>());
}

CountPool::Lease CountPool::claim() {
  std::unique_lock<std::mutex> lock(use_, std::try_to_lock);
  if (!lock.owns_lock()) {
    ++busy_;
    return Lease();
  }
  ++jobs_;
  return Lease(this, std::move(lock));
}

void CountPool::release() {
  std::unique_lock<std::mutex> lock(use_, std::try_to_lock);
  if (lock.owns_lock()) {
    dropLocked();
    return;
  }
  // The job holding the pool drops it when it ends (its Lease destructor, on the job's thread, not a parked one).
  dropPending_.store(true);
}

void CountPool::dropLocked() {
  threads_ = std::make_unique<ParkedThreads>();
  buffers_.clear();
}

CountPool::Stats CountPool::stats() {
  Stats s;
  s.jobs = jobs_.load();
  s.busy = busy_.load();
  std::unique_lock<std::mutex> lock(use_, std::try_to_lock);
  if (lock.owns_lock()) {
    s.threads = threads_->size();
    s.buffers = buffers_.size();
  }
  return s;
}

namespace {

// Marks objects made by the CountPool constructor, so a job cannot pass any other object as one.
constexpr napi_type_tag kPoolTag = {0x5a1e0c7a11ab5e02ull, 0x636f756e74706f6full};

class CountPoolWrap : public Napi::ObjectWrap<CountPoolWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "CountPool",
                       {InstanceMethod<&CountPoolWrap::statsJs>("stats"), InstanceMethod<&CountPoolWrap::releaseJs>("release")});
  }

  explicit CountPoolWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CountPoolWrap>(info), pool_(std::make_shared<CountPool>()) {
    info.This().As<Napi::Object>().TypeTag(&kPoolTag);
  }

  const std::shared_ptr<CountPool>& pool() const { return pool_; }

 private:
  Napi::Value statsJs(const Napi::CallbackInfo& info) {
    const CountPool::Stats s = pool_->stats();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("threads", static_cast<double>(s.threads));
    o.Set("buffers", static_cast<double>(s.buffers));
    o.Set("jobs", static_cast<double>(s.jobs));
    o.Set("busy", static_cast<double>(s.busy));
    return o;
  }
  Napi::Value releaseJs(const Napi::CallbackInfo& info) {
    pool_->release();
    return info.Env().Undefined();
  }

  std::shared_ptr<CountPool> pool_;
};

}  // namespace

std::shared_ptr<CountPool> countPoolField(const Napi::Object& job, const char* name) {
  const CountPoolWrap* w = keptObjectField<CountPoolWrap>(job, name, kPoolTag, "CountPool");
  return w ? w->pool() : nullptr;
}

void registerCountPool(Napi::Env env, Napi::Object exports) {
  exports.Set("CountPool", CountPoolWrap::define(env));
}

}  // namespace swapnas
