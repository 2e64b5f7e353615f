#include "f64_conv.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace swapnas {

namespace {

// Eight doubles, one output element's chain per lane. Element-wise vector arithmetic is IEEE per lane, so a lane
// computes exactly what the scalar loop computes for its element.
typedef double v8d __attribute__((vector_size(64)));
constexpr int kLanes = 8;
constexpr int kMaxVectors = 8;  // vectors one kernel call keeps in registers (64 channels)
// Below this many channels per lane group the padding wastes more than the lanes gain: the scalar loops run.
constexpr int kMinLaneChannels = 4;

// [lo, hi): the outputs t whose input t * stride - pad + off lies in [0, inLen) (empty when hi <= lo).
std::pair<int, int> validRange(int outLen, int stride, int pad, int off, int inLen) {
  const int a = pad - off, b = inLen - 1 + pad - off;
  const int lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  const int hi = b < 0 ? 0 : std::min(outLen, b / stride + 1);
  return {lo, hi};
}

// One convolution's geometry as the reference loops see it, with each kernel row's and column's valid outputs.
struct Geometry {
  // KH, strideH, padH, dilH: the height's window; KW, strideW, padW, dilW: the width's
  int cinG, coutG, H, W, OH, OW, KH, KW, strideH, strideW, padH, padW, dilH, dilW;
  std::vector<std::pair<int, int>> rows, cols;  // per kh / kw: the output rows / columns that read inside the input
  Geometry(const Node& n, const Node& in)
      : cinG(n.cin / n.groups),
        coutG(n.cout / n.groups),
        H(in.h),
        W(in.w),
        OH(n.h),
        OW(n.w),
        KH(n.k),
        KW(n.kw),
        strideH(n.stride),
        strideW(n.strideW),
        padH(n.pad),
        padW(n.padW),
        dilH(n.dilation),
        dilW(n.dilationW) {
    for (int t = 0; t < KH; ++t) rows.push_back(validRange(OH, strideH, padH, t * dilH, H));
    for (int t = 0; t < KW; ++t) cols.push_back(validRange(OW, strideW, padW, t * dilW, W));
  }
  int taps() const { return KH * KW; }
  size_t weightAt(int oc, int icg, int kh, int kw) const { return ((static_cast<size_t>(oc) * cinG + icg) * KH + kh) * KW + kw; }
  int inRow(int oh, int kh) const { return oh * strideH - padH + kh * dilH; }
  int inCol(int ow, int kw) const { return ow * strideW - padW + kw * dilW; }
  size_t plane() const { return static_cast<size_t>(OH) * OW; }
  size_t inPlane() const { return static_cast<size_t>(H) * W; }
  static bool inside(int t, const std::pair<int, int>& r) { return t >= r.first && t < r.second; }
};

int vectorsFor(int channels) { return (channels + kLanes - 1) / kLanes; }

// Runs Kernel<NV>::run(args...) for the vector count nv (1..kMaxVectors), so each kernel keeps its chains in registers.
template <template <int> class Kernel, typename... Args>
void withVectors(int nv, Args&&... args) {
  switch (nv) {
    case 1: return Kernel<1>::run(args...);
    case 2: return Kernel<2>::run(args...);
    case 3: return Kernel<3>::run(args...);
    case 4: return Kernel<4>::run(args...);
    case 5: return Kernel<5>::run(args...);
    case 6: return Kernel<6>::run(args...);
    case 7: return Kernel<7>::run(args...);
    default: return Kernel<8>::run(args...);
  }
}

// Lane i of acc into out[i * stride] for the lanes below `count`.
template <int NV>
void storeLanes(const v8d* acc, int count, double* out, size_t stride) {
  for (int v = 0; v < NV; ++v)
    for (int l = 0; l < kLanes && v * kLanes + l < count; ++l) out[static_cast<size_t>(v * kLanes + l) * stride] = acc[v][l];
}

// ---- forward: lanes are a group's output channels; weights packed as [icg][kh][kw][lane vector] ----

struct ForwardArgs {
  const Geometry& g;
  const double* x;     // the sample's input channels of the group
  const v8d* w;        // packed weights of the group, `vectors` per tap
  int vectors, v0;     // the group's vector count; this call's first vector
  const double* bias;  // the chunk's first channel's bias (null: none)
  int count;           // channels of this chunk
  double* y;           // the chunk's first output channel
  int r0, r1;          // the output rows of this part
};

// Positions one call runs side by side besides its NV vectors, so that about eight independent chains hide the add
// latency: P adjacent outputs (or P input channels in the weight gradient) times NV vectors.
template <int NV>
constexpr int kSide = NV <= 2 ? 4 : NV <= 4 ? 2 : 1;

// P adjacent outputs (oh, ow + j), j < P: with P > 1 every kernel column must read inside the input for all of them.
template <int NV, int P>
void forwardOutputs(const ForwardArgs& a, const v8d* start, int oh, int ow) {
  const Geometry& g = a.g;
  v8d acc[P][NV];
  for (int j = 0; j < P; ++j)
    for (int v = 0; v < NV; ++v) acc[j][v] = start[v];
  for (int icg = 0; icg < g.cinG; ++icg)
    for (int kh = 0; kh < g.KH; ++kh) {
      if (!Geometry::inside(oh, g.rows[kh])) continue;
      const double* xr = a.x + icg * g.inPlane() + static_cast<size_t>(g.inRow(oh, kh)) * g.W;
      for (int kw = 0; kw < g.KW; ++kw) {
        if (P == 1 && !Geometry::inside(ow, g.cols[kw])) continue;
        const double* xp = xr + g.inCol(ow, kw);
        const v8d* wv = a.w + ((static_cast<size_t>(icg) * g.KH + kh) * g.KW + kw) * a.vectors + a.v0;
        for (int j = 0; j < P; ++j) {
          const double xb = xp[j * g.strideW];
          for (int v = 0; v < NV; ++v) acc[j][v] += wv[v] * xb;
        }
      }
    }
  for (int j = 0; j < P; ++j) storeLanes<NV>(acc[j], a.count, a.y + static_cast<size_t>(oh) * g.OW + ow + j, g.plane());
}

template <int NV>
struct ForwardKernel {
  static void run(const ForwardArgs& a) {
    const Geometry& g = a.g;
    v8d start[NV];  // each chain starts at its channel's bias, as the reference's fill
    for (int v = 0; v < NV; ++v) {
      start[v] = v8d{};
      for (int l = 0; l < kLanes && a.bias && v * kLanes + l < a.count; ++l) start[v][l] = a.bias[v * kLanes + l];
    }
    // columns where every kernel column reads inside the input
    int lo = 0, hi = g.OW;
    for (const auto& c : g.cols) lo = std::max(lo, c.first), hi = std::min(hi, c.second);
    constexpr int P = kSide<NV>;
    for (int oh = a.r0; oh < a.r1; ++oh)
      for (int ow = 0; ow < g.OW;) {
        if (P > 1 && ow >= lo && ow + P <= hi) {
          forwardOutputs<NV, P>(a, start, oh, ow);
          ow += P;
        } else {
          forwardOutputs<NV, 1>(a, start, oh, ow);
          ow += 1;
        }
      }
  }
};

// The reference loop itself (convAccumulate's order), for groups too narrow for lanes.
void forwardScalar(const Node& n, const Geometry& g, const double* x, const double* w, const double* bias, int S, double* y) {
  for (int s = 0; s < S; ++s)
    for (int oc = 0; oc < n.cout; ++oc) {
      double* acc = y + (static_cast<size_t>(s) * n.cout + oc) * g.plane();
      std::fill(acc, acc + g.plane(), bias ? bias[oc] : 0.0);
      const int grp = oc / g.coutG;
      for (int icg = 0; icg < g.cinG; ++icg) {
        const double* xc = x + (static_cast<size_t>(s) * n.cin + grp * g.cinG + icg) * g.inPlane();
        for (int kh = 0; kh < g.KH; ++kh)
          for (int kw = 0; kw < g.KW; ++kw) {
            const double wv = w[g.weightAt(oc, icg, kh, kw)];
            const auto [lo, hi] = g.cols[kw];
            for (int oh = g.rows[kh].first; oh < g.rows[kh].second; ++oh) {
              const double* xr = xc + static_cast<size_t>(g.inRow(oh, kh)) * g.W;
              double* yr = acc + static_cast<size_t>(oh) * g.OW;
              for (int ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[g.inCol(ow, kw)];
            }
          }
      }
    }
}

// ---- data gradient: lanes are a group's input channels; weights packed as [ocg][kh][kw][lane vector] ----

// Per input row (column): the (kernel row, output row) pairs that reach it, kernel row ascending.
std::vector<std::vector<std::pair<int, int>>> tapsReaching(int inLen, int outLen, int K, int stride, int pad, int dil) {
  std::vector<std::vector<std::pair<int, int>>> taps(static_cast<size_t>(inLen));
  for (int i = 0; i < inLen; ++i)
    for (int k = 0; k < K; ++k) {
      const int t = i + pad - k * dil;
      if (t >= 0 && t % stride == 0 && t / stride < outLen) taps[static_cast<size_t>(i)].push_back({k, t / stride});
    }
  return taps;
}

struct DataArgs {
  const Geometry& g;
  const std::vector<std::vector<std::pair<int, int>>>& rowTaps;
  const std::vector<std::vector<std::pair<int, int>>>& colTaps;
  const double* dy;  // the sample's output channels of the group
  const v8d* w;      // packed weights of the group, `vectors` per tap
  int vectors, v0, count;
  double* dx;  // the chunk's first input channel
  int r0, r1;  // the input rows of this part
};

// P adjacent inputs (ih, iw + j), j < P: with P > 1 (stride 1 only) every kernel column reaches all of them.
template <int NV, int P>
void dataInputs(const DataArgs& a, int ih, int iw) {
  const Geometry& g = a.g;
  v8d acc[P][NV];
  for (int j = 0; j < P; ++j)
    for (int v = 0; v < NV; ++v) acc[j][v] = v8d{};
  for (int ocg = 0; ocg < g.coutG; ++ocg) {
    const double* dyc = a.dy + ocg * g.plane();
    for (const auto& [kh, oh] : a.rowTaps[static_cast<size_t>(ih)]) {
      const double* dr = dyc + static_cast<size_t>(oh) * g.OW;
      const v8d* wk = a.w + (static_cast<size_t>(ocg) * g.KH + kh) * g.KW * a.vectors + a.v0;
      if (P == 1) {
        for (const auto& [kw, ow] : a.colTaps[static_cast<size_t>(iw)]) {
          const double d = dr[ow];
          const v8d* wv = wk + static_cast<size_t>(kw) * a.vectors;
          for (int v = 0; v < NV; ++v) acc[0][v] += wv[v] * d;
        }
        continue;
      }
      for (int kw = 0; kw < g.KW; ++kw) {
        const double* dp = dr + (iw + g.padW - kw * g.dilW);
        const v8d* wv = wk + static_cast<size_t>(kw) * a.vectors;
        for (int j = 0; j < P; ++j) {
          const double d = dp[j];
          for (int v = 0; v < NV; ++v) acc[j][v] += wv[v] * d;
        }
      }
    }
  }
  for (int j = 0; j < P; ++j) storeLanes<NV>(acc[j], a.count, a.dx + static_cast<size_t>(ih) * g.W + iw + j, g.inPlane());
}

template <int NV>
struct DataKernel {
  static void run(const DataArgs& a) {
    const Geometry& g = a.g;
    constexpr int P = kSide<NV>;
    const auto full = [&](int iw) { return a.colTaps[static_cast<size_t>(iw)].size() == static_cast<size_t>(g.KW); };
    for (int ih = a.r0; ih < a.r1; ++ih)
      for (int iw = 0; iw < g.W;) {
        // with stride 1 the inputs every kernel column reaches form one interval: its two ends decide
        if (P > 1 && g.strideW == 1 && iw + P <= g.W && full(iw) && full(iw + P - 1)) {
          dataInputs<NV, P>(a, ih, iw);
          iw += P;
        } else {
          dataInputs<NV, 1>(a, ih, iw);
          iw += 1;
        }
      }
  }
};

// The reference loop's order per input element (output channel, kernel row, kernel column), one input channel at a time.
void dataScalar(const Node& n, const Geometry& g, const double* dy, const double* w, int S, double* dx) {
  for (int s = 0; s < S; ++s)
    for (int ic = 0; ic < n.cin; ++ic) {
      double* dxc = dx + (static_cast<size_t>(s) * n.cin + ic) * g.inPlane();
      std::fill(dxc, dxc + g.inPlane(), 0.0);
      const int grp = ic / g.cinG, icg = ic % g.cinG;
      for (int oc = grp * g.coutG; oc < (grp + 1) * g.coutG; ++oc) {
        const double* dyc = dy + (static_cast<size_t>(s) * n.cout + oc) * g.plane();
        for (int kh = 0; kh < g.KH; ++kh)
          for (int kw = 0; kw < g.KW; ++kw) {
            const double wv = w[g.weightAt(oc, icg, kh, kw)];
            const auto [lo, hi] = g.cols[kw];
            for (int oh = g.rows[kh].first; oh < g.rows[kh].second; ++oh) {
              double* xr = dxc + static_cast<size_t>(g.inRow(oh, kh)) * g.W;
              const double* yr = dyc + static_cast<size_t>(oh) * g.OW;
              for (int ow = lo; ow < hi; ++ow) xr[g.inCol(ow, kw)] += wv * yr[ow];
            }
          }
      }
    }
}

// ---- weight gradient: lanes are a group's output channels; dy transposed to [position][lane vector] ----

struct WeightArgs {
  const Geometry& g;
  const double* x;  // the sample's input channels of the group
  const v8d* dyT;   // the group's output gradient, `vectors` per position
  int vectors, v0, count;
  double* dw;    // the chunk's first output channel's weights
  int c0, c1;    // the input channels (of the group) of this part
};

// The gradients of C input channels' taps (kh, kw) at once (C x NV chains), each summed over positions in order.
template <int NV, int C>
void weightTaps(const WeightArgs& a, int icg0, int kh, int kw) {
  const Geometry& g = a.g;
  v8d acc[C][NV];
  for (int c = 0; c < C; ++c)
    for (int v = 0; v < NV; ++v) acc[c][v] = v8d{};
  const auto [lo, hi] = g.cols[kw];
  for (int oh = g.rows[kh].first; oh < g.rows[kh].second; ++oh) {
    const double* xr = a.x + icg0 * g.inPlane() + static_cast<size_t>(g.inRow(oh, kh)) * g.W;
    for (int ow = lo; ow < hi; ++ow) {
      const v8d* d = a.dyT + (static_cast<size_t>(oh) * g.OW + ow) * a.vectors + a.v0;
      for (int c = 0; c < C; ++c) {
        const double xb = xr[c * g.inPlane() + g.inCol(ow, kw)];
        for (int v = 0; v < NV; ++v) acc[c][v] += xb * d[v];
      }
    }
  }
  const size_t ocStride = static_cast<size_t>(g.cinG) * g.taps();
  for (int c = 0; c < C; ++c)
    for (int v = 0; v < NV; ++v)
      for (int l = 0; l < kLanes && v * kLanes + l < a.count; ++l)
        a.dw[static_cast<size_t>(v * kLanes + l) * ocStride + g.weightAt(0, icg0 + c, kh, kw)] += acc[c][v][l];
}

template <int NV>
struct WeightKernel {
  static void run(const WeightArgs& a) {
    const Geometry& g = a.g;
    constexpr int C = kSide<NV>;
    for (int icg = a.c0; icg < a.c1;) {
      const bool block = C > 1 && icg + C <= a.c1;
      for (int kh = 0; kh < g.KH; ++kh)
        for (int kw = 0; kw < g.KW; ++kw) block ? weightTaps<NV, C>(a, icg, kh, kw) : weightTaps<NV, 1>(a, icg, kh, kw);
      icg += block ? C : 1;
    }
  }
};

// The reference loop (convBackward's order: per sample, output channel, input channel, kernel row and column).
void weightScalar(const Node& n, const Geometry& g, const double* x, const double* dy, int S, double* dw) {
  for (int s = 0; s < S; ++s)
    for (int oc = 0; oc < n.cout; ++oc) {
      const double* dyc = dy + (static_cast<size_t>(s) * n.cout + oc) * g.plane();
      const int grp = oc / g.coutG;
      for (int icg = 0; icg < g.cinG; ++icg) {
        const double* xc = x + (static_cast<size_t>(s) * n.cin + grp * g.cinG + icg) * g.inPlane();
        for (int kh = 0; kh < g.KH; ++kh)
          for (int kw = 0; kw < g.KW; ++kw) {
            const auto [lo, hi] = g.cols[kw];
            double acc = 0;
            for (int oh = g.rows[kh].first; oh < g.rows[kh].second; ++oh) {
              const double* xr = xc + static_cast<size_t>(g.inRow(oh, kh)) * g.W;
              const double* yr = dyc + static_cast<size_t>(oh) * g.OW;
              for (int ow = lo; ow < hi; ++ow) acc += xr[g.inCol(ow, kw)] * yr[ow];
            }
            dw[g.weightAt(oc, icg, kh, kw)] += acc;
          }
      }
    }
}

// Weights of group grp as [outer][kh][kw][lane vector]: lanes over output channels (byOutput: outer = icg) or over
// input channels (outer = output channel of the group); missing lanes are zero.
std::vector<v8d> packWeights(const Geometry& g, const double* w, int grp, bool byOutput) {
  const int outer = byOutput ? g.cinG : g.coutG, lanes = byOutput ? g.coutG : g.cinG, vectors = vectorsFor(lanes);
  std::vector<v8d> p(static_cast<size_t>(outer) * g.taps() * vectors, v8d{});
  for (int o = 0; o < outer; ++o)
    for (int kh = 0; kh < g.KH; ++kh)
      for (int kw = 0; kw < g.KW; ++kw)
        for (int l = 0; l < lanes; ++l) {
          const int oc = grp * g.coutG + (byOutput ? l : o), icg = byOutput ? o : l;
          p[((static_cast<size_t>(o) * g.KH + kh) * g.KW + kw) * vectors + l / kLanes][l % kLanes] = w[g.weightAt(oc, icg, kh, kw)];
        }
  return p;
}

}  // namespace

void f64ConvForward(const Node& n, const Node& in, const double* x, const double* w, const double* bias, int S, double* y, const RowSplit& split) {
  if (n.transposed) {
    // the adjoint's backward-data, then the bias (convForward in src/backends/reference/conv.ts: the same order)
    const Adjoint a = adjointOf(n, in);
    f64ConvBackwardData(a.conv, a.from, x, w, S, y, split);
    if (bias) {
      const size_t plane = static_cast<size_t>(n.h) * n.w;
      for (size_t sc = 0; sc < static_cast<size_t>(S) * n.cout; ++sc)
        for (size_t k = 0; k < plane; ++k) y[sc * plane + k] += bias[sc % static_cast<size_t>(n.cout)];
    }
    return;
  }
  const Geometry g(n, in);
  if (g.coutG < kMinLaneChannels) return forwardScalar(n, g, x, w, bias, S, y);
  const int vectors = vectorsFor(g.coutG);
  for (int grp = 0; grp < n.groups; ++grp) {
    const std::vector<v8d> packed = packWeights(g, w, grp, true);
    for (int s = 0; s < S; ++s)
      for (int v0 = 0; v0 < vectors; v0 += kMaxVectors) {
        const int oc0 = grp * g.coutG + v0 * kLanes, nv = std::min(kMaxVectors, vectors - v0);
        const int count = std::min(nv * kLanes, (grp + 1) * g.coutG - oc0);
        split(g.OH, g.plane() * count * g.cinG * g.taps(), [&](int r0, int r1) {
          const ForwardArgs a{g, x + (static_cast<size_t>(s) * n.cin + grp * g.cinG) * g.inPlane(), packed.data(), vectors, v0,
                              bias ? bias + oc0 : nullptr, count, y + (static_cast<size_t>(s) * n.cout + oc0) * g.plane(), r0, r1};
          withVectors<ForwardKernel>(nv, a);
        });
      }
  }
}

void f64ConvBackwardData(const Node& n, const Node& in, const double* dy, const double* w, int S, double* dx, const RowSplit& split) {
  if (n.transposed) {
    const Adjoint a = adjointOf(n, in);
    f64ConvForward(a.conv, a.from, dy, w, nullptr, S, dx, split);
    return;
  }
  const Geometry g(n, in);
  if (g.cinG < kMinLaneChannels) return dataScalar(n, g, dy, w, S, dx);
  const auto rowTaps = tapsReaching(g.H, g.OH, g.KH, g.strideH, g.padH, g.dilH);
  const auto colTaps = tapsReaching(g.W, g.OW, g.KW, g.strideW, g.padW, g.dilW);
  const int vectors = vectorsFor(g.cinG);
  for (int grp = 0; grp < n.groups; ++grp) {
    const std::vector<v8d> packed = packWeights(g, w, grp, false);
    for (int s = 0; s < S; ++s)
      for (int v0 = 0; v0 < vectors; v0 += kMaxVectors) {
        const int ic0 = grp * g.cinG + v0 * kLanes, nv = std::min(kMaxVectors, vectors - v0);
        const int count = std::min(nv * kLanes, (grp + 1) * g.cinG - ic0);
        split(g.H, g.plane() * count * g.coutG * g.taps(), [&](int r0, int r1) {
          const DataArgs a{g, rowTaps, colTaps, dy + (static_cast<size_t>(s) * n.cout + grp * g.coutG) * g.plane(), packed.data(), vectors, v0,
                           count, dx + (static_cast<size_t>(s) * n.cin + ic0) * g.inPlane(), r0, r1};
          withVectors<DataKernel>(nv, a);
        });
      }
  }
}

void f64ConvBackwardWeights(const Node& n, const Node& in, const double* x, const double* dy, int S, double* dw, const RowSplit& split) {
  if (n.transposed) {
    const Adjoint a = adjointOf(n, in);
    f64ConvBackwardWeights(a.conv, a.from, dy, x, S, dw, split);
    return;
  }
  const Geometry g(n, in);
  if (g.coutG < kMinLaneChannels) return weightScalar(n, g, x, dy, S, dw);
  const int vectors = vectorsFor(g.coutG);
  std::vector<v8d> dyT(g.plane() * vectors);
  for (int s = 0; s < S; ++s)
    for (int grp = 0; grp < n.groups; ++grp) {
      std::fill(dyT.begin(), dyT.end(), v8d{});
      for (int ocg = 0; ocg < g.coutG; ++ocg) {
        const double* dyc = dy + (static_cast<size_t>(s) * n.cout + grp * g.coutG + ocg) * g.plane();
        for (size_t p = 0; p < g.plane(); ++p) dyT[p * vectors + ocg / kLanes][ocg % kLanes] = dyc[p];
      }
      for (int v0 = 0; v0 < vectors; v0 += kMaxVectors) {
        const int oc0 = grp * g.coutG + v0 * kLanes, nv = std::min(kMaxVectors, vectors - v0);
        const int count = std::min(nv * kLanes, (grp + 1) * g.coutG - oc0);
        split(g.cinG, g.plane() * count * g.cinG * g.taps(), [&](int c0, int c1) {
          const WeightArgs a{g, x + (static_cast<size_t>(s) * n.cin + grp * g.cinG) * g.inPlane(), dyT.data(), vectors, v0,
                             count, dw + g.weightAt(oc0, 0, 0, 0), c0, c1};
          withVectors<WeightKernel>(nv, a);
        });
      }
    }
}

}  // namespace swapnas
