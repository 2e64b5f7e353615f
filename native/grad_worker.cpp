#include "grad_worker.h"

#include <algorithm>
#include <mutex>
#include <string>

#include "common.h"
#include "f64_pass.h"
#include "grad_ops.h"
#include "ir.h"
#include "job.h"
#include "thread_pool.h"

namespace swapnas {

namespace {

// Checks the extra passes and parameter scalars against network `i` (TypeScript validates them first; these
// checks only keep a malformed job from reading out of bounds).
void checkPasses(const GradJob& job, const Net& net, size_t i) {
  const std::string who = "network " + std::to_string(i) + ": ";
  const size_t N = net.nodes.size();
  for (size_t p = 0; p < job.passSeedNodes.size(); ++p) {
    const int32_t sn = job.passSeedNodes[p], rn = job.passReadNodes[p];
    if (sn < 1 || static_cast<size_t>(sn) >= N || rn < -1 || rn >= static_cast<int32_t>(N)) fail(who + "pass " + std::to_string(p) + " names a node that does not exist");
    const size_t want = static_cast<size_t>(job.n) * net.nodes[static_cast<size_t>(sn)].numel();
    if (static_cast<size_t>(job.passSeedOffsets[p + 1] - job.passSeedOffsets[p]) != want) fail(who + "pass " + std::to_string(p) + " seed length does not match its node");
  }
  const std::vector<size_t> off = packedParamOffsets(net);
  for (size_t q = 0; q + 2 < job.scalars.size(); q += 3) {
    const int32_t node = job.scalars[q], kind = job.scalars[q + 1], idx = job.scalars[q + 2];
    if (node < 0 || static_cast<size_t>(node) >= N || kind < 0 || kind > 5 || idx < 0) fail(who + "bad parameter scalar");
    const Node& n = net.nodes[static_cast<size_t>(node)];
    // kinds 4 / 5: an nn.PReLU's slope, one per channel / one for the node (only the bounds are checked here)
    const bool slope = kind >= 4 && (n.op == Op::Relu || n.op == Op::Act) && (kind == 5 ? idx == 0 : idx < n.c);
    const bool ok = slope || ((n.op == Op::Conv || n.op == Op::Linear) ? (kind == 0 ? static_cast<size_t>(idx) < off[node + 1] - off[node] - (n.bias ? n.c : 0) : kind == 1 && n.bias && idx < n.c)
                                                                       : (n.op == Op::Bn || n.op == Op::GroupNorm) && kind >= 2 && kind <= 3 && idx < n.c);
    if (!ok) fail(who + "parameter scalar on node " + std::to_string(node) + " does not exist");
  }
}

// Each tied pair names a later conv / linear node and an earlier one with a weight of the same size, or -1 (held
// fixed). A node is in one pair at most, and a first use is never itself a later use (tiedDirection sums each group
// once, at its first use).
void checkTies(const GradJob& job, const Net& net, size_t i) {
  const auto n = static_cast<int32_t>(net.nodes.size());
  std::vector<uint8_t> later(net.nodes.size(), 0);
  for (size_t p = 0; p + 1 < job.tiedWeights.size(); p += 2) {
    const int32_t node = job.tiedWeights[p];
    if (node <= 0 || node >= n || later[static_cast<size_t>(node)]++)
      fail("network " + std::to_string(i) + ": tied weight node " + std::to_string(node) + " is out of range or listed twice");
  }
  for (size_t p = 0; p + 1 < job.tiedWeights.size(); p += 2) {
    const int32_t node = job.tiedWeights[p], first = job.tiedWeights[p + 1];
    const size_t w = weightCount(net.nodes[static_cast<size_t>(node)]);
    const bool fixed = first == -1 && w > 0;
    const bool shared = first >= 0 && first < node && !later[static_cast<size_t>(first)] && w > 0 &&
                        weightCount(net.nodes[static_cast<size_t>(first)]) == w;
    if (!fixed && !shared)
      fail("network " + std::to_string(i) + ": tied weight pair (" + std::to_string(node) + ", " + std::to_string(first) +
           ") does not name a later node sharing an earlier, untied conv / linear weight of its size, or a weight held fixed (-1)");
  }
}

// Parses every network (parseJobNets) and checks its parameter range against the packed layout, its kept nodes, passes
// and scalars, and the labels against its output.
std::vector<Net> parseGradJob(const GradJob& job) {
  if (job.offsets.empty() || job.paramOffsets.size() != job.offsets.size()) fail("offsets and paramOffsets must have one entry per network plus one");
  std::vector<Net> nets = parseJobNets(job);
  for (size_t i = 0; i < nets.size(); ++i) {
    const Net& net = nets[i];
    const int32_t pa = job.paramOffsets[i], pb = job.paramOffsets[i + 1];
    const size_t paramCount = job.float64 ? job.params64.size() : job.params.size();
    if (pa < 0 || pb < pa || static_cast<size_t>(pb) > paramCount || static_cast<size_t>(pb - pa) != packedParamOffsets(net).back())
      fail("network " + std::to_string(i) + ": parameter range does not match its packed layout");
    if (!job.keepOffsets.empty()) {
      const int32_t ka = job.keepOffsets[i], kb = job.keepOffsets[i + 1];
      if (ka < 0 || kb < ka || static_cast<size_t>(kb) > job.keepNodes.size()) fail("network " + std::to_string(i) + ": bad keep range");
      for (int32_t k = ka; k < kb; ++k)
        if (job.keepNodes[static_cast<size_t>(k)] < 0 || static_cast<size_t>(job.keepNodes[static_cast<size_t>(k)]) >= net.nodes.size())
          fail("network " + std::to_string(i) + ": kept node " + std::to_string(job.keepNodes[static_cast<size_t>(k)]) + " does not exist");
    }
    checkPasses(job, net, i);
    checkTies(job, net, i);
    const size_t K = net.nodes[static_cast<size_t>(net.output)].numel();
    for (int32_t y : job.labels)
      if (y < 0 || static_cast<size_t>(y) >= K) fail("network " + std::to_string(i) + ": label " + std::to_string(y) + " is outside its outputs");
  }
  return nets;
}

}  // namespace

void GradWorker::Execute(const ExecutionProgress& progress) {
  std::vector<Net> nets;
  if (!parseOrReject([&] { nets = parseGradJob(job_); })) return;
  const size_t total = nets.size();
  results_.assign(total, GradResult{});
  if (total == 0) return;
  CancelToken token;
  token.flags[0] = job_.cancel;
  token.flags[1] = &stopFlag_;
  // Waits while the buffers' other jobs hold their slots; the job then runs on the slots it holds (all it asked
  // for, unless it asked for more than exist).
  const SlotLease slots(job_.buffers.get(), job_.threads, &token);
  const int asked = slots.held() > 0 ? slots.held() : job_.threads;
  const int threads = jobThreads(asked, total);
  // Threads beyond the job's networks go into each network's convolutions (a lone network on two threads).
  const int inner = std::max(1, asked / threads);
  GradRequest req;
  req.bn = job_.bn;
  req.labels = job_.labels.empty() ? nullptr : job_.labels.data();
  req.wantParams = job_.wantParams;
  req.wantInput = job_.wantInput;
  req.wantSaliency = job_.wantSaliency;
  req.wantRowSaliency = job_.wantRowSaliency;
  req.wantHvp = job_.wantHvp;
  req.tiedWeights = &job_.tiedWeights;
  req.wantBnVar = job_.wantBnVar;
  req.wantNwot = job_.wantNwot;
  req.blockScale = job_.blockScale;
  req.passModes = job_.passModes.empty() ? nullptr : job_.passModes.data();
  req.outputBackward = job_.outputBackward;
  std::vector<BackwardPass> passes(job_.passSeedNodes.size());
  for (size_t p = 0; p < passes.size(); ++p)
    passes[p] = BackwardPass{job_.passSeedNodes[p], job_.passSeeds.data() + job_.passSeedOffsets[p], job_.passReadNodes[p]};
  req.passes = passes.data();
  req.passCount = passes.size();
  req.scalars = job_.scalars.data();
  req.scalarCount = job_.scalars.size() / 3;
  ItemQueue queue(total, token);
  if (job_.float64) return runFloat64(nets, threads, inner, queue, token, progress);
  runOnThreads(threads, [&](int) {
    std::unique_ptr<GradExecutor> lent = job_.buffers ? job_.buffers->take() : std::make_unique<GradExecutor>();
    GradExecutor& ex = *lent;
    ex.setThreads(inner, job_.buffers ? &job_.buffers->helpers() : nullptr);
    size_t i;
    while (queue.take(i)) {
      GradRequest mine = req;
      if (!job_.keepOffsets.empty()) {
        mine.keepNodes = job_.keepNodes.data() + job_.keepOffsets[i];
        mine.keepCount = static_cast<size_t>(job_.keepOffsets[i + 1] - job_.keepOffsets[i]);
        mine.keepModes = job_.keepModes.empty() ? nullptr : job_.keepModes.data() + job_.keepOffsets[i];
      }
      const auto run = [&] { results_[i] = ex.run(nets[i], job_.params.data() + job_.paramOffsets[i], job_.input.data(), job_.n, mine, &token); };
      if (!queue.run(run, [&] { return "network " + std::to_string(i); })) break;
      const CountProgress p{queue.finished(), total};
      progress.Send(&p, 1);
    }
    if (job_.buffers) job_.buffers->give(std::move(lent));
  });
  std::string code, message;
  if (queue.outcome(code, message, "gradient job cancelled")) setCodedError(code, message);
}

void GradWorker::runFloat64(const std::vector<Net>& nets, int threads, int inner, ItemQueue& queue, const CancelToken& token,
                            const ExecutionProgress& progress) {
  const size_t total = nets.size();
  // A lone network's convolutions split their rows over the job's spare threads (the buffers' helpers when the job
  // has buffers, else helpers of its own); another pass holding the helpers means this one runs whole.
  std::unique_ptr<SplitHelpers> own = job_.buffers ? nullptr : std::make_unique<SplitHelpers>();
  SplitHelpers& helpers = job_.buffers ? job_.buffers->helpers() : *own;
  // `used`: the most parts one split of this network ran with (GradResult::threads)
  const auto splitter = [&](int& used) -> RowSplit {
    return [&helpers, &used, inner](int count, size_t work, const std::function<void(int, int)>& fn) {
      const int parts = work < kMinSplitWork ? 1 : std::min(inner, count);
      std::unique_lock<std::mutex> lock(helpers.busy, std::defer_lock);
      if (parts <= 1 || !lock.try_lock()) return fn(0, count);
      used = std::max(used, parts);
      runParts(helpers, parts, [&](int t) { fn(count * t / parts, count * (t + 1) / parts); });
    };
  };
  runOnThreads(threads, [&](int) {
    size_t i;
    while (queue.take(i)) {
      const auto run = [&] {
        GradResult& r = results_[i];
        const RowSplit split = splitter(r.threads);
        Float64Request req{job_.bn, job_.wantParams, job_.wantInput, job_.wantSaliency,
                           job_.labels.empty() ? nullptr : job_.labels.data()};
        req.hvp = job_.wantHvp;  // readGradJob has checked it has labels and wantParams
        req.rowSaliency = job_.wantRowSaliency;
        req.tiedWeights = &job_.tiedWeights;
        Float64Result f = float64Pass(nets[i], job_.params64.data() + job_.paramOffsets[i], job_.input.data(), job_.n, req, split, &token);
        r.logits.assign(f.logits.begin(), f.logits.end());
        r.params64 = std::move(f.params);
        r.input64 = std::move(f.input);
        r.saliency64 = std::move(f.saliency);
        r.rowSaliency64 = std::move(f.rowSaliency);
        r.weightHv = std::move(f.weightHv);
        r.peakBytes = f.peakBytes;
      };
      if (!queue.run(run, [&] { return "network " + std::to_string(i); })) break;
      const CountProgress p{queue.finished(), total};
      progress.Send(&p, 1);
    }
  });
  std::string code, message;
  if (queue.outcome(code, message, "gradient job cancelled")) setCodedError(code, message);
}

void GradWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (!settleProgress(results_.size())) return;
  Napi::Array out = Napi::Array::New(env, results_.size());
  auto f32 = [&](const std::vector<float>& v) {
    Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  };
  auto f64 = [&](const std::vector<double>& v) {
    Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  };
  for (size_t i = 0; i < results_.size(); ++i) {
    const GradResult& r = results_[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", r.loss);
    o.Set("outputs", f32(r.logits));
    o.Set("params", f32(r.params));
    o.Set("input", f32(r.input));
    o.Set("saliency", f32(r.saliency));
    o.Set("rowSaliency", f32(r.rowSaliency));
    o.Set("weightHv", f64(r.weightHv));
    o.Set("activations", f32(r.activations));
    o.Set("peakBytes", static_cast<double>(r.peakBytes));
    o.Set("threads", r.threads);
    o.Set("reads", f32(r.reads));
    o.Set("perSample", f32(r.perSample));
    o.Set("bnVar", f64(r.bnVar));
    o.Set("nwotK", f64(r.nwotK));
    o.Set("keptValues", f64(r.keptValues));
    o.Set("passValues", f64(r.passValues));
    Napi::Int32Array we = Napi::Int32Array::New(env, r.weightExp.size());
    std::copy(r.weightExp.begin(), r.weightExp.end(), we.Data());
    o.Set("weightExp", we);
    o.Set("params64", f64(r.params64));
    o.Set("input64", f64(r.input64));
    o.Set("saliency64", f64(r.saliency64));
    o.Set("rowSaliency64", f64(r.rowSaliency64));
    out.Set(static_cast<uint32_t>(i), o);
  }
  deferred_.Resolve(out);
}

namespace {

std::vector<int32_t> optionalI32(const Napi::Object& job, const char* name) {
  if (job.Get(name).IsUndefined()) return {};
  auto a = typedArg<Napi::Int32Array>(job.Get(name), napi_int32_array, name, "Int32Array");
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

// Extra backward passes and parameter scalars (all optional): lengths must agree.
void readPasses(const Napi::Object& job, GradJob& j) {
  j.passSeedNodes = optionalI32(job, "passSeedNodes");
  j.passReadNodes = optionalI32(job, "passReadNodes");
  j.passSeedOffsets = optionalI32(job, "passSeedOffsets");
  j.scalars = optionalI32(job, "scalars");
  if (!job.Get("passSeeds").IsUndefined()) {
    auto a = typedArg<Napi::Float32Array>(job.Get("passSeeds"), napi_float32_array, "passSeeds", "Float32Array");
    j.passSeeds.assign(a.Data(), a.Data() + a.ElementLength());
  }
  const size_t P = j.passSeedNodes.size();
  if (j.passReadNodes.size() != P || (P > 0 && j.passSeedOffsets.size() != P + 1)) fail("job.passReadNodes / passSeedOffsets must match passSeedNodes");
  for (size_t p = 0; p < P; ++p)
    if (j.passSeedOffsets[p] < 0 || j.passSeedOffsets[p + 1] < j.passSeedOffsets[p] || static_cast<size_t>(j.passSeedOffsets[p + 1]) > j.passSeeds.size())
      fail("job.passSeedOffsets out of range");
  if (j.scalars.size() % 3 != 0) fail("job.scalars must hold (node, kind, index) triples");
}

// Reduction modes per kept node and per extra pass (optional), and whether the output-seeded pass runs as well.
void readReductions(const Napi::Object& job, GradJob& j) {
  j.keepModes = optionalI32(job, "keepReduce");
  j.passModes = optionalI32(job, "passReduce");
  j.outputBackward = boolField(job, "outputBackward", false);
  if (!j.keepModes.empty() && j.keepModes.size() != j.keepNodes.size()) fail("job.keepReduce must hold one mode per kept node");
  if (!j.passModes.empty() && j.passModes.size() != j.passSeedNodes.size()) fail("job.passReduce must hold one mode per extra pass");
  for (int32_t m : j.keepModes)
    if (m < 0 || m > 3) fail("job.keepReduce modes must be 0, 1, 2 or 3");
  for (int32_t m : j.passModes)
    if (m < 0 || m > 1) fail("job.passReduce modes must be 0 or 1");
}

// Reads the gradient job's own fields (parameters, labels, BN mode, outputs wanted, kept nodes, extra passes).
void readGradJob(const Napi::Object& job, GradJob& j) {
  j.threads = intArg(job.Get("threads"), "job.threads", 1, 4096);
  // float64 jobs take their parameters in double (the reference's values, not float32 roundings of them)
  j.float64 = boolField(job, "float64", false);
  if (j.float64) {
    auto p64 = typedArg<Napi::Float64Array>(job.Get("params"), napi_float64_array, "job.params", "Float64Array (job.float64)");
    j.params64.assign(p64.Data(), p64.Data() + p64.ElementLength());
  } else {
    auto params = typedArg<Napi::Float32Array>(job.Get("params"), napi_float32_array, "job.params", "Float32Array");
    j.params.assign(params.Data(), params.Data() + params.ElementLength());
  }
  auto poff = typedArg<Napi::Int32Array>(job.Get("paramOffsets"), napi_int32_array, "job.paramOffsets", "Int32Array");
  auto labels = typedArg<Napi::Int32Array>(job.Get("labels"), napi_int32_array, "job.labels", "Int32Array");
  if (labels.ElementLength() != 0 && labels.ElementLength() != static_cast<size_t>(j.n)) fail("job.labels must be empty or hold one label per sample");
  j.paramOffsets.assign(poff.Data(), poff.Data() + poff.ElementLength());
  j.labels.assign(labels.Data(), labels.Data() + labels.ElementLength());
  j.bn = static_cast<BnMode>(intArg(job.Get("bn"), "job.bn", 0, 2));
  j.wantParams = boolField(job, "wantParams", true);
  j.wantInput = boolField(job, "wantInput", false);
  j.wantSaliency = boolField(job, "wantSaliency", false);
  j.wantRowSaliency = boolField(job, "wantRowSaliency", false);
  j.wantHvp = boolField(job, "wantHvp", false);
  if (j.wantHvp && (labels.ElementLength() == 0 || !j.wantParams)) fail("job.wantHvp needs labels and wantParams");
  if (!job.Get("tiedWeights").IsUndefined()) {
    auto t = typedArg<Napi::Int32Array>(job.Get("tiedWeights"), napi_int32_array, "job.tiedWeights", "Int32Array");
    if (!j.wantHvp || t.ElementLength() % 2 != 0) fail("job.tiedWeights holds (node, first use) pairs, with wantHvp");
    j.tiedWeights.assign(t.Data(), t.Data() + t.ElementLength());
  }
  if (!job.Get("keepNodes").IsUndefined()) {
    auto kn = typedArg<Napi::Int32Array>(job.Get("keepNodes"), napi_int32_array, "job.keepNodes", "Int32Array");
    auto ko = typedArg<Napi::Int32Array>(job.Get("keepOffsets"), napi_int32_array, "job.keepOffsets", "Int32Array");
    if (ko.ElementLength() != j.offsets.size()) fail("job.keepOffsets must have one entry per network plus one");
    j.keepNodes.assign(kn.Data(), kn.Data() + kn.ElementLength());
    j.keepOffsets.assign(ko.Data(), ko.Data() + ko.ElementLength());
  }
  j.wantBnVar = boolField(job, "wantBnVar", false);
  j.wantNwot = boolField(job, "wantNwot", false);
  j.blockScale = boolField(job, "blockScale", false);
  readPasses(job, j);
  readReductions(job, j);
  // wantHvp is checked above (labels and wantParams), for float64 as for float32
  if (j.float64 && (!(j.wantParams || j.wantInput) || j.keepNodes.size() || j.wantBnVar || j.wantNwot || j.blockScale ||
                    !j.passSeedNodes.empty() || !j.scalars.empty() || j.outputBackward || !j.keepModes.empty() || !j.passModes.empty()))
    fail("job.float64 computes the parameter and input gradients, the channel saliency and the Hessian-vector product of the sum objective or "
         "the labels' loss only");
  if (j.wantHvp && !j.passSeedNodes.empty() && !j.outputBackward) fail("job.wantHvp needs the output-seeded backward pass");
  j.buffers = gradBuffersField(job, "buffers");
}

Napi::Value Gradients(const Napi::CallbackInfo& info) { return queueJob<GradWorker, GradJob>(info, readGradJob); }

// The vectorised lane sums against the scalar loop they replace (test/native-lane-sums.test.ts); cheap and
// synchronous: a few thousand tiles take about a millisecond.
Napi::Value LaneSumCheckFn(const Napi::CallbackInfo& info) {
  const uint32_t seed = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 1;
  int tiles = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 1000;
  tiles = std::max(0, std::min(tiles, 1000000));
  const LaneSumCheck c = laneSumSelfCheck(seed, tiles);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("accumulators", c.accumulators);
  o.Set("lanes", c.lanes);
  o.Set("compared", static_cast<double>(c.compared));
  o.Set("mismatches", static_cast<double>(c.mismatches));
  return o;
}

}  // namespace

void registerGradExports(Napi::Env env, Napi::Object exports) {
  exports.Set("gradients", Napi::Function::New(env, Gradients, "gradients"));
  exports.Set("laneSumCheck", Napi::Function::New(env, LaneSumCheckFn, "laneSumCheck"));
  registerGradBuffers(env, exports);
}

}  // namespace swapnas
