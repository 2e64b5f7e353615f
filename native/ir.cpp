#include "ir.h"

#include <cmath>
#include <cstring>
#include <string>

#include "common.h"

namespace swapnas {

namespace {

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

int outSize(int n, int k, int stride, int pad, int dilation, int padEnd) {
  long long v = (static_cast<long long>(n) + pad + padEnd - static_cast<long long>(dilation) * (k - 1) - 1);
  if (v < 0) return 0;
  return static_cast<int>(v / stride + 1);
}

// A pool's output size in ceil mode: rounded up, less a last window starting beyond the input and its left padding
// (ceilOutSize in src/ir/ops.ts).
int ceilOutSize(int n, int k, int stride, int pad) {
  const long long v = static_cast<long long>(n) + 2LL * pad - k;
  // ceil(v / stride), v may be negative (a window larger than the map: one output, as in PyTorch)
  long long out = (v >= 0 ? (v + stride - 1) / stride : -((-v) / stride)) + 1;
  if (out < 1) return 0;
  if ((out - 1) * stride >= static_cast<long long>(n) + pad) --out;
  return static_cast<int>(out);
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
  const Window a = windowOf(n);
  if (std::min({a.kh, a.kw, a.sh, a.sw, a.dh, a.dw}) < 1 || std::min({a.ph, a.pw, a.pb, a.pr}) < 0)
    bad(id, n, "kernel, stride and dilation must be >= 1 and pad >= 0");
  // (also what lets the WebGPU conv hold a height and a width in one 32-bit word)
  if (std::max({a.kh, a.kw, a.sh, a.sw, a.ph, a.pw, a.pb, a.pr, a.dh, a.dw}) > 1024) bad(id, n, "window attribute out of range");
  int oh = n.ceil ? ceilOutSize(in.h, a.kh, a.sh, a.ph) : outSize(in.h, a.kh, a.sh, a.ph, a.dh, a.pb);
  int ow = n.ceil ? ceilOutSize(in.w, a.kw, a.sw, a.pw) : outSize(in.w, a.kw, a.sw, a.pw, a.dw, a.pr);
  if (oh < 1 || ow < 1) bad(id, n, "window does not fit the " + shapeStr(in) + " input");
  expectShape(id, n, 3, n.op == Op::Conv ? n.cout : in.c, oh, ow);
}

// A transposed conv: its output padding below the stride, and the output size PyTorch gives (transposedSize in
// src/ir/ops.ts); then the adjoint conv must map that output back to exactly the input.
void checkTransposed(int id, const Node& n, const Node& in) {
  const Window a = windowOf(n);
  if (n.outPadH < 0 || n.outPadW < 0 || n.outPadH >= a.sh || n.outPadW >= a.sw) bad(id, n, "output padding must be 0 to the stride less 1 (PyTorch's larger ones, up to the dilation less 1, are not supported)");
  const long long oh = static_cast<long long>(in.h - 1) * a.sh - a.ph - a.pb + static_cast<long long>(a.dh) * (a.kh - 1) + 1 + n.outPadH;
  const long long ow = static_cast<long long>(in.w - 1) * a.sw - a.pw - a.pr + static_cast<long long>(a.dw) * (a.kw - 1) + 1 + n.outPadW;
  if (oh < 1 || ow < 1 || oh > static_cast<long long>(kMaxNumel) || ow > static_cast<long long>(kMaxNumel)) bad(id, n, "window does not fit the " + shapeStr(in) + " input");
  expectShape(id, n, 3, n.cout, static_cast<int>(oh), static_cast<int>(ow));
  const Adjoint adj = adjointOf(n, in);
  checkWindow(id, adj.conv, adj.from);
}

void expectMap(int id, const Node& n, const Node& in) {
  if (in.rank != 3) bad(id, n, "input must be a 4-D feature map");
}

// What a per-op decoder sees: the node (opcode, inputs and shape already read), its attribute words (as many as
// kOpAttrCount says), the earlier nodes, and the batch's input shape.
struct NodeArgs {
  int id;
  Node& n;
  const std::vector<int32_t>& a;
  const Net& net;
  int inC, inH, inW;
  const Node& in(size_t i) const { return net.nodes[static_cast<size_t>(n.inputs[i])]; }
};

// Per-op decoding of the attribute words and checks against the inputs (the C++ side of OpSpec.shape).
void decodeInput(const NodeArgs& p) {
  const Node& n = p.n;
  if (p.id != 0) bad(p.id, n, "only node 0 may be the input");
  if (n.rank != 3 || n.c != p.inC || n.h != p.inH || n.w != p.inW) {
    bad(p.id, n, "network expects input " + shapeStr(n) + ", batch is " + std::to_string(p.inC) + "x" + std::to_string(p.inH) + "x" +
                     std::to_string(p.inW));
  }
}

void decodeConv(const NodeArgs& p) {
  using A = attr::Conv;
  Node& n = p.n;
  n.cin = p.a[A::Cin];
  n.cout = p.a[A::Cout];
  n.k = p.a[A::K];
  n.stride = p.a[A::Stride];
  n.pad = p.a[A::Pad];
  n.dilation = p.a[A::Dilation];
  n.groups = p.a[A::Groups];
  n.bias = p.a[A::Bias] != 0;
  n.kw = p.a[A::Kw];
  n.strideW = p.a[A::StrideW];
  n.padW = p.a[A::PadW];
  n.dilationW = p.a[A::DilationW];
  n.padB = p.a[A::PadBottom];
  n.padR = p.a[A::PadRight];
  n.transposed = p.a[A::Transposed] != 0;
  n.outPadH = p.a[A::OutPad];
  n.outPadW = p.a[A::OutPadW];
  const Node& x = p.in(0);
  if (x.rank != 3 || x.c != n.cin) bad(p.id, n, "cin " + std::to_string(n.cin) + " does not match the input " + shapeStr(x));
  if (n.groups < 1 || n.cin % n.groups != 0 || n.cout % n.groups != 0) bad(p.id, n, "groups must divide cin and cout");
  if (n.transposed) {
    checkTransposed(p.id, n, x);
  } else {
    if (n.outPadH != 0 || n.outPadW != 0) bad(p.id, n, "output padding belongs to a transposed conv");
    checkWindow(p.id, n, x);
  }
  if (static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps() > kMaxNumel) bad(p.id, n, "weight tensor too large");
}

// A float64 attribute: its bits as two program words, high first (float64Words in src/ir/ops.ts).
double wordsToDouble(int32_t hi, int32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32) | static_cast<uint32_t>(lo);
  double v = 0;
  std::memcpy(&v, &bits, sizeof bits);
  return v;
}

void decodeBn(const NodeArgs& p) {
  const Node& x = p.in(0);
  // a map, or BatchNorm1d's flat (N, C): rank 1 has h = w = 1, so every kernel's per-channel plane is one value
  expectShape(p.id, p.n, x.rank, x.c, x.h, x.w);
  p.n.affine = p.a[attr::Bn::Affine] != 0;
  // epsilon as the two 32-bit halves of a double, so the model's value reaches every kernel unrounded
  p.n.eps = wordsToDouble(p.a[attr::Bn::EpsHi], p.a[attr::Bn::EpsLo]);
  if (!(p.n.eps > 0) || !(p.n.eps < 1)) bad(p.id, p.n, "epsilon must be in (0, 1)");
  p.n.batchStats = p.a[attr::Bn::BatchStats] != 0;
}

// GroupNorm per sample: C / groups channels per group (InstanceNorm: groups = C; LayerNorm on flat features: 1); a
// pixelwise one per sample and pixel (LayerNorm over a map's channels)
void decodeGroupNorm(const NodeArgs& p) {
  const Node& x = p.in(0);
  expectShape(p.id, p.n, x.rank, x.c, x.h, x.w);
  p.n.groups = p.a[attr::GroupNorm::Groups];
  if (p.n.groups < 1 || x.c % p.n.groups != 0) bad(p.id, p.n, "the groups must divide the channels");
  p.n.affine = p.a[attr::GroupNorm::Affine] != 0;
  p.n.pixelwise = p.a[attr::GroupNorm::Pixelwise] != 0;
  if (p.n.pixelwise && (x.rank != 3 || p.n.groups != 1)) bad(p.id, p.n, "a pixelwise gn needs a feature map and 1 group");
  p.n.eps = wordsToDouble(p.a[attr::GroupNorm::EpsHi], p.a[attr::GroupNorm::EpsLo]);
  if (!(p.n.eps > 0) || !(p.n.eps < 1)) bad(p.id, p.n, "epsilon must be in (0, 1)");
}

void decodeRelu(const NodeArgs& p) {
  Node& n = p.n;
  const Node& x = p.in(0);
  expectShape(p.id, n, x.rank, x.c, x.h, x.w);
  const double max = wordsToDouble(p.a[attr::Relu::MaxHi], p.a[attr::Relu::MaxLo]);
  // 0: a plain ReLU; otherwise the clip of a capped one (+inf: a clamp at 0), applied in float32 as PyTorch does
  if (!(max >= 0)) bad(p.id, n, "the clip must be positive");
  n.capped = max > 0;
  n.clip = n.capped ? static_cast<float>(max) : 0.0f;
  const double slope = wordsToDouble(p.a[attr::Relu::SlopeHi], p.a[attr::Relu::SlopeLo]);
  // 0: not leaky; a positive slope keeps the sign, so backward passes read the gradient off the output
  if (!(slope >= 0) || std::isinf(slope) || (slope > 0 && n.capped)) bad(p.id, n, "the slope must be positive and finite, without a clip");
  n.leaky = slope > 0;
  n.slope = slope;
  // 0: not hooked by nwot; k: hooked, k module calls (ReluNode.calls)
  if (p.a[attr::Relu::Nwot] < 0) bad(p.id, n, "the nwot call count must not be negative");
  n.nwotCalls = p.a[attr::Relu::Nwot];
  n.nwot = n.nwotCalls != 0;
  n.recorded = n.rank == 3 && !n.capped && !n.leaky;
  if ((p.a[attr::Relu::Recorded] != 0) != n.recorded) bad(p.id, n, "recorded flag must be 1 exactly when a plain ReLU's input is 4-D");
}

void decodePool(const NodeArgs& p) {
  // AvgPool's words are MaxPool's plus count_include_pad.
  static_assert(+attr::AvgPool::K == +attr::MaxPool::K && +attr::AvgPool::Stride == +attr::MaxPool::Stride &&
                    +attr::AvgPool::Pad == +attr::MaxPool::Pad,
                "pool attribute layouts differ");
  Node& n = p.n;
  n.k = p.a[attr::MaxPool::K];
  n.stride = p.a[attr::MaxPool::Stride];
  n.pad = p.a[attr::MaxPool::Pad];
  n.kw = n.k;
  n.strideW = n.stride;
  n.padW = n.pad;
  n.padB = n.pad;
  n.padR = n.pad;
  n.countIncludePad = n.op == Op::AvgPool && p.a[attr::AvgPool::CountIncludePad] != 0;
  n.ceil = (n.op == Op::AvgPool ? p.a[attr::AvgPool::Ceil] : p.a[attr::MaxPool::Ceil]) != 0;
  expectMap(p.id, n, p.in(0));
  // PyTorch's rule; it also guarantees every window overlaps the input.
  if (n.pad > n.k / 2) bad(p.id, n, "pad must be at most half the kernel size");
  checkWindow(p.id, n, p.in(0));
}

void decodeAdd(const NodeArgs& p) {
  for (size_t i = 0; i < p.n.inputs.size(); ++i) expectShape(p.id, p.n, p.in(i).rank, p.in(i).c, p.in(i).h, p.in(i).w);
}

void decodeConcat(const NodeArgs& p) {
  const Node& n = p.n;
  long long cs = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const Node& x = p.in(i);
    if (x.rank != 3 || x.h != n.h || x.w != n.w) bad(p.id, n, "input " + shapeStr(x) + " does not match " + shapeStr(n));
    cs += x.c;
  }
  expectShape(p.id, n, 3, static_cast<int>(cs), n.h, n.w);
}

