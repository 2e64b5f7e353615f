// CUDA kernels and host orchestration of the swapnas CUDA engine (see engine.h for the semantics and limits).
// Compiled with --fmad=false (CMakeLists.txt): double/float arithmetic rounds exactly as written, like the CPU
// engine's -ffp-contract=off code; the convolution uses explicit fmaf.

#include "engine.h"

#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "patterns.h"
#include "prng.h"
#include "thread_pool.h"

#ifndef SWAPNAS_CUDA_ARCHS
#define SWAPNAS_CUDA_ARCHS "unknown"
#endif

namespace swapnas {
namespace cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kMaxAddInputs = 16;
constexpr int kMaxStreams = 16;
// Per-stream weight cache budget; past it, tensors are uploaded for one use.
constexpr size_t kWeightCacheBytes = size_t(512) << 20;
// A stream synchronizes (progress, cancellation, bounded run-ahead) every this many items.
constexpr int kSyncEvery = 8;

std::string errText(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

#define SWAPNAS_CK(expr)                                                           \
  do {                                                                             \
    const cudaError_t _e = (expr);                                                 \
    if (_e != cudaSuccess) fail(std::string("CUDA: " #expr " failed: ") + errText(_e)); \
  } while (0)

// Grid size cap of the grid-stride kernels.
constexpr unsigned kGridCap = 65535u * 8u;
// At least one block: an empty grid is a launch error (cudaErrorInvalidConfiguration); the kernels bound-check.
inline unsigned blocksFor(size_t n) { return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>((n + kThreads - 1) / kThreads, 1u << 30))); }

// ---------------------------------------------------------------------------------------------- kernels

// One thread per (sample, group of 4 output channels, output pixel); float32 accumulation with FMA in
// (ci, kh, kw) order. Weights are PyTorch layout [cout][cin/groups][k][k]; bias ignored as in the reference.
constexpr int kCoBlock = 4;
__global__ void convKernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, int S, int Cin, int H,
                           int W, int Cout, int OH, int OW, Window a, int groups) {
  const int coutG = Cout / groups, cinG = Cin / groups;
  const int coBlocks = (coutG + kCoBlock - 1) / kCoBlock;
  const size_t pix = static_cast<size_t>(OH) * OW;
  const size_t total = static_cast<size_t>(S) * groups * coBlocks * pix;
  for (size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; idx < total; idx += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int p = static_cast<int>(idx % pix);
    size_t r = idx / pix;
    const int cb = static_cast<int>(r % coBlocks);
    r /= coBlocks;
    const int g = static_cast<int>(r % groups);
    const int s = static_cast<int>(r / groups);
    const int oh = p / OW, ow = p % OW;
    const int co0 = g * coutG + cb * kCoBlock;
    const int nco = min(kCoBlock, coutG - cb * kCoBlock);
    float acc[kCoBlock] = {0.f, 0.f, 0.f, 0.f};
    const float* xs = x + (static_cast<size_t>(s) * Cin + static_cast<size_t>(g) * cinG) * H * W;
    for (int ci = 0; ci < cinG; ++ci) {
      const float* xp = xs + static_cast<size_t>(ci) * H * W;
      for (int kh = 0; kh < a.kh; ++kh) {
        const int ih = oh * a.sh - a.ph + kh * a.dh;
        if (ih < 0 || ih >= H) continue;
        for (int kw = 0; kw < a.kw; ++kw) {
          const int iw = ow * a.sw - a.pw + kw * a.dw;
          if (iw < 0 || iw >= W) continue;
          const float xv = __ldg(xp + static_cast<size_t>(ih) * W + iw);
          const size_t wo = (static_cast<size_t>(ci) * a.kh + kh) * a.kw + kw;
#pragma unroll
          for (int q = 0; q < kCoBlock; ++q)
            if (q < nco) acc[q] = __fmaf_rn(__ldg(w + static_cast<size_t>(co0 + q) * cinG * a.kh * a.kw + wo), xv, acc[q]);
        }
      }
    }
    for (int q = 0; q < nco; ++q) y[(static_cast<size_t>(s) * Cout + co0 + q) * pix + p] = acc[q];
  }
}

// A transposed conv (nn.ConvTranspose2d; weights [cin][cout/groups][kh][kw]), one thread per (sample, output channel,
// output pixel): the input pixels whose window reaches it, oh = ih * stride - pad + kh * dilation, gathered in
// float32 with FMA in (ci, kh, kw) order. (The CPU engine computes it as its adjoint conv's backward-data.)
__global__ void convTransposeKernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, int S, int Cin,
                                    int H, int W, int Cout, int OH, int OW, Window a, int groups) {
  const int coutG = Cout / groups, cinG = Cin / groups;
  const size_t pix = static_cast<size_t>(OH) * OW;
  const size_t total = static_cast<size_t>(S) * Cout * pix;
  for (size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; idx < total; idx += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int p = static_cast<int>(idx % pix);
    const int co = static_cast<int>((idx / pix) % Cout);
    const int s = static_cast<int>(idx / (pix * Cout));
    const int oh = p / OW, ow = p % OW, g = co / coutG, cog = co % coutG;
    float acc = 0.f;
    for (int cig = 0; cig < cinG; ++cig) {
      const int ci = g * cinG + cig;
      const float* xp = x + (static_cast<size_t>(s) * Cin + ci) * H * W;
      for (int kh = 0; kh < a.kh; ++kh) {
        const int th = oh + a.ph - kh * a.dh;
        if (th < 0 || th % a.sh != 0 || th / a.sh >= H) continue;
        for (int kw = 0; kw < a.kw; ++kw) {
          const int tw = ow + a.pw - kw * a.dw;
          if (tw < 0 || tw % a.sw != 0 || tw / a.sw >= W) continue;
          const float wv = __ldg(w + ((static_cast<size_t>(ci) * coutG + cog) * a.kh + kh) * a.kw + kw);
          acc = __fmaf_rn(wv, __ldg(xp + static_cast<size_t>(th / a.sh) * W + tw / a.sw), acc);
        }
      }
    }
    y[idx] = acc;
  }
}

