import { gaussian } from '../init/prng.js';
import { makeBatch, type InputBatch } from './batch.js';

/** PRNG tensor id reserved for Gaussian input batches (never a node id). */
const INPUT_TENSOR = 0x7fffffff;

/** A seeded N(0,1) batch, reproducible on every backend (same generator as the weights). */
export function gaussianBatch(n: number, c: number, h: number, w: number, seed: number): InputBatch {
  const data = new Float32Array(n * c * h * w);
  for (let i = 0; i < data.length; i++) data[i] = gaussian(seed >>> 0, INPUT_TENSOR, i);
  return makeBatch(data, n, c, h, w, `gaussian(seed=${seed})`);
}
