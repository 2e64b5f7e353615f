import { statSync } from 'node:fs';
import type { InputBatch } from '../data/batch.js';
import {
  CIFAR100_MEAN,
  CIFAR100_STD,
  CIFAR10_MEAN,
  CIFAR10_STD,
  defaultBatch,
  loadCifarBinary,
} from '../data/cifar.js';
import { gaussianBatch } from '../data/gaussian.js';
import { cifarLabels, defaultLabels } from '../data/labels.js';
import { loadImageFolder } from '../data/images.js';
import { loadNpyBatch } from '../data/npy.js';
import { resizeBatch } from '../data/resize.js';
import { checkSeed } from '../util/checks.js';

/** Where a scoring request's input batch comes from (plain data; {@link loadInputs} reads it). */
export type InputChoice =
  /** The embedded CIFAR-10 test images. */
  | { readonly kind: 'cifar10' }
  /** A CIFAR binary file, normalised with CIFAR-10 or CIFAR-100 statistics. */
  | { readonly kind: 'cifar-file'; readonly file: string; readonly norm: 'cifar10' | 'cifar100' }
  /** PNG/JPEG images of a folder, the first S by name. */
  | { readonly kind: 'image-dir'; readonly dir: string }
  /** A float32 NCHW .npy batch (used as stored: never resized). */
  | { readonly kind: 'npy'; readonly file: string }
  /** Seeded N(0,1) values at the input size. */
  | { readonly kind: 'gaussian'; readonly seed: number }
  /** A batch the library caller already holds (never resized; its `source` is what results record). */
  | { readonly kind: 'batch'; readonly batch: InputBatch };

/**
 * Class labels of the first `n` images of a choice, where the source carries them: the embedded CIFAR-10 batch and
 * CIFAR binary files (the first byte of each record); undefined for unlabelled sources.
 */
export function inputLabels(choice: InputChoice, n: number): Int32Array | undefined {
  if (choice.kind === 'cifar10') return defaultLabels(n);
  if (choice.kind === 'cifar-file') return cifarLabels(choice.file, n);
  return undefined;
}

/** A file's identity for cache keys (path, mtime, size): a changed file gets another key. */
export function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${path}@${s.mtimeMs}:${s.size}`;
  } catch {
    return path; // the loader reports the error
  }
}

/**
 * A key of what {@link loadInputs} would return for these arguments (files by path, mtime and size), for caches;
 * undefined for a caller-held batch (nothing to load).
 */
export function inputsKey(choice: InputChoice, size: number, want: number, resizeTo?: number): string | undefined {
  if (choice.kind === 'batch') return undefined;
  const file = choice.kind === 'image-dir' ? choice.dir : 'file' in choice ? choice.file : undefined;
  return JSON.stringify([choice, file !== undefined ? fileStamp(file) : null, size, want, resizeTo ?? null]);
}

/**
 * The input batch of a choice: `want` samples (files may hold more) at `size`×`size` where the source is images
 * (CIFAR images are resized bilinearly when `resizeTo` is set and differs from their 32×32). A generated batch
 * larger than `maxBytes` (default: the default memory limit) is refused before it is allocated.
 */
export async function loadInputs(
  choice: InputChoice,
  size: number,
  want: number,
  resizeTo?: number,
  maxBytes?: number,
): Promise<InputBatch> {
  switch (choice.kind) {
    case 'batch':
      return choice.batch;
    case 'npy':
      return loadNpyBatch(choice.file);
    case 'gaussian':
      return gaussianBatch(want, 3, size, size, checkSeed('gaussian seed', choice.seed), maxBytes);
    case 'image-dir':
      return loadImageFolder(choice.dir, { count: want, height: resizeTo ?? size, width: resizeTo ?? size });
    case 'cifar-file':
    case 'cifar10': {
      const b =
        choice.kind === 'cifar10'
          ? defaultBatch(want)
          : loadCifarBinary(
              choice.file,
              want,
              choice.norm === 'cifar100'
                ? { mean: CIFAR100_MEAN, std: CIFAR100_STD }
                : { mean: CIFAR10_MEAN, std: CIFAR10_STD },
            );
      return resizeTo !== undefined && (b.h !== resizeTo || b.w !== resizeTo) ? resizeBatch(b, resizeTo) : b;
    }
  }
}
