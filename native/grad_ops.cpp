#include "grad_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "ops.h"
#include "simd.h"

namespace swapnas {

namespace {

// Direct transposed convolution for geometries the forward kernels cannot express (padding wider than the
// dilated kernel, which no real network uses).
void convBackwardDataNaive(const Node& n, const Node& in, const float* dy, float* dx, int S, const float* w) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w;
  const Window a = windowOf(n);
  const int cinG = n.cin / n.groups, coutG = n.cout / n.groups;
  std::memset(dx, 0, static_cast<size_t>(S) * in.numel() * sizeof(float));
  for (int s = 0; s < S; ++s)
    for (int oc = 0; oc < n.cout; ++oc) {
      const int g = oc / coutG;
      const float* d = dy + (static_cast<size_t>(s) * n.cout + oc) * OH * OW;
      for (int ci = 0; ci < cinG; ++ci) {
        float* xp = dx + (static_cast<size_t>(s) * n.cin + g * cinG + ci) * H * W;
        for (int kh = 0; kh < a.kh; ++kh)
          for (int kw = 0; kw < a.kw; ++kw) {
            const float wv = w[((static_cast<size_t>(oc) * cinG + ci) * a.kh + kh) * a.kw + kw];
            for (int oh = 0; oh < OH; ++oh) {
              const int ih = oh * a.sh - a.ph + kh * a.dh;
              if (ih < 0 || ih >= H) continue;
              for (int ow = 0; ow < OW; ++ow) {
                const int iw = ow * a.sw - a.pw + kw * a.dw;
                if (iw >= 0 && iw < W) xp[ih * W + iw] += wv * d[oh * OW + ow];
              }
            }
          }
      }
    }
}

// Depthwise weight gradient: one input plane per output channel, a direct loop as in the forward pass.
void depthwiseBackwardWeights(const Node& n, const Node& in, const float* x, const float* dy, int S, float* dw) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, C = n.cout;
  const Window a = windowOf(n);
  for (int c = 0; c < C; ++c)
    for (int kh = 0; kh < a.kh; ++kh)
      for (int kw = 0; kw < a.kw; ++kw) {
        double acc = 0;
        for (int s = 0; s < S; ++s) {
          const float* xp = x + (static_cast<size_t>(s) * C + c) * H * W;
          const float* d = dy + (static_cast<size_t>(s) * C + c) * OH * OW;
          for (int oh = 0; oh < OH; ++oh) {
            const int ih = oh * a.sh - a.ph + kh * a.dh;
            if (ih < 0 || ih >= H) continue;
            float row = 0;
            for (int ow = 0; ow < OW; ++ow) {
              const int iw = ow * a.sw - a.pw + kw * a.dw;
              if (iw >= 0 && iw < W) row += d[oh * OW + ow] * xp[ih * W + iw];
            }
            acc += row;
          }
        }
        dw[(static_cast<size_t>(c) * a.kh + kh) * a.kw + kw] = static_cast<float>(acc);
      }
}

// The weight gradient sums each product over positions in kSumLanes float lanes (lane l takes the positions
// q = l mod kSumLanes, in order; the tail past the last whole block is added in double), then the lanes 0 .. 15 in
// double, in order. The lanes are fixed at 16 whatever the vector width, so AVX-512 (one vector per accumulator)
// and AVX2 (two) builds give the same values bit for bit (bench/cpu-targets.mjs); so do 128-bit builds with FMA
// (four; a build without FMA rounds every multiply-add twice and differs everywhere).
inline constexpr int kSumLanes = 16;
inline constexpr int kParts = kSumLanes / kVecFloats;
static_assert(kSumLanes % kVecFloats == 0, "the vector width must divide the 16 summation lanes");

#if defined(__AVX2__)
// Adds lanes 0..7 of eight 8-lane vectors r[0..7] to eight double sums (lo: vectors 0-3, hi: 4-7), lane by lane in
// order (sum_i + lane 0 + lane 1 + ... + lane 7), as the scalar loop of ntTile adds them, eight sums at once after an
// 8 x 8 transpose.
inline void addLanes8(const __m256* r, __m256d& lo, __m256d& hi) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // r_i[0] r_i+1[0] r_i[1] r_i+1[1] | lanes 4, 5
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // lanes 2, 3 | 6, 7
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));      // lane 0 of r_i..r_i+3 | lane 4
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));  // lane 1 | lane 5
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));  // lane 2 | lane 6
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));  // lane 3 | lane 7
  }
  for (int l = 0; l < 8; ++l) {
    // lane l of r0..r7: the low halves of u[l % 4] and u[l % 4 + 4] for l < 4, their high halves for l >= 4
    const __m256 c = _mm256_permute2f128_ps(u[l % 4], u[l % 4 + 4], l < 4 ? 0x20 : 0x31);
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(c)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(c, 1)));
  }
}
#endif