// Batch statistics per channel: shifted sums in double (shift = the channel's first value of sample 0, as the
// CPU engine), then mean and 1/sqrt(var + eps) in double. One block per channel.
__global__ void bnStatsKernel(const float* __restrict__ x, double* __restrict__ stats, int S, int C, int HW, double eps) {
  const int c = blockIdx.x;
  const size_t per = static_cast<size_t>(C) * HW;
  const double kshift = static_cast<double>(x[static_cast<size_t>(c) * HW]);
  double s1 = 0, s2 = 0;
  const size_t n = static_cast<size_t>(S) * HW;
  for (size_t i = threadIdx.x; i < n; i += blockDim.x) {
    const size_t s = i / HW, q = i % HW;
    const double d = static_cast<double>(x[s * per + static_cast<size_t>(c) * HW + q]) - kshift;
    s1 += d;
    s2 += d * d;
  }
  __shared__ double a[kThreads], b[kThreads];
  a[threadIdx.x] = s1;
  b[threadIdx.x] = s2;
  __syncthreads();
  for (int off = blockDim.x / 2; off > 0; off >>= 1) {
    if (threadIdx.x < off) {
      a[threadIdx.x] += a[threadIdx.x + off];
      b[threadIdx.x] += b[threadIdx.x + off];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const double count = static_cast<double>(S) * static_cast<double>(HW);
    const double sum1 = a[0], sum2 = b[0];
    const double mean = kshift + sum1 / count;
    const double var = fmax(0.0, (sum2 - sum1 * sum1 / count) / count);
    stats[2 * c] = mean;
    stats[2 * c + 1] = 1.0 / sqrt(var + eps);
  }
}

__global__ void bnApplyKernel(const float* __restrict__ x, float* __restrict__ y, const double* __restrict__ stats, int C, int HW, size_t total) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>((i / HW) % C);
    y[i] = static_cast<float>((static_cast<double>(x[i]) - stats[2 * c]) * stats[2 * c + 1]);
  }
}

// A pixelwise GroupNorm (LayerNorm over a map's channels) at gamma = 1, beta = 0: one thread per group, the
// groups sample-major then group then pixel, each cg channel values HW apart; shifted sums in double as the count
// engine's batchNorm (forward.cpp's runBn calls it with the channels as samples).
__global__ void lnPixelKernel(const float* __restrict__ x, float* __restrict__ y, size_t groups, int cg, int HW, double eps) {
  for (size_t g = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; g < groups; g += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t o = (g / HW) * static_cast<size_t>(cg) * HW + g % HW;
    const double k = static_cast<double>(x[o]);
    double s1 = 0, s2 = 0;
    for (int c = 0; c < cg; ++c) {
      const double d = static_cast<double>(x[o + static_cast<size_t>(c) * HW]) - k;
      s1 += d;
      s2 += d * d;
    }
    const double mean = k + s1 / cg;
    const double var = fmax(0.0, (s2 - s1 * s1 / cg) / cg);
    const double inv = 1 / sqrt(var + eps);
    for (int c = 0; c < cg; ++c) {
      const size_t e = o + static_cast<size_t>(c) * HW;
      y[e] = static_cast<float>((static_cast<double>(x[e]) - mean) * inv);
    }
  }
}

// ReLU fused with sign packing (S <= 64): thread j gathers bit s = (x[s][j] > 0) into codes[j]; y may be null.
__global__ void reluPackKernel(const float* __restrict__ x, float* __restrict__ y, unsigned long long* __restrict__ codes, int S, size_t per) {
  for (size_t j = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; j < per; j += static_cast<size_t>(gridDim.x) * blockDim.x) {
    unsigned long long bits = 0;
    for (int s = 0; s < S; ++s) {
      const float v = x[static_cast<size_t>(s) * per + j];
      const bool on = v > 0;
      bits |= static_cast<unsigned long long>(on) << s;
      if (y) y[static_cast<size_t>(s) * per + j] = on ? v : 0.0f;
    }
    codes[j] = bits;
  }
}

// capped: min(max(x, 0), clip) (ReLU6); slope > 0: slope * x below 0 (LeakyReLU)
__global__ void reluKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, bool capped, float clip, float slope) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float v = x[i] > 0 ? x[i] : slope > 0 ? x[i] * slope : 0.0f;
    y[i] = capped && v > clip ? clip : v;
  }
}

