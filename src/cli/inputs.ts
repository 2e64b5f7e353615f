import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';
import type { InputBatch } from '../data/batch.js';
import {
  CIFAR100_MEAN,
  CIFAR100_STD,
  CIFAR10_MEAN,
  CIFAR10_STD,
  defaultBatch,
  loadCifarBinary,
} from '../data/cifar.js';
import { loadNpyBatch } from '../data/npy.js';
import { gaussianBatch } from '../data/gaussian.js';
import { loadImageFolder } from '../data/images.js';
import { resizeBatch } from '../data/resize.js';
import { int } from './parse.js';

export interface InputFlags {
  images?: string;
  imageDir?: string;
  npy?: string;
  gaussian?: boolean;
  gaussianSeed?: string;
  norm?: string;
  batch?: string;
  inputSize?: string;
}

/**
 * Choose the input batch from CLI flags: a CIFAR binary, a .npy batch, a seeded Gaussian batch, or the default
 * (the embedded CIFAR-10 test images). `size` is the Gaussian batch's size; `resizeTo` (when set) bilinearly
 * resizes CIFAR images to a network's input size (e.g. 224 for an ImageNet network).
 */
export function inputsFromFlags(
  f: InputFlags,
  size: number,
  want: number,
  resizeTo?: number,
  maxBytes?: number,
): InputBatch {
  const b = cifarOrOther(f, size, want, maxBytes);
  return resizeTo !== undefined && !f.gaussian && !f.npy && (b.h !== resizeTo || b.w !== resizeTo)
    ? resizeBatch(b, resizeTo)
    : b;
}

/** {@link inputsFromFlags}, plus `--image-dir`: the first `want` images of a folder, decoded and resized to `size`. */
export async function inputsFromFlagsAsync(
  f: InputFlags,
  size: number,
  want: number,
  resizeTo?: number,
  maxBytes?: number,
): Promise<InputBatch> {
  if (f.imageDir === undefined) return inputsFromFlags(f, size, want, resizeTo, maxBytes);
  if (f.images || f.npy || f.gaussian)
    throw new SwapError('E_OPTION', 'choose at most one of --images, --image-dir, --npy, --gaussian');
  return loadImageFolder(f.imageDir, { count: want, height: resizeTo ?? size, width: resizeTo ?? size });
}

function cifarOrOther(f: InputFlags, size: number, want: number, maxBytes?: number): InputBatch {
  const chosen = [f.images, f.npy, f.gaussian ? 'g' : undefined].filter((x) => x !== undefined);
  if (chosen.length > 1) throw new SwapError('E_OPTION', 'choose at most one of --images, --npy, --gaussian');
  if (f.gaussian) return gaussianBatch(want, 3, size, size, int('--gaussian-seed', f.gaussianSeed ?? '0', 0), maxBytes);
  if (f.npy) return loadNpyBatch(f.npy);
  const norm =
    f.norm === 'cifar100' ? { mean: CIFAR100_MEAN, std: CIFAR100_STD } : { mean: CIFAR10_MEAN, std: CIFAR10_STD };
  if (f.norm !== undefined && f.norm !== 'cifar10' && f.norm !== 'cifar100')
    throw new SwapError('E_OPTION', `--norm must be cifar10 or cifar100, got ${quote(f.norm)}`);
  if (f.images) return loadCifarBinary(f.images, want, norm);
  return defaultBatch(want);
}