#if defined(__AVX2__) && !defined(__AVX512F__)
// A full ntTile (4 x 2 accumulators of two 8-lane vectors) has its lane sums vectorised.
inline constexpr int kLaneTile = 8;
// Lane sums of eight 16-lane accumulators (v[2k], v[2k + 1]: lanes 0-7 and 8-15 of accumulator k) in double, each
// exactly as the scalar loop of ntTile adds them (0 + lane 0 + ... + lane 15, in that order), eight at once: lanes
// 0-7 of all eight through one 8 x 8 transpose, then lanes 8-15 through another. At 8 x 8 and 16 x 16 output planes
// (64-256 positions) the scalar lane sums took ~45 % of the weight-gradient time.
inline void laneSumsTile(const vfloat* v, double* out) {
  __m256 first[8], second[8];
  for (int k = 0; k < 8; ++k) {
    first[k] = static_cast<__m256>(v[2 * k]);
    second[k] = static_cast<__m256>(v[2 * k + 1]);
  }
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  addLanes8(first, lo, hi);
  addLanes8(second, lo, hi);
  _mm256_storeu_pd(out, lo);
  _mm256_storeu_pd(out + 4, hi);
}
#endif

#if defined(__AVX512F__)
// A full ntTile (4 x 4 accumulators of 16 lanes) has its lane sums vectorised.
inline constexpr int kLaneTile = 16;
// Lane sums of sixteen 16-lane accumulators in double, each exactly as the scalar loop of ntTile adds them
// (0 + lane 0 + ... + lane 15, in that order): lanes 0-7 of eight accumulators, then their lanes 8-15, through the
// 8 x 8 transpose. The scalar sums were ~80 % of ntTile's time on AVX-512 at NB201's 8 x 8 to 32 x 32 planes (a
// chain of 16 dependent double adds per accumulator, 256 per tile).
inline void laneSumsTile(const vfloat* v, double* out) {
  for (int g = 0; g < 2; ++g) {
    __m256 low[8], high[8];
    for (int i = 0; i < 8; ++i) {
      // halves read back from the accumulators' stack copy (store forwarding; GCC 12 warns on the cast intrinsics)
      const float* f = reinterpret_cast<const float*>(&v[g * 8 + i]);
      low[i] = _mm256_loadu_ps(f);
      high[i] = _mm256_loadu_ps(f + kVecFloats / 2);
    }
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    addLanes8(low, lo, hi);
    addLanes8(high, lo, hi);
    _mm256_storeu_pd(out + g * 8, lo);
    _mm256_storeu_pd(out + g * 8 + 4, hi);
  }
}
#endif

// Makes the compiler hold `v` in a vector register from here on (an empty asm that "changes" it).
inline void pinRegister(vfloat& v) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__("" : "+x"(v));
#else
  (void)v;
#endif
}

// Register tile of gemmNT: MR rows of A x TR rows of B, accumulated over positions in kSumLanes lanes (kParts
// vectors each), then summed.
template <int MR, int TR>
inline void ntTile(size_t P, const float* __restrict A, const float* __restrict B, double* __restrict C, size_t ldc) {
  vfloat acc[MR][TR][kParts];
  size_t q = 0;
  // one part of every accumulator at a time (part h: lanes h*kVecFloats ..), so a tile needs only MR x TR
  // registers; the rows read again for the next part are still in L1
  for (int h = 0; h < kParts; ++h) {
    vfloat part[MR][TR];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < TR; ++j) part[i][j] = vfloat{};
    for (q = 0; q + kSumLanes <= P; q += kSumLanes) {
      vfloat a[MR], b[TR];
      // both operands are pinned in registers: GCC otherwise folds one of them into every FMA as a memory operand,
      // loading it again per use (12 or 10 loads per 8 FMAs at 4 x 2 instead of 6: load-bound)
      for (int i = 0; i < MR; ++i) {
        a[i] = loadu(A + i * P + q + h * kVecFloats);
        pinRegister(a[i]);
      }
      for (int j = 0; j < TR; ++j) {
        b[j] = loadu(B + j * P + q + h * kVecFloats);
        pinRegister(b[j]);
      }
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < TR; ++j) part[i][j] += a[i] * b[j];
    }
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < TR; ++j) acc[i][j][h] = part[i][j];
  }
#if defined(__AVX2__)
  if constexpr (MR * TR == kLaneTile) {
    if (q == P) {
      double sums[kLaneTile];
      laneSumsTile(&acc[0][0][0], sums);
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < TR; ++j) C[static_cast<size_t>(i) * ldc + j] += sums[i * TR + j];
      return;
    }
  }
#endif
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < TR; ++j) {
      double sum = 0;
      for (int h = 0; h < kParts; ++h)
        for (int l = 0; l < kVecFloats; ++l) sum += acc[i][j][h][l];
      for (size_t t = q; t < P; ++t) sum += static_cast<double>(A[i * P + t]) * B[j * P + t];
      C[static_cast<size_t>(i) * ldc + j] += sum;
    }
}

#if defined(__AVX512F__)
inline constexpr int kNtRows = 4, kNtCols = 4;
#else
inline constexpr int kNtRows = 4, kNtCols = 2;
#endif

