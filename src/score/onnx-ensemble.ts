/**
 * The ensemble fitness of a user's ONNX model, ranked against a reference set of the user's own ONNX models (a
 * space's reference set would mean nothing for it: its members live on other networks). Each model's members are
 * computed as for a space's network under the SWAP protocol — one SWAP pass (Ψ, Θ) with the model's own weights or
 * `reinit`, and one suite pass on the same images — and reg-SWAP's μ/σ come from the reference models' sizes by the
 * data-free rule of the spaces (μ = max Θ, σ = κ·range²). The reference set is scored once per set of model files
 * (by content) and settings, and cached, so a model's fitness never depends on which other models are scored with it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { folderFiles } from '../io/folder.js';
import { loadOnnxModel, modelSampleShape } from '../onnx/load.js';
import { type EnsembleRule, ensembleScore, referenceColumn } from '../proxies/ensemble.js';
import { onnxProxyModel } from '../proxies/onnx-model.js';
import type { ProxyName } from '../proxies/registry.js';
import { precisionFor } from '../proxies/runner.js';
import { type Regulariser, regFactor } from '../proxies/regularise.js';
import { SwapError } from '../util/errors.js';
import { AUTO_REG_KAPPA, rangeRegulariser } from './auto-reg.js';
import { ENGINE_MEMBERS, type SuiteEngine } from './ensemble-members.js';
import type { ReferenceSource } from './ensemble.js';
import { scoreOnnxModel } from './onnx-model.js';
import { type ReferenceIdentity, readReference, referenceFile, writeReference } from './reference-set.js';

/** The precision of a model's gradient members: `score model.onnx --proxies`'s default for a model file. */
const ONNX_PRECISION = precisionFor({}, true);

/** Fewest reference models accepted: below this a member's empirical distribution is too coarse to rank against. */
export const MIN_REFERENCE_MODELS = 8;

/** The `.onnx` files of a folder (not its subfolders), sorted by name; at least {@link MIN_REFERENCE_MODELS}. */
export function referenceModelFiles(dir: string): string[] {
  const files = folderFiles(dir, ['.onnx'], 'the reference models folder');
  if (files.length < MIN_REFERENCE_MODELS)
    throw new SwapError(
      'E_OPTION',
      `${dir.slice(0, 160)} holds ${files.length} .onnx model${files.length === 1 ? '' : 's'}; a reference set needs at least ${MIN_REFERENCE_MODELS} (a few hundred rank best: measured on NB201, 256 models rank as well as the space's own reference set)`,
    );
  return files;
}

/** How every model's members are computed (the same for the reference models and the scored one). */
export interface OnnxMemberOptions {
  readonly rule: EnsembleRule;
  /** The images every pass reads (its first `batch` samples), already of the models' input shape. */
  readonly images: InputBatch;
  /** Their class labels, when the rule has members that read them. */
  readonly labels?: Int32Array | undefined;
  readonly batch: number;
  readonly seed: number;
  /** Re-initialise the weights (SWAP: the Gaussian scheme over `repeats`; the suite: the SWAP protocol's init). */
  readonly reinit: boolean;
  /** SWAP's repeats: 1 with the model's own weights. */
  readonly repeats: number;
  readonly bn: 'model' | 'batch';
  readonly engine: 'auto' | 'ir' | 'ort';
  /** IR backend of the SWAP pass under the `ir` engine (default `auto`). */
  readonly backend?: BackendName | 'auto' | undefined;
  readonly threads?: number | undefined;
  readonly maxMemory?: number | undefined;
  readonly maxModelBytes?: number | undefined;
  readonly suite: SuiteEngine;
  /** Name of the suite engine (native or reference), part of the reference set's key. */
  readonly suiteEngine: string;
  readonly signal?: AbortSignal | undefined;
}

/** What one model gives before reg-SWAP's μ/σ are known: Ψ, Θ and the suite members. */
interface RawMembers {
  readonly swap: number;
  readonly params: number;
  readonly suite: Readonly<Record<string, number | null>>;
}

