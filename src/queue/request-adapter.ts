/**
 * The one place where the queue meets the scoring path: what a job's settings hold, their hash, and how a worker
 * turns (settings, architecture strings) into results with exactly the code a local run uses. When the resolved
 * scoring request (src/request/) lands, this file alone switches to it.
 */
import { createHash } from 'node:crypto';
import type { SkippedBackend } from '../backends/registry.js';
import type { Backend } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { repeatSeed } from '../init/prng.js';
import { checkInputsFit, scoreWithBackend, type NetworkScore } from '../score/swap.js';
import type { Regulariser } from '../proxies/regularise.js';
import { spaceEntry } from '../catalog/registry.js';
import { IMAGE_SOURCES, measure, type Measurement, type ProxySetting } from '../study/measure.js';
import { SwapError } from '../util/errors.js';
import type { JobKind } from './payload.js';

/** JSON with object keys sorted at every level (undefined members dropped), so equal settings hash equally. */
export function sortedJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );
}

/** Hash of a job kind and its resolved settings: results are stored under it, workers re-derive it. */
export function settingsHash(kind: JobKind, settings: unknown): string {
  return createHash('sha256').update(sortedJson({ kind, settings })).digest('hex').slice(0, 32);
}

/**
 * Settings of a `score` job: the output's settings block without the backend (workers choose theirs), plus the
 * content hash and shape of the input batch (stored once beside the jobs).
 */
export interface ScoreJobSettings {
  readonly space: string;
  /** Builder options, as in the output's `settings.network` without `space`. */
  readonly network: Readonly<Record<string, unknown>>;
  readonly batch: number;
  readonly repeats: number;
  readonly seed: number;
  /** The batch's source label (as in the output). */
  readonly inputs: string;
  readonly inputsSha: string;
  readonly inputsShape: readonly [number, number, number, number];
  readonly regulariser: Regulariser | null;
}

/** Settings of a `measure` job (`correlate`): a study setting and the builder options. */
export interface MeasureJobSettings {
  readonly space: string;
  readonly setting: ProxySetting;
  readonly network: Readonly<Record<string, unknown>>;
}

/** What a worker offers a job: its backend, thread count and the run's input batch. */
export interface ComputeContext {
  readonly backend: Backend;
  readonly threads?: number;
  readonly inputs: (sha: string, shape: readonly number[]) => Promise<InputBatch>;
}

/** A chunk's results in architecture order, and the backend that computed them. */
export interface Computed<R> {
  readonly results: R[];
  readonly backend: string;
  readonly skipped: readonly SkippedBackend[];
}

/** Upper bounds on builder options a job may ask for (a job must not exhaust a worker's memory). */
const NETWORK_BOUNDS: Readonly<Record<string, readonly [number, number]>> = {
  channels: [1, 4096],
  cells: [1, 64],
  inputSize: [4, 1024],
  classes: [1, 100_000],
  inputChannels: [1, 64],
};

function bad(msg: string): never {
  throw new SwapError('E_PAYLOAD', msg);
}

function intIn(name: string, v: unknown, lo: number, hi: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < lo || (v as number) > hi)
    throw new SwapError('E_OPTION', `${name} must be an integer in [${lo}, ${hi}], got ${String(v).slice(0, 40)}`);
  return v as number;
}

function checkNetwork(n: unknown): Record<string, unknown> {
  if (n === null || typeof n !== 'object' || Array.isArray(n)) bad('settings.network must be an object');
  for (const [k, v] of Object.entries(n as Record<string, unknown>)) {
    const b = NETWORK_BOUNDS[k];
    if (b) intIn(`network.${k}`, v, b[0], b[1]);
    else if (typeof v === 'number' && !(Number.isFinite(v) && Math.abs(v) <= 1e6))
      bad(`settings.network.${k.slice(0, 40)} must be a finite number of magnitude ≤ 1e6`);
    else if (v !== null && !['number', 'boolean', 'string'].includes(typeof v))
      bad(`settings.network.${k.slice(0, 40)} must be a number, boolean, string or null`);
  }
  return n as Record<string, unknown>;
}