// C[m][t] += sum_p A[m][p] * B[t][p] (A: M rows, B: T rows, both P floats long and contiguous; C: M x T, double).
// The operand with more rows is the outer loop: its tile's rows stay in L1 while the other operand, the smaller one,
// streams past from L2 once per tile (in the weight gradient B, the im2col, is usually the larger: P can span several
// samples' positions there). Every C entry is one tile's lanes whatever the tile's shape (the vector lane sums equal
// the scalar loop), so neither order changes a value.
void gemmNT(int M, int T, size_t P, const float* A, const float* B, double* C) {
  // (first row, whole register tile?): the whole tiles, then the rows left over one by one
  const auto blocks = [](int n, int step) {
    std::vector<std::pair<int, bool>> out;
    int i = 0;
    for (; i + step <= n; i += step) out.emplace_back(i, true);
    for (; i < n; ++i) out.emplace_back(i, false);
    return out;
  };
  const auto tile = [&](std::pair<int, bool> m, std::pair<int, bool> t) {
    const float* a = A + m.first * P;
    const float* b = B + t.first * P;
    double* c = C + static_cast<size_t>(m.first) * T + t.first;
    if (m.second && t.second) ntTile<kNtRows, kNtCols>(P, a, b, c, T);
    else if (m.second) ntTile<kNtRows, 1>(P, a, b, c, T);
    else if (t.second) ntTile<1, kNtCols>(P, a, b, c, T);
    else ntTile<1, 1>(P, a, b, c, T);
  };
  const auto ms = blocks(M, kNtRows), ts = blocks(T, kNtCols);
  if (T >= M) {
    for (const auto& t : ts)
      for (const auto& m : ms) tile(m, t);
  } else {
    for (const auto& m : ms)
      for (const auto& t : ts) tile(m, t);
  }
}

}  // namespace

LaneSumCheck laneSumSelfCheck(uint32_t seed, int tiles) {
  LaneSumCheck r;
  r.lanes = kSumLanes;
#if defined(__AVX2__)
  r.accumulators = kLaneTile;
  uint64_t state = 0x9E3779B97F4A7C15ull ^ seed;
  const auto next = [&state]() {  // xorshift64*: any well-spread bits will do, the values only need variety
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<uint32_t>((state * 0x2545F4914F6CDD1Dull) >> 32);
  };
  for (int t = 0; t < tiles; ++t) {
    alignas(64) vfloat v[kLaneTile * kParts];
    for (int i = 0; i < kLaneTile * kParts; ++i)
      for (int l = 0; l < kVecFloats; ++l) {
        const uint32_t u = next();
        const float mant = 1.0f + static_cast<float>(u & 0xFFFFFF) / 16777216.0f;
        v[i][l] = std::ldexp((u >> 31) ? -mant : mant, static_cast<int>((u >> 24) % 49) - 24);
      }
    double fast[kLaneTile];
    laneSumsTile(v, fast);
    for (int i = 0; i < kLaneTile; ++i) {
      double slow = 0;  // ntTile's scalar loop: the accumulator's parts in order, each part's lanes in order
      for (int h = 0; h < kParts; ++h)
        for (int l = 0; l < kVecFloats; ++l) slow += v[i * kParts + h][l];
      ++r.compared;
      if (std::memcmp(&slow, &fast[i], sizeof(double)) != 0) ++r.mismatches;
    }
  }
#else
  (void)seed;
  (void)tiles;
#endif
  return r;
}

void convBackwardData(const Node& n, const Node& in, const float* dy, float* dx, int S, const float* w, ConvGradScratch& sc) {
  const Window a = windowOf(n);
  const int G = n.groups;
  const int cinG = n.cin / G, coutG = n.cout / G;
  // the transposed convolution's padding per side: d(k - 1) less the forward's on the same side
  const int padT = a.dh * (a.kh - 1) - a.ph, padL = a.dw * (a.kw - 1) - a.pw;
  const int padB = a.dh * (a.kh - 1) - a.pb, padR = a.dw * (a.kw - 1) - a.pr;
  if (std::min({padT, padL, padB, padR}) < 0) {
    convBackwardDataNaive(n, in, dy, dx, S, w);
    return;
  }
  // The transposed convolution: input = dy (zero-inserted by the stride) of Lh x Lw, stride 1, padded by the
  // above, weights flipped and with in/out channels swapped per group; its output is exactly H x W.
  const int Lh = in.h + a.ph + a.pb - a.dh * (a.kh - 1), Lw = in.w + a.pw + a.pr - a.dw * (a.kw - 1);
  Node zt;
  zt.op = Op::Conv;
  zt.c = n.cout;
  zt.h = Lh;
  zt.w = Lw;
  Node ct = n;
  ct.cin = n.cout;
  ct.cout = n.cin;
  ct.stride = 1;
  ct.strideW = 1;
  ct.pad = padT;
  ct.padW = padL;
  ct.padB = padB;
  ct.padR = padR;
  ct.c = in.c;
  ct.h = in.h;
  ct.w = in.w;
  // (reversing the kh x kw taps in memory order flips both axes)
  const size_t kk = static_cast<size_t>(a.taps());
  float* wT = sc.wT.reserve(static_cast<size_t>(n.cin) * coutG * kk);
  for (int g = 0; g < G; ++g)
    for (int co = 0; co < coutG; ++co)
      for (int ci = 0; ci < cinG; ++ci) {
        const float* src = w + ((static_cast<size_t>(g) * coutG + co) * cinG + ci) * kk;
        float* dst = wT + ((static_cast<size_t>(g) * cinG + ci) * coutG + co) * kk;
        for (size_t t = 0; t < kk; ++t) dst[t] = src[kk - 1 - t];
      }
  const float* z = dy;
  if (a.sh != 1 || a.sw != 1) {
    const size_t zPer = static_cast<size_t>(n.cout) * Lh * Lw;
    float* zb = sc.z.reserve(static_cast<size_t>(S) * zPer + 256);
    std::memset(zb, 0, (static_cast<size_t>(S) * zPer + 256) * sizeof(float));
    for (size_t pl = 0; pl < static_cast<size_t>(S) * n.cout; ++pl)
      for (int oh = 0; oh < n.h; ++oh)
        for (int ow = 0; ow < n.w; ++ow)
          zb[pl * Lh * Lw + static_cast<size_t>(oh) * a.sh * Lw + static_cast<size_t>(ow) * a.sw] = dy[(pl * n.h + oh) * n.w + ow];
    z = zb;
  }
  convForward(ct, zt, z, dx, S, wT, sc.conv);
}

