#pragma once
// The network IR as parsed from the flat Int32 program of src/ir/serialize.ts.

// The opcodes, attribute layout and constants come from the generated ir_ops.h (src/ir/ops.ts is the source).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ir_ops.h"

namespace swapnas {

const char* opName(Op op);

// The functions of the `act` op, in the order of ACT_FNS (src/ir/activations.ts), which the program stores.
enum class ActFn : int { Tanh, Elu, Selu, Softplus, Gelu, Mish, GeluTanh, Scale, Divide, Shift, Prelu, Celu, Reciprocal };
inline constexpr int kActFnCount = 13;

struct Node {
  Op op = Op::Input;
  std::vector<int> inputs;
  int rank = 3;
  // Per-sample shape; rank-1 tensors use c = features, h = w = 1.
  int c = 1, h = 1, w = 1;
  // conv / pool attributes: k, stride, pad and dilation are the height's; kw, strideW, padW and dilationW the width's
  // (a conv's own where its window is rectangular, else the same values; a pool's always the same)
  int cin = 0, cout = 0, k = 1, stride = 1, pad = 0, dilation = 1, groups = 1;
  int kw = 1, strideW = 1, padW = 0, dilationW = 1;
  // a conv's padding after the map (bottom, right) where it differs from before it (top: pad, left: padW)
  int padB = 0, padR = 0;
  // a transposed conv (nn.ConvTranspose2d): the adjoint of the conv adjointOf(n) describes; its output padding
  bool transposed = false;
  int outPadH = 0, outPadW = 0;
  bool bias = false;
  bool countIncludePad = false;
  // pools: PyTorch's ceil mode, where it adds a last, partial window (src/ir/ops.ts ceilOutSize)
  bool ceil = false;
  // linear
  int fin = 0, fout = 0;
  // slice: window origin in the input
  int c0 = 0, h0 = 0, w0 = 0;
  // upsample: the integer factor (nearest neighbour: each input value fills a scale x scale block); or a bilinear
  // resize of the srcH x srcW input to the node's h x w, with align_corners or half-pixel centres
  int scale = 1;
  bool bilinear = false, alignCorners = false;
  int srcH = 0, srcW = 0;
  // chanpool: the maximum over the channels rather than the mean
  bool chanMax = false;
  // relu on a 4-D tensor: its output feeds the pattern count (plain ReLUs only); a capped ReLU's clip (ReLU6: 6)
  bool recorded = false;
  bool capped = false;
  float clip = 0;
  // a leaky ReLU (nn.LeakyReLU): slope * x below 0 (kept in double for the float64 pass; float32 kernels round it
  // as PyTorch does); never capped
  bool leaky = false;
  double slope = 0;
  // sigmoid: PyTorch's hardsigmoid relu6(x + 3) / 6 rather than the logistic
  bool hard = false;
  // softmax: the log-softmax (nn.LogSoftmax) rather than the softmax
  bool logSoftmax = false;
  // act: the function (native/activations.h) and ELU's alpha (a PReLU's slope, the arithmetic's constant)
  ActFn act = ActFn::Tanh;
  double alpha = 1;
  // the arithmetic's constant or a PReLU's slope per channel, when it has one per channel (alphaAt in
  // native/activations.h)
  std::vector<double> alphas;
  // NASLib's nwot hooks it (nn.ReLU, nn.ReLU6, nn.LeakyReLU, an nn.PReLU act; not a Hardtanh or a clamp): nwotHooked
  // in src/ir/ops.ts
  bool nwot = true;
  // how many module calls the node stands for in nwot's kernel (a ReLU kept once for several nn.ReLU modules of one
  // tensor: ReluNode.calls)
  int nwotCalls = 1;
  // bn: whether it has gamma / beta (the packed parameters hold 1 / 0 when it does not), and its epsilon
  bool affine = true;
  double eps = kBnEps;
  // gn: statistics per sample and pixel over the group's channels (a LayerNorm over the channel axis)
  bool pixelwise = false;
  // bn without running statistics (PyTorch's track_running_stats=False): batch statistics in eval mode too
  bool batchStats = false;
  // conv / linear: the PRNG tensor id of its generated weights, its own id but for a later use of a tied or shared
  // weight (a module called twice, or two modules reading one tensor, draw it once, as PyTorch and the ONNX Runtime
  // path hold it: weightTensorIds in src/ir/analysis.ts)
  int tensor = 0;

