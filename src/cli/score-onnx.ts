import { statSync } from 'node:fs';
import type { BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { CIFAR100_MEAN, CIFAR100_STD, CIFAR10_MEAN, CIFAR10_STD, loadCifarBinary } from '../data/cifar.js';
import { gaussianBatch } from '../data/gaussian.js';
import { loadNpyBatch } from '../data/npy.js';
import { scoreOnnxModel, type OnnxScore, type OnnxScoreOptions } from '../score/onnx-model.js';
import { loadOnnxModel, modelSampleShape } from '../onnx/load.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkOutputFile } from '../io/output-path.js';
import { memoryLimit } from '../util/limits.js';
import { SwapError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { inputShapeArg, int, isFeatureCount, modelInputShapeArg, num, numList } from './parse.js';
import { quote } from '../util/quote.js';
import type { ScoreOnnxFlags } from './score-onnx-options.js';
export { addScoreOnnxOptions, type ScoreOnnxFlags } from './score-onnx-options.js';

const CSV_HEAD = 'model,engine,swap,reg_swap,params,reg_factor,recorded,per_repeat';

/** Refuse the flags of `swapnas score` that configure a search space's architectures or proxy network. */
function rejectSpaceFlags(f: ScoreOnnxFlags): void {
  if (f.sample !== undefined || f.all || f.resume)
    throw new SwapError(
      'E_OPTION',
      '--sample, --all and --resume apply to search-space architectures, not to an ONNX model',
    );
  const spaceOnly = f as unknown as Record<string, unknown>;
  for (const [key, flag] of [
    ['official', '--official'],
    ['channels', '--channels'],
    ['cells', '--cells'],
    ['dataset', '--dataset'],
    ['classes', '--classes'],
    ['inputSize', '--input-size'],
  ] as const) {
    if (spaceOnly[key] !== undefined && spaceOnly[key] !== false)
      throw new SwapError(
        'E_OPTION',
        `${flag} configures a search space's proxy network; it does not apply to an ONNX model`,
      );
  }
  if (spaceOnly['space'] !== undefined && spaceOnly['space'] !== 'nb201')
    throw new SwapError('E_OPTION', '--space does not apply to an ONNX model');
  if (spaceOnly['imageDir'] !== undefined)
    throw new SwapError('E_OPTION', 'for an ONNX model give the image folder with --images <folder>');
  if (spaceOnly['prune'] === false)
    throw new SwapError('E_OPTION', '--no-prune applies to search-space architectures, not to an ONNX model');
}

/** The engine after `--backend ort` (which forces ONNX Runtime), and the IR backend name. */
function engineFromFlags(f: ScoreOnnxFlags): { engine: 'auto' | 'ir' | 'ort'; backend: string } {
  let engine = f.engine ?? 'auto';
  if (!['auto', 'ir', 'ort'].includes(engine))
    throw new SwapError('E_OPTION', `--engine must be auto, ir or ort, got ${quote(engine)}`);
  const backend = f.backend ?? 'auto';
  if (backend === 'ort') {
    if (engine === 'ir') throw new SwapError('E_OPTION', '--backend ort contradicts --engine ir');
    engine = 'ort';
  }
  return { engine: engine as 'auto' | 'ir' | 'ort', backend };
}

type MutableOnnxOptions = { -readonly [K in keyof OnnxScoreOptions]: OnnxScoreOptions[K] };

/** A seeded Gaussian batch of the model's input shape (or --input-shape when the model's is dynamic). */
function gaussianForModel(file: string | Uint8Array, f: ScoreOnnxFlags, opts: MutableOnnxOptions, S: number) {
  const m = loadOnnxModel(file, { maxBytes: opts.maxModelBytes! });
  const shape = opts.inputShape ?? modelSampleShape(m);
  if (!shape)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `${m.source} has dynamic input dimensions [${m.input.dims.join(', ')}]: give --input-shape ${m.input.flat ? 'F' : 'C,H,W'} for --gaussian`,
    );
  return gaussianBatch(
    S,
    shape[0],
    shape[1],
    shape[2],
    int('--gaussian-seed', f.gaussianSeed ?? '0', 0),
    opts.maxMemory,
  );
}

/**
 * Set the input of `opts` from --input/--npy, --images (a folder is resolved by the scorer, a CIFAR binary
 * file is loaded here) or --gaussian; none leaves the default batch.
 */
function setInputs(
  file: string | Uint8Array,
  f: ScoreOnnxFlags,
  opts: MutableOnnxOptions,
  npy: string | undefined,
  S: number,
): void {
  let batch: InputBatch | undefined;
  if (npy !== undefined) batch = loadNpyBatch(npy);
  else if (f.images !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(f.images).isDirectory();
    } catch (e) {
      throw new SwapError('E_INPUT_FILE', `cannot read ${f.images}: ${(e as Error).message}`, { cause: e });
    }
    if (isDir) opts.images = f.images;
    else
      batch = loadCifarBinary(
        f.images,
        S,
        f.norm === 'cifar100' ? { mean: CIFAR100_MEAN, std: CIFAR100_STD } : { mean: CIFAR10_MEAN, std: CIFAR10_STD },
      );
  } else if (f.gaussian) batch = gaussianForModel(file, f, opts, S);
  if (batch) opts.inputs = batch;
}