namespace {

// Samples whose positions the weight gradient reduces in one gemmNT: planes under kBlockPositions positions share
// each float lane across up to kBlockPositions / OHW samples, so the lane sums into double (~150 instructions per
// tile, against one vector multiply-add per 16 positions) no longer outweigh the multiply-adds at NB201's 8 x 8
// planes. A lane then sums as many floats as a 32 x 32 plane's does per sample (64), so the float rounding stays
// where it was. The block depends on the layer's shape only, never on threads or the vector width, so every build
// and thread count sums in the same order. The im2col block is capped at kBlockColFloats (wide layers on small
// planes).
inline constexpr size_t kBlockPositions = 1024;
inline constexpr size_t kBlockColFloats = size_t{1} << 21;
int blockSamples(size_t OHW, int K, int rowsPerGroup) {
  const size_t byPositions = kBlockPositions / std::max<size_t>(OHW, 1);
  const size_t byMemory = kBlockColFloats / (static_cast<size_t>(K + rowsPerGroup) * std::max<size_t>(OHW, 1));
  return static_cast<int>(std::max<size_t>(1, std::min(byPositions, byMemory)));
}

// The im2col rows of one padded sample (cinG planes of Hp x Wp) into `col`, whose rows are `ld` floats apart: row
// (ci, kh, kw) holds the OH x OW positions that tap reads, whole output rows copied at stride 1.
void im2colRows(const Window& a, const float* xpad, int Wp, size_t HpWp, int cinG, int OH, int OW, float* col, size_t ld) {
  for (int ci = 0; ci < cinG; ++ci)
    for (int kh = 0; kh < a.kh; ++kh)
      for (int kw = 0; kw < a.kw; ++kw) {
        float* dst = col + static_cast<size_t>((ci * a.kh + kh) * a.kw + kw) * ld;
        const float* src = xpad + ci * HpWp + static_cast<size_t>(kh) * a.dh * Wp + static_cast<size_t>(kw) * a.dw;
        for (int oh = 0; oh < OH; ++oh) {
          const float* srow = src + static_cast<size_t>(oh) * a.sh * Wp;
          float* drow = dst + static_cast<size_t>(oh) * OW;
          if (a.sw == 1) {
            std::memcpy(drow, srow, OW * sizeof(float));
          } else {
            for (int ow = 0; ow < OW; ++ow) drow[ow] = srow[static_cast<size_t>(ow) * a.sw];
          }
        }
      }
}

}  // namespace