  size_t numel() const { return static_cast<size_t>(c) * h * w; }
};

// A convolution's window per axis (the height's and the width's kernel, stride and dilation; its padding before
// the map, ph top and pw left, and after it, pb bottom and pr right).
struct Window {
  int kh, kw, sh, sw, ph, pw, pb, pr, dh, dw;
  int taps() const { return kh * kw; }
};
inline Window windowOf(const Node& n) { return {n.k, n.kw, n.stride, n.strideW, n.pad, n.padW, n.padB, n.padR, n.dilation, n.dilationW}; }

// Transposed conv n (input node in) as the adjoint of an ordinary conv (adjointConv in src/ir/ops.ts): `conv` maps
// `from` (n's output map: n.cout channels) to `to` (n's input map: n.cin channels) with n's window, its bottom /
// right padding less the output padding (never below 0), which gives exactly n's input size. Its weight layout
// [n.cin][n.cout / groups][kh][kw] is nn.ConvTranspose2d's, so one tensor serves both: n's forward is conv's
// backward-data, n's backward-data conv's forward, n's weight gradient conv's with input and cotangent swapped.
struct Adjoint {
  Node conv, from;
};
inline Adjoint adjointOf(const Node& n, const Node& in) {
  Adjoint a;
  a.conv = n;
  a.conv.transposed = false;
  a.conv.outPadH = a.conv.outPadW = 0;
  a.conv.cin = n.cout;
  a.conv.cout = n.cin;
  a.conv.padB = std::max(n.padB - n.outPadH, 0);
  a.conv.padR = std::max(n.padR - n.outPadW, 0);
  a.conv.inputs = {};
  a.conv.c = in.c;
  a.conv.h = in.h;
  a.conv.w = in.w;
  a.conv.rank = 3;
  a.from = Node{};
  a.from.op = Op::Conv;
  a.from.c = n.c;
  a.from.h = n.h;
  a.from.w = n.w;
  return a;
}

// Values in node n's weight tensor (conv / linear; 0 elsewhere): its PRNG tensor's size, the start of its packed
// parameter block (weightCount in src/ir/ops.ts).
// The normalised groups of a gn node over S samples (each sample's G groups, times its pixels when pixelwise).
inline int gnGroupCount(const Node& n, int S) { return S * n.groups * (n.pixelwise ? n.h * n.w : 1); }

inline size_t weightCount(const Node& n) {
  if (n.op == Op::Conv) return static_cast<size_t>(n.cout) * (n.cin / n.groups) * windowOf(n).taps();
  if (n.op == Op::Linear) return static_cast<size_t>(n.fin) * n.fout;
  return 0;
}

// The extent, along one axis, of pool output o's window within the padded input [-pad, size + pad): k, but for a
// ceil-mode window that overhangs it. A count_include_pad average divides by its product (paddedExtent in
// src/ir/ops.ts; PyTorch's and ONNX Runtime's rule).
inline int paddedExtent(int o, int k, int stride, int pad, int size) {
  const int start = o * stride - pad;
  return std::min(start + k, size + pad) - start;
}

// The input channel that output channel c of a channel shuffle (groups groups of C / groups channels) reads:
// output j * groups + i is input i * C / groups + j (shuffleSource in src/ir/ops.ts).
inline int shuffleSource(int c, int groups, int channels) { return (c % groups) * (channels / groups) + c / groups; }

// Nearest-neighbour upsampling by n.scale of S samples of an (n.c, n.h / scale, n.w / scale) map into y; back: the
// transpose (x the output's cotangent, y the input's), each input cotangent the sum of its scale x scale block, rows
// then columns, in double (upsampleInto in src/backends/reference/loops.ts sums in the same order, so the float64
// passes equal it bit for bit).
// The mean (max false) or the first maximum over the channels of S samples of map `in` into y (1 x H x W each),
// summed in double in channel order as src/backends/reference/loops.ts chanpoolInto does (the float64 passes then
// equal it bit for bit); a NaN wins, as in PyTorch's max over a dim. am (the maximum only): each output's flat input
// index, which its backward and Hessian-vector passes route through.
template <typename T, typename I>
void chanPoolMap(const Node& in, bool max, const T* x, T* y, int S, I* am) {
  const size_t hw = static_cast<size_t>(in.h) * in.w, C = static_cast<size_t>(in.c);
  for (size_t s = 0; s < static_cast<size_t>(S); ++s)
    for (size_t p = 0; p < hw; ++p) {
      double acc = 0;
      size_t at = SIZE_MAX;
      for (size_t c = 0; c < C; ++c) {
        const size_t i = (s * C + c) * hw + p;
        const double v = x[i];
        if (!max) acc += v;
        else if (at == SIZE_MAX || (!std::isnan(acc) && (v > acc || std::isnan(v)))) {
          acc = v;
          at = i;
        }
      }
      y[s * hw + p] = static_cast<T>(max ? acc : acc / static_cast<double>(C));
      if (am) am[s * hw + p] = static_cast<I>(at);
    }
}

// The transpose of chanPoolMap into dx (zeroed, S x C x H x W): the mean's cotangent spread over the channels, the
// maximum's to the channel am names.
template <typename T, typename I>
void chanPoolBack(const Node& in, const T* dy, T* dx, int S, const I* am) {
  const size_t hw = static_cast<size_t>(in.h) * in.w, C = static_cast<size_t>(in.c);
  for (size_t o = 0; o < static_cast<size_t>(S) * hw; ++o) {
    if (am) {
      dx[static_cast<size_t>(am[o])] += dy[o];
      continue;
    }
    const T v = static_cast<T>(static_cast<double>(dy[o]) / static_cast<double>(C));
    for (size_t c = 0; c < C; ++c) dx[((o / hw) * C + c) * hw + o % hw] = v;
  }
}

// One axis of PyTorch's bilinear resize from `in` to `out` positions (bilinearAxis in src/ir/ops.ts): output i reads
// inputs i0[i] and i1[i] with weights 1 - l[i] and l[i].
struct LinearAxis {
  std::vector<int> i0, i1;
  std::vector<double> l;
};
inline LinearAxis bilinearAxis(int in, int out, bool alignCorners) {
  LinearAxis a;
  a.i0.resize(static_cast<size_t>(out));
  a.i1.resize(static_cast<size_t>(out));
  a.l.resize(static_cast<size_t>(out));
  for (int i = 0; i < out; ++i) {
    const double src = alignCorners ? (out > 1 ? static_cast<double>(i) * (in - 1) / (out - 1) : 0.0)
                                    : std::max((i + 0.5) * in / out - 0.5, 0.0);
    const size_t k = static_cast<size_t>(i);
    a.i0[k] = std::min(static_cast<int>(std::floor(src)), in - 1);
    a.i1[k] = std::min(a.i0[k] + 1, in - 1);
    a.l[k] = src - a.i0[k];
  }
  return a;
}

// Bilinear resize of S samples of n's (n.c, srcH, srcW) input to its h x w map, in double; back: the transpose, each
// output's cotangent added to its four inputs in output order (bilinearInto in src/backends/reference/loops.ts: the
// same order, so the float64 passes equal it bit for bit).
template <typename T>
void bilinearMap(const Node& n, const T* x, T* y, int S, bool back) {
  const LinearAxis rows = bilinearAxis(n.srcH, n.h, n.alignCorners), cols = bilinearAxis(n.srcW, n.w, n.alignCorners);
  const size_t inPlane = static_cast<size_t>(n.srcH) * n.srcW, outPlane = static_cast<size_t>(n.h) * n.w;
  std::vector<double> acc(back ? inPlane : 0);
  for (size_t p = 0; p < static_cast<size_t>(S) * n.c; ++p) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int i = 0; i < n.h; ++i) {
      const size_t r0 = static_cast<size_t>(rows.i0[static_cast<size_t>(i)]) * n.srcW, r1 = static_cast<size_t>(rows.i1[static_cast<size_t>(i)]) * n.srcW;
      const double lh = rows.l[static_cast<size_t>(i)];
      for (int j = 0; j < n.w; ++j) {
        const size_t c0 = static_cast<size_t>(cols.i0[static_cast<size_t>(j)]), c1 = static_cast<size_t>(cols.i1[static_cast<size_t>(j)]);
        const double lw = cols.l[static_cast<size_t>(j)];
        const size_t o = p * outPlane + static_cast<size_t>(i) * n.w + static_cast<size_t>(j);
        if (back) {
          const double g = static_cast<double>(x[o]);
          acc[r0 + c0] += (1 - lh) * (1 - lw) * g;
          acc[r0 + c1] += (1 - lh) * lw * g;
          acc[r1 + c0] += lh * (1 - lw) * g;
          acc[r1 + c1] += lh * lw * g;
        } else {
          const T* xs = x + p * inPlane;
          const double top = (1 - lw) * static_cast<double>(xs[r0 + c0]) + lw * static_cast<double>(xs[r0 + c1]);
          const double bottom = (1 - lw) * static_cast<double>(xs[r1 + c0]) + lw * static_cast<double>(xs[r1 + c1]);
          y[o] = static_cast<T>((1 - lh) * top + lh * bottom);
        }
      }
    }
    if (back)
      for (size_t k = 0; k < inPlane; ++k) y[p * inPlane + k] = static_cast<T>(acc[k]);
  }
}

