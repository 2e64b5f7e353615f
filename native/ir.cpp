#include "ir.h"

#include <string>

#include "common.h"

namespace swapnas {

namespace {

constexpr int32_t kMagic = 0x53574150;
constexpr int32_t kVersion = 1;
constexpr int32_t kMaxNodes = 1 << 20;
constexpr int32_t kMaxDim = 1 << 24;
constexpr size_t kMaxNumel = size_t(1) << 30;

class Reader {
 public:
  Reader(const int32_t* p, size_t len) : p_(p), len_(len) {}
  int32_t next(const char* what, int node) {
    if (pos_ >= len_) {
      fail("program truncated while reading " + std::string(what) + (node >= 0 ? " of node " + std::to_string(node) : std::string()));
    }
    return p_[pos_++];
  }
  size_t pos() const { return pos_; }

 private:
  const int32_t* p_;
  size_t len_;
  size_t pos_ = 0;
};

[[noreturn]] void bad(int id, const Node& n, const std::string& msg) {
  fail("node " + std::to_string(id) + " (" + opName(n.op) + "): " + msg);
}

int outSize(int n, int k, int stride, int pad, int dilation) {
  long long v = (static_cast<long long>(n) + 2LL * pad - static_cast<long long>(dilation) * (k - 1) - 1);
  if (v < 0) return 0;
  return static_cast<int>(v / stride + 1);
}

void expectAttrs(int id, const Node& n, const std::vector<int32_t>& attrs, size_t count) {
  if (attrs.size() != count) {
    bad(id, n, "expected " + std::to_string(count) + " attributes, found " + std::to_string(attrs.size()));
  }
}

void expectInputs(int id, const Node& n, size_t count) {
  if (n.inputs.size() != count) {
    bad(id, n, "expected " + std::to_string(count) + " input(s), found " + std::to_string(n.inputs.size()));
  }
}

std::string shapeStr(const Node& n) {
  if (n.rank == 1) return "[" + std::to_string(n.c) + "]";
  return std::to_string(n.c) + "x" + std::to_string(n.h) + "x" + std::to_string(n.w);
}

void expectShape(int id, const Node& n, int rank, int c, int h, int w) {
  if (n.rank != rank || n.c != c || n.h != h || n.w != w) {
    std::string want = rank == 1 ? "[" + std::to_string(c) + "]" : std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
    bad(id, n, "shape " + shapeStr(n) + " does not match the expected " + want);
  }
}

void checkWindow(int id, const Node& n, const Node& in) {
  if (n.k < 1 || n.stride < 1 || n.pad < 0 || n.dilation < 1) bad(id, n, "kernel, stride and dilation must be >= 1 and pad >= 0");
  if (n.k > 1024 || n.stride > 1024 || n.pad > 1024 || n.dilation > 1024) bad(id, n, "window attribute out of range");
  int oh = outSize(in.h, n.k, n.stride, n.pad, n.dilation);
  int ow = outSize(in.w, n.k, n.stride, n.pad, n.dilation);
  if (oh < 1 || ow < 1) bad(id, n, "window does not fit the " + shapeStr(in) + " input");
  expectShape(id, n, 3, n.op == Op::Conv ? n.cout : in.c, oh, ow);
}

}  // namespace

const char* opName(Op op) {
  switch (op) {
    case Op::Input: return "input";
    case Op::Conv: return "conv";
    case Op::Bn: return "bn";
    case Op::Relu: return "relu";
    case Op::AvgPool: return "avgpool";
    case Op::MaxPool: return "maxpool";
    case Op::Add: return "add";
    case Op::Concat: return "concat";
    case Op::Zero: return "zero";
    case Op::Gap: return "gap";
    case Op::Linear: return "linear";
    case Op::Slice: return "slice";
  }
  return "?";
}

Net parseNet(const int32_t* program, size_t len, int inC, int inH, int inW) {
  Reader r(program, len);
  if (r.next("magic", -1) != kMagic) fail("not a swapnas program (bad magic word)");
  int32_t version = r.next("version", -1);
  if (version != kVersion) fail("unsupported program version " + std::to_string(version) + " (expected " + std::to_string(kVersion) + ")");
  int32_t count = r.next("node count", -1);
  if (count < 1 || count > kMaxNodes) fail("bad node count " + std::to_string(count));
  int32_t output = r.next("output id", -1);
  if (output < 0 || output >= count) fail("output id " + std::to_string(output) + " is not a node");

  Net net;
  net.output = output;
  net.nodes.resize(static_cast<size_t>(count));
  for (int id = 0; id < count; ++id) {
    Node& n = net.nodes[static_cast<size_t>(id)];
    int32_t opcode = r.next("opcode", id);
    if (opcode < 0 || opcode > 11) fail("node " + std::to_string(id) + ": unknown opcode " + std::to_string(opcode));
    n.op = static_cast<Op>(opcode);
    int32_t nIn = r.next("input count", id);
    if (nIn < 0 || nIn > count) bad(id, n, "bad input count " + std::to_string(nIn));
    n.inputs.resize(static_cast<size_t>(nIn));
    for (int32_t i = 0; i < nIn; ++i) {
      int32_t j = r.next("input id", id);
      if (j < 0 || j >= id) bad(id, n, "input " + std::to_string(j) + " is not an earlier node");
      n.inputs[static_cast<size_t>(i)] = j;
    }
    int32_t rank = r.next("rank", id);
    if (rank != 1 && rank != 3) bad(id, n, "rank must be 1 or 3, found " + std::to_string(rank));
    n.rank = rank;
    int dims[3] = {1, 1, 1};
    for (int32_t d = 0; d < rank; ++d) {
      int32_t v = r.next("shape", id);
      if (v < 1 || v > kMaxDim) bad(id, n, "shape dimension " + std::to_string(v) + " out of range");
      dims[d] = v;
    }
    n.c = dims[0];
    n.h = dims[1];
    n.w = dims[2];
    if (n.numel() > kMaxNumel) bad(id, n, "tensor too large");
    int32_t nAttr = r.next("attribute count", id);
    if (nAttr < 0 || nAttr > 64) bad(id, n, "bad attribute count " + std::to_string(nAttr));
    std::vector<int32_t> a(static_cast<size_t>(nAttr));
    for (auto& v : a) v = r.next("attribute", id);

    auto in = [&](size_t i) -> const Node& { return net.nodes[static_cast<size_t>(n.inputs[i])]; };
    switch (n.op) {
      case Op::Input:
        if (id != 0) bad(id, n, "only node 0 may be the input");
        expectInputs(id, n, 0);
        if (n.rank != 3 || n.c != inC || n.h != inH || n.w != inW) {
          bad(id, n, "network expects input " + shapeStr(n) + ", batch is " + std::to_string(inC) + "x" + std::to_string(inH) + "x" +
                         std::to_string(inW));
        }
        break;
      case Op::Conv: {
        expectInputs(id, n, 1);
        expectAttrs(id, n, a, 8);
        n.cin = a[0];
        n.cout = a[1];
        n.k = a[2];
        n.stride = a[3];
        n.pad = a[4];
        n.dilation = a[5];
        n.groups = a[6];
        n.bias = a[7] != 0;
        const Node& x = in(0);
        if (x.rank != 3 || x.c != n.cin) bad(id, n, "cin " + std::to_string(n.cin) + " does not match the input " + shapeStr(x));
        if (n.groups < 1 || n.cin % n.groups != 0 || n.cout % n.groups != 0) bad(id, n, "groups must divide cin and cout");
        checkWindow(id, n, x);
        if (static_cast<size_t>(n.cout) * (n.cin / n.groups) * n.k * n.k > kMaxNumel) bad(id, n, "weight tensor too large");
        break;
      }
      case Op::Bn:
        expectInputs(id, n, 1);
        expectAttrs(id, n, a, 1);
        if (in(0).rank != 3) bad(id, n, "input must be a 4-D feature map");
        expectShape(id, n, 3, in(0).c, in(0).h, in(0).w);
        break;
      case Op::Relu:
        expectInputs(id, n, 1);
        expectAttrs(id, n, a, 1);
        expectShape(id, n, in(0).rank, in(0).c, in(0).h, in(0).w);
        n.recorded = n.rank == 3;
        if ((a[0] != 0) != n.recorded) bad(id, n, "recorded flag must be 1 exactly when the input is 4-D");
        break;
      case Op::AvgPool:
      case Op::MaxPool: {
        expectInputs(id, n, 1);
        expectAttrs(id, n, a, n.op == Op::AvgPool ? 4 : 3);
        n.k = a[0];
        n.stride = a[1];
        n.pad = a[2];
        n.countIncludePad = n.op == Op::AvgPool && a[3] != 0;
        if (in(0).rank != 3) bad(id, n, "input must be a 4-D feature map");
        // PyTorch's rule; it also guarantees every window overlaps the input.
        if (n.pad > n.k / 2) bad(id, n, "pad must be at most half the kernel size");
        checkWindow(id, n, in(0));
        break;
      }
      case Op::Add:
        if (n.inputs.empty()) bad(id, n, "needs at least one input");
        for (size_t i = 0; i < n.inputs.size(); ++i) expectShape(id, n, in(i).rank, in(i).c, in(i).h, in(i).w);
        break;
      case Op::Concat: {
        if (n.inputs.empty()) bad(id, n, "needs at least one input");
        long long cs = 0;
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          if (in(i).rank != 3 || in(i).h != n.h || in(i).w != n.w) bad(id, n, "input " + shapeStr(in(i)) + " does not match " + shapeStr(n));
          cs += in(i).c;
        }
        expectShape(id, n, 3, static_cast<int>(cs), n.h, n.w);
        break;
      }
      case Op::Zero:
        break;
      case Op::Gap:
        expectInputs(id, n, 1);
        if (in(0).rank != 3) bad(id, n, "input must be a 4-D feature map");
        expectShape(id, n, 1, in(0).c, 1, 1);
        break;
      case Op::Linear:
        expectInputs(id, n, 1);
        expectAttrs(id, n, a, 3);
        n.fin = a[0];
        n.fout = a[1];
        n.bias = a[2] != 0;
        if (in(0).rank != 1 || in(0).c != n.fin) bad(id, n, "fin " + std::to_string(n.fin) + " does not match the input " + shapeStr(in(0)));
        expectShape(id, n, 1, n.fout, 1, 1);
        if (static_cast<size_t>(n.fin) * n.fout > kMaxNumel) bad(id, n, "weight tensor too large");
        break;
      case Op::Slice: {
        expectInputs(id, n, 1);
        expectAttrs(id, n, a, 3);
        n.c0 = a[0];
        n.h0 = a[1];
        n.w0 = a[2];
        const Node& x = in(0);
        if (x.rank != 3 || n.rank != 3) bad(id, n, "input and output must be 4-D feature maps");
        auto fits = [](int o, int len, int full) { return o >= 0 && static_cast<long long>(o) + len <= full; };
        if (!fits(n.c0, n.c, x.c) || !fits(n.h0, n.h, x.h) || !fits(n.w0, n.w, x.w)) {
          bad(id, n, "window at (" + std::to_string(n.c0) + ", " + std::to_string(n.h0) + ", " + std::to_string(n.w0) + ") of size " +
                         shapeStr(n) + " does not fit the " + shapeStr(x) + " input");
        }
        break;
      }
    }
  }
  if (r.pos() != len) fail("program has " + std::to_string(len - r.pos()) + " trailing word(s) after node " + std::to_string(count - 1));
  if (net.nodes[0].op != Op::Input) fail("node 0 must be the input");

  net.needed.assign(net.nodes.size(), 0);
  for (int i = count - 1; i >= 0; --i) {
    const Node& n = net.nodes[static_cast<size_t>(i)];
    if (n.recorded || net.needed[static_cast<size_t>(i)]) {
      net.needed[static_cast<size_t>(i)] = 1;
      for (int j : n.inputs) net.needed[static_cast<size_t>(j)] = 1;
    }
  }
  net.lastUse.assign(net.nodes.size(), -1);
  for (int i = 0; i < count; ++i) {
    if (!net.needed[static_cast<size_t>(i)]) continue;
    const Node& n = net.nodes[static_cast<size_t>(i)];
    for (int j : n.inputs) net.lastUse[static_cast<size_t>(j)] = i;
    if (n.recorded) {
      net.recordedNeurons += n.numel();
      net.recordedLayers += 1;
    }
  }
  return net;
}

}  // namespace swapnas