void convBackwardWeights(const Node& n, const Node& in, const float* x, const float* dy, int S, float* dw, ConvGradScratch& sc, int r0, int r1) {
  const int G = n.groups;
  const Window a = windowOf(n);
  const int cinG = n.cin / G, coutG = n.cout / G;
  if (cinG == 1 && coutG == 1) {
    depthwiseBackwardWeights(n, in, x, dy, S, dw);
    return;
  }
  const int H = in.h, W = in.w, OH = n.h, OW = n.w;
  const size_t OHW = static_cast<size_t>(OH) * OW, HW = static_cast<size_t>(H) * W;
  const int K = cinG * a.taps();
  const int Hp = H + a.ph + a.pb, Wp = W + a.pw + a.pr;
  const size_t HpWp = static_cast<size_t>(Hp) * Wp;
  // dW_g[co][tap] = sum over samples and positions of dy[co][pos] * col[tap][pos]: im2col rows are whole output rows
  // copied from a zero-padded input (vector copies), and both operands are position-contiguous, so the reduction over
  // positions runs in gemmNT. (The forward kernels reduce over an offset-indexed dimension; feeding them would need
  // im2col transposed, scalar stores that cost more than the multiply-adds.)
  // Small planes are reduced a block of samples at a time (blockSamples), their positions one after another.
  const int Sb = std::min(blockSamples(OHW, K, coutG), std::max(S, 1));  // (blocks are cut at S anyway)
  const size_t P = static_cast<size_t>(Sb) * OHW;
  float* xpad = sc.z.reserve(static_cast<size_t>(cinG) * HpWp);
  std::memset(xpad, 0, static_cast<size_t>(cinG) * HpWp * sizeof(float));
  float* col = sc.colT.reserve(static_cast<size_t>(K) * P);
  const int rows = r1 - r0;
  float* dyb = Sb > 1 ? sc.dyBlock.reserve(static_cast<size_t>(rows) * P) : nullptr;
  double* acc = sc.acc.reserve(static_cast<size_t>(rows) * K);
  for (int g = 0; g < G; ++g) {
    std::fill(acc, acc + static_cast<size_t>(rows) * K, 0.0);
    for (int s0 = 0; s0 < S; s0 += Sb) {
      const int sb = std::min(Sb, S - s0);
      const size_t Pb = static_cast<size_t>(sb) * OHW;
      for (int j = 0; j < sb; ++j) {
        const float* xs = x + (static_cast<size_t>(s0 + j) * n.cin + static_cast<size_t>(g) * cinG) * HW;
        for (int ci = 0; ci < cinG; ++ci)
          for (int ih = 0; ih < H; ++ih)
            std::memcpy(xpad + ci * HpWp + static_cast<size_t>(ih + a.ph) * Wp + a.pw, xs + ci * HW + static_cast<size_t>(ih) * W, W * sizeof(float));
        im2colRows(a, xpad, Wp, HpWp, cinG, OH, OW, col + j * OHW, Pb);
      }
      const float* dys = dy + (static_cast<size_t>(s0) * n.cout + static_cast<size_t>(g) * coutG + r0) * OHW;
      if (sb > 1) {
        // the rows' planes of the block's samples, one after another (dy holds them sample-major)
        for (int r = 0; r < rows; ++r)
          for (int j = 0; j < sb; ++j)
            std::memcpy(dyb + r * Pb + j * OHW, dys + (static_cast<size_t>(j) * n.cout + r) * OHW, OHW * sizeof(float));
        dys = dyb;
      }
      gemmNT(rows, K, Pb, dys, col, acc);
    }
    float* dwg = dw + (static_cast<size_t>(g) * coutG + r0) * K;
    for (size_t i = 0; i < static_cast<size_t>(rows) * K; ++i) dwg[i] = static_cast<float>(acc[i]);
  }
}

void nodeConvForward(const Node& n, const Node& in, const float* x, float* y, int S, const float* w, ConvGradScratch& sc) {
  if (!n.transposed) {
    convForward(n, in, x, y, S, w, sc.conv);
    return;
  }
  const Adjoint a = adjointOf(n, in);
  convBackwardData(a.conv, a.from, x, y, S, w, sc);
}

void nodeConvBackwardData(const Node& n, const Node& in, const float* dy, float* dx, int S, const float* w, ConvGradScratch& sc) {
  if (!n.transposed) {
    convBackwardData(n, in, dy, dx, S, w, sc);
    return;
  }
  const Adjoint a = adjointOf(n, in);
  convForward(a.conv, a.from, dy, dx, S, w, sc.conv);
}

void nodeConvBackwardWeights(const Node& n, const Node& in, const float* x, const float* dy, int S, float* dw, ConvGradScratch& sc, int r0, int r1) {
  if (!n.transposed) {
    convBackwardWeights(n, in, x, dy, S, dw, sc, r0, r1);
    return;
  }
  const Adjoint a = adjointOf(n, in);
  convBackwardWeights(a.conv, a.from, dy, x, S, dw, sc, r0, r1);
}

void addChannelBias(float* y, const float* bias, int S, int C, size_t HW) {
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < C; ++c) {
      float* yp = y + (static_cast<size_t>(s) * C + c) * HW;
      const float b = bias[c];
      for (size_t i = 0; i < HW; ++i) yp[i] += b;
    }
}

void channelSums(const float* a, const float* b, int S, int C, size_t HW, float* out) {
  for (int c = 0; c < C; ++c) {
    double acc = 0;
    for (int s = 0; s < S; ++s) {
      const size_t o = (static_cast<size_t>(s) * C + c) * HW;
      if (b) {
        for (size_t i = 0; i < HW; ++i) acc += static_cast<double>(a[o + i]) * b[o + i];
      } else {
        for (size_t i = 0; i < HW; ++i) acc += a[o + i];
      }
    }
    out[c] = static_cast<float>(acc);
  }
}

