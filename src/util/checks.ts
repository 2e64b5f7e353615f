import { SwapError } from './errors.js';

/** An integer ≥ `min` (`E_OPTION`: "`name` must be an integer ≥ min, got v"). */
export function checkInt(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min)
    throw new SwapError('E_OPTION', `${name} must be an integer ≥ ${min}, got ${String(v).slice(0, 40)}`);
  return v;
}

/** A seed: an integer in [0, 2^32) (`E_OPTION` with one message everywhere). */
export function checkSeed(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff)
    throw new SwapError('E_OPTION', `${name} must be an integer in [0, 2^32), got ${String(v).slice(0, 40)}`);
  return v;
}
