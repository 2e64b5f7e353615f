import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeCifarBinary,
  decodeNpyBatch,
  defaultBatch,
  encodeNpy,
  gaussianBatch,
  loadNpyBatch,
  CIFAR10_MEAN,
  CIFAR10_STD,
} from '../src/index.js';

describe('input batches', () => {
  it('the default batch is the first 16 CIFAR-10 test images, normalised', () => {
    const b = defaultBatch();
    expect([b.n, b.c, b.h, b.w]).toEqual([16, 3, 32, 32]);
    // normalised values lie within [(0 - mean)/std, (1 - mean)/std]
    for (let c = 0; c < 3; c++) {
      const lo = -CIFAR10_MEAN[c]! / CIFAR10_STD[c]!;
      const hi = (1 - CIFAR10_MEAN[c]!) / CIFAR10_STD[c]!;
      const plane = b.data.subarray(c * 1024, (c + 1) * 1024);
      for (const v of plane) {
        expect(v).toBeGreaterThanOrEqual(lo - 1e-6);
        expect(v).toBeLessThanOrEqual(hi + 1e-6);
      }
    }
    expect(defaultBatch(64).n).toBe(64); // larger batches come from the 1,000 JPEG test images
  });

  it('decodes a hand-made CIFAR record', () => {
    const rec = new Uint8Array(3073);
    rec[0] = 3;
    rec[1] = 255; // R(0,0)
    rec[1 + 1024 + 5] = 0; // G(0,5)
    const b = decodeCifarBinary(rec, 1, { mean: [0, 0, 0], std: [1, 1, 1] }, 'hand');
    expect(b.data[0]).toBe(1);
    expect(b.data[1]).toBe(0);
    expect(() => decodeCifarBinary(rec.subarray(0, 3000), 1, { mean: [0, 0, 0], std: [1, 1, 1] }, 'cut')).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_FILE' }),
    );
    expect(() => decodeCifarBinary(rec, 2, { mean: [0, 0, 0], std: [1, 1, 1] }, 'one')).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_SHAPE' }),
    );
  });

  it('round-trips .npy batches and rejects bad ones with coded errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-npy-'));
    const g = gaussianBatch(2, 3, 4, 5, 9);
    const file = join(dir, 'b.npy');
    writeFileSync(file, encodeNpy(g));
    const back = loadNpyBatch(file);
    expect([back.n, back.c, back.h, back.w]).toEqual([2, 3, 4, 5]);
    expect(back.data).toEqual(g.data);
    const bytes = encodeNpy(g);
    expect(() => decodeNpyBatch(bytes.subarray(0, bytes.length - 4), 'short')).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_FILE' }),
    );
    expect(() => decodeNpyBatch(new TextEncoder().encode('not numpy at all'), 'text')).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_FILE' }),
    );
    const nan = { ...g, data: g.data.slice() };
    nan.data[3] = Number.NaN;
    expect(() => decodeNpyBatch(encodeNpy(nan), 'nan')).toThrowError(expect.objectContaining({ code: 'E_INPUT_NAN' }));
    const f64 = new TextDecoder('latin1').decode(bytes).replace("'<f4'", "'<f8'");
    expect(() =>
      decodeNpyBatch(
        Uint8Array.from(f64, (ch) => ch.charCodeAt(0)),
        'f64',
      ),
    ).toThrowError(expect.objectContaining({ code: 'E_INPUT_FILE' }));
    expect(() => loadNpyBatch(join(dir, 'missing.npy'))).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_FILE' }),
    );
  });

  it('takes float64 batches (the NumPy default) rounded to float32, and refuses integer pixels saying why', () => {
    const g = gaussianBatch(2, 3, 4, 5, 9);
    const bytes = encodeNpy(g);
    const start = bytes.length - g.data.length * 4;
    // the same header with another dtype (equal length) and that dtype's payload
    const withDtype = (descr: string, payload: ArrayBufferView) => {
      const head = new TextDecoder('latin1').decode(bytes.subarray(0, start)).replace("'<f4'", `'${descr}'`);
      const out = new Uint8Array(start + payload.byteLength);
      out.set(Uint8Array.from(head, (ch) => ch.charCodeAt(0)));
      out.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), start);
      return out;
    };
    const f64 = Float64Array.from(g.data, (v) => v + 1e-12);
    expect(decodeNpyBatch(withDtype('<f8', f64), 'f64').data).toEqual(Float32Array.from(f64));
    expect(() => decodeNpyBatch(withDtype('|u1', new Uint8Array(g.data.length)), 'u8')).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_FILE', message: expect.stringMatching(/integer pixels/) }),
    );
  });

  it('Gaussian batches are seeded and reproducible', () => {
    expect(gaussianBatch(2, 3, 8, 8, 1).data).toEqual(gaussianBatch(2, 3, 8, 8, 1).data);
    expect(gaussianBatch(2, 3, 8, 8, 1).data).not.toEqual(gaussianBatch(2, 3, 8, 8, 2).data);
  });
});
