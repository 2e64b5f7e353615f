import { existsSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Backend } from '../backends/types.js';
import { makeBatch, takeSamples, type InputBatch } from '../data/batch.js';
import { CIFAR10_MEAN, CIFAR10_STD, defaultBatch, cifar100Batch, loadCifarBinary } from '../data/cifar.js';
import { gaussianBatch } from '../data/gaussian.js';
import { cifar100Labels, cifarLabels, defaultLabels } from '../data/labels.js';
import { resizeBatch } from '../data/resize.js';
import { dataDir } from '../data/paths.js';
import { countMacs } from '../ir/analysis.js';
import { measureProxies } from '../proxies/engine.js';
import { nwotProxy } from '../proxies/builtin/nwot.js';
import { paramsProxy } from '../proxies/builtin/params.js';
import { swapProxy } from '../proxies/builtin/swap.js';
import { repeatSeed } from '../init/prng.js';
import type { SearchSpace } from '../spaces/types.js';
import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';
import { AppendFile, readCompleteLines } from '../io/atomic.js';
import { lockOutput } from '../io/lock.js';

/** Image sources for proxy batches. */
export const IMAGE_SOURCES = ['cifar10', 'cifar10-b', 'cifar100', 'gaussian'] as const;
export type ImageSource = (typeof IMAGE_SOURCES)[number];

/** One scoring-proxy configuration of a study. */
export interface ProxySetting {
  readonly channels: number;
  readonly cells: number;
  /** Samples S per batch. */
  readonly batch: number;
  readonly repeats: number;
  /**
   * `cifar10`: the default batch (test images 0…S−1, pixel-exact up to 20); `cifar10-b`: a disjoint batch (JPEG
   * test images 500…500+S−1); `cifar100`: CIFAR-100 test images (S ≤ 20); `gaussian`: seeded N(0,1).
   */
  readonly images: ImageSource;
  /** Resize the images to this height = width (bilinear; default: the source's 32×32). */
  readonly inputSize?: number;
  readonly seed: number;
  /** Score the pruned network (dead cell edges removed, in spaces whose builder supports it: NB201, TNB101). */
  readonly prune?: boolean;
  /** Also compute NWOT (needs a backend with `nwot`). */
  readonly nwot?: boolean;
}

export function settingKey(s: ProxySetting): string {
  return `C${s.channels}-N${s.cells}-S${s.batch}-R${s.repeats}-${s.images}${s.inputSize !== undefined && s.inputSize !== 32 ? `-px${s.inputSize}` : ''}-seed${s.seed}${s.prune ? '-pruned' : ''}${s.nwot ? '-nwot' : ''}`;
}

/**
 * The class labels of a named source's first `count` images, as {@link settingInputs} orders them (undefined for
 * `gaussian`, which has none).
 */
export function sourceLabels(images: ImageSource, count: number): Int32Array | undefined {
  switch (images) {
    case 'cifar10':
      return defaultLabels(count);
    case 'cifar10-b':
      return cifarLabels(join(dataDir(), CIFAR10_B.file), count, CIFAR10_B.from);
    case 'cifar100':
      return cifar100Labels(count);
    case 'gaussian':
      return undefined;
  }
}

/** The input batch a setting uses (RGB, 32×32 unless `inputSize` resizes it). */
export function settingInputs(s: ProxySetting): InputBatch {
  return sourceInputs(s.images, s.batch, s.inputSize ?? 32, s.seed);
}

/**
 * The first `count` images of a named source (see {@link ProxySetting.images}), RGB at `size`×`size` (`seed`: the
 * Gaussian batch's).
 */
export function sourceInputs(images: ImageSource, count: number, size: number, seed = 0): InputBatch {
  if (images === 'gaussian') return gaussianBatch(count, 3, size, size, seed);
  const b = sourceBatch(images, count);
  return size === 32 ? b : resizeBatch(b, size);
}