// Average pooling: the window sum in double from +0 (exact for the window sizes used), divided in double by the
// in-bounds count (or k*k with countIncludePad), rounded once to float, as the CPU engine and the reference.
__global__ void avgPoolKernel(const float* __restrict__ x, float* __restrict__ y, int S, int C, int H, int W, int OH, int OW, int k, int st,
                              int pad, bool includePad) {
  const size_t total = static_cast<size_t>(S) * C * OH * OW;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int ow = static_cast<int>(i % OW), oh = static_cast<int>((i / OW) % OH);
    const size_t plane = i / (static_cast<size_t>(OH) * OW);
    const float* xp = x + plane * H * W;
    const int h0 = max(0, oh * st - pad), h1 = min(H, oh * st - pad + k);
    const int w0 = max(0, ow * st - pad), w1 = min(W, ow * st - pad + k);
    double acc = 0.0;
    for (int ih = h0; ih < h1; ++ih)
      for (int iw = w0; iw < w1; ++iw) acc += static_cast<double>(xp[static_cast<size_t>(ih) * W + iw]);
    // with includePad: the window's size within the padded input (k*k but for a ceil-mode window overhanging it)
    const int eh = min(oh * st - pad + k, H + pad) - (oh * st - pad), ew = min(ow * st - pad + k, W + pad) - (ow * st - pad);
    const double div = includePad ? static_cast<double>(eh) * ew : static_cast<double>(h1 - h0) * static_cast<double>(w1 - w0);
    y[i] = static_cast<float>(acc / div);
  }
}

__global__ void maxPoolKernel(const float* __restrict__ x, float* __restrict__ y, int S, int C, int H, int W, int OH, int OW, int k, int st, int pad) {
  const size_t total = static_cast<size_t>(S) * C * OH * OW;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int ow = static_cast<int>(i % OW), oh = static_cast<int>((i / OW) % OH);
    const size_t plane = i / (static_cast<size_t>(OH) * OW);
    const float* xp = x + plane * H * W;
    const int h0 = max(0, oh * st - pad), h1 = min(H, oh * st - pad + k);
    const int w0 = max(0, ow * st - pad), w1 = min(W, ow * st - pad + k);
    float m = -INFINITY;
    for (int ih = h0; ih < h1; ++ih)
      for (int iw = w0; iw < w1; ++iw) {
        const float v = xp[static_cast<size_t>(ih) * W + iw];  // Math.max semantics: NaN wins
        m = ((v > m || isnan(v)) && !isnan(m)) ? v : m;
      }
    y[i] = m;
  }
}

struct AddInputs {
  const float* p[kMaxAddInputs];
};

// One input: copy; two: float sum (equal to the double sum rounded); more: double accumulation.
__global__ void addKernel(AddInputs in, int nIn, float* __restrict__ y, size_t total) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    if (nIn == 1) {
      y[i] = in.p[0][i];
    } else if (nIn == 2) {
      y[i] = in.p[0][i] + in.p[1][i];
    } else {
      double acc = static_cast<double>(in.p[0][i]);
      for (int j = 1; j < nIn; ++j) acc += static_cast<double>(in.p[j][i]);
      y[i] = static_cast<float>(acc);
    }
  }
}

__global__ void concatKernel(const float* __restrict__ x, float* __restrict__ y, int S, size_t per, size_t total, size_t offset) {
  const size_t n = static_cast<size_t>(S) * per;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t s = i / per, q = i % per;
    y[s * total + offset + q] = x[i];
  }
}

__global__ void sliceKernel(const float* __restrict__ x, float* __restrict__ y, int S, int C, int H, int W, int IC, int IH, int IW, int c0,
                            int h0, int w0) {
  const size_t n = static_cast<size_t>(S) * C * H * W;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % W);
    const int h = static_cast<int>((i / W) % H);
    const int c = static_cast<int>((i / (static_cast<size_t>(W) * H)) % C);
    const size_t s = i / (static_cast<size_t>(W) * H * C);
    y[i] = x[((s * IC + c0 + c) * IH + h0 + h) * IW + w0 + j];
  }
}

// Sigmoid gates: the logistic (expf, as torch.sigmoid's float kernel), or PyTorch's hardsigmoid.
__global__ void sigmoidKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, bool hard) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    y[i] = hard ? (v <= -3.0f ? 0.0f : v >= 3.0f ? 1.0f : v / 6.0f + 0.5f) : 1.0f / (1.0f + expf(-v));
  }
}

// (Log-)softmax of S rows of K, one thread per row: the maximum subtracted first, the sum and its log in double
// (native/softmax.h's order).
__global__ void softmaxKernel(const float* __restrict__ x, float* __restrict__ y, int S, int K, bool lg) {
  for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < S; s += gridDim.x * blockDim.x) {
    const float* xr = x + static_cast<size_t>(s) * K;
    float* yr = y + static_cast<size_t>(s) * K;
    double m = xr[0];
    for (int k = 1; k < K; ++k) m = fmax(m, static_cast<double>(xr[k]));
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += exp(static_cast<double>(xr[k]) - m);
    const double lse = log(sum);
    for (int k = 0; k < K; ++k) {
      const double d = static_cast<double>(xr[k]) - m;
      yr[k] = static_cast<float>(lg ? d - lse : exp(d) / sum);
    }
  }
}

// The act op's functions in float, as PyTorch's float32 CPU kernels write them (native/activations.h holds the host
// definitions; ActFn order: tanh, ELU, SELU, softplus, GELU, Mish, GELU's tanh form, x * alpha, x / alpha,
// x + alpha, PReLU, CELU, 1 / x).
__global__ void actKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, int fn, float alpha) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    float r;
    switch (fn) {
      case 0: r = tanhf(v); break;
      case 1: r = v > 0.0f ? v : alpha * expm1f(v); break;
      case 2: r = 1.0507009873554805f * (v > 0.0f ? v : 1.6732632423543772f * expm1f(v)); break;
      case 3: r = v > 20.0f ? v : log1pf(expf(v)); break;
      case 4: r = v * 0.5f * (1.0f + erff(v * 0.70710678118654752f)); break;
      case 5: r = v * tanhf(log1pf(expf(v))); break;
      case 6: r = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v))); break;
      case 7: r = v * alpha; break;
      case 8: r = v / alpha; break;
      case 9: r = v + alpha; break;
      case 10: r = v > 0.0f ? v : alpha * v; break;
      case 11: r = v > 0.0f ? v : alpha * expm1f(v * (1.0f / alpha)); break;
      case 12: r = 1.0f / v; break;
      // the host checks fn against kActFnCount: a function without a case here is a loud NaN, never another's value
      default: r = NAN; break;
    }
    y[i] = r;
  }
}