template <typename T>
void upsampleMap(const Node& n, const T* x, T* y, int S, bool back) {
  if (n.bilinear) {
    bilinearMap(n, x, y, S, back);
    return;
  }
  const int s = n.scale, H = n.h / s, W = n.w / s;
  const size_t planes = static_cast<size_t>(S) * n.c;
  for (size_t p = 0; p < planes; ++p)
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        const size_t at = (p * H + i) * W + j;
        double acc = 0;
        for (int di = 0; di < s; ++di) {
          const size_t row = (p * n.h + static_cast<size_t>(i) * s + di) * n.w + static_cast<size_t>(j) * s;
          for (int dj = 0; dj < s; ++dj) {
            if (back) acc += x[row + dj];
            else y[row + dj] = x[at];
          }
        }
        if (back) y[at] = static_cast<T>(acc);
      }
}

// A map broadcast along its unit axes to n's shape (expand): y[s][c][i][j] = x at (c, i, j), 0 along an axis of size
// 1. back: the transpose, x the output's cotangent and y the input's, each input the sum of its copies in output
// order in double (expandInto in src/backends/reference/loops.ts sums in the same order).
template <typename T>
void expandMap(const Node& in, const Node& n, const T* x, T* y, int S, bool back) {
  const size_t C = n.c, H = n.h, W = n.w, ic = in.c, ih = in.h, iw = in.w;
  const size_t cs = ic == 1 ? C : 1, hs = ih == 1 ? H : 1, ws = iw == 1 ? W : 1;  // copies along each axis
  for (size_t s = 0; s < static_cast<size_t>(S); ++s)
    for (size_t c0 = 0; c0 < ic; ++c0)
      for (size_t i0 = 0; i0 < ih; ++i0)
        for (size_t j0 = 0; j0 < iw; ++j0) {
          const size_t at = ((s * ic + c0) * ih + i0) * iw + j0;
          double acc = 0;
          for (size_t c = c0; c < c0 + cs; ++c)
            for (size_t i = i0; i < i0 + hs; ++i)
              for (size_t j = j0; j < j0 + ws; ++j) {
                const size_t o = ((s * C + c) * H + i) * W + j;
                if (back) acc += x[o];
                else y[o] = x[at];
              }
          if (back) y[at] = static_cast<T>(acc);
        }
}

