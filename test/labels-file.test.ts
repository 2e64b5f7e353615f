/**
 * Labels files: a .npy holds one class index per image, shape (N,) or (N, 1) (a matrix is refused, not flattened);
 * a text file's errors name the file's own line numbers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLabels } from '../src/data/labels.js';

const dir = mkdtempSync(join(tmpdir(), 'swapnas-labels-'));

/** A little-endian int64 .npy of `values` with `shape`. */
function npy(name: string, shape: number[], values: number[]): string {
  let header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head.writeUInt8(1, 6);
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.from(BigInt64Array.from(values.map(BigInt)).buffer);
  const file = join(dir, name);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), data]));
  return file;
}

describe('readLabels (.npy)', () => {
  it('takes shape (N,) and (N, 1)', () => {
    expect(Array.from(readLabels(npy('flat.npy', [4], [3, 1, 4, 1])))).toEqual([3, 1, 4, 1]);
    expect(Array.from(readLabels(npy('col.npy', [4, 1], [3, 1, 4, 1])))).toEqual([3, 1, 4, 1]);
  });

  it('refuses a matrix with its shape (one-hot rows get a hint), instead of flattening it', () => {
    expect(() => readLabels(npy('square.npy', [4, 4], Array(16).fill(1)))).toThrow(
      expect.objectContaining({
        code: 'E_LABELS',
        message: expect.stringMatching(/shape \(N,\) or \(N, 1\); got \(4, 4\)/),
      }),
    );
    const onehot = Array.from({ length: 30 }, (_, i) => (i % 10 === i / 10 ? 1 : 0));
    expect(() => readLabels(npy('onehot.npy', [3, 10], onehot))).toThrow(/one-hot rows\? give their argmax/);
    expect(() => readLabels(npy('cube.npy', [2, 2, 1], [0, 1, 2, 3]))).toThrow(/got \(2, 2, 1\)/);
  });
});

describe('readLabels (text)', () => {
  it("names the file's line, blank lines counted, and refuses numbers too long for a label without overflowing", () => {
    const file = join(dir, 'gaps.txt');
    writeFileSync(file, '1\n\n\n2\nx\n');
    expect(() => readLabels(file)).toThrow(/line 5 "x" is not a non-negative 32-bit integer/);
    const long = join(dir, 'long.txt');
    writeFileSync(long, `3\n${'9'.repeat(100_000)}\n`);
    expect(() => readLabels(long)).toThrow(/line 2 "9{20}"… is not a non-negative 32-bit integer/);
    writeFileSync(long, '3\n\n+4\n');
    expect(Array.from(readLabels(long))).toEqual([3, 4]);
  });
});
