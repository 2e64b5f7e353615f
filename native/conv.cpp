#include "conv.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "gemm.h"

namespace swapnas {

namespace {

// Cost of writing one im2col element, in multiply-accumulates (measured: short strided rows make it dear);
// decides implicit (padded) vs explicit im2col for stride-1 convolutions.
constexpr double kIm2colCost = 48.0;

// Row copies here are short (8-64 floats): explicit vector moves. The empty asm stops the compiler from turning
// the loop back into a memmove call, whose overhead dominates at these lengths.
typedef float vquarter __attribute__((vector_size(16)));

inline void copyRow(float* __restrict dst, const float* __restrict src, int n) {
  int i = 0;
  for (; i + kVecFloats <= n; i += kVecFloats) {
    storeu(dst + i, loadu(src + i));
    __asm__ volatile("");
  }
  for (; i + 4 <= n; i += 4) {
    vquarter v;
    std::memcpy(&v, src + i, sizeof v);
    std::memcpy(dst + i, &v, sizeof v);
    __asm__ volatile("");
  }
  for (; i < n; ++i) {
    dst[i] = src[i];
    __asm__ volatile("");
  }
}

inline size_t roundUp(size_t v, size_t m) { return (v + m - 1) / m * m; }

// Packs the weights of every group as kMR-row blocks of K x kMR, zero rows past cout/groups.
void packWeights(const float* w, int G, int coutG, int K, int mBlocks, float* A) {
  for (int g = 0; g < G; ++g) {
    for (int mb = 0; mb < mBlocks; ++mb) {
      float* dst = A + (static_cast<size_t>(g) * mBlocks + mb) * K * kMR;
      for (int m = 0; m < kMR; ++m) {
        const int co = mb * kMR + m;
        if (co < coutG) {
          const float* src = w + (static_cast<size_t>(g) * coutG + co) * K;
          for (int k = 0; k < K; ++k) dst[static_cast<size_t>(k) * kMR + m] = src[k];
        } else {
          for (int k = 0; k < K; ++k) dst[static_cast<size_t>(k) * kMR + m] = 0.0f;
        }
      }
    }
  }
}

// Depthwise (one input and one output channel per group): a direct loop beats a GEMM with one useful row.
void depthwise(const Node& n, const Node& in, const float* x, float* y, int S, const float* w) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, C = n.cout;
  const Window a = windowOf(n);
  const int st = a.sw;
  for (int s = 0; s < S; ++s) {
    for (int c = 0; c < C; ++c) {
      const float* xp = x + (static_cast<size_t>(s) * C + c) * H * W;
      float* yp = y + (static_cast<size_t>(s) * C + c) * OH * OW;
      const float* wc = w + static_cast<size_t>(c) * a.taps();
      for (int i = 0; i < OH * OW; ++i) yp[i] = 0.0f;
      for (int kh = 0; kh < a.kh; ++kh) {
        for (int kw = 0; kw < a.kw; ++kw) {
          const float wv = wc[kh * a.kw + kw];
          // Output columns whose tap lands inside the row: [lo, hi) (no per-element bounds test, so it vectorises).
          const int off = kw * a.dw - a.pw;
          const int lo = std::min(OW, off >= 0 ? 0 : (-off + st - 1) / st);
          const int hi = std::max(lo, std::min(OW, W - 1 - off < 0 ? 0 : (W - 1 - off) / st + 1));
          for (int oh = 0; oh < OH; ++oh) {
            const int ih = oh * a.sh - a.ph + kh * a.dh;
            if (ih < 0 || ih >= H) continue;
            const float* row = xp + static_cast<size_t>(ih) * W;
            float* out = yp + static_cast<size_t>(oh) * OW;
            if (st == 1) {
              for (int ow = lo; ow < hi; ++ow) out[ow] += wv * row[ow + off];
            } else {
              for (int ow = lo; ow < hi; ++ow) out[ow] += wv * row[ow * st + off];
            }
          }
        }
      }
    }
  }
}

// Copies rows [0, rows) x [0, cols) of a wide (ldw-strided) result into the dense output planes.
void compact(const float* wide, size_t ldw, int rows, int OH, int OW, int rowStride, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* src = wide + static_cast<size_t>(r) * ldw;
    float* dst = out + static_cast<size_t>(r) * OH * OW;
    for (int oh = 0; oh < OH; ++oh) copyRow(dst + static_cast<size_t>(oh) * OW, src + static_cast<size_t>(oh) * rowStride, OW);
  }
}

