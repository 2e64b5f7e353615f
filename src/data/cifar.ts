import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SwapError } from '../util/errors.js';
import { makeBatch, type InputBatch } from './batch.js';
import { dataDir } from './paths.js';

/** CIFAR-10 channel statistics (RGB, on the 0–1 scale), as used by the official SWAP code. */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;
/** CIFAR-100 channel statistics. */
export const CIFAR100_MEAN = [0.5071, 0.4865, 0.4409] as const;
export const CIFAR100_STD = [0.2673, 0.2564, 0.2762] as const;

const PIXELS = 3 * 32 * 32;
/** CIFAR-10 records: 1 label byte + pixels. CIFAR-100 records: coarse + fine label bytes + pixels. */
const RECORD_10 = 1 + PIXELS;
const RECORD_100 = 2 + PIXELS;

/**
 * Label bytes per record of a CIFAR binary of `size` bytes: 1 (CIFAR-10 layout, also used by the embedded
 * CIFAR-100 sample) or 2 (CIFAR-100's own files: coarse and fine label). A size that fits both takes `hint`.
 */
export function cifarLabelBytes(size: number, hint: 1 | 2 = 1): 1 | 2 | undefined {
  const fits10 = size > 0 && size % RECORD_10 === 0;
  const fits100 = size > 0 && size % RECORD_100 === 0;
  if (fits10 && fits100) return hint;
  return fits10 ? 1 : fits100 ? 2 : undefined;
}

export interface Normalisation {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * Decode the first `count` images of a CIFAR binary file into a normalised NCHW batch. Records are label byte(s)
 * and 3072 pixel bytes (R, G, B planes of 32×32, row-major): 3,073 bytes in CIFAR-10's layout, 3,074 in
 * CIFAR-100's (coarse + fine label); the layout follows from the file size (see {@link cifarLabelBytes}), a size
 * that fits both is read as `layout` (default: CIFAR-100's when `norm` is CIFAR-100's statistics).
 */
export function decodeCifarBinary(
  bytes: Uint8Array,
  count: number,
  norm: Normalisation,
  source: string,
  layout?: 'cifar10' | 'cifar100',
): InputBatch {
  const hint = (layout ?? (norm.mean[0] === CIFAR100_MEAN[0] ? 'cifar100' : 'cifar10')) === 'cifar100' ? 2 : 1;
  const labels = cifarLabelBytes(bytes.length, hint);
  if (labels === undefined) {
    throw new SwapError(
      'E_INPUT_FILE',
      `${source}: ${bytes.length} bytes is not a whole number of CIFAR records (3,073 bytes for CIFAR-10, 3,074 for CIFAR-100)`,
    );
  }
  const RECORD = labels + PIXELS;
  const available = bytes.length / RECORD;
  if (!Number.isInteger(count) || count < 1)
    throw new SwapError('E_OPTION', `image count must be a positive integer, got ${count}`);
  if (count > available)
    throw new SwapError('E_INPUT_SHAPE', `${source} holds ${available} images, ${count} requested`);
  const px = 32 * 32;
  const data = new Float32Array(count * 3 * px);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) {
      const m = norm.mean[c]!;
      const s = norm.std[c]!;
      for (let p = 0; p < px; p++) {
        data[(i * 3 + c) * px + p] = (bytes[i * RECORD + labels + c * px + p]! / 255 - m) / s;
      }
    }
  }
  return makeBatch(data, count, 3, 32, 32, `${source}[0:${count}]`);
}

export function loadCifarBinary(
  path: string,
  count: number,
  norm: Normalisation = { mean: CIFAR10_MEAN, std: CIFAR10_STD },
): InputBatch {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read CIFAR binary ${path}: ${(e as Error).message}`, { cause: e });
  }
  return decodeCifarBinary(bytes, count, norm, path);
}

/**
 * The embedded default: the first `count` (default 16) CIFAR-10 test images with CIFAR-10 normalisation —
 * pixel-exact images 0–19 for count ≤ 20, otherwise the first `count` of the 1,000 JPEG-decoded test images
 * (100 per class, interleaved by class).
 */
export function defaultBatch(count = 16): InputBatch {
  const file = count <= 20 ? 'cifar10_test_first20.bin' : 'cifar10_test_jpeg1000.bin';
  return loadCifarBinary(join(dataDir(), file), count, { mean: CIFAR10_MEAN, std: CIFAR10_STD });
}

/** The embedded CIFAR-100 test images 0–19 with CIFAR-100 normalisation. */
export function cifar100Batch(count = 16): InputBatch {
  return loadCifarBinary(join(dataDir(), 'cifar100_test_first20.bin'), count, {
    mean: CIFAR100_MEAN,
    std: CIFAR100_STD,
  });
}
