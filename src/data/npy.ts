import { readFileSync } from 'node:fs';
import { SwapError } from '../util/errors.js';
import { clip, quote } from '../util/quote.js';
import { makeBatch, type InputBatch } from './batch.js';
import { decodeNpy } from './npy-array.js';

/**
 * Parse a NumPy .npy input batch: a C-order 4-D (N, C, H, W) image array or 2-D (N, F) feature array (read as
 * F×1×1) of little-endian float32 (`<f4`), or float64
 * (`<f8`, NumPy's default, rounded to float32 as `torch.from_numpy(x).float()` rounds it). Integer arrays (raw
 * uint8 pixels) are refused: their scale is the user's to choose.
 */
export function decodeNpyBatch(buf: Uint8Array, source: string): InputBatch {
  const a = decodeNpy(buf, source);
  if (!BATCH_DTYPES.has(a.dtype))
    throw new SwapError(
      'E_INPUT_FILE',
      `${source}: dtype ${quote(a.dtype, 40)} unsupported, expected little-endian float32 '<f4' or float64 '<f8' (integer pixels: scale them to the floats the model was trained on)`,
    );
  if (a.shape.length !== 4 && a.shape.length !== 2)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `${source}: expected a 4-D (N, C, H, W) image array or a 2-D (N, F) feature array, got shape (${clip(a.shape.join(', '), 80)})`,
    );
  // (N, F) feature vectors: F channels of 1×1, the IR's form of a flat input
  const [n, c, h, w] = (a.shape.length === 2 ? [...a.shape, 1, 1] : a.shape) as [number, number, number, number];
  return makeBatch(Float32Array.from(a.data), n, c, h, w, source);
}

/** The .npy dtypes an image batch may have. */
const BATCH_DTYPES: ReadonlySet<string> = new Set(['<f4', '<f8']);

export function loadNpyBatch(path: string): InputBatch {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return decodeNpyBatch(buf, path);
}

/** Encode a batch as .npy (float32, C order). */
export function encodeNpy(b: InputBatch): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${b.n}, ${b.c}, ${b.h}, ${b.w}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += `${' '.repeat(pad % 64)}\n`;
  const out = new Uint8Array(10 + header.length + b.data.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const dv = new DataView(out.buffer, 10 + header.length);
  b.data.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  return out;
}
