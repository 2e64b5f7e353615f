import { SwapError } from '../util/errors.js';

export function int(name: string, text: string, min: number): number {
  const v = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min) {
    throw new SwapError('E_OPTION', `${name} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  }
  return v;
}

export function num(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v))
    throw new SwapError('E_OPTION', `${name} must be a finite number, got ${JSON.stringify(text)}`);
  return v;
}

/** A seed flag: an integer in [0, 2^32) (one message for every seed flag). */
export function seedArg(name: string, text: string): number {
  const v = int(name, text, 0);
  if (v > 0xffffffff) throw new SwapError('E_OPTION', `${name} must be an integer in [0, 2^32), got ${v}`);
  return v;
}
