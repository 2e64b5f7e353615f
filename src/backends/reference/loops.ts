/**
 * Index loops of the reference kernels, written once for the float32 forward pass (`kernels.ts`, PRNG weights)
 * and the float64 gradient path (`f64-forward.ts`, explicit parameters). Each loop accumulates in float64 in one
 * fixed order and stores every output element once, so a float32 output rounds once, exactly as a float64 one
 * would be rounded afterwards: both paths compute the same function. Layouts NCHW, batch `B` first.
 */
import { BN_EPS, bilinearAxis, convAxes, numel, paddedExtent, type SpecOf, shuffleSource } from '../../ir/ops.js';
import type { ConvNode, LinearNode, PoolNode, Shape, SliceNode } from '../../ir/types.js';

/** Values of a tensor: float32 (forward storage) or float64 (gradient path). */
export type Floats = Float32Array | Float64Array;
type S3 = readonly [number, number, number];

/**
 * Add conv(x, w) of sample `s` and output channel `oc` to `acc` (OH×OW, float64), which holds the start values
 * (0, or the bias). Order: input channel of the group, kernel row, kernel column, output position.
 */
export function convAccumulate(
  n: ConvNode,
  inS: S3,
  outS: S3,
  x: Floats,
  w: Floats,
  s: number,
  oc: number,
  acc: Float64Array,
): void {
  const [, H, W] = inS;
  const [, OH, OW] = outS;
  const cinG = n.cin / n.groups;
  const coutG = n.cout / n.groups;
  const g = Math.floor(oc / coutG);
  const a = convAxes(n);
  for (let icg = 0; icg < cinG; icg++) {
    const xo = s * n.cin * H * W + (g * cinG + icg) * H * W;
    for (let kh = 0; kh < a.kh; kh++)
      for (let kw = 0; kw < a.kw; kw++) {
        const wv = w[((oc * cinG + icg) * a.kh + kh) * a.kw + kw]!;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * a.sh - a.ph + kh * a.dh;
          if (ih < 0 || ih >= H) continue;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * a.sw - a.pw + kw * a.dw;
            if (iw >= 0 && iw < W) acc[oh * OW + ow]! += wv * x[xo + ih * W + iw]!;
          }
        }
      }
  }
}

/**
 * Train-mode batch normalisation without affine: per channel the batch mean μ, biased variance σ² and
 * inv = 1/sqrt(σ² + ε); writes x̂ = (x − μ)·inv into `out` and returns the statistics.
 */
export function bnTrainInto(
  shape: S3,
  x: Floats,
  B: number,
  out: Floats,
  eps = BN_EPS,
): { mean: Float64Array; variance: Float64Array; inv: Float64Array } {
  const [C, H, W] = shape;
  const hw = H * W;
  const per = C * hw;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const inv = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let s = 0; s < B; s++) for (let i = 0; i < hw; i++) sum += x[s * per + c * hw + i]!;
    const m = sum / (B * hw);
    let sq = 0;
    for (let s = 0; s < B; s++)
      for (let i = 0; i < hw; i++) {
        const d = x[s * per + c * hw + i]! - m;
        sq += d * d;
      }
    mean[c] = m;
    variance[c] = sq / (B * hw);
    inv[c] = 1 / Math.sqrt(variance[c]! + eps);
    for (let s = 0; s < B; s++)
      for (let i = 0; i < hw; i++) {
        const k = s * per + c * hw + i;
        out[k] = (x[k]! - m) * inv[c]!;
      }
  }
  return { mean, variance, inv };
}

/**
 * Visit every (output index, input index) pair of a pooling window that lies inside the input; `done` gets each
 * output's in-bounds count and its window's size within the padded input (`paddedExtent`: k² in floor mode).
 */
export function forEachPoolTap(
  n: PoolNode,
  inS: S3,
  outS: S3,
  B: number,
  visit: (o: number, i: number, first: boolean) => void,
  done: (o: number, count: number, padded: number) => void,
): void {
  const [C, H, W] = inS;
  const [, OH, OW] = outS;
  const ext = (o: number, size: number) => paddedExtent(o, n.k, n.stride, n.pad, size);
  for (let sc = 0; sc < B * C; sc++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const o = (sc * OH + oh) * OW + ow;
        let cnt = 0;
        for (let kh = 0; kh < n.k; kh++) {
          const ih = oh * n.stride - n.pad + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < n.k; kw++) {
            const iw = ow * n.stride - n.pad + kw;
            if (iw < 0 || iw >= W) continue;
            visit(o, (sc * H + ih) * W + iw, cnt === 0);
            cnt++;
          }
        }
        done(o, cnt, ext(oh, H) * ext(ow, W));
      }
}

/**
 * Average pooling into `y` (float64, zeroed: windows are summed in place), divided by the window's size within the
 * padded input with `countIncludePad` (k², but for a ceil-mode window that overhangs it), else by the taps inside
 * the input.
 */