function checkSpace(v: unknown): string {
  if (typeof v !== 'string') bad('settings.space must be a string');
  spaceEntry(v); // unknown space: the CLI's E_SPACE
  return v;
}

/** Validate a `score` job's settings with the CLI's coded errors. */
export function checkScoreSettings(s: Readonly<Record<string, unknown>>): ScoreJobSettings {
  const shape = s['inputsShape'];
  if (!Array.isArray(shape) || shape.length !== 4) bad('settings.inputsShape must be [n, c, h, w]');
  shape.forEach((d, i) => intIn(`inputsShape[${i}]`, d, 1, 1 << 16));
  if (typeof s['inputsSha'] !== 'string' || !/^[0-9a-f]{64}$/.test(s['inputsSha']))
    bad('settings.inputsSha must be a SHA-256');
  if (typeof s['inputs'] !== 'string' || s['inputs'].length > 4096) bad('settings.inputs must be a string');
  const reg = s['regulariser'];
  if (reg !== null) {
    const r = reg as Record<string, unknown> | undefined;
    if (
      !r ||
      typeof r !== 'object' ||
      !Number.isFinite(r['mu']) ||
      !Number.isFinite(r['sigma']) ||
      (r['sigma'] as number) <= 0
    )
      throw new SwapError('E_OPTION', 'settings.regulariser needs a finite mu and a positive sigma');
  }
  return {
    space: checkSpace(s['space']),
    network: checkNetwork(s['network']),
    batch: intIn('batch', s['batch'], 1, 4096),
    repeats: intIn('repeats', s['repeats'], 1, 10_000),
    seed: intIn('seed', s['seed'], 0, 0xffffffff),
    inputs: s['inputs'],
    inputsSha: s['inputsSha'],
    inputsShape: shape as unknown as ScoreJobSettings['inputsShape'],
    regulariser: reg as Regulariser | null,
  };
}

/** Validate a `measure` job's settings with the CLI's coded errors. */
export function checkMeasureSettings(s: Readonly<Record<string, unknown>>): MeasureJobSettings {
  const p = s['setting'] as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object' || Array.isArray(p)) bad('settings.setting must be an object');
  if (!(IMAGE_SOURCES as readonly unknown[]).includes(p['images']))
    throw new SwapError('E_OPTION', `setting.images must be one of ${IMAGE_SOURCES.join(', ')}`);
  intIn('channels', p['channels'], 1, 4096);
  intIn('cells', p['cells'], 1, 64);
  intIn('batch', p['batch'], 1, 4096);
  intIn('repeats', p['repeats'], 1, 10_000);
  intIn('seed', p['seed'], 0, 0xffffffff);
  if (p['inputSize'] !== undefined) intIn('inputSize', p['inputSize'], 4, 1024);
  return { space: checkSpace(s['space']), setting: p as unknown as ProxySetting, network: checkNetwork(s['network']) };
}

/** Score rows of a chunk: the same build → check → count → summarise steps as `swapnas score`. */
export async function computeScore(
  s: ScoreJobSettings,
  archs: readonly string[],
  ctx: ComputeContext,
): Promise<NetworkScore[]> {
  const space = spaceEntry(s.space).space;
  const genotypes = archs.map((a) => space.parse(a));
  const inputs = await ctx.inputs(s.inputsSha, s.inputsShape);
  const nets = genotypes.map((g) => space.build(g, s.network));
  checkInputsFit(nets, inputs);
  const seeds = Array.from({ length: s.repeats }, (_, r) => repeatSeed(s.seed, r));
  return scoreWithBackend(nets, ctx.backend, {
    inputs,
    seeds,
    regulariser: s.regulariser ?? undefined,
    ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}),
  });
}

/** Study measurements of a chunk, through the same `measure` a local `correlate` runs. */
export async function computeMeasure(
  s: MeasureJobSettings,
  archs: readonly string[],
  ctx: ComputeContext,
): Promise<Measurement[]> {
  const space = spaceEntry(s.space).space;
  const genotypes = archs.map((a) => space.parse(a));
  const m = await measure(space, genotypes, s.setting, {
    backend: ctx.backend,
    network: s.network,
    chunk: genotypes.length,
    ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}),
  });
  return genotypes.map((g) => m.get(space.format(g))!);
}
