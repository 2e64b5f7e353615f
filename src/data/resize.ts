import { makeBatch, type InputBatch } from './batch.js';
import { SwapError } from '../util/errors.js';
import { checkFloatAlloc } from '../util/limits.js';

/**
 * What is said when `h`×`w` images are stretched to a network's `toH`×`toW` input of another aspect (a choice the
 * user may not want); undefined where the aspect is kept.
 */
export function stretchNote(h: number, w: number, toH: number, toW: number): string | undefined {
  return toH * w === toW * h
    ? undefined
    : `the ${h}x${w} CIFAR images are stretched to the network's ${toH}x${toW} input; give images of that shape with --input for a model trained on them`;
}

/**
 * Bilinear resize of every image of a batch to `size`×`size`, with PyTorch's `interpolate(mode='bilinear',
 * align_corners=False)` sampling (half-pixel centres, edge clamping, no antialiasing). For scoring a network whose
 * input size differs from the images at hand (e.g. CIFAR images for a 224×224 or 256×256 network).
 */
export function resizeBatch(b: InputBatch, size: number, width = size): InputBatch {
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(width) || width < 1) {
    throw new SwapError('E_INPUT_SHAPE', `resize target must be positive integers, got ${size}x${width}`);
  }
  if (size === b.h && width === b.w) return b;
  const { n, c, h, w } = b;
  checkFloatAlloc(n * c * size * width, `resizing ${n} images to ${size}x${width}`);
  const out = new Float32Array(n * c * size * width);
  const axis = (outN: number, inN: number) => {
    const scale = inN / outN;
    const i0 = new Int32Array(outN);
    const i1 = new Int32Array(outN);
    const f = new Float64Array(outN);
    for (let o = 0; o < outN; o++) {
      const src = Math.max(0, (o + 0.5) * scale - 0.5);
      const lo = Math.min(Math.floor(src), inN - 1);
      i0[o] = lo;
      i1[o] = Math.min(lo + 1, inN - 1);
      f[o] = src - lo;
    }
    return { i0, i1, f };
  };
  const ay = axis(size, h);
  const ax = axis(width, w);
  for (let p = 0; p < n * c; p++) {
    const src = p * h * w;
    const dst = p * size * width;
    for (let y = 0; y < size; y++) {
      const r0 = src + ay.i0[y]! * w;
      const r1 = src + ay.i1[y]! * w;
      const fy = ay.f[y]!;
      for (let x = 0; x < width; x++) {
        const fx = ax.f[x]!;
        const a = b.data[r0 + ax.i0[x]!]! * (1 - fx) + b.data[r0 + ax.i1[x]!]! * fx;
        const d = b.data[r1 + ax.i0[x]!]! * (1 - fx) + b.data[r1 + ax.i1[x]!]! * fx;
        out[dst + y * width + x] = a * (1 - fy) + d * fy;
      }
    }
  }
  return makeBatch(out, n, c, size, width, `${b.source} resized to ${size}x${width}`);
}