void decodeGap(const NodeArgs& p) {
  expectMap(p.id, p.n, p.in(0));
  // flat features, or (keep) the C x 1 x 1 map a squeeze-and-excitation block reads: the same C values per sample
  expectShape(p.id, p.n, p.a[attr::Gap::Keep] != 0 ? 3 : 1, p.in(0).c, 1, 1);
}

void decodeFlatten(const NodeArgs& p) {
  expectMap(p.id, p.n, p.in(0));
  expectShape(p.id, p.n, 1, static_cast<int>(p.in(0).numel()), 1, 1);
}

void decodeView(const NodeArgs& p) {
  // the same values in the same (NCHW) order under another shape: kernels copy
  if (p.n.rank != 3) bad(p.id, p.n, "output must be a map");
  if (p.n.numel() != p.in(0).numel()) bad(p.id, p.n, "output size differs from the input's");
}

void decodeShuffle(const NodeArgs& p) {
  const Node& x = p.in(0);
  expectMap(p.id, p.n, x);
  expectShape(p.id, p.n, 3, x.c, x.h, x.w);
  p.n.groups = p.a[attr::Shuffle::Groups];
  if (p.n.groups < 2 || x.c % p.n.groups != 0) bad(p.id, p.n, "the groups must divide the channels, and be 2 or more");
}

