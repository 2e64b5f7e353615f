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

const RECORD = 1 + 3 * 32 * 32;

export interface Normalisation {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * Decode the first `count` images of a CIFAR binary file (records of 1 label byte + 3072 pixel bytes, R, G, B
 * planes of 32×32, row-major) into a normalised NCHW batch.
 */
export function decodeCifarBinary(bytes: Uint8Array, count: number, norm: Normalisation, source: string): InputBatch {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new SwapError(
      'E_INPUT_FILE',
      `${source}: ${bytes.length} bytes is not a whole number of 3073-byte CIFAR records`,
    );
  }
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
        data[(i * 3 + c) * px + p] = (bytes[i * RECORD + 1 + c * px + p]! / 255 - m) / s;
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