/** Translate CLI flags into library options (inputs loaded here). */
export function onnxOptionsFromFlags(file: string | Uint8Array, f: ScoreOnnxFlags): OnnxScoreOptions {
  rejectSpaceFlags(f);
  const npy = f.input ?? f.npy;
  if (f.input !== undefined && f.npy !== undefined && f.input !== f.npy)
    throw new SwapError('E_OPTION', 'give --input or --npy, not both');
  const sources = [npy, f.images, f.gaussian ? 'gaussian' : undefined].filter((x) => x !== undefined);
  if (sources.length > 1) throw new SwapError('E_OPTION', 'choose at most one of --input, --images, --gaussian');
  if (f.norm !== undefined && f.norm !== 'cifar10' && f.norm !== 'cifar100')
    throw new SwapError('E_OPTION', `--norm must be cifar10 or cifar100, got ${quote(f.norm)}`);
  const bn = f.bn ?? 'model';
  if (bn !== 'model' && bn !== 'batch')
    throw new SwapError('E_OPTION', `--bn must be model or batch, got ${quote(bn)}`);
  const { engine, backend } = engineFromFlags(f);
  const S = int('--batch', f.batch ?? '16', 1);
  const maxMiB = num('--max-model-size', f.maxModelSize ?? '512');
  if (maxMiB <= 0) throw new SwapError('E_OPTION', `--max-model-size must be positive, got ${maxMiB}`);
  const cifar100 = f.norm === 'cifar100';
  const opts: MutableOnnxOptions = {
    batch: S,
    reinit: Boolean(f.reinit),
    repeats: int('--repeats', f.repeats ?? '32', 1),
    seed: int('--seed', f.seed ?? '0', 0),
    bn,
    engine,
    maxModelBytes: Math.floor(maxMiB * 1024 * 1024),
    maxMemory: memoryLimit(f.maxMemory),
  };
  if (engine !== 'ort' && backend !== 'auto') opts.backend = backend as BackendName;
  if (f.inputShape !== undefined)
    opts.inputShape = isFeatureCount(f.inputShape)
      ? modelInputShapeArg(loadOnnxModel(file, { maxBytes: opts.maxModelBytes! }), f.inputShape)
      : inputShapeArg(f.inputShape);
  if (f.threads !== undefined) opts.threads = int('--threads', f.threads, 1);
  if (f.mu !== undefined) opts.mu = num('--mu', f.mu);
  if (f.sigma !== undefined) opts.sigma = num('--sigma', f.sigma);
  // SWAP's Θ is the file's (its parameter list where it has one): a pattern would change nothing there
  if (f.learned !== undefined)
    throw new SwapError(
      'E_OPTION',
      "--learned applies to --proxies (params, VKDNW): SWAP counts the file's parameters",
    );
  if (f.mean !== undefined) opts.mean = numList('--mean', f.mean);
  else if (cifar100) opts.mean = [...CIFAR100_MEAN];
  if (f.std !== undefined) opts.std = numList('--std', f.std);
  else if (cifar100) opts.std = [...CIFAR100_STD];
  setInputs(file, f, opts, npy, S);
  return opts;
}

function row(r: OnnxScore): Record<string, unknown> {
  return {
    model: r.model,
    engine: r.engine,
    swap: r.swap,
    regSwap: r.regSwap,
    params: r.params,
    regFactor: r.regFactor,
    recorded: r.recorded,
    perRepeat: r.perRepeat,
    relus: r.relus,
    ignoredRelus: r.ignoredRelus,
    importable: r.importable,
    ...(r.importReason !== undefined ? { importReason: r.importReason } : {}),
    warnings: r.warnings,
  };
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Format a result as json, jsonl or csv text. */
export function formatOnnxScore(r: OnnxScore, format: string): string {
  const settings = { ...r.settings, engine: r.engine };
  switch (format) {
    case 'json':
      return `${JSON.stringify({ settings, results: [row(r)] }, null, 2)}\n`;
    case 'jsonl':
      return `${JSON.stringify({ ...row(r), settings })}\n`;
    case 'csv':
      return `${CSV_HEAD}\n${[csvCell(r.model), r.engine, r.swap, r.regSwap, r.params, r.regFactor, r.recorded, r.perRepeat.join(' ')].join(',')}\n`;
    default:
      throw new SwapError('E_OPTION', `--format must be json, jsonl or csv, got ${quote(format)}`);
  }
}

/**
 * Score one ONNX model from the command line and print (or write, atomically, with -o) the result. Nothing
 * is written when scoring fails.
 */
export async function runScoreOnnx(file: string, f: ScoreOnnxFlags): Promise<OnnxScore> {
  const format = f.format ?? 'json';
  if (!['json', 'jsonl', 'csv'].includes(format))
    throw new SwapError('E_OPTION', `--format must be json, jsonl or csv, got ${quote(format)}`);
  if (f.output !== undefined) checkOutputFile(f.output, '--output');
  const opts = onnxOptionsFromFlags(file, f);
  const progress = new Progress('score', f.progress !== false && (opts.reinit ?? false) && (opts.repeats ?? 1) > 1);
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  let r: OnnxScore;
  try {
    r = await scoreOnnxModel(file, { ...opts, signal: ac.signal, onProgress: (d, t) => progress.update(d, t) });
  } finally {
    process.off('SIGINT', onSig);
  }
  for (const w of r.warnings) process.stderr.write(`swapnas: warning: ${w}\n`);
  const text = formatOnnxScore(r, format);
  if (f.output) writeFileAtomic(f.output, text);
  else process.stdout.write(text);
  return r;
}