/** The `cifar10-b` source: test images from index 500 of the 1,000-image file (disjoint from the default batch). */
const CIFAR10_B = { file: 'cifar10_test_jpeg1000.bin', from: 500 } as const;

function sourceBatch(images: Exclude<ImageSource, 'gaussian'>, batch: number): InputBatch {
  switch (images) {
    case 'cifar10':
      return defaultBatch(batch);
    case 'cifar10-b': {
      const all = loadCifarBinary(join(dataDir(), CIFAR10_B.file), 1000, {
        mean: CIFAR10_MEAN,
        std: CIFAR10_STD,
      });
      const per = 3 * 32 * 32;
      const from = CIFAR10_B.from;
      if (batch > 1000 - from) throw new SwapError('E_OPTION', `cifar10-b batches hold at most ${1000 - from} images`);
      return makeBatch(
        all.data.slice(from * per, (from + batch) * per),
        batch,
        3,
        32,
        32,
        `${CIFAR10_B.file}[${from}:${from + batch}]`,
      );
    }
    case 'cifar100':
      return takeSamples(cifar100Batch(20), batch);
  }
}

function stableJson(o: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** What a study measures per architecture. */
export interface Measurement {
  readonly arch: string;
  readonly perRepeat: readonly number[];
  readonly swap: number;
  readonly params: number;
  readonly macs: number;
  readonly nwot?: number;
}

/** Where and how {@link measure} runs. */
export interface MeasureContext<N> {
  backend: Backend;
  cacheDir?: string;
  threads?: number;
  chunk?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Builder options besides channels/cells (e.g. classes). */
  network?: Partial<N>;
}

/**
 * Measure genotypes under one proxy setting with `backend`, in chunks, appending each finished chunk to a JSONL
 * cache (`<cacheDir>/<settingKey>.jsonl`) so an interrupted study resumes where it stopped. Returns arch → result.
 */
export async function measure<G, N extends object>(
  space: SearchSpace<G, N>,
  genotypes: readonly G[],
  setting: ProxySetting,
  ctx: MeasureContext<N>,
): Promise<Map<string, Measurement>> {
  const out = new Map<string, Measurement>();
  // Builder options (classes, input size, head) change Θ: results under other options live in another file.
  const netKey =
    ctx.network && Object.keys(ctx.network).length > 0
      ? `-net${createHash('sha256').update(stableJson(ctx.network)).digest('hex').slice(0, 8)}`
      : '';
  const file = ctx.cacheDir ? join(ctx.cacheDir, `${space.name}-${settingKey(setting)}${netKey}.jsonl`) : undefined;
  if (ctx.cacheDir) {
    try {
      mkdirSync(ctx.cacheDir, { recursive: true });
    } catch (e) {
      throw new SwapError('E_OUTPUT', `cannot create cache folder ${ctx.cacheDir}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  // One writer per cache file: held from reading it back to the last appended line.
  const lock = file ? lockOutput(file, 'measurement cache') : undefined;
  try {
    return await measureLocked(space, genotypes, setting, ctx, file, out);
  } finally {
    lock?.release();
  }
}

async function measureLocked<G, N extends object>(
  space: SearchSpace<G, N>,
  genotypes: readonly G[],
  setting: ProxySetting,
  ctx: MeasureContext<N>,
  file: string | undefined,
  out: Map<string, Measurement>,
): Promise<Map<string, Measurement>> {
  if (file && existsSync(file)) {
    for (const line of readCompleteLines(file).split('\n')) {
      if (!line) continue;
      try {
        const m = JSON.parse(line) as Measurement;
        out.set(m.arch, m);
      } catch {
        throw new SwapError('E_JOURNAL', `${file}: corrupt line ${quote(line.slice(0, 60))}`);
      }
    }
  }
  const cache = file ? AppendFile.open(file) : undefined;
  try {
    return await measureChunks(space, genotypes, setting, ctx, out, cache);
  } finally {
    cache?.close();
  }
}

/**
 * Builder options of a setting's scored network: the context's options, then the setting's channels, cells and
 * pruning at the batch's input size (the network part of the scoring request a queued measurement carries).
 */
export function measureNetwork(
  setting: ProxySetting,
  network: Readonly<Record<string, unknown>> | undefined,
  inputSize: number,
): Record<string, unknown> {
  return {
    ...network,
    channels: setting.channels,
    cells: setting.cells,
    inputSize,
    ...(setting.prune ? { prune: true } : {}),
  };
}

/**
 * The input batch of a setting under builder options `network`: without an explicit size, the network's own
 * input size (e.g. 256 px for TransNAS-Bench-101 tasks).
 */
export function measureInputs(setting: ProxySetting, network?: Readonly<Record<string, unknown>>): InputBatch {
  const netSize = network?.['inputSize'];
  return settingInputs(
    setting.inputSize === undefined && typeof netSize === 'number' ? { ...setting, inputSize: netSize } : setting,
  );
}

/** How {@link measureBatch} runs: the batch, weight seeds, NWOT or not, and the backend. */
export interface MeasureBatchOptions {
  readonly inputs: InputBatch;
  readonly seeds: readonly number[];
  readonly nwot: boolean;
  readonly backend: Backend;
  readonly threads?: number;
  readonly signal?: AbortSignal;
}

/**
 * Measurements of genotypes built with `network`, in one engine pass (NWOT, on the first weight seed, is routed to
 * a capable backend when this one has none). Local studies and queue workers both measure through here.
 */
export async function measureBatch<G, N extends object>(
  space: SearchSpace<G, N>,
  genotypes: readonly G[],
  network: Readonly<Record<string, unknown>>,
  o: MeasureBatchOptions,
): Promise<Measurement[]> {
  const nets = genotypes.map((g) => space.build(g, network as unknown as Partial<N>));
  const proxies = o.nwot ? [swapProxy, paramsProxy, nwotProxy] : [swapProxy, paramsProxy];
  const run = await measureProxies(nets, proxies, {
    inputs: o.inputs,
    seeds: o.seeds,
    backend: o.backend,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const v = run.values;
  return genotypes.map((g, k) => ({
    arch: space.format(g),
    perRepeat: run.measured['relu-patterns']![k]!,
    swap: v['swap']![k]!,
    params: v['params']![k]!,
    macs: countMacs(nets[k]!),
    ...(o.nwot ? { nwot: v['nwot']![k]! } : {}),
  }));
}

async function measureChunks<G, N extends object>(
  space: SearchSpace<G, N>,
  genotypes: readonly G[],
  setting: ProxySetting,
  ctx: MeasureContext<N>,
  out: Map<string, Measurement>,
  cache: AppendFile | undefined,
): Promise<Map<string, Measurement>> {
  const inputs = measureInputs(setting, ctx.network as Record<string, unknown> | undefined);
  const network = measureNetwork(setting, ctx.network as Record<string, unknown> | undefined, inputs.h);
  const todo = genotypes.filter((g) => !out.has(space.format(g)));
  const seeds = Array.from({ length: setting.repeats }, (_, r) => repeatSeed(setting.seed, r));
  const chunk = ctx.chunk ?? 32;
  const total = genotypes.length;
  let done = total - todo.length;
  ctx.onProgress?.(done, total);
  for (let i = 0; i < todo.length; i += chunk) {
    const part = todo.slice(i, i + chunk);
    const ms = await measureBatch(space, part, network, {
      inputs,
      seeds,
      nwot: Boolean(setting.nwot),
      backend: ctx.backend,
      ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    for (const m of ms) out.set(m.arch, m);
    cache?.write(`${ms.map((m) => JSON.stringify(m)).join('\n')}\n`);
    done += part.length;
    ctx.onProgress?.(done, total);
  }
  return out;
}
