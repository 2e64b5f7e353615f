/**
 * Class labels of input batches: the embedded CIFAR images carry theirs (the first byte of each record); user
 * inputs take a file — one integer per line, or a .npy array of integers.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { SwapError } from '../util/errors.js';
import type { InputBatch } from './batch.js';
import { decodeNpy } from './npy-array.js';
import { dataDir } from './paths.js';

const RECORD = 3073;

/**
 * Labels of records `from … from+count−1` of a CIFAR binary file, reading only their label bytes (every scoring
 * request resolves its batch's labels, and the 1,000-image file is 3 MB).
 */
export function cifarLabels(path: string, count: number, from = 0): Int32Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if ((from + count) * RECORD > size)
      throw new SwapError('E_INPUT_SHAPE', `${path} holds ${Math.floor(size / RECORD)} images, ${from + count} needed`);
    const byte = Buffer.alloc(1);
    return Int32Array.from({ length: count }, (_, i) => {
      readSync(fd, byte, 0, 1, (from + i) * RECORD);
      return byte[0]!;
    });
  } finally {
    closeSync(fd);
  }
}

/** Labels of the embedded default CIFAR-10 batch of `count` images (the same images as `defaultBatch(count)`). */
export function defaultLabels(count: number): Int32Array {
  const file = count <= 20 ? 'cifar10_test_first20.bin' : 'cifar10_test_jpeg1000.bin';
  return cifarLabels(join(dataDir(), file), count);
}

/** Labels of the embedded CIFAR-100 test images 0…count−1 (fine labels). */
export function cifar100Labels(count: number): Int32Array {
  return cifarLabels(join(dataDir(), 'cifar100_test_first20.bin'), count);
}

/** Parse a labels file: `.npy` (any integer dtype, or floats holding integers) or text with one integer per line. */
export function readLabels(path: string): Int32Array {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read labels ${path.slice(0, 200)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const values = path.toLowerCase().endsWith('.npy') ? npyLabels(buf, path) : textLabels(buf, path);
  values.forEach((v, i) => checkLabel(v, i, path));
  if (values.length === 0) throw new SwapError('E_LABELS', `${path.slice(0, 200)} holds no labels`);
  return Int32Array.from(values);
}

/** A .npy of class indices: shape (N) or (N, 1); a matrix (one-hot rows, a batch of images) is refused. */
function npyLabels(buf: Buffer, path: string): number[] {
  const a = decodeNpy(buf, path);
  if (a.shape.length > 2 || (a.shape.length === 2 && a.shape[1] !== 1))
    throw new SwapError(
      'E_LABELS',
      `${path.slice(0, 120)}: labels must be one class index per image, shape (N,) or (N, 1); got (${a.shape.join(', ')})${a.shape.length === 2 ? ' (one-hot rows? give their argmax)' : ''}`,
    );
  return Array.from(a.data);
}

/** A class label must be a non-negative 32-bit integer (`E_LABELS` naming where it came from otherwise). */
function checkLabel(v: number, i: number, origin: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff)
    throw new SwapError(
      'E_LABELS',
      `${origin.slice(0, 120)}: label ${i} (${String(v).slice(0, 20)}) is not a non-negative 32-bit integer`,
    );
  return v;
}

function textLabels(buf: Buffer, path: string): number[] {
  return buf
    .toString('utf8')
    .split(/\r?\n/)
    .map((l, i) => ({ l: l.trim(), line: i + 1 })) // line numbers of the file, blank lines counted
    .filter(({ l }) => l.length > 0)
    .map(({ l, line }) => {
      // at most 10 digits: anything longer is no 32-bit label (and Number() of it would round or overflow)
      if (!/^[+-]?\d{1,10}$/.test(l))
        throw new SwapError(
          'E_LABELS',
          `${path.slice(0, 120)}: line ${line} ${JSON.stringify(l.slice(0, 20))}${l.length > 20 ? '…' : ''} is not a non-negative 32-bit integer`,
        );
      return Number(l);
    });
}

/**
 * Labels given apart from an input batch (`--labels FILE`, a search's or a server request's `labels`): the first
 * `inputs.n` of `all` (fewer, or any not a non-negative integer, is `E_LABELS`) and their key (SHA-256 of the label
 * list, 16 hex digits), which an ensemble's reference-set identity and a run's settings record.
 */
export function batchLabels(
  all: ArrayLike<number>,
  inputs: InputBatch,
  origin: string,
): { labels: Int32Array; key: string } {
  if (all.length < inputs.n)
    throw new SwapError(
      'E_LABELS',
      `${all.length} labels in ${origin.slice(0, 120)} for ${inputs.n} input images (${inputs.source.slice(0, 80)})`,
    );
  const labels = Int32Array.from({ length: inputs.n }, (_, i) => checkLabel(all[i]!, i, origin));
  const key = createHash('sha256')
    .update(`[${Array.from(labels).join(',')}]`)
    .digest('hex')
    .slice(0, 16);
  return { labels, key };
}