// Stride-1 convolution whose output rows are whole vectors (rowsPerVector = 1) or half vectors (2), weights packed.
// Samples are padded a chunk at a time (the chunk's padded input stays in L2) and the chunk's output vectors form
// one tile sequence, so register tiles run across sample boundaries.
void convRows(const Node& n, const Node& in, const float* x, float* y, int S, const float* A, size_t aGroup, int mBlocks, int rowsPerVector,
              ConvScratch& sc) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, G = n.groups;
  const Window a = windowOf(n);
  const int cinG = n.cin / G, coutG = n.cout / G;
  const int K = cinG * a.taps();
  const int Hp = H + a.ph + a.pb, Wp = W + a.pw + a.pr;
  const size_t HpWp = static_cast<size_t>(Hp) * Wp, HW = static_cast<size_t>(H) * W, OHW = static_cast<size_t>(OH) * OW;
  const size_t inPer = in.numel(), outPer = n.numel();
  const size_t padPer = static_cast<size_t>(n.cin) * HpWp;
  constexpr size_t kChunkFloats = 96 * 1024;
  // Offsets within a chunk are int32: at most 2^31 - 1 input or output floats per chunk.
  const size_t maxChunk = std::min(kChunkFloats / padPer, static_cast<size_t>(INT32_MAX) / std::max(outPer, padPer));
  const int chunk = static_cast<int>(std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(S), maxChunk)));
  std::vector<int32_t>& off = sc.off;
  off.resize(static_cast<size_t>(K));
  for (int ci = 0; ci < cinG; ++ci)
    for (int kh = 0; kh < a.kh; ++kh)
      for (int kw = 0; kw < a.kw; ++kw)
        off[static_cast<size_t>((ci * a.kh + kh) * a.kw + kw)] = static_cast<int32_t>(ci * HpWp + kh * a.dh * Wp + kw * a.dw);
  const int perSample = static_cast<int>(OHW / kVecFloats);
  std::vector<int32_t>& bBase = sc.base;
  std::vector<int32_t>& cBase = sc.cbase;
  bBase.resize(static_cast<size_t>(perSample) * chunk);
  cBase.resize(static_cast<size_t>(perSample) * chunk);
  for (int sl = 0; sl < chunk; ++sl)
    for (int q = 0; q < perSample; ++q) {
      const int pos = q * kVecFloats;
      bBase[static_cast<size_t>(sl) * perSample + q] = static_cast<int32_t>(sl * padPer + (pos / OW) * Wp + pos % OW);
      cBase[static_cast<size_t>(sl) * perSample + q] = static_cast<int32_t>(sl * outPer + pos);
    }
  float* padded = sc.padded.reserve(padPer * chunk);
  // Borders are written once; only the interior is rewritten per sample.
  std::memset(padded, 0, padPer * chunk * sizeof(float));
  for (int s0 = 0; s0 < S; s0 += chunk) {
    const int len = std::min(chunk, S - s0);
    for (int sl = 0; sl < len; ++sl) {
      const float* xs = x + static_cast<size_t>(s0 + sl) * inPer;
      float* ps = padded + sl * padPer;
      for (int ci = 0; ci < n.cin; ++ci)
        for (int ih = 0; ih < H; ++ih)
          copyRow(ps + ci * HpWp + static_cast<size_t>(ih + a.ph) * Wp + a.pw, xs + ci * HW + static_cast<size_t>(ih) * W, W);
    }
    float* ys = y + static_cast<size_t>(s0) * outPer;
    for (int g = 0; g < G; ++g) {
      gemmDirect(mBlocks, K, A + g * aGroup, padded + static_cast<size_t>(g) * cinG * HpWp, off.data(), bBase.data(), cBase.data(), perSample * len,
                 rowsPerVector, Wp, ys + static_cast<size_t>(g) * coutG * OHW, OHW);
    }
  }
}

