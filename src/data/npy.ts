import { readFileSync } from 'node:fs';
import { SwapError } from '../util/errors.js';
import { clip, quote } from '../util/quote.js';
import { makeBatch, type InputBatch } from './batch.js';

/** Parse a NumPy .npy file holding a little-endian float32 (`<f4`) C-order 4-D array (N, C, H, W). */
export function decodeNpyBatch(buf: Uint8Array, source: string): InputBatch {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b))
    throw new SwapError('E_INPUT_FILE', `${source}: not a .npy file`);
  const major = buf[6]!;
  if (major < 1 || major > 3) throw new SwapError('E_INPUT_FILE', `${source}: .npy format version ${major} is unknown`);
  const hstart = major === 1 ? 10 : 12;
  if (buf.length < hstart) throw new SwapError('E_INPUT_FILE', `${source}: truncated .npy header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (hstart + hlen > buf.length)
    throw new SwapError('E_INPUT_FILE', `${source}: .npy header of ${hlen} bytes runs past the end of the file`);
  const header = new TextDecoder('latin1').decode(buf.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4')
    throw new SwapError(
      'E_INPUT_FILE',
      `${source}: dtype ${quote(descr ?? '?', 40)} unsupported, expected little-endian float32 '<f4'`,
    );
  if (fortran !== 'False') throw new SwapError('E_INPUT_FILE', `${source}: Fortran-order arrays are not supported`);
  const shape = (shapeText ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.length !== 4)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `${source}: expected a 4-D (N, C, H, W) array, got shape (${clip(shape.join(', '), 80)})`,
    );
  const [n, c, h, w] = shape as [number, number, number, number];
  const start = hstart + hlen;
  const count = n * c * h * w;
  if (buf.length - start !== count * 4)
    throw new SwapError('E_INPUT_FILE', `${source}: payload is ${buf.length - start} bytes, shape needs ${count * 4}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = dv.getFloat32(start + 4 * i, true);
  return makeBatch(data, n, c, h, w, source);
}

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