// The arithmetic with one constant per channel (fn 7: x * a_c, 8: x / a_c, 9: x + a_c) or a PReLU with one slope
// per channel (10): channel (i / plane) % C.
__global__ void channelActKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, int fn, const float* __restrict__ alphas, size_t plane, int C) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float a = alphas[(i / plane) % static_cast<size_t>(C)];
    const float v = x[i];
    y[i] = fn == 7 ? v * a : fn == 8 ? v / a : fn == 9 ? v + a : fn == 10 ? (v > 0.0f ? v : a * v) : NAN;
  }
}

// y = a * g, g broadcast over planes of `plane` floats (a squeeze-and-excitation gate), or of 1 (the same shape)
__global__ void mulKernel(const float* __restrict__ a, const float* __restrict__ g, float* __restrict__ y, size_t total, size_t plane) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    y[i] = a[i] * g[i / plane];
}

// Channel shuffle: output channel c reads input channel (c % groups) * (C / groups) + c / groups (shuffleSource).
__global__ void shuffleKernel(const float* __restrict__ x, float* __restrict__ y, int S, int C, int HW, int groups) {
  const size_t n = static_cast<size_t>(S) * C * HW;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t k = i % HW;
    const int c = static_cast<int>((i / HW) % C);
    const size_t s = i / (static_cast<size_t>(HW) * C);
    const int src = (c % groups) * (C / groups) + c / groups;
    y[i] = x[(s * C + src) * HW + k];
  }
}

// Nearest-neighbour upsampling by `scale`: output (plane, i, j) of an OH x OW map reads input (plane, i / scale,
// j / scale) (upsampleMap in native/ops.h).
__global__ void upsampleKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, int OH, int OW, int scale) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % OW);
    const int h = static_cast<int>((i / OW) % OH);
    const size_t plane = i / (static_cast<size_t>(OW) * OH);
    y[i] = x[(plane * (OH / scale) + h / scale) * (OW / scale) + j / scale];
  }
}

// A map broadcast along its unit axes (expandMap in native/ir.h): the input index of each output, 0 along an axis of
// size 1.
__global__ void expandKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, int C, int H, int W, int ic, int ih, int iw) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % W), h = static_cast<int>((i / W) % H), c = static_cast<int>((i / (static_cast<size_t>(W) * H)) % C);
    const size_t s = i / (static_cast<size_t>(W) * H * C);
    y[i] = x[((s * ic + (ic == 1 ? 0 : c)) * ih + (ih == 1 ? 0 : h)) * iw + (iw == 1 ? 0 : j)];
  }
}

// The mean or the first maximum over C channels of each position (chanPoolMap in native/ir.h), HW positions a sample.
__global__ void chanPoolKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, int C, int HW, int isMax) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float* xp = x + (i / HW) * static_cast<size_t>(C) * HW + i % HW;
    double acc = xp[0];
    for (int c = 1; c < C; ++c) {
      const double v = xp[static_cast<size_t>(c) * HW];
      if (!isMax) acc += v;
      else if (!isnan(acc) && (v > acc || isnan(v))) acc = v;
    }
    y[i] = static_cast<float>(isMax ? acc : acc / C);
  }
}

// Bilinear resize (bilinearMap in native/ir.h): output (plane, i, j) of an OH x OW map interpolates the four inputs
// of an H x W map around its source coordinate, in double.
__device__ inline void bilinearTap(int i, int in, int out, bool align, int& i0, int& i1, double& l) {
  const double src = align ? (out > 1 ? static_cast<double>(i) * (in - 1) / (out - 1) : 0.0) : fmax((i + 0.5) * in / out - 0.5, 0.0);
  i0 = min(static_cast<int>(floor(src)), in - 1);
  i1 = min(i0 + 1, in - 1);
  l = src - i0;
}
__global__ void bilinearKernel(const float* __restrict__ x, float* __restrict__ y, size_t total, int OH, int OW, int H, int W, bool align) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % OW);
    const int h = static_cast<int>((i / OW) % OH);
    const float* xp = x + (i / (static_cast<size_t>(OW) * OH)) * H * W;
    int r0, r1, c0, c1;
    double lh, lw;
    bilinearTap(h, H, OH, align, r0, r1, lh);
    bilinearTap(j, W, OW, align, c0, c1, lw);
    const double top = (1 - lw) * xp[r0 * W + c0] + lw * xp[r0 * W + c1];
    const double bottom = (1 - lw) * xp[r1 * W + c0] + lw * xp[r1 * W + c1];
    y[i] = static_cast<float>((1 - lh) * top + lh * bottom);
  }
}

__global__ void gapKernel(const float* __restrict__ x, float* __restrict__ y, int SC, int HW) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < SC; i += gridDim.x * blockDim.x) {
    const float* xp = x + static_cast<size_t>(i) * HW;
    double sum = 0;
    for (int q = 0; q < HW; ++q) sum += static_cast<double>(xp[q]);
    y[i] = static_cast<float>(sum / static_cast<double>(HW));
  }
}

