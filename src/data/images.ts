import type SharpNs from 'sharp';
import { folderFiles } from '../io/folder.js';
import { SwapError } from '../util/errors.js';
import { checkFloatAlloc } from '../util/limits.js';
import { makeBatch, type InputBatch } from './batch.js';
import { CIFAR10_MEAN, CIFAR10_STD } from './cifar.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

export interface ImageFolderOptions {
  /** Number of images S (the first S by file name). */
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** 3 (RGB, default) or 1 (greyscale). */
  readonly channels?: number;
  /** Per-channel mean and std on the 0–1 scale (default: CIFAR-10 statistics; for 1 channel their first entries). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/** Image files of a folder, sorted by name. */
export function listImageFiles(dir: string): string[] {
  return folderFiles(dir, IMAGE_EXTENSIONS, 'image folder');
}

function checkStats(name: string, v: readonly number[], c: number, positive: boolean): void {
  if (v.length !== c) throw new SwapError('E_OPTION', `${name} needs ${c} value(s), one per channel, got ${v.length}`);
  for (const x of v) {
    if (!Number.isFinite(x) || (positive && x <= 0))
      throw new SwapError('E_OPTION', `${name} values must be finite${positive ? ' and > 0' : ''}, got ${x}`);
  }
}

/** Decode, resize/crop and normalise the first `count` images of a folder into an NCHW float32 batch. */
export async function loadImageFolder(dir: string, opts: ImageFolderOptions): Promise<InputBatch> {
  const C = opts.channels ?? 3;
  const { count, height: H, width: W } = opts;
  if (C !== 1 && C !== 3)
    throw new SwapError('E_INPUT_SHAPE', `images can feed 1- or 3-channel inputs, the model wants ${C}`);
  for (const [k, v] of Object.entries({ count, height: H, width: W })) {
    if (!Number.isInteger(v) || v < 1)
      throw new SwapError('E_OPTION', `image ${k} must be a positive integer, got ${v}`);
  }
  const mean = opts.mean ?? (C === 3 ? CIFAR10_MEAN : [CIFAR10_MEAN[0]]);
  const std = opts.std ?? (C === 3 ? CIFAR10_STD : [CIFAR10_STD[0]]);
  checkStats('mean', mean, C, false);
  checkStats('std', std, C, true);

  const files = listImageFiles(dir);
  if (files.length === 0) throw new SwapError('E_INPUT_EMPTY', `image folder ${dir} holds no .png/.jpg/.jpeg files`);
  if (files.length < count)
    throw new SwapError('E_INPUT_SHAPE', `image folder ${dir} holds ${files.length} images, ${count} requested`);

  // sharp (libvips) is loaded on first use, so that importing swapnas never depends on its binary.
  let sharp: typeof SharpNs;
  try {
    sharp = (await import('sharp')).default;
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `the image decoder (sharp) does not load: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const per = C * H * W;
  checkFloatAlloc(count * per, `${count} images of ${C}x${H}x${W}`);
  const data = new Float32Array(count * per);
  for (let i = 0; i < count; i++) {
    const file = files[i]!;
    let pixels: Buffer;
    try {
      let img = sharp(file).removeAlpha();
      img = C === 3 ? img.toColourspace('srgb') : img.greyscale();
      const { data: buf, info } = await img
        .resize(W, H, { fit: 'cover', position: 'centre', kernel: 'linear' })
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (info.width !== W || info.height !== H || info.channels !== C) {
        throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${W}x${H}x${C}`);
      }
      pixels = buf;
    } catch (e) {
      throw new SwapError('E_INPUT_FILE', `cannot decode image ${file}: ${(e as Error).message}`, { cause: e });
    }
    for (let c = 0; c < C; c++) {
      const m = mean[c]!;
      const s = std[c]!;
      for (let p = 0; p < H * W; p++) data[i * per + c * H * W + p] = (pixels[p * C + c]! / 255 - m) / s;
    }
  }
  return makeBatch(data, count, C, H, W, `${dir}[0:${count}]`);
}