void decodeUpsample(const NodeArgs& p) {
  using A = attr::Upsample;
  const Node& x = p.in(0);
  expectMap(p.id, p.n, x);
  p.n.scale = p.a[A::Scale];
  p.n.bilinear = p.a[A::Bilinear] != 0;
  p.n.alignCorners = p.a[A::AlignCorners] != 0;
  p.n.srcH = x.h;
  p.n.srcW = x.w;
  if (p.n.bilinear) {
    const int oh = p.a[A::OutH], ow = p.a[A::OutW];
    if (p.n.scale != 1 || oh < 1 || ow < 1 || oh > 64 * std::max(x.h, x.w) || ow > 64 * std::max(x.h, x.w))
      bad(p.id, p.n, "a bilinear resize's size must be 1 to 64 times the map's larger side (its factor 1)");
    expectShape(p.id, p.n, 3, x.c, oh, ow);
    return;
  }
  if (p.n.alignCorners || p.a[A::OutH] != 0 || p.a[A::OutW] != 0) bad(p.id, p.n, "a nearest upsampling has no size or corner words");
  if (p.n.scale < 2 || p.n.scale > 64) bad(p.id, p.n, "the factor must be an integer from 2 to 64");
  expectShape(p.id, p.n, 3, x.c, x.h * p.n.scale, x.w * p.n.scale);
}