__global__ void linearKernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, int S, int fin, int fout) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < S * fout; i += gridDim.x * blockDim.x) {
    const int s = i / fout, o = i % fout;
    double sum = 0;
    for (int q = 0; q < fin; ++q) sum += static_cast<double>(w[static_cast<size_t>(o) * fin + q]) * static_cast<double>(x[static_cast<size_t>(s) * fin + q]);
    y[i] = static_cast<float>(sum);
  }
}

// Distinct values among sorted keys: adds the number of run starts to *count.
__global__ void uniqueCountKernel(const unsigned long long* __restrict__ sorted, size_t n, unsigned long long* __restrict__ count) {
  unsigned long long local = 0;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    local += (i == 0 || sorted[i] != sorted[i - 1]) ? 1ull : 0ull;
  for (int off = 16; off > 0; off >>= 1) local += __shfl_down_sync(0xffffffffu, local, off);
  if ((threadIdx.x & 31) == 0 && local) atomicAdd(count, local);
}

// ---------------------------------------------------------------------------------------------- host side

std::once_flag gInitOnce;
Probe gProbe;

void initProbe() {
  Probe p;
  cudaRuntimeGetVersion(&p.runtimeVersion);
  cudaDriverGetVersion(&p.driverVersion);
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    p.reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e);
    if (p.driverVersion == 0) p.reason += " (no NVIDIA driver found)";
    gProbe = p;
    return;
  }
  p.devices = n;
  if (n == 0) {
    p.reason = "cudaGetDeviceCount: no CUDA device";
    gProbe = p;
    return;
  }
  cudaDeviceProp prop{};
  e = cudaGetDeviceProperties(&prop, 0);
  if (e != cudaSuccess) {
    p.reason = std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(e);
    gProbe = p;
    return;
  }
  p.name = prop.name;
  p.major = prop.major;
  p.minor = prop.minor;
  p.memoryBytes = static_cast<double>(prop.totalGlobalMem);
  p.smCount = prop.multiProcessorCount;
  // A kernel image for this device exists (SASS for its major version, or PTX it can JIT)?
  cudaFuncAttributes attr{};
  e = cudaFuncGetAttributes(&attr, reluKernel);
  if (e != cudaSuccess) {
    p.reason = std::string(prop.name) + " (compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) +
               ") cannot run the compiled CUDA targets " + SWAPNAS_CUDA_ARCHS + ": " + cudaGetErrorString(e);
    gProbe = p;
    return;
  }
  // Stream-ordered allocations are recycled, not returned to the driver between items.
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess) {
    uint64_t threshold = UINT64_MAX;
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
  }
  p.available = true;
  gProbe = p;
}

class DevArena {
 public:
  explicit DevArena(cudaStream_t s) : s_(s) {}
  float* floats(size_t n) { return static_cast<float*>(bytes(n * sizeof(float))); }
  void* bytes(size_t n) {
    void* p = nullptr;
    SWAPNAS_CK(cudaMallocAsync(&p, std::max<size_t>(n, 16), s_));
    return p;
  }
  void free(void* p) {
    if (p) SWAPNAS_CK(cudaFreeAsync(p, s_));
  }

 private:
  cudaStream_t s_;
};

// One host thread with its own stream, weight cache and scratch.
class Lane {
 public:
  Lane() {
    SWAPNAS_CK(cudaSetDevice(0));
    SWAPNAS_CK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~Lane() {
    if (!stream_) return;
    cudaStreamSynchronize(stream_);
    for (auto& kv : cache_) cudaFreeAsync(kv.second, stream_);
    for (void* p : pendingFree_) cudaFreeAsync(p, stream_);
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Enqueues one forward pass + count; the count is added to dCount (zeroed by the caller).
  void run(const Net& net, const float* dInput, int S, uint32_t seed, unsigned long long* dCount, const CancelToken* cancel);
  void sync() { SWAPNAS_CK(cudaStreamSynchronize(stream_)); }

 private:
  struct Item;
  const float* weights(uint32_t seed, int tensor, size_t count);
  float* launch(Item& it, size_t i, bool consumed, bool& own);
  void countDistinct(DevArena& a, unsigned long long* codes, size_t V, int S, unsigned long long* dCount);

  cudaStream_t stream_ = nullptr;
  std::unordered_map<uint64_t, float*> cache_;
  uint32_t cacheSeed_ = 0;
  bool cacheValid_ = false;
  size_t cacheBytes_ = 0;
  std::vector<float> host_;
  // Uncached weight uploads, freed at the end of the item.
  std::vector<void*> pendingFree_;
};

const float* Lane::weights(uint32_t seed, int tensor, size_t count) {
  DevArena a(stream_);
  if (!cacheValid_ || seed != cacheSeed_) {
    for (auto& kv : cache_) a.free(kv.second);
    cache_.clear();
    cacheBytes_ = 0;
    cacheSeed_ = seed;
    cacheValid_ = true;
  }
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(tensor)) << 32) | static_cast<uint64_t>(count & 0xffffffffu);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  host_.resize(count);
  fillGaussian(host_.data(), count, seed, static_cast<uint32_t>(tensor));
  float* d = a.floats(count);
  // Pageable source: the runtime stages it before returning, so host_ can be refilled right away.
  SWAPNAS_CK(cudaMemcpyAsync(d, host_.data(), count * sizeof(float), cudaMemcpyHostToDevice, stream_));
  if (cacheBytes_ + count * sizeof(float) <= kWeightCacheBytes) {
    cache_[key] = d;
    cacheBytes_ += count * sizeof(float);
  } else {
    pendingFree_.push_back(d);
  }
  return d;
}