namespace {

// BN's channel sums in double over samples and positions: eight lanes (lane l takes the positions i = l mod 8 of
// each plane's whole blocks of eight, sample after sample), then the lanes in order, then the positions past the
// last whole block in sample / position order. The lanes (d8, simd.h) are fixed at eight whatever the vector width,
// so every build sums in one order; they run as vector adds instead of one chain of dependent scalar adds per
// channel.
struct Lanes8 {
  d8 lanes = {};
  double tail = 0;
  double total() const { return laneTotal(lanes) + tail; }
};

// Σ x and then Σ (x - mean)² of channel c (two passes: no cancellation in the variance).
void bnMeanVar(const float* x, int S, int C, size_t HW, int c, double N, double& mean, double& var) {
  const size_t whole = HW - HW % 8;
  Lanes8 sum, sq;
  for (int s = 0; s < S; ++s) {
    const float* xp = x + (static_cast<size_t>(s) * C + c) * HW;
    for (size_t i = 0; i < whole; i += 8) addWidened(sum.lanes, xp + i);
    for (size_t i = whole; i < HW; ++i) sum.tail += xp[i];
  }
  mean = sum.total() / N;
  for (int s = 0; s < S; ++s) {
    const float* xp = x + (static_cast<size_t>(s) * C + c) * HW;
    for (size_t i = 0; i < whole; i += 8) addSquaredDeviations(sq.lanes, xp + i, mean);
    for (size_t i = whole; i < HW; ++i) sq.tail += (xp[i] - mean) * (xp[i] - mean);
  }
  var = sq.total() / N;
}

// Σ dy and Σ dy · x-hat of channel c, in bnMeanVar's order.
void bnGradSums(const float* dy, const float* xhat, int S, int C, size_t HW, int c, double& sdy, double& sdyx) {
  const size_t whole = HW - HW % 8;
  Lanes8 a, b;
  for (int s = 0; s < S; ++s) {
    const size_t o = (static_cast<size_t>(s) * C + c) * HW;
    const float* d = dy + o;
    const float* h = xhat + o;
    for (size_t i = 0; i < whole; i += 8) {
      addWidened(a.lanes, d + i);
      addProducts(b.lanes, d + i, h + i);
    }
    for (size_t i = whole; i < HW; ++i) {
      a.tail += d[i];
      b.tail += static_cast<double>(d[i]) * h[i];
    }
  }
  sdy = a.total();
  sdyx = b.total();
}

}  // namespace

void bnForward(bool train, const float* x, float* xhat, float* y, double* inv, int S, int C, size_t HW, const float* gamma, const float* beta,
               const float* runMean, const float* runVar, double eps, int c0, int c1) {
  const double N = static_cast<double>(S) * HW;
  std::vector<double> mean(runMean, runMean + C), var(runVar, runVar + C);
  if (train)
    for (int c = c0; c < c1; ++c) bnMeanVar(x, S, C, HW, c, N, mean[c], var[c]);
  for (int c = c0; c < c1; ++c) {
    inv[c] = 1.0 / std::sqrt(var[c] + eps);
    const double g = gamma[c], b = beta[c], ic = inv[c], m = mean[c];
    for (int s = 0; s < S; ++s) {
      const size_t o = (static_cast<size_t>(s) * C + c) * HW;
      for (size_t i = 0; i < HW; ++i) {
        const double h = (x[o + i] - m) * ic;
        xhat[o + i] = static_cast<float>(h);
        y[o + i] = static_cast<float>(g * h + b);
      }
    }
  }
}

void bnBackward(bool train, const float* dy, const float* xhat, const double* inv, int S, int C, size_t HW, const float* gamma, float* dx,
                float* dgamma, float* dbeta, int c0, int c1) {
  const double N = static_cast<double>(S) * HW;
  // The channel sums feed the batch-statistics terms (train) and dgamma/dbeta; eval mode without parameter
  // gradients (VKDNW's passes) needs neither.
  std::vector<double> sdy(static_cast<size_t>(C), 0.0), sdyx(static_cast<size_t>(C), 0.0);
  const bool sums = train || dgamma || dbeta;
  if (sums)
    for (int c = c0; c < c1; ++c) bnGradSums(dy, xhat, S, C, HW, c, sdy[c], sdyx[c]);
  for (int c = c0; c < c1; ++c) {
    if (dgamma) dgamma[c] = static_cast<float>(sdyx[c]);
    if (dbeta) dbeta[c] = static_cast<float>(sdy[c]);
    const double a = gamma[c] * inv[c];
    if (!sums) {
      // eval mode (VKDNW's passes): dx = a * dy, exactly what the general line below gives with mg = mgx = 0 for
      // finite x-hat, without reading x-hat
      for (int s = 0; s < S; ++s) {
        const size_t o = (static_cast<size_t>(s) * C + c) * HW;
        for (size_t i = 0; i < HW; ++i) dx[o + i] = static_cast<float>(a * dy[o + i]);
      }
      continue;
    }
    const double mg = train ? sdy[c] / N : 0, mgx = train ? sdyx[c] / N : 0;
    for (int s = 0; s < S; ++s) {
      const size_t o = (static_cast<size_t>(s) * C + c) * HW;
      for (size_t i = 0; i < HW; ++i) dx[o + i] = static_cast<float>(a * (dy[o + i] - mg - xhat[o + i] * mgx));
    }
  }
}

void maxPoolArgmax(const Node& n, const Node& in, const float* x, float* y, int32_t* argmax, int S) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, st = n.stride, p = n.pad;
  for (size_t pl = 0; pl < static_cast<size_t>(S) * n.c; ++pl) {
    const float* xp = x + pl * H * W;
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        float m = 0;
        int32_t at = -1;
        for (int ih = std::max(0, oh * st - p); ih < std::min(H, oh * st - p + k); ++ih)
          for (int iw = std::max(0, ow * st - p); iw < std::min(W, ow * st - p + k); ++iw) {
            const float v = xp[ih * W + iw];
            // First maximum in window order wins ties; a NaN wins (PyTorch's rule).
            if (at < 0 || v > m || std::isnan(v)) {
              m = v;
              at = ih * W + iw;
            }
          }
        const size_t o = (pl * OH + oh) * OW + ow;
        y[o] = m;
        argmax[o] = at;
      }
  }
}

