#include "weight_store.h"

#include <string>

#include "napi_args.h"
#include "prng.h"

namespace swapnas {

WeightTensor WeightStore::find(const Key& k) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = map_.find(k);
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  ages_.splice(ages_.begin(), ages_, it->second.age);
  return it->second.tensor;
}

void WeightStore::keep(const Key& k, const WeightTensor& t) {
  if (k.count > budget_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (map_.count(k)) return;  // another thread generated it meanwhile (identical values)
  while (floats_ + k.count > budget_ && !ages_.empty()) {
    const Key old = ages_.back();
    ages_.pop_back();
    floats_ -= static_cast<size_t>(old.count);
    map_.erase(old);
    ++evictions_;
  }
  ages_.push_front(k);
  map_.emplace(k, Entry{t, ages_.begin()});
  floats_ += static_cast<size_t>(k.count);
}

WeightTensor WeightStore::get(uint32_t seed, uint32_t tensor, size_t count) {
  const Key k{seed, tensor, count};
  if (WeightTensor t = find(k)) return t;
  auto made = std::make_shared<AlignedArray<float>>();
  fillGaussian(made->reserve(count), count, seed, tensor);
  WeightTensor t = std::move(made);
  keep(k, t);
  return t;
}

WeightStore::Stats WeightStore::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return Stats{map_.size(), floats_, budget_, hits_, misses_, evictions_};
}

void WeightStore::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  map_.clear();
  ages_.clear();
  floats_ = 0;
}

namespace {

// Marks objects made by the WeightStore constructor, so a job cannot pass any other object as one.
constexpr napi_type_tag kStoreTag = {0x5a1e0c7a11ab5e01ull, 0x77e16475746f7265ull};

// Default budget: 16 Mi floats (64 MiB), room for every tensor of all 8 default seeds of the default NB201 proxy
// network many times over; full-size networks cycle through it (LRU), costing no more than generating per job.
constexpr double kDefaultBudgetFloats = 16.0 * 1024 * 1024;

class WeightStoreWrap : public Napi::ObjectWrap<WeightStoreWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "WeightStore",
                       {InstanceMethod<&WeightStoreWrap::statsJs>("stats"), InstanceMethod<&WeightStoreWrap::clearJs>("clear")});
  }

  explicit WeightStoreWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WeightStoreWrap>(info) {
    double budget = kDefaultBudgetFloats;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsNumber()) throw codedError(info.Env(), "E_BACKEND", "WeightStore budget must be a number of floats");
      budget = info[0].As<Napi::Number>().DoubleValue();
      if (!(budget >= 0 && budget <= 1e12)) throw codedError(info.Env(), "E_BACKEND", "WeightStore budget out of range");
    }
    store_ = std::make_shared<WeightStore>(static_cast<size_t>(budget));
    info.This().As<Napi::Object>().TypeTag(&kStoreTag);
  }

  const std::shared_ptr<WeightStore>& store() const { return store_; }

 private:
  Napi::Value statsJs(const Napi::CallbackInfo& info) {
    const WeightStore::Stats s = store_->stats();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("tensors", static_cast<double>(s.tensors));
    o.Set("floats", static_cast<double>(s.floats));
    o.Set("budget", static_cast<double>(s.budget));
    o.Set("hits", static_cast<double>(s.hits));
    o.Set("misses", static_cast<double>(s.misses));
    o.Set("evictions", static_cast<double>(s.evictions));
    return o;
  }
  Napi::Value clearJs(const Napi::CallbackInfo& info) {
    store_->clear();
    return info.Env().Undefined();
  }

  std::shared_ptr<WeightStore> store_;
};

}  // namespace

std::shared_ptr<WeightStore> weightStoreField(const Napi::Object& job, const char* name) {
  const WeightStoreWrap* w = keptObjectField<WeightStoreWrap>(job, name, kStoreTag, "WeightStore");
  return w ? w->store() : nullptr;
}

void registerWeightStore(Napi::Env env, Napi::Object exports) {
  exports.Set("WeightStore", WeightStoreWrap::define(env));
}

}  // namespace swapnas