function finiteOrNull(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

/** The members of a model (a path or its bytes): one SWAP pass and one suite pass on the same images. */
async function rawMembers(file: string | Uint8Array, o: OnnxMemberOptions): Promise<RawMembers> {
  const s = await scoreOnnxModel(file, {
    inputs: o.images,
    batch: o.batch,
    reinit: o.reinit,
    repeats: o.repeats,
    seed: o.seed,
    bn: o.bn,
    engine: o.engine,
    ...(o.backend !== undefined ? { backend: o.backend } : {}),
    ...(o.maxMemory !== undefined ? { maxMemory: o.maxMemory } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.maxModelBytes !== undefined ? { maxModelBytes: o.maxModelBytes } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const names = o.rule.members.filter((m) => !(m in ENGINE_MEMBERS)) as ProxyName[];
  if (names.length === 0) return { swap: s.swap, params: s.params, suite: {} };
  const m = loadOnnxModel(file, o.maxModelBytes !== undefined ? { maxBytes: o.maxModelBytes } : {});
  const model = onnxProxyModel(m, [o.images.c, o.images.h, o.images.w]);
  const run = await o.suite(model.net, [...new Set(names)], {
    protocol: 'swap',
    seed: o.seed,
    images: o.images,
    batch: o.batch,
    ...(o.labels ? { labels: o.labels } : {}),
    ...(o.reinit ? {} : { weights: model.params }),
    // AZ's block features from the file's extra outputs, MeCo's module calls from its node scopes, and float64
    // gradient passes: as `score model.onnx --proxies` runs a model
    ...(model.blockOutputs.length > 0 ? { features: model.blockOutputs.map(([, id]) => id) } : {}),
    ...(model.modules ? { modules: model.modules } : {}),
    ...(model.channelsLastCalls ? { channelsLastCalls: model.channelsLastCalls } : {}),
    ...(model.tupleModules ? { tupleModules: model.tupleModules } : {}),
    precision: ONNX_PRECISION,
  });
  return {
    swap: s.swap,
    params: s.params,
    suite: Object.fromEntries(names.map((n) => [n, finiteOrNull(run.values[n]?.value)])),
  };
}

/** Every member of `rule` for one model, reg-SWAP under `reg`. */
function memberValuesOf(rule: EnsembleRule, r: RawMembers, reg: Regulariser): Record<string, number | null> {
  const score = { swap: r.swap, regSwap: r.swap * regFactor(r.params / 1000, reg.mu, reg.sigma), params: r.params };
  return Object.fromEntries(
    rule.members.map((m) => [m, m in ENGINE_MEMBERS ? ENGINE_MEMBERS[m]!(score) : (r.suite[m] ?? null)]),
  );
}

/** A reference set of ONNX models: their names and hashes, reg-SWAP's μ/σ, and each member's values. */
export interface OnnxReference {
  readonly models: readonly { readonly name: string; readonly sha256: string }[];
  readonly regulariser: Regulariser;
  readonly values: Readonly<Record<string, readonly (number | null)[]>>;
  readonly source: ReferenceSource;
  readonly file: string;
}

function sha256Of(file: string | Uint8Array): string {
  if (typeof file !== 'string') return createHash('sha256').update(file).digest('hex');
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read ${file.slice(0, 160)}: ${(e as Error).message}`, { cause: e });
  }
}

/** What the members depend on besides the model files: the rule, the pass settings, the images and labels. */
function identityOf(o: OnnxMemberOptions, models: OnnxReference['models']): ReferenceIdentity {
  const data = createHash('sha256').update(
    new Uint8Array(o.images.data.buffer, o.images.data.byteOffset, o.images.data.byteLength),
  );
  if (o.labels) data.update(new Uint8Array(o.labels.buffer, o.labels.byteOffset, o.labels.byteLength));
  return {
    rule: o.rule.name,
    members: o.rule.members,
    space: 'onnx-models',
    size: models.length,
    seed: o.seed,
    settings: {
      models,
      batch: o.batch,
      reinit: o.reinit,
      repeats: o.repeats,
      bn: o.bn,
      engine: o.engine,
      backend: o.backend ?? 'auto',
      suite: o.suiteEngine,
      protocol: 'swap',
      // the members as `score model.onnx --proxies` computes them (cached sets made before hold other values)
      precision: ONNX_PRECISION,
      meco: 'module scopes',
      kappa: AUTO_REG_KAPPA,
      images: { shape: [o.images.n, o.images.c, o.images.h, o.images.w], sha256: data.digest('hex') },
    },
  };
}

/** Refuse a model whose fixed input shape is not the images' (every one, before any model is scored). */
function checkInputShape(file: string, o: OnnxMemberOptions): void {
  const m = loadOnnxModel(file, o.maxModelBytes !== undefined ? { maxBytes: o.maxModelBytes } : {});
  const dims = modelSampleShape(m);
  const want = [o.images.c, o.images.h, o.images.w];
  if (dims && dims.join('x') !== want.join('x'))
    throw new SwapError(
      'E_INPUT_SHAPE',
      `reference model ${basename(file).slice(0, 120)} takes ${dims.join('x')} inputs, the scored model ${want.join('x')}: a reference set needs one input shape`,
    );
}

/** reg-SWAP's μ/σ over the reference models' sizes Θ (the spaces' data-free rule, {@link rangeRegulariser}). */
function referenceRegulariser(params: readonly (number | null)[]): Regulariser {
  const k = params.filter((p): p is number => p !== null).map((p) => p / 1000);
  return rangeRegulariser(
    k,
    AUTO_REG_KAPPA,
    `data-free over the ${k.length} reference models (max Θ, κ=${AUTO_REG_KAPPA}·range²)`,
  );
}

/**
 * The reference set of `files` under `o`: read from the cache when it holds this set (same files by content, same
 * settings, same code), else scored now (`onProgress` after each model) and cached atomically. Its values hold
 * `swap` and `params` columns (Ψ and Θ of each model) whether or not the rule has those members: μ/σ are derived
 * from Θ, and a reference model scored again is read from them.
 */
export async function onnxReference(
  files: readonly string[],
  o: OnnxMemberOptions,
  cacheDir?: string,
  onProgress?: (done: number, total: number) => void,
): Promise<OnnxReference> {
  const models = files.map((f) => ({ name: basename(f), sha256: sha256Of(f) }));
  const id = identityOf(o, models);
  const file = referenceFile(id, cacheDir);
  const cached = readReference(file, id);
  if (cached?.values['params']?.length === files.length && cached.values['swap']?.length === files.length) {
    const regulariser = referenceRegulariser(cached.values['params']);
    return { models, regulariser, values: cached.values, source: 'cache', file };
  }
  // a cached set was checked when it was built (it is keyed by the files' contents and the images' shape)
  for (const f of files) checkInputShape(f, o);
  const raw: RawMembers[] = [];
  for (const f of files) {
    if (o.signal?.aborted) throw new SwapError('E_CANCELLED', 'scoring the reference models was cancelled');
    raw.push(await rawMembers(f, o));
    onProgress?.(raw.length, files.length);
  }
  const regulariser = referenceRegulariser(raw.map((r) => r.params));
  const rows = raw.map((r) => memberValuesOf(o.rule, r, regulariser));
  const values: Record<string, (number | null)[]> = Object.fromEntries(
    o.rule.members.map((m) => [m, rows.map((r) => r[m] ?? null)]),
  );
  values['swap'] = raw.map((r) => r.swap);
  values['params'] = raw.map((r) => r.params);
  writeReference(file, id, { archs: models.map((m) => m.name), values });
  return { models, regulariser, values, source: 'built', file };
}

/** One model's ensemble fitness against an ONNX reference set, with its members. */
export interface OnnxEnsembleScore {
  readonly model: string;
  readonly fitness: number;
  readonly members: Readonly<Record<string, number | null>>;
  readonly swap: number;
  readonly regSwap: number;
  readonly params: number;
  /** Index of the reference model with the same content (its cached members were used), or -1. */
  readonly referenceIndex: number;
}

/**
 * The fitness of a model (a path, or its bytes labelled `<bytes>`) against `ref`; a reference model's own members
 * are read from the set, not rescored.
 */
export async function scoreOnnxAgainst(
  file: string | Uint8Array,
  ref: OnnxReference,
  o: OnnxMemberOptions,
): Promise<OnnxEnsembleScore> {
  const hash = sha256Of(file);
  const at = ref.models.findIndex((m) => m.sha256 === hash);
  let members: Record<string, number | null>;
  let swap: number;
  let params: number;
  if (at >= 0) {
    members = Object.fromEntries(o.rule.members.map((m) => [m, ref.values[m]?.[at] ?? null]));
    swap = ref.values['swap']![at]!;
    params = ref.values['params']![at]!;
  } else {
    const raw = await rawMembers(file, o);
    members = memberValuesOf(o.rule, raw, ref.regulariser);
    swap = raw.swap;
    params = raw.params;
  }
  const columns = Object.fromEntries(o.rule.members.map((m) => [m, referenceColumn(ref.values[m] ?? [])]));
  return {
    model: typeof file === 'string' ? file : '<bytes>',
    fitness: ensembleScore(o.rule, members, columns),
    members,
    swap,
    regSwap: swap * regFactor(params / 1000, ref.regulariser.mu, ref.regulariser.sigma),
    params,
    referenceIndex: at,
  };
}
