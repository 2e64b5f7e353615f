import { SwapError } from '../util/errors.js';
import { OPTION_MAX } from '../util/limits.js';
import { quote } from '../util/quote.js';

/** Upper bound of each integer option (by flag name); options not listed are bounded by 2^53 − 1 only. */
const INT_MAX: Readonly<Record<string, number>> = {
  '--batch': OPTION_MAX.batch,
  '--repeats': OPTION_MAX.repeats,
  '--channels': OPTION_MAX.channels,
  '--cells': OPTION_MAX.cells,
  '--classes': OPTION_MAX.classes,
  '--input-size': OPTION_MAX.inputSize,
  '--sample': OPTION_MAX.sample,
  '--chunk': OPTION_MAX.chunk,
  '--threads': OPTION_MAX.threads,
  '--seed': OPTION_MAX.seed,
  '--gaussian-seed': OPTION_MAX.seed,
  '--weight-seed': OPTION_MAX.seed,
  '--budget': OPTION_MAX.budget,
  '--population': OPTION_MAX.budget,
  '--cycles': OPTION_MAX.budget,
  '--sample-size': OPTION_MAX.budget,
  '--initial': OPTION_MAX.budget,
  '--per-generation': OPTION_MAX.budget,
  '--resamples': OPTION_MAX.budget,
  '--trees': OPTION_MAX.repeats,
};

/** An integer option in [min, max] (max: the option's bound in {@link INT_MAX} unless given); coded error otherwise. */
export function int(name: string, text: string, min: number, max = INT_MAX[name] ?? Number.MAX_SAFE_INTEGER): number {
  const v = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? `between ${min} and ${max}` : `≥ ${min}`;
    throw new SwapError('E_OPTION', `${name} must be an integer ${range}, got ${quote(text)}`);
  }
  return v;
}

/** A finite number option; coded error otherwise. */
export function num(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v))
    throw new SwapError('E_OPTION', `${name} must be a finite number, got ${quote(text)}`);
  return v;
}

/** A comma- or space-separated list of finite numbers (`--mean 0.5,0.5,0.5`). */
export function numList(name: string, text: string): number[] {
  const parts = text.split(/[,\s]+/).filter((s) => s.length > 0);
  if (parts.length === 0) throw new SwapError('E_OPTION', `${name} needs comma-separated numbers, got ${quote(text)}`);
  return parts.map((p) => num(name, p));
}

/** `--input-shape C,H,W` (also `CxHxW`): three positive integers; or `F`, a flat input of F features (F×1×1). */
export function inputShapeArg(text: string): [number, number, number] {
  const parts = text.split(/[,x×\s]+/).filter((s) => s.length > 0);
  if (parts.length !== 3 && parts.length !== 1)
    throw new SwapError('E_OPTION', `--input-shape must be C,H,W (or F for a flat input), got ${quote(text)}`);
  const dims = parts.map((p) => int('--input-shape', p, 1));
  // a flat input's F features: the IR's F channels of 1x1
  return (dims.length === 1 ? [dims[0], 1, 1] : dims) as [number, number, number];
}

/**
 * `--input-shape` for a model: {@link inputShapeArg}, where the one-number form (F) is for an (N, F) input only
 * (on an image model it would silently read C×1×1 images).
 */
export function modelInputShapeArg(
  m: { readonly input: { readonly flat: boolean; readonly view?: unknown } },
  text: string,
): Shape3Tuple {
  const shape = inputShapeArg(text);
  // a flat input viewed as images takes its F or the view's C,H,W
  if (!m.input.flat && !m.input.view && isFeatureCount(text))
    throw new SwapError(
      'E_OPTION',
      `--input-shape ${quote(text)} gives one number, the features of a flat (N, F) input; this model takes (N, C, H, W) images: give C,H,W`,
    );
  return shape;
}

type Shape3Tuple = [number, number, number];

/** Whether `--input-shape` text is one number (a flat input's F), not C,H,W. */
export function isFeatureCount(text: string): boolean {
  return text.split(/[,x×\s]+/).filter((s) => s.length > 0).length === 1;
}

/** A seed flag: an integer in [0, 2^32) (one message for every seed flag). */
export function seedArg(name: string, text: string): number {
  const v = int(name, text, 0);
  if (v > 0xffffffff) throw new SwapError('E_OPTION', `${name} must be an integer in [0, 2^32), got ${v}`);
  return v;
}