// What the per-node launches of one item share.
struct Lane::Item {
  const Net& net;
  DevArena& a;
  const float* input;
  int S;
  uint32_t seed;
  std::vector<float*> vals;
  // Packed sign bits of the recorded ReLUs, filled in network order.
  unsigned long long* codes = nullptr;
  size_t codeOffset = 0;
  // Per-channel BN statistics (mean, 1/std), grown to the widest BN so far.
  double* stats = nullptr;
  size_t statsCap = 0;
};

// Enqueues the kernel(s) of node i; returns its output buffer (null when nothing reads it) and whether the item owns
// it (the input batch is the caller's). No default: -Werror=switch makes a new opcode fail to compile until it has a
// kernel here.
float* Lane::launch(Item& it, size_t i, bool consumed, bool& own) {
  const Node& n = it.net.nodes[i];
  const Net& net = it.net;
  const int S = it.S;
  const size_t per = n.numel();
  const size_t total = per * static_cast<size_t>(S);
  auto x = [&](size_t k) { return it.vals[static_cast<size_t>(n.inputs[k])]; };
  auto grid = [](size_t m) { return std::min<unsigned>(blocksFor(m), kGridCap); };
  float* y = nullptr;
  own = true;
  switch (n.op) {
    case Op::Input:
      y = const_cast<float*>(it.input);
      own = false;
      break;
    case Op::Zero:
      y = it.a.floats(total);
      SWAPNAS_CK(cudaMemsetAsync(y, 0, total * sizeof(float), stream_));
      break;
    case Op::Conv: {
      const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
      const float* w = weights(it.seed, n.tensor, weightCount(n));
      y = it.a.floats(total);
      if (n.transposed) {
        convTransposeKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), w, y, S, in.c, in.h, in.w, n.cout, n.h, n.w, windowOf(n), n.groups);
        break;
      }
      const int coBlocks = (n.cout / n.groups + kCoBlock - 1) / kCoBlock;
      const size_t threads = static_cast<size_t>(S) * n.groups * coBlocks * n.h * n.w;
      convKernel<<<grid(threads), kThreads, 0, stream_>>>(x(0), w, y, S, in.c, in.h, in.w, n.cout, n.h, n.w, windowOf(n),
                                                          n.groups);
      break;
    }
    case Op::Bn: {
      if (it.statsCap < static_cast<size_t>(n.c)) {
        it.a.free(it.stats);
        it.statsCap = std::max<size_t>(static_cast<size_t>(n.c), 256);
        it.stats = static_cast<double*>(it.a.bytes(it.statsCap * 2 * sizeof(double)));
      }
      y = it.a.floats(total);
      const int HW = n.h * n.w;
      bnStatsKernel<<<n.c, kThreads, 0, stream_>>>(x(0), it.stats, S, n.c, HW, n.eps);
      bnApplyKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, it.stats, n.c, HW, total);
      break;
    }
    case Op::GroupNorm: {
      if (n.pixelwise) {
        y = it.a.floats(total);
        const size_t groups = static_cast<size_t>(gnGroupCount(n, S));
        lnPixelKernel<<<grid(groups), kThreads, 0, stream_>>>(x(0), y, groups, n.c / n.groups, n.h * n.w, n.eps);
        break;
      }
      // each sample's group is a contiguous run of (C / groups) * H * W values: the BN kernels over S * groups
      // channels of one sample each (forward.cpp's runBn does the same)
      const int G = S * n.groups;
      if (it.statsCap < static_cast<size_t>(G)) {
        it.a.free(it.stats);
        it.statsCap = std::max<size_t>(static_cast<size_t>(G), 256);
        it.stats = static_cast<double*>(it.a.bytes(it.statsCap * 2 * sizeof(double)));
      }
      y = it.a.floats(total);
      const int m = (n.c / n.groups) * n.h * n.w;
      bnStatsKernel<<<G, kThreads, 0, stream_>>>(x(0), it.stats, 1, G, m, n.eps);
      bnApplyKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, it.stats, G, m, total);
      break;
    }
    case Op::Relu: {
      if (consumed) y = it.a.floats(total);
      if (n.recorded) {
        reluPackKernel<<<grid(per), kThreads, 0, stream_>>>(x(0), y, it.codes + it.codeOffset, S, per);
        it.codeOffset += per;
      } else if (y) {
        reluKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, n.capped, n.clip, static_cast<float>(n.slope));
      }
      break;
    }
    case Op::AvgPool:
    case Op::MaxPool: {
      const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
      y = it.a.floats(total);
      if (n.op == Op::AvgPool)
        avgPoolKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, S, n.c, in.h, in.w, n.h, n.w, n.k, n.stride, n.pad, n.countIncludePad);
      else
        maxPoolKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, S, n.c, in.h, in.w, n.h, n.w, n.k, n.stride, n.pad);
      break;
    }
    case Op::Add: {
      if (n.inputs.size() > static_cast<size_t>(kMaxAddInputs))
        fail("node " + std::to_string(i) + ": the CUDA engine adds at most " + std::to_string(kMaxAddInputs) + " inputs, not " +
             std::to_string(n.inputs.size()));
      AddInputs ai{};
      for (size_t k = 0; k < n.inputs.size(); ++k) ai.p[k] = x(k);
      y = it.a.floats(total);
      addKernel<<<grid(total), kThreads, 0, stream_>>>(ai, static_cast<int>(n.inputs.size()), y, total);
      break;
    }
    case Op::Concat: {
      y = it.a.floats(total);
      size_t offset = 0;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        const size_t p = net.nodes[static_cast<size_t>(n.inputs[k])].numel();
        concatKernel<<<grid(p * S), kThreads, 0, stream_>>>(x(k), y, S, p, per, offset);
        offset += p;
      }
      break;
    }
    case Op::Slice: {
      const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
      y = it.a.floats(total);
      sliceKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, S, n.c, n.h, n.w, in.c, in.h, in.w, n.c0, n.h0, n.w0);
      break;
    }
    case Op::Gap: {
      const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
      y = it.a.floats(total);
      gapKernel<<<grid(static_cast<size_t>(S) * in.c), kThreads, 0, stream_>>>(x(0), y, S * in.c, in.h * in.w);
      break;
    }
    case Op::Sigmoid:
      y = it.a.floats(total);
      sigmoidKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, n.hard);
      break;
    case Op::Softmax:
      y = it.a.floats(total);
      softmaxKernel<<<grid(static_cast<size_t>(S)), kThreads, 0, stream_>>>(x(0), y, S, n.c, n.logSoftmax);
      break;
    case Op::Act:
      y = it.a.floats(total);
      if (!n.alphas.empty()) {
        // the per-channel constants as float (the float32 passes' rounding), copied before the launch reads them
        const std::vector<float> host(n.alphas.begin(), n.alphas.end());
        float* d = it.a.floats(host.size());
        SWAPNAS_CK(cudaMemcpyAsync(d, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice, stream_));
        pendingFree_.push_back(d);
        channelActKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, static_cast<int>(n.act), d, static_cast<size_t>(n.h) * n.w, n.c);
        break;
      }
      actKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, static_cast<int>(n.act), static_cast<float>(n.alpha));
      break;
    case Op::Mul:
      y = it.a.floats(total);
      mulKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), x(1), y, total, n.numel() / net.nodes[static_cast<size_t>(n.inputs[1])].numel());
      break;
    case Op::Shuffle:
      y = it.a.floats(total);
      shuffleKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, S, n.c, n.h * n.w, n.groups);
      break;
    case Op::Upsample:
      y = it.a.floats(total);
      if (n.bilinear)
        bilinearKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, n.h, n.w, n.srcH, n.srcW, n.alignCorners);
      else
        upsampleKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, n.h, n.w, n.scale);
      break;
    case Op::Expand: {
      const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
      y = it.a.floats(total);
      expandKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, n.c, n.h, n.w, in.c, in.h, in.w);
      break;
    }
    case Op::ChanPool: {
      const Node& in = net.nodes[static_cast<size_t>(n.inputs[0])];
      y = it.a.floats(total);
      chanPoolKernel<<<grid(total), kThreads, 0, stream_>>>(x(0), y, total, in.c, n.h * n.w, n.chanMax ? 1 : 0);
      break;
    }
    case Op::Flatten:
    case Op::View:
      // NCHW is already the flat order
      y = it.a.floats(total);
      SWAPNAS_CK(cudaMemcpyAsync(y, x(0), total * sizeof(float), cudaMemcpyDeviceToDevice, stream_));
      break;
    case Op::Linear: {
      const float* w = weights(it.seed, n.tensor, weightCount(n));
      y = it.a.floats(total);
      linearKernel<<<grid(static_cast<size_t>(S) * n.fout), kThreads, 0, stream_>>>(x(0), w, y, S, n.fin, n.fout);
      break;
    }
  }
  return y;
}

