#include "count_worker.h"

#include <algorithm>
#include <mutex>

#include "common.h"
#include "forward.h"
#include "ir.h"
#include "nwot.h"
#include "patterns.h"
#include "stats.h"
#include "thread_pool.h"

namespace swapnas {

namespace {

constexpr uint64_t kProgressIntervalNs = 50'000'000;
constexpr size_t kMaxThreads = 256;
// Weight cache: 64 MiB of floats shared out among the threads, at least 8 MiB each (a 64-network chunk of full-size
// NB201 cells needs about 24 MiB per seed).
constexpr size_t kCacheFloats = size_t(16) << 20;
constexpr size_t kMinCacheFloats = size_t(2) << 20;

class CountSink : public LayerSink {
 public:
  CountSink(PatternSet& set, NwotKernel* nwot, Timing& timing) : set_(set), nwot_(nwot), timing_(timing) {}
  void layer(int, size_t per, const uint64_t* codes) override {
    set_.insert(codes, per);
    if (nwot_) {
      const uint64_t t0 = threadCpuNs();
      nwot_->add(codes, per);
      const uint64_t dt = threadCpuNs() - t0;
      // The executor times this whole call as counting; move the NWOT part (unsigned wrap-around cancels out
      // when these counters are added to the executor's).
      timing_.nwot += dt;
      timing_.count -= dt;
    }
  }

 private:
  PatternSet& set_;
  NwotKernel* nwot_;
  Timing& timing_;
};

std::vector<Net> parseJob(const CountJob& job) {
  const size_t nets = job.offsets.empty() ? 0 : job.offsets.size() - 1;
  if (job.offsets.empty()) fail("offsets must hold at least one entry");
  std::vector<Net> out;
  out.reserve(nets);
  for (size_t i = 0; i < nets; ++i) {
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

}  // namespace

void CountWorker::Execute(const ExecutionProgress& progress) {
  std::vector<Net> nets;
  try {
    nets = parseJob(job_);
  } catch (const Failure& f) {
    errorCode_ = f.code;
    SetError(f.what());
    return;
  } catch (const std::bad_alloc&) {
    SetError("out of memory while parsing the programs");
    return;
  }
  const size_t R = job_.seeds.size();
  const size_t total = nets.size() * R;
  total_ = total;
  counts_.assign(total, 0.0);
  if (job_.nwot) nwot_.assign(total, 0.0);
  if (total == 0) return;
  // More threads than items (or than any machine has cores for) only costs memory: each holds its own buffers.
  const int threads = static_cast<int>(std::min<size_t>({static_cast<size_t>(std::max(1, job_.threads)), total, kMaxThreads}));

  CancelToken token;
  token.flags[0] = job_.cancel;
  token.flags[1] = &stopFlag_;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> cancelled{false};
  std::atomic<uint64_t> lastSend{0};
  std::mutex errorMutex;
  std::string errorCode, errorMessage;
  auto recordError = [&](const std::string& code, const std::string& msg) {
    std::lock_guard<std::mutex> lock(errorMutex);
    if (errorMessage.empty()) {
      errorCode = code;
      errorMessage = msg;
    }
    stop.store(true);
  };

  // Several networks: items run seed-major, so a thread evaluates many networks under one seed in a row and
  // reuses their shared weight tensors (WeightCache); the results keep the [network][repeat] layout.
  const size_t netCount = nets.size();
  const bool seedMajor = netCount > 1 && R > 1;
  const bool cacheWeights = netCount > 1;
  const size_t cacheFloats = std::max<size_t>(kMinCacheFloats, kCacheFloats / static_cast<size_t>(threads));

  runOnThreads(threads, [&](int) {
    Executor ex;
    WeightCache cache(cacheFloats);
    if (cacheWeights) ex.setWeightCache(&cache);
    PatternSet set;
    NwotKernel nwot;
    // Pending hash inserts are flushed by size(): that is counting time too.
    Timing flushes;
    CountSink sink(set, job_.nwot ? &nwot : nullptr, flushes);
    uint64_t items = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      if (token.requested()) {
        cancelled.store(true);
        stop.store(true);
        break;
      }
      const size_t order = next.fetch_add(1);
      if (order >= total) break;
      const size_t net = seedMajor ? order % netCount : order / R, rep = seedMajor ? order / netCount : order % R;
      const size_t it = net * R + rep;
      const std::string where = "network " + std::to_string(net) + ", repeat " + std::to_string(rep);
      try {
        set.reset(job_.n, nets[net].recordedNeurons);
        if (job_.nwot) nwot.reset(job_.n);
        ex.run(nets[net], job_.input.data(), job_.n, job_.seeds[rep], sink, &token);
        const uint64_t t0 = threadCpuNs();
        counts_[it] = static_cast<double>(set.size());
        const uint64_t t1 = threadCpuNs();
        if (job_.nwot) nwot_[it] = nwot.logAbsDet();
        const uint64_t t2 = threadCpuNs();
        flushes.count += t1 - t0;
        flushes.nwot += t2 - t1;
        flushes.item += t2 - t0;
      } catch (const Cancelled&) {
        cancelled.store(true);
        stop.store(true);
        break;
      } catch (const Failure& f) {
        recordError(f.code, where + ": " + f.what());
        break;
      } catch (const std::bad_alloc&) {
        recordError("E_BACKEND", where + ": out of memory");
        break;
      } catch (const std::exception& e) {
        recordError("E_BACKEND", where + ": " + e.what());
        break;
      }
      ++items;
      const uint64_t d = done.fetch_add(1) + 1;
      const uint64_t now = nowNs();
      uint64_t prev = lastSend.load();
      if ((d == total || now - prev >= kProgressIntervalNs) && lastSend.compare_exchange_strong(prev, now)) {
        const CountProgress p{d, total};
        progress.Send(&p, 1);
      }
    }
    Timing total = ex.timing();
    total += flushes;
    addGlobalTiming(total, items);
  });

  if (!errorMessage.empty()) {
    errorCode_ = errorCode;
    SetError(errorMessage);
  } else if (cancelled.load()) {
    errorCode_ = "E_CANCELLED";
    SetError("scoring cancelled");
  }
}

void CountWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (!settleProgress(total_)) return;
  Napi::Float64Array out = Napi::Float64Array::New(env, counts_.size());
  std::copy(counts_.begin(), counts_.end(), out.Data());
  if (!job_.nwot) {
    deferred_.Resolve(out);
    return;
  }
  Napi::Float64Array nw = Napi::Float64Array::New(env, nwot_.size());
  std::copy(nwot_.begin(), nwot_.end(), nw.Data());
  Napi::Object o = Napi::Object::New(env);
  o.Set("counts", out);
  o.Set("nwot", nw);
  deferred_.Resolve(o);
}

}  // namespace swapnas