void decodeExpand(const NodeArgs& p) {
  const Node& x = p.in(0);
  expectMap(p.id, p.n, x);
  if (p.n.rank != 3) bad(p.id, p.n, "output must be a map");
  const bool fits = (x.c == p.n.c || x.c == 1) && (x.h == p.n.h || x.h == 1) && (x.w == p.n.w || x.w == 1);
  if (!fits) bad(p.id, p.n, "only axes of size 1 broadcast");
}

void decodeChanPool(const NodeArgs& p) {
  const Node& x = p.in(0);
  expectMap(p.id, p.n, x);
  p.n.chanMax = p.a[attr::ChanPool::Max] != 0;
  expectShape(p.id, p.n, 3, 1, x.h, x.w);
}

void decodeSigmoid(const NodeArgs& p) {
  const Node& x = p.in(0);
  expectShape(p.id, p.n, x.rank, x.c, x.h, x.w);
  p.n.hard = p.a[attr::Sigmoid::Hard] != 0;
}

void decodeSoftmax(const NodeArgs& p) {
  const Node& x = p.in(0);
  if (x.rank != 1) bad(p.id, p.n, "a softmax reads a flat tensor");
  expectShape(p.id, p.n, x.rank, x.c, x.h, x.w);
  p.n.logSoftmax = p.a[attr::Softmax::Log] != 0;
}