namespace {

// Element count of each average-pool output's window (the divisor of its share).
std::vector<double> poolDivisors(const Node& n, const Node& in) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, st = n.stride, p = n.pad;
  std::vector<double> div(static_cast<size_t>(OH) * OW);
  for (int oh = 0; oh < OH; ++oh)
    for (int ow = 0; ow < OW; ++ow) {
      const int h0 = std::max(0, oh * st - p), h1 = std::min(H, oh * st - p + k);
      const int w0 = std::max(0, ow * st - p), w1 = std::min(W, ow * st - p + k);
      div[static_cast<size_t>(oh) * OW + ow] =
          n.countIncludePad ? static_cast<double>(paddedExtent(oh, k, st, p, H)) * paddedExtent(ow, k, st, p, W) : static_cast<double>(h1 - h0) * (w1 - w0);
    }
  return div;
}

// Average-pool backward, any stride, into a zeroed dx: each output's share v = dy / (its window's element count) is
// scattered over its window. Looping window rows, then window columns from the last, then outputs left to right
// adds every input's contributions in the same order as a plain loop over outputs (oh, then ow ascending).
void avgPoolScatter(const Node& n, const Node& in, const float* dy, const std::vector<double>& div, float* dx, int S) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, st = n.stride, p = n.pad;
  std::vector<float> v(static_cast<size_t>(OW));
  for (size_t pl = 0; pl < static_cast<size_t>(S) * n.c; ++pl) {
    float* xp = dx + pl * H * W;
    for (int oh = 0; oh < OH; ++oh) {
      const float* d = dy + (pl * OH + oh) * OW;
      const double* dv = div.data() + static_cast<size_t>(oh) * OW;
      for (int ow = 0; ow < OW; ++ow) v[ow] = static_cast<float>(d[ow] / dv[ow]);
      for (int kh = 0; kh < k; ++kh) {
        const int ih = oh * st - p + kh;
        if (ih < 0 || ih >= H) continue;
        float* row = xp + static_cast<size_t>(ih) * W;
        for (int kw = k - 1; kw >= 0; --kw) {
          // outputs whose window column kw lands inside the row: 0 <= ow*st - p + kw < W
          if (W - 1 + p - kw < 0) continue;
          const int lo = std::max(0, (p - kw + st - 1) / st), hi = std::min(OW, (W - 1 + p - kw) / st + 1);
          for (int ow = lo; ow < hi; ++ow) row[ow * st - p + kw] += v[ow];
        }
      }
    }
  }
}

// Sum of one input's shares, in the scatter's order: window rows oh0..oh1 ascending, then kw descending (ow
// ascending), from 0. V is a float vector of any width (or float itself); `at` points at the share of output
// (oh0, iw + p) in the padded share rows, so ow = iw + p - kw reads at[-kw].
// K > 0 fixes the window width at compile time (NB201's 3x3 pools: the window loop unrolls); K = 0 reads k.
template <typename V, int K, typename Load>
inline V gatherShares(const float* at, size_t rowLen, int rows, int k, Load load) {
  const int kk = K > 0 ? K : k;
  V acc = V{};
  for (int r = 0; r < rows; ++r) {
    const float* row = at + static_cast<size_t>(r) * rowLen;
    for (int kw = kk - 1; kw >= 0; --kw) acc += load(row - kw);
  }
  return acc;
}

// One plane's input rows from its padded share rows (see avgPoolGather).
template <int K>
void gatherPlane(const float* v, size_t rowLen, int H, int W, int OH, int k, int p, float* xp) {
  const auto vec = [](const float* a) { return loadu(a); };
  const auto half = [](const float* a) { return loadHalf(a); };
  const auto one = [](const float* a) { return *a; };
  for (int ih = 0; ih < H; ++ih) {
    const int oh0 = std::max(0, ih + p - k + 1), oh1 = std::min(OH - 1, ih + p);
    const int rows = oh1 - oh0 + 1;
    const float* at = v + static_cast<size_t>(oh0) * rowLen + k + p;  // + iw: output (oh0, iw + p)
    float* out = xp + static_cast<size_t>(ih) * W;
    int iw = 0;
    for (; iw + kVecFloats <= W; iw += kVecFloats) storeu(out + iw, gatherShares<vfloat, K>(at + iw, rowLen, rows, k, vec));
    for (; iw + kVecFloats / 2 <= W; iw += kVecFloats / 2) {
      const vhalf acc = gatherShares<vhalf, K>(at + iw, rowLen, rows, k, half);
      std::memcpy(out + iw, &acc, sizeof acc);
    }
    for (; iw < W; ++iw) out[iw] = gatherShares<float, K>(at + iw, rowLen, rows, k, one);
  }
}