// im2col of one group: row (ci, kh, kw) of `col` (N floats apart) holds, per output position, the padded input value that
// kernel tap multiplies (plane: floats per padded input channel, Wp: padded row length).
void gatherColumns(const Node& n, const float* Bg, size_t plane, int Wp, size_t N, float* col) {
  const Window a = windowOf(n);
  const int st = a.sw, OH = n.h, OW = n.w, cinG = n.cin / n.groups;
  for (int ci = 0; ci < cinG; ++ci)
    for (int kh = 0; kh < a.kh; ++kh)
      for (int kw = 0; kw < a.kw; ++kw) {
        float* dst = col + static_cast<size_t>((ci * a.kh + kh) * a.kw + kw) * N;
        const float* src = Bg + ci * plane + static_cast<size_t>(kh) * a.dh * Wp + kw * a.dw;
        for (int oh = 0; oh < OH; ++oh) {
          const float* srow = src + static_cast<size_t>(oh) * a.sh * Wp;
          float* drow = dst + static_cast<size_t>(oh) * OW;
          if (st == 1) {
            copyRow(drow, srow, OW);
          } else {
            for (int ow = 0; ow < OW; ++ow) drow[ow] = srow[ow * st];
          }
        }
      }
}

}  // namespace

int convRowsLayout(const Node& n) {
  const int coutG = n.cout / n.groups;
  const Window a = windowOf(n);
  const bool pointwise = a.taps() == 1 && a.sh == 1 && a.sw == 1 && std::max({a.ph, a.pw, a.pb, a.pr}) == 0;
  const bool depthwise = n.cin == n.groups && n.cout == n.groups;
  if (pointwise || depthwise || a.sh != 1 || a.sw != 1 || coutG % kMR != 0) return 0;
  if (n.w % kVecFloats == 0) return 1;
  if (2 * n.w == kVecFloats && n.h % 2 == 0) return 2;
  return 0;
}