void decodeAct(const NodeArgs& p) {
  const Node& x = p.in(0);
  expectShape(p.id, p.n, x.rank, x.c, x.h, x.w);
  const int fn = p.a[attr::Act::Fn];
  if (fn < 0 || fn >= kActFnCount) bad(p.id, p.n, "unknown activation function");
  p.n.act = static_cast<ActFn>(fn);
  p.n.alpha = wordsToDouble(p.a[attr::Act::AlphaHi], p.a[attr::Act::AlphaLo]);
  // only an nn.PReLU is hooked by nwot (which reads its input's signs)
  p.n.nwot = p.a[attr::Act::Nwot] != 0;
  if (p.n.nwot && p.n.act != ActFn::Prelu) bad(p.id, p.n, "only a PReLU act is hooked by nwot");
  // ELU's alpha is positive (1 for the functions without one); a PReLU's slope and the arithmetic's constant finite,
  // a divisor not 0
  const bool arithmetic = p.n.act == ActFn::Scale || p.n.act == ActFn::Divide || p.n.act == ActFn::Shift;
  const bool anySign = arithmetic || p.n.act == ActFn::Prelu;
  if (!std::isfinite(p.n.alpha) || (!anySign && !(p.n.alpha > 0)) || (p.n.act == ActFn::Divide && p.n.alpha == 0)) bad(p.id, p.n, "the alpha must be finite, positive for an activation and not 0 for a divisor");
  // the words after the fixed ones: one constant per channel (the arithmetic and PReLU only), each checked as alpha is
  const size_t extra = p.a.size() - static_cast<size_t>(kOpAttrCount[static_cast<int>(Op::Act)]);
  if (extra == 0) return;
  if (!anySign || extra != 2 * static_cast<size_t>(x.c)) bad(p.id, p.n, "per-channel constants: the arithmetic and PReLU only, one per channel");
  p.n.alphas.resize(static_cast<size_t>(x.c));
  for (size_t c = 0; c < p.n.alphas.size(); ++c) {
    const size_t w = static_cast<size_t>(kOpAttrCount[static_cast<int>(Op::Act)]) + 2 * c;
    const double v = wordsToDouble(p.a[w], p.a[w + 1]);
    if (!std::isfinite(v) || (p.n.act == ActFn::Divide && v == 0)) bad(p.id, p.n, "a per-channel constant must be finite and not 0 for a divisor");
    p.n.alphas[c] = v;
  }
}

// The same shape, or a map and its C x 1 x 1 channel gate (second)
void decodeMul(const NodeArgs& p) {
  const Node& a = p.in(0);
  const Node& g = p.in(1);
  expectShape(p.id, p.n, a.rank, a.c, a.h, a.w);
  const bool same = g.rank == a.rank && g.c == a.c && g.h == a.h && g.w == a.w;
  const bool gate = a.rank == 3 && g.rank == 3 && g.c == a.c && g.h == 1 && g.w == 1;
  if (!same && !gate) bad(p.id, p.n, "the second input must have the first's shape, or be its C x 1 x 1 gate");
}

