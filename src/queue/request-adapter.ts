/**
 * The one place where the queue meets the scoring path: what a job's settings hold, the key its results are
 * stored under, and how a worker turns (settings, architecture strings) into results with exactly the code a
 * local run uses. A `score` job carries the resolved scoring request (src/request/) itself.
 */
import { createHash } from 'node:crypto';
import type { SkippedBackend } from '../backends/registry.js';
import type { Backend } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { repeatSeed } from '../init/prng.js';
import { checkInputsFit, scoreWithBackend, type NetworkScore } from '../score/swap.js';
import { checkScoringRequest } from '../request/check.js';
import { requestKey } from '../request/resolve.js';
import type { ScoringRequest } from '../request/types.js';
import { spaceEntry } from '../catalog/registry.js';
import { measureBatch, type Measurement } from '../study/measure.js';
import { SwapError } from '../util/errors.js';
import { canonicalJson } from '../util/json.js';
import type { JobKind } from './payload.js';
import type { ProxyName } from '../proxies/registry.js';
import type { SuiteEngineName } from '../score/ensemble-members.js';

/** Hash of a job kind and its resolved settings: results are stored under it, workers re-derive it. */
export function settingsHash(kind: JobKind, settings: unknown): string {
  return createHash('sha256').update(canonicalJson({ kind, settings })).digest('hex').slice(0, 32);
}

/**
 * Settings of a `score` job: the resolved scoring request, and the content hash and shape of its input batch
 * (stored once beside the jobs; the request names the batch by its source only).
 */
export interface ScoreJobSettings {
  readonly request: ScoringRequest;
  readonly inputsSha: string;
  readonly inputsShape: readonly [number, number, number, number];
}

/**
 * Where a `score` job's results are stored: the request's {@link requestKey} and the batch's content hash (a
 * file edited under the same name is another batch). Equal requests on equal batches share results.
 */
export function scoreJobKey(s: ScoreJobSettings): string {
  return `${requestKey(s.request)}-${s.inputsSha.slice(0, 16)}`;
}

/**
 * Settings of a `measure` job (`correlate --redis`): the study setting as a resolved request (src/study/
 * measure-request.ts), its batch, and whether NWOT is measured too.
 */
export interface MeasureJobSettings extends ScoreJobSettings {
  readonly nwot: boolean;
}

/** Where a `measure` job's results are stored: the score key of its request and batch, marked as measurements. */
export function measureJobKey(s: MeasureJobSettings): string {
  return `${scoreJobKey(s)}-measure${s.nwot ? '-nwot' : ''}`;
}

/** Settings of an `ensemble` job: a score job's, and the suite pass's members, engine and labels. */
export interface EnsembleJobSettings extends ScoreJobSettings {
  /** The ensemble's members that are not read off the SWAP pass (none: the SWAP pass alone). */
  readonly suite: readonly ProxyName[];
  /** The suite engine the producer resolved: workers run the same one (float32 native or float64 reference). */
  readonly engine: SuiteEngineName;
  /** Class label of each input image, or null. */
  readonly labels: readonly number[] | null;
}

/** Where an `ensemble` job's results are stored: the score key of its request and batch, and its suite pass. */
export function ensembleJobKey(s: EnsembleJobSettings): string {
  const suite = createHash('sha256')
    .update(canonicalJson({ suite: s.suite, engine: s.engine, labels: s.labels }))
    .digest('hex');
  return `${scoreJobKey(s)}-ensemble-${suite.slice(0, 16)}`;
}

/**
 * The key a job kind's results are stored under (score, measure, ensemble: by request key; others: their settings
 * hash).
 */
export function jobKey(kind: JobKind, settings: Readonly<Record<string, unknown>>): string {
  if (kind === 'score') return scoreJobKey(settings as unknown as ScoreJobSettings);
  if (kind === 'measure') return measureJobKey(settings as unknown as MeasureJobSettings);
  if (kind === 'ensemble') return ensembleJobKey(settings as unknown as EnsembleJobSettings);
  return settingsHash(kind, settings); // proxies (the proxy settings hash), evaluate
}

/** What a worker offers a job: its backend, thread count and the run's input batch. */
export interface ComputeContext {
  readonly backend: Backend;
  readonly threads?: number;
  /** The run's input batch by content hash and shape; `source` is the label results carry. */
  readonly inputs: (sha: string, shape: readonly number[], source: string) => Promise<InputBatch>;
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

/** A malformed job: `E_PAYLOAD`. */
export function bad(msg: string): never {
  throw new SwapError('E_PAYLOAD', msg);
}

/** An integer in [lo, hi], else `E_OPTION` naming it. */
export function intIn(name: string, v: unknown, lo: number, hi: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < lo || (v as number) > hi)
    throw new SwapError('E_OPTION', `${name} must be an integer in [${lo}, ${hi}], got ${String(v).slice(0, 40)}`);
  return v as number;
}