export function avgPoolInto(n: PoolNode, inS: S3, outS: S3, x: Floats, B: number, y: Float64Array): void {
  forEachPoolTap(
    n,
    inS,
    outS,
    B,
    (o, i) => {
      y[o]! += x[i]!;
    },
    (o, cnt, padded) => {
      y[o]! /= n.countIncludePad ? padded : cnt;
    },
  );
}

/**
 * Channel shuffle of B samples into `out`: output channel c is input channel `shuffleSource(c)`; `back`: the
 * transpose (each cotangent plane returns to its input channel).
 */
export function shuffleInto(groups: number, shape: S3, x: Floats, B: number, out: Floats, back = false): void {
  const [C, H, W] = shape;
  const hw = H * W;
  for (let s = 0; s < B; s++)
    for (let c = 0; c < C; c++) {
      const src = shuffleSource(c, groups, C);
      const [o, i] = back ? [src, c] : [c, src];
      for (let k = 0; k < hw; k++) out[(s * C + o) * hw + k] = x[(s * C + i) * hw + k]!;
    }
}

/**
 * Upsampling of B samples of an `inShape` map into `out` (`n`'s): nearest-neighbour by `n.scale`, each input value
 * filling its scale × scale block, or bilinear ({@link bilinearInto}). `back`: the transpose, each input cotangent
 * the sum of its block's, rows then columns (the native passes sum in the same order).
 */
export function upsampleInto(
  n: SpecOf<'upsample'>,
  inShape: S3,
  x: Floats,
  B: number,
  out: Floats,
  back = false,
): void {
  if (n.bilinear) return bilinearInto(n.bilinear, inShape, x, B, out, back);
  const scale = n.scale;
  const [C, H, W] = inShape;
  const OW = W * scale;
  for (let p = 0; p < B * C; p++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const at = (p * H + i) * W + j;
        let acc = 0;
        for (let di = 0; di < scale; di++)
          for (let dj = 0; dj < scale; dj++) {
            const o = (p * H * scale + i * scale + di) * OW + j * scale + dj;
            if (back) acc += x[o]!;
            else out[o] = x[at]!;
          }
        if (back) out[at] = acc;
      }
}

/**
 * PyTorch's bilinear resize of B samples of an `inShape` map to `to.h`×`to.w` ({@link bilinearAxis}): each output
 * (1 − λh)·((1 − λw)·x00 + λw·x01) + λh·((1 − λw)·x10 + λw·x11), in double. `back`: the transpose, each output's
 * cotangent added to its four inputs in output order, in the same four terms (native/ir.h's bilinearMap: the same
 * order, so the float64 passes equal it bit for bit).
 */
function bilinearInto(
  to: NonNullable<SpecOf<'upsample'>['bilinear']>,
  inShape: S3,
  x: Floats,
  B: number,
  out: Floats,
  back: boolean,
): void {
  const [C, H, W] = inShape;
  const rows = bilinearAxis(H, to.h, to.alignCorners);
  const cols = bilinearAxis(W, to.w, to.alignCorners);
  const acc = back ? new Float64Array(H * W) : undefined;
  for (let p = 0; p < B * C; p++) {
    const src = p * H * W;
    const dst = p * to.h * to.w;
    acc?.fill(0);
    for (let i = 0; i < to.h; i++) {
      const [r0, r1, lh] = [rows.i0[i]! * W, rows.i1[i]! * W, rows.l[i]!];
      for (let j = 0; j < to.w; j++) {
        const [c0, c1, lw] = [cols.i0[j]!, cols.i1[j]!, cols.l[j]!];
        if (acc) {
          const g = x[dst + i * to.w + j]!;
          acc[r0 + c0]! += (1 - lh) * (1 - lw) * g;
          acc[r0 + c1]! += (1 - lh) * lw * g;
          acc[r1 + c0]! += lh * (1 - lw) * g;
          acc[r1 + c1]! += lh * lw * g;
        } else {
          const top = (1 - lw) * x[src + r0 + c0]! + lw * x[src + r0 + c1]!;
          const bottom = (1 - lw) * x[src + r1 + c0]! + lw * x[src + r1 + c1]!;
          out[dst + i * to.w + j] = (1 - lh) * top + lh * bottom;
        }
      }
    }
    if (acc) for (let k = 0; k < H * W; k++) out[src + k] = acc[k]!;
  }
}

/**
 * B samples of an `inShape` map broadcast along its unit axes to `outShape` into `out` (expand). `back`: the
 * transpose, from the output's cotangent `x` into the input's `out`, each input the sum of its copies in output order
 * (the native passes sum in the same order).
 */
export function expandInto(inShape: S3, outShape: S3, x: Floats, B: number, out: Floats, back = false): void {
  const [ci, hi, wi] = inShape;
  const [C, H, W] = outShape;
  if (back) out.fill(0);
  for (let s = 0; s < B; s++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) {
          const at = ((s * ci + (ci === 1 ? 0 : c)) * hi + (hi === 1 ? 0 : i)) * wi + (wi === 1 ? 0 : j);
          const o = ((s * C + c) * H + i) * W + j;
          if (back) out[at] = out[at]! + x[o]!;
          else out[o] = x[at]!;
        }
}