// Average-pool backward for stride 1 as a gather: every input sums, in a register, the shares of the outputs whose
// window holds it, in the scatter's order (oh ascending, then ow ascending, i.e. kw descending), starting from 0 as
// the zeroed dx does; outputs outside the plane read zeros from the padded share rows (x + 0 = x), so the result is
// bit-identical to avgPoolScatter while each input is stored once instead of once per window that holds it.
// The share dy / div is divided in float: div is a small integer, exact in float, and double carries more than
// 2 * 24 + 2 bits, so rounding the double quotient to float equals the float quotient (Figueroa's double-rounding
// theorem) -- the scatter's value, bit for bit, at four times the lanes per division. Rows narrower than a full
// vector (NB201's 8-wide last stage) take half-width vectors before the scalar tail.
void avgPoolGather(const Node& n, const Node& in, const float* dy, const std::vector<double>& div, float* dx, int S) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w, k = n.k, p = n.pad;
  const int rowLen = OW + 2 * k;  // k zeros either side: ow = iw + p - kw stays within [-k, OW + k)
  std::vector<float> v(static_cast<size_t>(OH) * rowLen, 0.0f), divf(div.begin(), div.end());
  for (size_t pl = 0; pl < static_cast<size_t>(S) * n.c; ++pl) {
    const float* d = dy + pl * OH * OW;
    for (int oh = 0; oh < OH; ++oh) {
      float* vr = v.data() + static_cast<size_t>(oh) * rowLen + k;
      const float* dr = d + static_cast<size_t>(oh) * OW;
      const float* q = divf.data() + static_cast<size_t>(oh) * OW;
      for (int ow = 0; ow < OW; ++ow) vr[ow] = dr[ow] / q[ow];
    }
    float* xp = dx + pl * H * W;
    if (k == 3)
      gatherPlane<3>(v.data(), rowLen, H, W, OH, k, p, xp);
    else
      gatherPlane<0>(v.data(), rowLen, H, W, OH, k, p, xp);
  }
}

}  // namespace

void poolBackward(const Node& n, const Node& in, const float* dy, const int32_t* argmax, float* dx, int S) {
  const int H = in.h, W = in.w, OH = n.h, OW = n.w;
  if (argmax) {
    std::memset(dx, 0, static_cast<size_t>(S) * in.numel() * sizeof(float));
    for (size_t pl = 0; pl < static_cast<size_t>(S) * n.c; ++pl) {
      float* xp = dx + pl * H * W;
      for (size_t o = pl * OH * OW; o < (pl + 1) * OH * OW; ++o)
        if (argmax[o] >= 0) xp[argmax[o]] += dy[o];
    }
    return;
  }
  const std::vector<double> div = poolDivisors(n, in);
  if (n.stride == 1 && n.pad >= 0 && n.pad < n.k) {
    avgPoolGather(n, in, dy, div, dx, S);
    return;
  }
  std::memset(dx, 0, static_cast<size_t>(S) * in.numel() * sizeof(float));
  avgPoolScatter(n, in, dy, div, dx, S);
}

void linearForward(const float* x, const float* w, const float* b, float* y, int S, int fin, int fout) {
  for (int s = 0; s < S; ++s)
    for (int o = 0; o < fout; ++o) {
      double acc = b ? b[o] : 0.0;
      const float* wr = w + static_cast<size_t>(o) * fin;
      const float* xr = x + static_cast<size_t>(s) * fin;
      for (int i = 0; i < fin; ++i) acc += static_cast<double>(wr[i]) * xr[i];
      y[static_cast<size_t>(s) * fout + o] = static_cast<float>(acc);
    }
}

void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int S, int fin, int fout) {
  if (dx) {
    for (int s = 0; s < S; ++s)
      for (int i = 0; i < fin; ++i) {
        double acc = 0;
        for (int o = 0; o < fout; ++o) acc += static_cast<double>(w[static_cast<size_t>(o) * fin + i]) * dy[static_cast<size_t>(s) * fout + o];
        dx[static_cast<size_t>(s) * fin + i] = static_cast<float>(acc);
      }
  }
  if (dw) {
    for (int o = 0; o < fout; ++o)
      for (int i = 0; i < fin; ++i) {
        double acc = 0;
        for (int s = 0; s < S; ++s) acc += static_cast<double>(dy[static_cast<size_t>(s) * fout + o]) * x[static_cast<size_t>(s) * fin + i];
        dw[static_cast<size_t>(o) * fin + i] = static_cast<float>(acc);
      }
  }
  if (db) {
    for (int o = 0; o < fout; ++o) {
      double acc = 0;
      for (int s = 0; s < S; ++s) acc += dy[static_cast<size_t>(s) * fout + o];
      db[o] = static_cast<float>(acc);
    }
  }
}

void sliceBackward(const Node& n, const Node& in, const float* dy, float* dx, int S) {
  std::memset(dx, 0, static_cast<size_t>(S) * in.numel() * sizeof(float));
  for (int s = 0; s < S; ++s)
    for (int c = 0; c < n.c; ++c)
      for (int h = 0; h < n.h; ++h) {
        const float* src = dy + ((static_cast<size_t>(s) * n.c + c) * n.h + h) * n.w;
        float* dst = dx + ((static_cast<size_t>(s) * in.c + n.c0 + c) * in.h + n.h0 + h) * in.w + n.w0;
        std::memcpy(dst, src, static_cast<size_t>(n.w) * sizeof(float));
      }
}

void gapBackward(const float* dy, float* dx, int S, int C, size_t HW) {
  for (size_t sc = 0; sc < static_cast<size_t>(S) * C; ++sc) {
    const float v = static_cast<float>(static_cast<double>(dy[sc]) / HW);
    std::fill(dx + sc * HW, dx + (sc + 1) * HW, v);
  }
}

}  // namespace swapnas
