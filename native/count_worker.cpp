#include "count_worker.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common.h"
#include "count_pool.h"
#include "forward.h"
#include "ir.h"
#include "job.h"
#include "nwot.h"
#include "patterns.h"
#include "stats.h"
#include "thread_pool.h"

namespace swapnas {

namespace {

constexpr uint64_t kProgressIntervalNs = 50'000'000;
// Weight cache: 64 MiB of floats shared out among the threads, at least 8 MiB each (a 64-network chunk of full-size
// NB201 cells needs about 24 MiB per seed).
constexpr size_t kCacheFloats = size_t(16) << 20;
constexpr size_t kMinCacheFloats = size_t(2) << 20;

class CountSink : public LayerSink {
 public:
  CountSink(PatternSet& set, NwotKernel* nwot, Timing& timing) : set_(set), nwot_(nwot), timing_(timing) {}
  // Time the NWOT part of each layer (per-stage timing requested for this item).
  void setTimed(bool on) { timed_ = on; }
  void layer(int, size_t per, const uint64_t* codes) override {
    set_.insert(codes, per);
    if (nwot_ && !timed_) {
      nwot_->add(codes, per);
    } else if (nwot_) {
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
  bool timed_ = false;
};

// One thread of a count job: its weight cache, and the executor, pattern set and NWOT kernel it reuses for every
// item it takes (its own, or a CountPool's kept across jobs).
class CountThread {
 public:
  CountThread(const CountJob& job, const std::vector<Net>& nets, CountBuffers& buffers, size_t cacheFloats, bool cacheWeights)
      : job_(job),
        nets_(nets),
        b_(buffers),
        cache_(cacheFloats, job.weights.get()),
        sink_(b_.set, job.nwot ? &b_.nwot : nullptr, flushes_) {
    // Kept buffers come with the previous job's cache pointer and timing: set both for this job.
    b_.ex.setWeightCache(cacheWeights ? &cache_ : nullptr);
    b_.ex.clearTiming();
  }
  ~CountThread() { b_.ex.setWeightCache(nullptr); }
  CountThread(const CountThread&) = delete;
  CountThread& operator=(const CountThread&) = delete;

  // Ψ (and NWOT) of network `net` under seed number `rep`, written to counts[it] (and nwot[it]).
  void run(size_t net, size_t rep, size_t it, std::vector<double>& counts, std::vector<double>& nwot, const CancelToken& token) {
    b_.set.reset(job_.n, nets_[net].recordedNeurons);
    if (job_.nwot) b_.nwot.reset(job_.n);
    const bool timed = stageTimingOn();
    sink_.setTimed(timed);
    b_.ex.run(nets_[net], job_.input.data(), job_.n, job_.seeds[rep], sink_, &token);
    const uint64_t t0 = timed ? threadCpuNs() : 0;
    counts[it] = static_cast<double>(b_.set.size());
    const uint64_t t1 = timed ? threadCpuNs() : 0;
    if (job_.nwot) nwot[it] = b_.nwot.logAbsDet();
    const uint64_t t2 = timed ? threadCpuNs() : 0;
    flushes_.count += t1 - t0;
    flushes_.nwot += t2 - t1;
    flushes_.item += t2 - t0;
    ++items_;
  }

  // Adds this thread's stage times to the process-wide counters (`swapnas stats`).
  void addTiming() {
    Timing total = b_.ex.timing();
    total += flushes_;
    addGlobalTiming(total, items_);
  }

 private:
  const CountJob& job_;
  const std::vector<Net>& nets_;
  CountBuffers& b_;
  WeightCache cache_;
  // Pending hash inserts are flushed by size(): that is counting time too.
  Timing flushes_;
  CountSink sink_;
  uint64_t items_ = 0;
};

}  // namespace

void CountWorker::Execute(const ExecutionProgress& progress) {
  std::vector<Net> nets;
  if (!parseOrReject([&] { nets = parseJobNets(job_); })) return;
  const size_t R = job_.seeds.size();
  const size_t total = nets.size() * R;
  total_ = total;
  counts_.assign(total, 0.0);
  if (job_.nwot) nwot_.assign(total, 0.0);
  if (total == 0) return;
  const int threads = jobThreads(job_.threads, total);
  CancelToken token;
  token.flags[0] = job_.cancel;
  token.flags[1] = &stopFlag_;
  ItemQueue queue(total, token);
  std::atomic<uint64_t> lastSend{0};

  // Several networks: items run seed-major, so a thread evaluates many networks under one seed in a row and
  // reuses their shared weight tensors (WeightCache); the results keep the [network][repeat] layout.
  const size_t netCount = nets.size();
  const bool seedMajor = netCount > 1 && R > 1;
  const size_t cacheFloats = std::max<size_t>(kMinCacheFloats, kCacheFloats / static_cast<size_t>(threads));

  // The caller's CountPool when it is free: parked threads and buffers kept from earlier jobs.
  CountPool::Lease lease = job_.pool ? job_.pool->claim() : CountPool::Lease();
  if (lease) lease.prepare(threads);
  const std::function<void(int)> work = [&](int t) {
    std::unique_ptr<CountBuffers> own = lease ? nullptr : std::make_unique<CountBuffers>();
    // A job-local cache pays only across the networks of this job; the job's WeightStore (kept by the caller
    // across jobs) pays for a lone network too.
    CountThread thread(job_, nets, own ? *own : lease.buffers(t), cacheFloats, netCount > 1 || job_.weights != nullptr);
    size_t order;
    while (queue.take(order)) {
      const size_t net = seedMajor ? order % netCount : order / R, rep = seedMajor ? order / netCount : order % R;
      const auto where = [&] { return "network " + std::to_string(net) + ", repeat " + std::to_string(rep); };
      if (!queue.run([&] { thread.run(net, rep, net * R + rep, counts_, nwot_, token); }, where)) break;
      const uint64_t d = queue.finished();
      const uint64_t now = nowNs();
      uint64_t prev = lastSend.load();
      if ((d == total || now - prev >= kProgressIntervalNs) && lastSend.compare_exchange_strong(prev, now)) {
        const CountProgress p{d, total};
        progress.Send(&p, 1);
      }
    }
    thread.addTiming();
  };
  if (lease) {
    lease.threads().run(threads, work);
  } else {
    runOnThreads(threads, work);
  }
  std::string code, message;
  if (queue.outcome(code, message, "scoring cancelled")) setCodedError(code, message);
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