void decodeLinear(const NodeArgs& p) {
  using A = attr::Linear;
  Node& n = p.n;
  n.fin = p.a[A::Fin];
  n.fout = p.a[A::Fout];
  n.bias = p.a[A::Bias] != 0;
  const Node& x = p.in(0);
  if (x.rank != 1 || x.c != n.fin) bad(p.id, n, "fin " + std::to_string(n.fin) + " does not match the input " + shapeStr(x));
  expectShape(p.id, n, 1, n.fout, 1, 1);
  if (static_cast<size_t>(n.fin) * n.fout > kMaxNumel) bad(p.id, n, "weight tensor too large");
}

void decodeSlice(const NodeArgs& p) {
  using A = attr::Slice;
  Node& n = p.n;
  n.c0 = p.a[A::C0];
  n.h0 = p.a[A::H0];
  n.w0 = p.a[A::W0];
  const Node& x = p.in(0);
  if (x.rank != 3 || n.rank != 3) bad(p.id, n, "input and output must be 4-D feature maps");
  auto fits = [](int o, int len, int full) { return o >= 0 && static_cast<long long>(o) + len <= full; };
  if (!fits(n.c0, n.c, x.c) || !fits(n.h0, n.h, x.h) || !fits(n.w0, n.w, x.w)) {
    bad(p.id, n, "window at (" + std::to_string(n.c0) + ", " + std::to_string(n.h0) + ", " + std::to_string(n.w0) + ") of size " +
                     shapeStr(n) + " does not fit the " + shapeStr(x) + " input");
  }
}

// No default: -Werror=switch makes a new opcode fail to compile until it has a decoder.
void decode(const NodeArgs& p) {
  switch (p.n.op) {
    case Op::Input: return decodeInput(p);
    case Op::Conv: return decodeConv(p);
    case Op::Bn: return decodeBn(p);
    case Op::Relu: return decodeRelu(p);
    case Op::AvgPool:
    case Op::MaxPool: return decodePool(p);
    case Op::Add: return decodeAdd(p);
    case Op::Concat: return decodeConcat(p);
    case Op::Zero: return;
    case Op::Gap: return decodeGap(p);
    case Op::Linear: return decodeLinear(p);
    case Op::Flatten: return decodeFlatten(p);
    case Op::View: return decodeView(p);
    case Op::Shuffle: return decodeShuffle(p);
    case Op::Upsample: return decodeUpsample(p);
    case Op::Expand: return decodeExpand(p);
    case Op::ChanPool: return decodeChanPool(p);
    case Op::Sigmoid: return decodeSigmoid(p);
    case Op::Softmax: return decodeSoftmax(p);
    case Op::GroupNorm: return decodeGroupNorm(p);
    case Op::Mul: return decodeMul(p);
    case Op::Act: return decodeAct(p);
    case Op::Slice: return decodeSlice(p);
  }
}

// Reads the opcode, inputs and shape of node `id` into `n`, checks its arity, and returns its attribute words
// (checked against kOpAttrCount).
std::vector<int32_t> readNode(Reader& r, int id, int count, Node& n) {
  int32_t opcode = r.next("opcode", id);
  if (opcode < 0 || opcode >= kOpCount) fail("node " + std::to_string(id) + ": unknown opcode " + std::to_string(opcode));
  n.op = static_cast<Op>(opcode);
  int32_t nIn = r.next("input count", id);
  if (nIn < 0 || nIn > count) bad(id, n, "bad input count " + std::to_string(nIn));
  n.inputs.resize(static_cast<size_t>(nIn));
  for (int32_t i = 0; i < nIn; ++i) {
    int32_t j = r.next("input id", id);
    if (j < 0 || j >= id) bad(id, n, "input " + std::to_string(j) + " is not an earlier node");
    n.inputs[static_cast<size_t>(i)] = j;
  }
  const int arity = kOpArity[opcode];
  if (arity < 0 && nIn == 0) bad(id, n, "needs at least one input");
  if (arity >= 0 && nIn != arity) bad(id, n, "expected " + std::to_string(arity) + " input(s), found " + std::to_string(nIn));
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
  // an op with a tail (the act op's per-channel constants: two words per channel) may have that many more
  const int64_t most = kOpAttrTail[opcode] ? kOpAttrCount[opcode] + 2 * static_cast<int64_t>(n.c) : 64;
  if (nAttr < 0 || nAttr > most) bad(id, n, "bad attribute count " + std::to_string(nAttr));
  std::vector<int32_t> a(static_cast<size_t>(nAttr));
  for (auto& v : a) v = r.next("attribute", id);
  if (nAttr != kOpAttrCount[opcode] && !(kOpAttrTail[opcode] && nAttr > kOpAttrCount[opcode])) {
    bad(id, n, "expected " + std::to_string(kOpAttrCount[opcode]) + " attributes, found " + std::to_string(nAttr));
  }
  return a;
}

