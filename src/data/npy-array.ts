import { SwapError } from '../util/errors.js';

/** A decoded .npy array: C-order values widened to float64, and its shape. */
export interface NpyArray {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

const READERS: Record<string, [number, (v: DataView, o: number) => number]> = {
  '<f4': [4, (v, o) => v.getFloat32(o, true)],
  '<f8': [8, (v, o) => v.getFloat64(o, true)],
  '|i1': [1, (v, o) => v.getInt8(o)],
  '|u1': [1, (v, o) => v.getUint8(o)],
  '<i2': [2, (v, o) => v.getInt16(o, true)],
  '<i4': [4, (v, o) => v.getInt32(o, true)],
  '<i8': [8, (v, o) => Number(v.getBigInt64(o, true))],
};

/** Decode a NumPy .npy file of any little-endian integer or float dtype (C order) into float64 values. */
export function decodeNpy(buf: Uint8Array, source: string): NpyArray {
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
  const dtype = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '?';
  const reader = READERS[dtype];
  if (!reader)
    throw new SwapError(
      'E_INPUT_FILE',
      `${source}: dtype ${dtype.slice(0, 20)} is not supported (little-endian float32 '<f4', float64 '<f8' or integers)`,
    );
  if (/'fortran_order':\s*True/.test(header))
    throw new SwapError('E_INPUT_FILE', `${source}: Fortran-order arrays are not supported`);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const [size, read] = reader;
  const start = hstart + hlen;
  if (buf.length - start !== count * size)
    throw new SwapError(
      'E_INPUT_FILE',
      `${source}: payload is ${buf.length - start} bytes, shape needs ${count * size}`,
    );
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = read(dv, start + i * size);
  return { dtype, shape, data };
}