void convForward(const Node& n, const Node& in, const float* x, float* y, int S, const float* w, ConvScratch& sc) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, G = n.groups;
  const Window a = windowOf(n);
  const int cinG = n.cin / G, coutG = n.cout / G;
  const size_t inPer = in.numel(), outPer = n.numel();
  const size_t HW = static_cast<size_t>(H) * W, OHW = static_cast<size_t>(OH) * OW;
  if (cinG == 1 && coutG == 1) {
    depthwise(n, in, x, y, S, w);
    return;
  }
  const int K = cinG * a.taps();
  const int mBlocks = (coutG + kMR - 1) / kMR;
  const int Mpad = mBlocks * kMR;
  float* A = sc.packedA.reserve(static_cast<size_t>(G) * Mpad * K);
  packWeights(w, G, coutG, K, mBlocks, A);
  const size_t aGroup = static_cast<size_t>(Mpad) * K;

  const bool stride1 = a.sh == 1 && a.sw == 1;
  const bool pointwise = a.taps() == 1 && stride1 && std::max({a.ph, a.pw, a.pb, a.pr}) == 0;
  const int Hp = H + a.ph + a.pb, Wp = W + a.pw + a.pr;
  const size_t HpWp = static_cast<size_t>(Hp) * Wp;
  if (const int rowsPerVector = convRowsLayout(n)) {
    convRows(n, in, x, y, S, A, aGroup, mBlocks, rowsPerVector, sc);
    return;
  }
  bool implicit = false;
  if (pointwise) {
    implicit = true;
  } else if (stride1) {
    const double costImplicit = static_cast<double>(roundUp(static_cast<size_t>(OH) * Wp, kNR)) * K * Mpad + 2.0 * cinG * HpWp;
    const double costIm2col = static_cast<double>(roundUp(OHW, kNR)) * K * Mpad + kIm2colCost * K * static_cast<double>(OHW);
    implicit = costImplicit <= costIm2col;
  }

  std::vector<int32_t>& off = sc.off;
  off.resize(static_cast<size_t>(K));
  const int rowStride = pointwise ? W : Wp;
  const size_t plane = pointwise ? HW : HpWp;
  // Implicit: output position o = oh*Wp + ow over the padded input, every (ci, kh, kw) a constant offset, so B
  // needs no packing. Explicit: col[K][N] gathered from the padded input, N = output positions rounded to a tile.
  const size_t N = implicit ? roundUp(static_cast<size_t>(OH) * rowStride, kNR) : roundUp(OHW, kNR);
  for (int ci = 0; ci < cinG; ++ci)
    for (int kh = 0; kh < a.kh; ++kh)
      for (int kw = 0; kw < a.kw; ++kw) {
        const size_t r = static_cast<size_t>((ci * a.kh + kh) * a.kw + kw);
        off[r] = static_cast<int32_t>(implicit ? ci * plane + kh * a.dh * Wp + kw * a.dw : r * N);
      }
  float* padded = nullptr;
  if (!pointwise) {
    const size_t maxRead =
        implicit ? static_cast<size_t>(n.cin - 1) * HpWp + static_cast<size_t>(a.kh - 1) * a.dh * Wp + static_cast<size_t>(a.kw - 1) * a.dw + N : 0;
    const size_t size = std::max(static_cast<size_t>(n.cin) * HpWp, maxRead);
    padded = sc.padded.reserve(size);
    std::memset(padded, 0, size * sizeof(float));
  }
  float* col = nullptr;
  if (!implicit) {
    // The tail columns past OH*OW stay zero.
    col = sc.col.reserve(static_cast<size_t>(K) * N);
    std::memset(col, 0, static_cast<size_t>(K) * N * sizeof(float));
  }
  const bool direct = (implicit ? pointwise : true) && N == OHW && Mpad == coutG;
  float* wide = direct ? nullptr : sc.wide.reserve(static_cast<size_t>(G) * Mpad * N);
  for (int s = 0; s < S; ++s) {
    const float* xs = x + s * inPer;
    float* ys = y + s * outPer;
    const float* B = xs;
    if (!pointwise) {
      for (int ci = 0; ci < n.cin; ++ci)
        for (int ih = 0; ih < H; ++ih)
          copyRow(padded + ci * HpWp + static_cast<size_t>(ih + a.ph) * Wp + a.pw, xs + ci * HW + static_cast<size_t>(ih) * W, W);
      B = padded;
    }
    for (int g = 0; g < G; ++g) {
      const float* Bg = B + static_cast<size_t>(g) * cinG * plane;
      if (!implicit) {
        gatherColumns(n, Bg, plane, Wp, N, col);
        Bg = col;
      }
      float* yg = ys + static_cast<size_t>(g) * coutG * OHW;
      if (direct) {
        gemmOffsets(mBlocks, K, A + g * aGroup, Bg, off.data(), static_cast<int>(N), yg, OHW);
      } else {
        float* Cg = wide + static_cast<size_t>(g) * Mpad * N;
        gemmOffsets(mBlocks, K, A + g * aGroup, Bg, off.data(), static_cast<int>(N), Cg, N);
        compact(Cg, N, coutG, OH, OW, implicit ? rowStride : OW, yg);
      }
    }
  }
}

}  // namespace swapnas