// Ancestors of recorded ReLUs, last needed consumers, and the recorded totals.
void markNeeded(Net& net) {
  const int count = static_cast<int>(net.nodes.size());
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
}

// The closing list of (node, tensor) pairs: a conv / linear node that draws an earlier node's weights. Each must
// name an earlier node of the same op and weight size that draws its own, and a node once, so that every tensor
// id keeps one size and the weight caches, keyed by (seed, tensor, size), stay consistent.
void readSharedWeights(Reader& r, Net& net) {
  const int count = static_cast<int>(net.nodes.size());
  for (int id = 0; id < count; ++id) net.nodes[static_cast<size_t>(id)].tensor = id;
  const int32_t pairs = r.next("shared weight count", -1);
  if (pairs < 0 || pairs >= count) fail("bad shared weight count " + std::to_string(pairs));
  for (int32_t p = 0; p < pairs; ++p) {
    const int32_t node = r.next("shared weight node", -1);
    const int32_t tensor = r.next("shared weight tensor", -1);
    if (node < 1 || node >= count || tensor < 1 || tensor >= node) fail("shared weight " + std::to_string(node) + " <- " + std::to_string(tensor) + ": not an earlier node");
    Node& n = net.nodes[static_cast<size_t>(node)];
    const Node& of = net.nodes[static_cast<size_t>(tensor)];
    if (weightCount(n) == 0 || of.op != n.op || weightCount(n) != weightCount(of) || n.tensor != node || of.tensor != tensor) fail("shared weight " + std::to_string(node) + " <- " + std::to_string(tensor) + ": not one conv / linear tensor of one size");
    n.tensor = tensor;
  }
}

}  // namespace

const char* opName(Op op) {
  const auto i = static_cast<int32_t>(op);
  return i >= 0 && i < kOpCount ? kOpNames[i] : "?";
}

Net parseNet(const int32_t* program, size_t len, int inC, int inH, int inW) {
  Reader r(program, len);
  if (r.next("magic", -1) != kIrMagic) fail("not a swapnas program (bad magic word)");
  int32_t version = r.next("version", -1);
  if (version != kIrVersion) fail("unsupported program version " + std::to_string(version) + " (expected " + std::to_string(kIrVersion) + ")");
  int32_t count = r.next("node count", -1);
  if (count < 1 || count > kMaxNodes) fail("bad node count " + std::to_string(count));
  int32_t output = r.next("output id", -1);
  if (output < 0 || output >= count) fail("output id " + std::to_string(output) + " is not a node");

  Net net;
  net.output = output;
  net.nodes.resize(static_cast<size_t>(count));
  for (int id = 0; id < count; ++id) {
    Node& n = net.nodes[static_cast<size_t>(id)];
    const std::vector<int32_t> a = readNode(r, id, count, n);
    decode(NodeArgs{id, n, a, net, inC, inH, inW});
  }
  readSharedWeights(r, net);
  if (r.pos() != len) fail("program has " + std::to_string(len - r.pos()) + " trailing word(s) after its shared weights");
  if (net.nodes[0].op != Op::Input) fail("node 0 must be the input");
  markNeeded(net);
  return net;
}

}  // namespace swapnas
