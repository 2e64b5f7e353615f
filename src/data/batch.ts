import { SwapError } from '../util/errors.js';

/** An input batch: S samples, NCHW float32, already normalised. `source` says where it came from (for reports). */
export interface InputBatch {
  readonly data: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly source: string;
}

/** Validate and wrap a batch; rejects empty data, wrong sizes and non-finite values with coded errors. */
export function makeBatch(data: Float32Array, n: number, c: number, h: number, w: number, source: string): InputBatch {
  for (const [k, v] of Object.entries({ n, c, h, w })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new SwapError(
        v === 0 && k === 'n' ? 'E_INPUT_EMPTY' : 'E_INPUT_SHAPE',
        `input batch ${source}: ${k} must be a positive integer, got ${v}`,
      );
    }
  }
  if (data.length !== n * c * h * w) {
    throw new SwapError(
      'E_INPUT_SHAPE',
      `input batch ${source}: ${data.length} values do not form ${n}x${c}x${h}x${w}`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      const per = c * h * w;
      throw new SwapError(
        'E_INPUT_NAN',
        `input batch ${source}: non-finite value ${data[i]} at sample ${Math.floor(i / per)}, element ${i % per}`,
      );
    }
  }
  return { data, n, c, h, w, source };
}

/** The first `s` samples of a batch. */
export function takeSamples(b: InputBatch, s: number): InputBatch {
  if (!Number.isInteger(s) || s < 1) throw new SwapError('E_OPTION', `batch size must be a positive integer, got ${s}`);
  if (s > b.n) throw new SwapError('E_INPUT_SHAPE', `batch size ${s} exceeds the ${b.n} samples of ${b.source}`);
  if (s === b.n) return b;
  const per = b.c * b.h * b.w;
  return { ...b, n: s, data: b.data.slice(0, s * per) };
}
