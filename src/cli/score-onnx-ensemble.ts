/**
 * `swapnas score model.onnx --reference-models DIR`: the ensemble fitness of an ONNX model against a reference set of
 * the user's own models (src/score/onnx-ensemble.ts), with its members, SWAP and reg-SWAP.
 */
import type { InputBatch } from '../data/batch.js';
import { loadImageFolder } from '../data/images.js';
import { readLabels } from '../data/labels.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkOutputFile } from '../io/output-path.js';
import { loadAddon } from '../native/loader.js';
import { loadOnnxModel, type LoadedModel } from '../onnx/load.js';
import { ruleSettings } from '../proxies/ensemble.js';
import {
  type FitnessChoice,
  makeSuiteEngine,
  resolveFitness,
  type SuiteEngine,
  type SuiteEngineName,
} from '../score/ensemble.js';
import { resolveInputShape } from '../score/onnx-model.js';
import {
  type OnnxEnsembleScore,
  type OnnxMemberOptions,
  onnxReference,
  referenceModelFiles,
  scoreOnnxAgainst,
} from '../score/onnx-ensemble.js';
import { SwapError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { quote } from '../util/quote.js';
import { csvField } from './csv.js';
import { proxyImages, type ProxyFlags } from './proxies.js';
import { onnxOptionsFromFlags, type ScoreOnnxFlags } from './score-onnx.js';

/** The flags this path reads (those of `score model.onnx`, the proxies' input flags, and the ensemble's). */
export type OnnxEnsembleFlags = ScoreOnnxFlags &
  ProxyFlags & {
    referenceModels: string;
    fitness?: string;
    cacheDir?: string;
    labels?: string;
  };

/**
 * The batch every model is scored on, with its labels: an image folder with --mean/--std (labels only from
 * --labels), else what `--proxies` reads (the embedded CIFAR-10 batch and its labels by default).
 */
async function inputsFor(
  f: OnnxEnsembleFlags,
  folder: string | undefined,
  count: number,
  shape: readonly [number, number, number],
  norm: { mean?: readonly number[] | undefined; std?: readonly number[] | undefined },
  input: LoadedModel['input'],
): Promise<{ images: InputBatch; labels?: Int32Array; labelSource: string }> {
  if (folder === undefined || input.flat) return proxyImages(f, count, [...shape] as [number, number, number], input);
  const [c, h, w] = shape;
  const images = await loadImageFolder(folder, {
    count,
    height: h,
    width: w,
    channels: c,
    ...(norm.mean ? { mean: norm.mean } : {}),
    ...(norm.std ? { std: norm.std } : {}),
  });
  if (f.labels === undefined) return { images, labelSource: 'none' };
  const labels = readLabels(f.labels);
  if (labels.length < Math.min(count, images.n))
    throw new SwapError(
      'E_LABELS',
      `${labels.length} labels in ${f.labels.slice(0, 120)} for ${images.n} input images`,
    );
  return { images, labels: labels.subarray(0, Math.min(count, images.n)), labelSource: f.labels };
}

function csv(r: OnnxEnsembleScore, listed: readonly string[]): string {
  const members = [...new Set(listed)];
  const cell = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
  const head = ['model', 'fitness', 'swap', 'reg_swap', 'params', ...members.map((m) => `m_${m}`)].join(',');
  const row = [csvField(r.model), r.fitness, r.swap, r.regSwap, r.params, ...members.map((m) => cell(r.members[m]))];
  return `${head}\n${row.join(',')}\n`;
}

/** What scoring against reference models needs from its caller (the CLI, or a warm server's shared state). */
export interface OnnxEnsembleDeps {
  readonly cacheDir?: string | undefined;
  readonly suiteEngine: (engine: SuiteEngineName, threads: number | undefined) => Promise<SuiteEngine>;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/** The result document of one model against its reference models: `{ settings, results: [row] }`. */
export interface OnnxEnsembleDoc {
  readonly settings: Record<string, unknown>;
  readonly results: [Record<string, unknown>];
  readonly score: OnnxEnsembleScore;
  readonly members: readonly string[];
}

/** How every model is scored for `model`'s run: its inputs and labels, the fitness rule and the pass settings. */
async function memberOptions(
  model: string | Uint8Array,
  f: OnnxEnsembleFlags,
  deps: OnnxEnsembleDeps,
): Promise<{ o: OnnxMemberOptions; choice: FitnessChoice; labelSource: string }> {
  if (f.mu !== undefined || f.sigma !== undefined)
    throw new SwapError(
      'E_OPTION',
      "--mu/--sigma: with --reference-models, reg-SWAP's μ/σ come from the reference models",
    );
  const opts = onnxOptionsFromFlags(model, f);
  const batch = opts.batch ?? 16;
  const m = loadOnnxModel(model, opts.maxModelBytes !== undefined ? { maxBytes: opts.maxModelBytes } : {});
  const shape = resolveInputShape(m, opts.inputShape, opts.inputs);
  const data = await inputsFor(f, opts.images, batch, shape, opts, m.input);
  const choice = resolveFitness(f.fitness, { labelled: data.labels !== undefined });
  if (!choice.rule)
    throw new SwapError(
      'E_OPTION',
      `--reference-models ranks by an ensemble; --fitness ${choice.name} needs no reference set (drop --reference-models)`,
    );
  // the engine that runs keys the set (native falls back to the reference where the addon does not load)
  const engine: SuiteEngineName = f.backend !== 'reference' && loadAddon().ok ? 'native' : 'reference';
  const o: OnnxMemberOptions = {
    rule: choice.rule,
    images: data.images,
    labels: data.labels,
    batch: Math.min(batch, data.images.n),
    seed: opts.seed ?? 0,
    reinit: opts.reinit ?? false,
    repeats: opts.reinit ? (opts.repeats ?? 32) : 1,
    bn: opts.bn ?? 'model',
    engine: opts.engine ?? 'auto',
    backend: opts.backend,
    maxMemory: opts.maxMemory,
    threads: opts.threads,
    maxModelBytes: opts.maxModelBytes,
    suite: await deps.suiteEngine(engine, opts.threads),
    suiteEngine: engine,
    signal: deps.signal,
  };
  return { o, choice, labelSource: data.labelSource };
}

/**
 * Score a model (a path or its bytes) against the reference models of `f.referenceModels`, as `swapnas score
 * model.onnx --reference-models DIR` does (the server's `score_onnx` with a `referenceModels` setting too).
 */
export async function onnxEnsembleDoc(
  model: string | Uint8Array,
  f: OnnxEnsembleFlags,
  deps: OnnxEnsembleDeps,
): Promise<OnnxEnsembleDoc> {
  // the reference set is scored once per settings from the files alone: their own parameter lists count, no pattern
  if (f.learned !== undefined)
    throw new SwapError(
      'E_OPTION',
      "--learned applies to one model's --proxies (params, VKDNW); with --reference-models, let each file list its parameters (metadata swapnas.parameters, as the Python client exports)",
    );
  const files = referenceModelFiles(f.referenceModels);
  const { o, choice, labelSource } = await memberOptions(model, f, deps);
  const rule = o.rule;
  const ref = await onnxReference(files, o, deps.cacheDir, deps.onProgress);
  const r = await scoreOnnxAgainst(model, ref, o);
  const settings = {
    fitness: choice.name,
    ...(choice.fallback ? { fitnessNote: choice.fallback } : {}),
    ensemble: ruleSettings(rule),
    reference: {
      folder: f.referenceModels,
      models: ref.models.length,
      source: ref.source,
      file: ref.file,
      regulariser: ref.regulariser,
      ...(r.referenceIndex >= 0 ? { scoredModelIs: ref.models[r.referenceIndex]!.name } : {}),
    },
    protocol: 'swap',
    ...{ batch: o.batch, seed: o.seed, reinit: o.reinit, repeats: o.repeats, bn: o.bn, engine: o.engine },
    suite: o.suiteEngine,
    inputs: o.images.source,
    labels: labelSource,
  };
  const row = {
    model: r.model,
    fitness: r.fitness,
    members: r.members,
    swap: r.swap,
    regSwap: r.regSwap,
    params: r.params,
  };
  return { settings, results: [row], score: r, members: rule.members };
}

/** Score `file` against the reference models of `--reference-models` and print (or write, atomically) the result. */
export async function runScoreOnnxEnsemble(file: string, f: OnnxEnsembleFlags): Promise<OnnxEnsembleScore> {
  const format = f.format ?? 'json';
  if (!['json', 'jsonl', 'csv'].includes(format))
    throw new SwapError('E_OPTION', `--format must be json, jsonl or csv, got ${quote(format)}`);
  if (f.output !== undefined) checkOutputFile(f.output, '--output');
  const progress = new Progress('reference models', f.progress !== false);
  const doc = await onnxEnsembleDoc(file, f, {
    cacheDir: f.cacheDir,
    suiteEngine: makeSuiteEngine,
    onProgress: (d, t) => progress.update(d, t),
  });
  const note = doc.settings['fitnessNote'];
  if (typeof note === 'string') process.stderr.write(`swapnas: note: ${note}\n`);
  const { settings, results } = doc;
  const text =
    format === 'json'
      ? `${JSON.stringify({ settings, results }, null, 2)}\n`
      : format === 'jsonl'
        ? `${JSON.stringify({ ...results[0], settings })}\n`
        : csv(doc.score, doc.members);
  if (f.output) writeFileAtomic(f.output, text);
  else process.stdout.write(text);
  return doc.score;
}
