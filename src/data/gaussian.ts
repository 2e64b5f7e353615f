import { SwapError } from '../util/errors.js';
import { checkFloatAlloc } from '../util/limits.js';
import { type GaussianFill, gaussian } from '../init/prng.js';
import { makeBatch, type InputBatch } from './batch.js';

/** PRNG tensor id reserved for Gaussian input batches (never a node id). */
const INPUT_TENSOR = 0x7fffffff;

/**
 * A seeded N(0,1) batch, reproducible on every backend (same generator as the weights). Refused (`E_MEMORY`)
 * before allocating when its float32 values exceed `maxBytes` (default: the default memory limit). `fill`, when
 * given, draws the same values faster (the addon's generator; test/prng.test.ts checks they are equal).
 */
export function gaussianBatch(
  n: number,
  c: number,
  h: number,
  w: number,
  seed: number,
  maxBytes?: number,
  fill?: GaussianFill,
): InputBatch {
  for (const [k, v] of Object.entries({ n, c, h, w }))
    if (!Number.isSafeInteger(v) || v < 1)
      throw new SwapError('E_INPUT_SHAPE', `Gaussian batch: ${k} must be a positive integer, got ${v}`);
  checkFloatAlloc(n * c * h * w, `a Gaussian input batch of ${n}x${c}x${h}x${w}`, maxBytes);
  const data = new Float32Array(n * c * h * w);
  if (fill) fill(data, seed >>> 0, INPUT_TENSOR);
  else for (let i = 0; i < data.length; i++) data[i] = gaussian(seed >>> 0, INPUT_TENSOR, i);
  return makeBatch(data, n, c, h, w, `gaussian(seed=${seed})`);
}