// A sigmoid gate's value (sigmoidValue in src/ir/ops.ts): the logistic, or PyTorch's hardsigmoid.
template <typename T>
inline T sigmoidValue(const Node& n, T x) {
  if (!n.hard) return T(1) / (T(1) + std::exp(-x));
  return x <= T(-3) ? T(0) : x >= T(3) ? T(1) : x / T(6) + T(0.5);
}

// Its derivative from the output y (sigmoidSlope): y (1 - y), or 1/6 where the hard one is not saturated.
template <typename T>
inline T sigmoidSlope(const Node& n, T y) {
  if (!n.hard) return y * (T(1) - y);
  return y > T(0) && y < T(1) ? T(1) / T(6) : T(0);
}

// The factor a ReLU node multiplies its cotangent by where its output is y (reluGrad in src/ir/ops.ts): 1 where it
// passes (y > 0, below a clip: PyTorch's relu / hardtanh rules), a leaky one's slope at y <= 0 (leaky_relu's), else
// 0. The cotangent is then written as d, 0 or d * factor, so a stopped NaN / inf cotangent stays 0 as in PyTorch.
template <typename T>
inline T reluCotangent(const Node& n, T y, T d) {
  if (y > 0) return !n.capped || y < n.clip ? d : T(0);
  return n.leaky ? d * static_cast<T>(n.slope) : T(0);
}

// out[e] = reluCotangent(n, y[e], d[e]) for e < count (out may be d), with the node's flags read once: stores
// through a float pointer may alias the Node's float fields, so a loop over reluCotangent re-reads them (and branches
// on them) per element.
template <typename T>
inline void reluCotangents(const Node& n, const T* y, const T* d, T* out, size_t count) {
  const bool capped = n.capped;
  const float clip = n.clip;
  const T slope = static_cast<T>(n.slope);
  if (n.leaky) {
    for (size_t e = 0; e < count; ++e) out[e] = y[e] > 0 ? (!capped || y[e] < clip ? d[e] : T(0)) : d[e] * slope;
  } else if (n.capped) {
    for (size_t e = 0; e < count; ++e) out[e] = y[e] > 0 && y[e] < clip ? d[e] : T(0);
  } else {
    for (size_t e = 0; e < count; ++e) out[e] = y[e] > 0 ? d[e] : T(0);
  }
}

struct Net {
  std::vector<Node> nodes;
  int output = 0;
  // Ancestors of recorded ReLUs; everything else (the classifier head) is skipped.
  std::vector<uint8_t> needed;
  // Last needed consumer of each node (-1: none), so buffers are recycled right after it ran.
  std::vector<int> lastUse;
  // Recorded neurons per sample (V) and the number of recorded ReLUs.
  size_t recordedNeurons = 0;
  int recordedLayers = 0;
};

// Parses and validates one network program of `len` words; the input node must be c×h×w.
// Throws Failure("E_BACKEND", ...) naming the node and field that is wrong.
Net parseNet(const int32_t* program, size_t len, int inC, int inH, int inW);

}  // namespace swapnas