/** Builder options of a job within the worker's bounds (a job must not exhaust a worker's memory). */
export function checkNetwork(n: unknown): Record<string, unknown> {
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

/** Validate a `score` job's settings with the CLI's coded errors, within the worker's size bounds. */
export function checkScoreSettings(s: Readonly<Record<string, unknown>>): ScoreJobSettings {
  return checkRequestJob(s, 'score', []);
}

/** Validate a `measure` job's settings: a score job's, and the NWOT flag. */
export function checkMeasureSettings(s: Readonly<Record<string, unknown>>): MeasureJobSettings {
  if (typeof s['nwot'] !== 'boolean') bad('settings.nwot must be true or false');
  return { ...checkRequestJob(s, 'measure', ['nwot']), nwot: s['nwot'] };
}

/** The request and batch fields of a job's settings (`more`: the kind's other fields, checked by the caller). */
export function checkRequestJob(
  s: Readonly<Record<string, unknown>>,
  kind: string,
  more: readonly string[],
): ScoreJobSettings {
  const extra = Object.keys(s).find((k) => !['request', 'inputsSha', 'inputsShape', ...more].includes(k));
  if (extra !== undefined) bad(`unknown ${kind} setting ${JSON.stringify(extra.slice(0, 40))}`);
  const { inputsSha, inputsShape: shape } = checkBatchRef(s);
  const request = checkScoringRequest(s['request']);
  checkNetwork(request.network);
  intIn('batch', request.batch, 1, 4096);
  intIn('repeats', request.repeats, 1, 10_000);
  if (shape[0] !== request.batch || shape[2] !== request.network['inputSize'])
    bad(
      `settings.inputsShape ${shape.join('x')} does not fit the request (batch ${request.batch}, input size ${String(request.network['inputSize']).slice(0, 20)})`,
    );
  return { request, inputsSha, inputsShape: shape };
}

/** Class labels of a job's input batch: null, or one class index per image. */
export function checkLabels(v: unknown, images: number): readonly number[] | null {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== images)
    bad(`settings.labels must be null or one class label per input image (${images})`);
  for (const l of v)
    if (!Number.isSafeInteger(l) || l < 0 || l >= 1 << 20) bad('settings.labels must be class indices');
  return v as number[];
}

/** The input batch a job names: its SHA-256 and [n, c, h, w] (the bytes are stored beside the jobs). */
export function checkBatchRef(
  s: Readonly<Record<string, unknown>>,
): Pick<ScoreJobSettings, 'inputsSha' | 'inputsShape'> {
  const shape = s['inputsShape'];
  if (!Array.isArray(shape) || shape.length !== 4) bad('settings.inputsShape must be [n, c, h, w]');
  shape.forEach((d, i) => intIn(`inputsShape[${i}]`, d, 1, 1 << 16));
  if (typeof s['inputsSha'] !== 'string' || !/^[0-9a-f]{64}$/.test(s['inputsSha']))
    bad('settings.inputsSha must be a SHA-256');
  return { inputsSha: s['inputsSha'], inputsShape: shape as unknown as ScoreJobSettings['inputsShape'] };
}

/** Score rows of a chunk: the same build → check → count → summarise steps as `swapnas score`. */
export async function computeScore(
  s: ScoreJobSettings,
  archs: readonly string[],
  ctx: ComputeContext,
): Promise<NetworkScore[]> {
  const r = s.request;
  const space = spaceEntry(r.space).space;
  const genotypes = archs.map((a) => space.parse(a));
  const inputs = await ctx.inputs(s.inputsSha, s.inputsShape, r.inputs);
  const nets = genotypes.map((g) => space.build(g, r.network));
  checkInputsFit(nets, inputs);
  const seeds = Array.from({ length: r.repeats }, (_, k) => repeatSeed(r.seed, k));
  return scoreWithBackend(nets, ctx.backend, {
    inputs,
    seeds,
    regulariser: r.regulariser ?? undefined,
    ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}),
  });
}

/** Study measurements of a chunk, through the same {@link measureBatch} a local `correlate` runs. */
export async function computeMeasure(
  s: MeasureJobSettings,
  archs: readonly string[],
  ctx: ComputeContext,
): Promise<Measurement[]> {
  const r = s.request;
  const space = spaceEntry(r.space).space;
  const genotypes = archs.map((a) => space.parse(a));
  const inputs = await ctx.inputs(s.inputsSha, s.inputsShape, r.inputs);
  return measureBatch(space, genotypes, r.network, {
    inputs,
    seeds: Array.from({ length: r.repeats }, (_, k) => repeatSeed(r.seed, k)),
    nwot: s.nwot,
    backend: ctx.backend,
    ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}),
  });
}