// Sorts the item's V pattern codes and adds the number of distinct ones to dCount.
void Lane::countDistinct(DevArena& a, unsigned long long* codes, size_t V, int S, unsigned long long* dCount) {
  if (V == 0) return;
  auto grid = [](size_t m) { return std::min<unsigned>(blocksFor(m), kGridCap); };
  unsigned long long* sorted = static_cast<unsigned long long*>(a.bytes(V * sizeof(unsigned long long)));
  size_t tempBytes = 0;
  SWAPNAS_CK(cub::DeviceRadixSort::SortKeys(nullptr, tempBytes, codes, sorted, static_cast<int64_t>(V), 0, S, stream_));
  void* temp = a.bytes(tempBytes);
  SWAPNAS_CK(cub::DeviceRadixSort::SortKeys(temp, tempBytes, codes, sorted, static_cast<int64_t>(V), 0, S, stream_));
  uniqueCountKernel<<<grid(V), kThreads, 0, stream_>>>(sorted, V, dCount);
  SWAPNAS_CK(cudaGetLastError());
  a.free(temp);
  a.free(sorted);
}

void Lane::run(const Net& net, const float* dInput, int S, uint32_t seed, unsigned long long* dCount, const CancelToken* cancel) {
  DevArena a(stream_);
  const size_t count = net.nodes.size();
  Item it{net, a, dInput, S, seed, std::vector<float*>(count, nullptr)};
  std::vector<float*>& vals = it.vals;
  std::vector<uint8_t> owned(count, 0);
  const size_t V = net.recordedNeurons;
  it.codes = static_cast<unsigned long long*>(a.bytes(std::max<size_t>(V, 1) * sizeof(unsigned long long)));

  for (size_t i = 0; i < count; ++i) {
    if (!net.needed[i]) continue;
    if (cancel && cancel->requested()) throw Cancelled{};
    const Node& n = net.nodes[i];
    const bool consumed = net.lastUse[i] >= 0;
    bool own = true;
    float* y = launch(it, i, consumed, own);
    SWAPNAS_CK(cudaGetLastError());
    vals[i] = y;
    owned[i] = (y && own) ? 1 : 0;
    for (int j : n.inputs) {
      const size_t uj = static_cast<size_t>(j);
      if (net.lastUse[uj] == static_cast<int>(i) && vals[uj]) {
        if (owned[uj]) a.free(vals[uj]);
        vals[uj] = nullptr;
        owned[uj] = 0;
      }
    }
    if (!consumed && y) {
      if (owned[i]) a.free(y);
      vals[i] = nullptr;
      owned[i] = 0;
    }
  }
  for (size_t i = 0; i < count; ++i)
    if (owned[i]) a.free(vals[i]);
  a.free(it.stats);
  if (it.codeOffset != V) fail("recorded neurons: packed " + std::to_string(it.codeOffset) + ", expected " + std::to_string(V));
  countDistinct(a, it.codes, V, S, dCount);
  a.free(it.codes);
  for (void* p : pendingFree_) a.free(p);
  pendingFree_.clear();
}

}  // namespace

