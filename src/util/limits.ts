import { totalmem } from 'node:os';
import { SwapError } from './errors.js';
import { quote } from './quote.js';

/**
 * Bounds on every size that input can set, and the peak-memory guard. A bound refuses input no real use needs
 * (before anything grows with it); the memory guard refuses a run whose estimated peak exceeds the limit
 * (default {@link DEFAULT_MEMORY_FRACTION} of RAM, `--max-memory` to change) before any large allocation.
 */

/** Longest arch string any space parses (real ones are < 1,000 characters; a DARTS genotype is ~400). */
export const ARCH_TEXT_MAX = 10_000;

/** Upper bounds of numeric CLI options and library options that set a size. */
export const OPTION_MAX = {
  batch: 1 << 20,
  repeats: 100_000,
  channels: 1 << 16,
  cells: 1_000,
  classes: 1 << 24,
  inputSize: 1 << 14,
  sample: 100_000_000,
  chunk: 1 << 20,
  threads: 4096,
  seed: 0xffffffff,
  budget: 100_000_000,
} as const;

/** Largest tensor dimension accepted from a file (ONNX dims, .npy shapes, image sizes). */
export const DIM_MAX = 1 << 24;

/** Refuse an arch text longer than {@link ARCH_TEXT_MAX} before parsing it (quoting only its start). */
export function checkArchText(text: string, what: string): void {
  if (text.length > ARCH_TEXT_MAX)
    throw new SwapError(
      'E_ARCH_SYNTAX',
      `${what} ${quote(text, 60)} is ${text.length.toLocaleString('en-US')} characters, more than the ${ARCH_TEXT_MAX.toLocaleString('en-US')} any architecture needs`,
    );
}

/** Default memory limit: this fraction of the machine's RAM. */
export const DEFAULT_MEMORY_FRACTION = 0.6;

/** `12345`, `512M`, `4G`, `1.5GiB` … → bytes; coded error otherwise. */
export function parseBytes(text: string, name = '--max-memory'): number {
  // Trimmed first: one regex with \s* on both sides of optional groups backtracks quadratically on long input.
  const m = text.length <= 40 ? /^(\d+(?:\.\d+)?) ?([kmgt]?)(?:i?b)?$/i.exec(text.trim()) : null;
  const scale: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
  const v = m ? Number(m[1]) * scale[m[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isFinite(v) || v < 1)
    throw new SwapError('E_OPTION', `${name} must be a size like 512M, 4G or a byte count, got ${quote(text, 40)}`);
  return Math.floor(v);
}

/** The memory limit in bytes: `--max-memory` when given, else {@link DEFAULT_MEMORY_FRACTION} of RAM. */
export function memoryLimit(flag?: string): number {
  return flag !== undefined ? parseBytes(flag) : Math.floor(totalmem() * DEFAULT_MEMORY_FRACTION);
}

/** Human-readable byte count (binary units). */
export function formatBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 && u > 0 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** What a scoring run will hold at once; every field is a count, not bytes. */
export interface ScoreFootprint {
  /** Samples S per batch. */
  readonly batch: number;
  /** Per-sample input shape (C, H, W). */
  readonly input: readonly [number, number, number];
  /** The largest network: activation values per sample (all nodes) and weight values. */
  readonly network?: { readonly activations: number; readonly weights: number };
  /** Network × repeat items evaluated at once (worker threads). */
  readonly concurrent?: number;
}

/**
 * Estimated peak bytes of a scoring run: the float32 input batch, plus, per concurrently evaluated item, every
 * activation of the largest network for the whole batch (float32; engines free some earlier, so this is an upper
 * estimate), its float32 weights and its packed sign bits, plus a 64 MiB allowance for the runtime itself.
 */
export function estimateScoreBytes(f: ScoreFootprint): number {
  const inputBytes = 4 * f.batch * f.input[0] * f.input[1] * f.input[2];
  const n = f.network;
  const item = n ? 4 * f.batch * n.activations + 4 * n.weights + (f.batch * n.activations) / 8 : 0;
  return inputBytes + (f.concurrent ?? 1) * item + 64 * 2 ** 20;
}

/** Refuse a run whose estimated peak exceeds `limit` bytes; the message names the estimate and what it counts. */
export function checkMemory(estimate: number, limit: number, what: string): void {
  if (estimate > limit)
    throw new SwapError(
      'E_MEMORY',
      `${what} needs an estimated ${formatBytes(estimate)} at peak, above the memory limit of ${formatBytes(limit)} (a smaller --batch, --threads or --chunk lowers it; --max-memory raises the limit)`,
    );
}

/**
 * Refuse to allocate `count` float32 values for `what` when they alone exceed `limit` bytes (default: the
 * default memory limit); called before every allocation whose size comes from input (batches, resizes).
 */
export function checkFloatAlloc(count: number, what: string, limit = memoryLimit()): void {
  if (!Number.isSafeInteger(count) || count < 0)
    throw new SwapError('E_MEMORY', `${what} would hold ${count} values, which no machine can allocate`);
  checkMemory(4 * count, limit, what);
}