/**
 * The mean (or, with `max`, the maximum) over the channels of B samples of an `inShape` map into `out` (1×H×W per
 * sample), summed in double; the maximum's flat input index per output into `argmax` (the first channel holding it,
 * as PyTorch's max over a dim returns it).
 */
export function chanpoolInto(max: boolean, inShape: S3, x: Floats, B: number, out: Floats, argmax?: Int32Array): void {
  const [C, H, W] = inShape;
  const hw = H * W;
  for (let s = 0; s < B; s++)
    for (let p = 0; p < hw; p++) {
      let acc = 0;
      let at = -1;
      for (let c = 0; c < C; c++) {
        const i = (s * C + c) * hw + p;
        if (!max) acc += x[i]!;
        else if (at < 0 || x[i]! > acc) [acc, at] = [x[i]!, i];
      }
      out[s * hw + p] = max ? acc : acc / C;
      if (argmax) argmax[s * hw + p] = at;
    }
}

/**
 * The cotangent of a chanpool's input from its output's `dy` into `dx` (zeroed, B·C·H·W): the mean's spread evenly
 * over the channels, the maximum's to the channel `argmax` names.
 */
export function chanpoolBackInto(inShape: S3, dy: Floats, B: number, dx: Floats, argmax?: Int32Array): void {
  const [C, H, W] = inShape;
  const hw = H * W;
  for (let s = 0; s < B; s++)
    for (let p = 0; p < hw; p++) {
      const o = s * hw + p;
      if (argmax) dx[argmax[o]!]! += dy[o]!;
      else for (let c = 0; c < C; c++) dx[(s * C + c) * hw + p] = dy[o]! / C;
    }
}

/** The plane size a `mul` broadcasts its second input over: 1 when both have one shape, H·W for a channel gate. */
export function gatePlane(a: Shape, g: Shape): number {
  return numel(a) / numel(g);
}

/** out = a ⊙ g for B samples, g broadcast over each plane when it is a per-channel gate (`plane` = H·W). */
export function mulInto(a: Floats, g: Floats, plane: number, out: Floats): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! * g[Math.floor(i / plane)]!;
}

/** The cotangent of a `mul`'s gate: Σ over each plane of dy ⊙ a (dy ⊙ a itself when `plane` is 1). */
export function gateCotangent(dy: Floats, a: Floats, plane: number, out: Floats): void {
  out.fill(0);
  for (let i = 0; i < dy.length; i++) out[Math.floor(i / plane)]! += dy[i]! * a[i]!;
}

/** out = W·x (+ b) for a batch of flat vectors. */
export function linearInto(
  n: LinearNode,
  x: Floats,
  w: Floats,
  bias: Floats | undefined,
  B: number,
  out: Floats,
): void {
  for (let s = 0; s < B; s++)
    for (let o = 0; o < n.fout; o++) {
      let sum = bias ? bias[o]! : 0;
      for (let i = 0; i < n.fin; i++) sum += w[o * n.fin + i]! * x[s * n.fin + i]!;
      out[s * n.fout + o] = sum;
    }
}

/** Global average pool: B×C×H×W → B×C. */
export function gapInto(inS: S3, x: Floats, B: number, out: Floats): void {
  const [C, H, W] = inS;
  const hw = H * W;
  for (let sc = 0; sc < B * C; sc++) {
    let sum = 0;
    for (let i = 0; i < hw; i++) sum += x[sc * hw + i]!;
    out[sc] = sum / hw;
  }
}

/** Index in the input of element `j` (per-sample flat index) of a slice's output. */
export function sliceSource(n: SliceNode, inS: S3, outS: S3, j: number): number {
  const [, H, W] = outS;
  const [, IH, IW] = inS;
  const c = Math.floor(j / (H * W));
  const h = Math.floor(j / W) % H;
  const w = j % W;
  return ((n.c0 + c) * IH + n.h0 + h) * IW + n.w0 + w;
}

/** A window of the input (channels and spatial offsets), copied row by row. */
export function sliceInto(n: SliceNode, inS: S3, outS: S3, x: Floats, B: number, out: Floats): void {
  const [C, H, W] = outS;
  const per = C * H * W;
  const inPer = numel(inS);
  for (let s = 0; s < B; s++)
    for (let row = 0; row < C * H; row++) {
      const src = s * inPer + sliceSource(n, inS, outS, row * W);
      out.set(x.subarray(src, src + W), s * per + row * W);
    }
}

/** Channel concatenation of per-sample blocks. */
export function concatInto(
  shapes: readonly Shape[],
  xs: readonly Floats[],
  outPer: number,
  B: number,
  out: Floats,
): void {
  let off = 0;
  xs.forEach((x, k) => {
    const p = numel(shapes[k]!);
    for (let s = 0; s < B; s++) out.set(x.subarray(s * p, (s + 1) * p), s * outPer + off);
    off += p;
  });
}