const char* architectures() { return SWAPNAS_CUDA_ARCHS; }

Probe probe() {
  std::call_once(gInitOnce, initProbe);
  return gProbe;
}

void countPatterns(const Job& job, std::vector<double>& counts) {
  const Probe p = probe();
  if (!p.available) fail("CUDA unavailable: " + p.reason);
  const std::vector<Net>& nets = *job.nets;
  const std::vector<uint32_t>& seeds = *job.seeds;
  const int S = job.n;
  if (S > kMaxSamples) fail("the CUDA engine supports at most " + std::to_string(kMaxSamples) + " samples (one 64-bit pattern word), not " + std::to_string(S));
  const size_t R = seeds.size(), netCount = nets.size(), total = netCount * R;
  counts.assign(total, 0.0);
  if (total == 0) return;
  SWAPNAS_CK(cudaSetDevice(0));

  const size_t inputCount = static_cast<size_t>(job.n) * job.c * job.h * job.w;
  float* dInput = nullptr;
  unsigned long long* dCounts = nullptr;
  SWAPNAS_CK(cudaMalloc(&dInput, inputCount * sizeof(float)));
  cudaError_t e = cudaMalloc(&dCounts, total * sizeof(unsigned long long));
  if (e != cudaSuccess) {
    cudaFree(dInput);
    fail("CUDA: cudaMalloc(counts) failed: " + errText(e));
  }
  struct Guard {
    void* a;
    void* b;
    ~Guard() {
      cudaDeviceSynchronize();
      cudaFree(a);
      cudaFree(b);
    }
  } guard{dInput, dCounts};
  SWAPNAS_CK(cudaMemcpy(dInput, job.input, inputCount * sizeof(float), cudaMemcpyHostToDevice));
  SWAPNAS_CK(cudaMemset(dCounts, 0, total * sizeof(unsigned long long)));

  const int lanes = static_cast<int>(std::min<size_t>({static_cast<size_t>(std::max(1, std::min(job.streams, kMaxStreams))), total}));
  // Seed-major order when several networks share seeds: a lane evaluates many networks under one seed in a row and
  // reuses their uploaded weight tensors.
  const bool seedMajor = netCount > 1 && R > 1;
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> stop{false}, cancelled{false};
  std::mutex errorMutex;
  std::string errorMessage;

  runOnThreads(lanes, [&](int) {
    try {
      Lane lane;
      int sinceSync = 0;
      size_t pendingDone = 0;
      auto flush = [&]() {
        lane.sync();
        if (pendingDone) {
          const uint64_t d = done.fetch_add(pendingDone) + pendingDone;
          pendingDone = 0;
          if (job.progress) job.progress(d, total);
        }
        sinceSync = 0;
      };
      while (!stop.load(std::memory_order_relaxed)) {
        if (job.cancel && job.cancel->requested()) {
          cancelled.store(true);
          stop.store(true);
          break;
        }
        const size_t order = next.fetch_add(1);
        if (order >= total) break;
        const size_t net = seedMajor ? order % netCount : order / R, rep = seedMajor ? order / netCount : order % R;
        const size_t it = net * R + rep;
        try {
          lane.run(nets[net], dInput, S, seeds[rep], dCounts + it, job.cancel);
        } catch (const Failure& f) {
          throw Failure(f.code, "network " + std::to_string(net) + ", repeat " + std::to_string(rep) + ": " + f.what());
        }
        ++pendingDone;
        if (++sinceSync >= kSyncEvery) flush();
      }
      flush();
    } catch (const Cancelled&) {
      cancelled.store(true);
      stop.store(true);
    } catch (const std::exception& ex) {
      std::lock_guard<std::mutex> lock(errorMutex);
      if (errorMessage.empty()) errorMessage = ex.what();
      stop.store(true);
    }
  });
  if (!errorMessage.empty()) fail(errorMessage);
  if (cancelled.load()) throw Cancelled{};
  std::vector<unsigned long long> host(total);
  SWAPNAS_CK(cudaMemcpy(host.data(), dCounts, total * sizeof(unsigned long long), cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < total; ++i) counts[i] = static_cast<double>(host[i]);
}

}  // namespace cuda
}  // namespace swapnas
