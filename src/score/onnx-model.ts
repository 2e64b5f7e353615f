/**
 * SWAP-Score of an arbitrary ONNX model (opset ≥ 13), as the official SWAP code would score the same PyTorch
 * model: every Relu whose input is 4-D is recorded (a Relu applied twice to the same tensor counts once),
 * BatchNormalization exported in training mode keeps batch statistics, and Ψ counts distinct sample-wise
 * sign patterns over all recorded values.
 *
 * Weights: the model's own (default; one deterministic run), or `reinit` — the official Gaussian scheme
 * (Conv/Gemm/MatMul weights N(0,1) from swapnas' counter-based PRNG, biases 0, BN scale 1 / bias 0) drawn
 * anew for each of R repeats (repeat r uses `repeatSeed(seed, r)`).
 *
 * Engines: with `reinit`, a model whose ops all have IR equivalents is imported into the IR and scored by
 * the fast backends (`engine: "ir:<backend>"`); everything else runs on ONNX Runtime (`engine: "ort"`).
 * Own weights always run on ONNX Runtime (the IR backends only generate PRNG weights). Both engines use the
 * same PRNG tensor ids (the IR node ids; one per initializer a module reads again), so for an importable model they agree up to the sign-flip rule.
 */
import { countPatterns } from '../backends/measure.js';
import { BackendRegistry, type SkippedBackend } from '../backends/registry.js';
import type { BackendName, ProgressFn } from '../backends/types.js';
import { runOrtJobs } from '../backends/ort/pool.js';
import { makeBatch, takeSamples, type InputBatch } from '../data/batch.js';
import { defaultBatch } from '../data/cifar.js';
import { resizeBatch, stretchNote } from '../data/resize.js';
import { flatBatch, flattenedImagesNote, requireImageShape, viewBatch } from '../data/flat.js';
import { loadImageFolder } from '../data/images.js';
import { recordedValues } from '../ir/analysis.js';
import { isRecorded } from '../ir/ops.js';
import type { Shape3 } from '../ir/types.js';
import { repeatSeed } from '../init/prng.js';
import { checkRegulariser, regFactor } from '../proxies/regularise.js';
import { isSwapError, SwapError } from '../util/errors.js';
import { ONNX_ERROR_CODES, onnxError } from '../onnx/errors.js';
import { functionalReluNote } from '../onnx/module-scopes.js';
import { importOnnxModel } from '../onnx/import.js';
import { loadOnnxModel, modelSampleShape, sampleShapeText, type LoadedModel } from '../onnx/load.js';
import { onnxParamCount, prepareForOrt } from '../onnx/prepare.js';
import { quote } from '../util/quote.js';
import { checkMemory, estimateScoreBytes, memoryLimit } from '../util/limits.js';
import type { Network } from '../ir/types.js';
import { networkSize } from './memory.js';

export interface OnnxScoreOptions {
  /** Input batch (e.g. from a .npy file); its first `batch` samples are used. */
  readonly inputs?: InputBatch;
  /** Folder of PNG/JPEG images, resized/cropped to the model's input size (see `data/images.ts`). */
  readonly images?: string;
  /** Samples S (default 16, or all of a smaller given batch). */
  readonly batch?: number;
  /** Per-sample input shape [C, H, W]: required when the model's C/H/W are symbolic and no batch is given. */
  readonly inputShape?: Shape3;
  /** Image normalisation (default CIFAR-10 statistics). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** Re-initialise weights with the official Gaussian scheme (default: keep the model's own weights). */
  readonly reinit?: boolean;
  /** Repeats R with `reinit` (default 32); own weights always run once. */
  readonly repeats?: number;
  readonly seed?: number;
  /** `batch`: every BatchNormalization uses batch statistics (PyTorch train mode); `model` (default): as exported. */
  readonly bn?: 'model' | 'batch';
  /** `auto` (default), `ir` (imported network on an IR backend; needs `reinit`) or `ort`. */
  readonly engine?: 'auto' | 'ir' | 'ort';
  /** IR backend for the `ir` engine (default `auto`). */
  readonly backend?: BackendName | 'auto';
  readonly registry?: BackendRegistry;
  readonly threads?: number;
  /** Model size limit in bytes (default 512 MiB). */
  readonly maxModelBytes?: number;
  /** Refuse runs whose estimated peak memory exceeds this many bytes (default: a fraction of RAM). */
  readonly maxMemory?: number;
  /** reg-SWAP μ (K params) and σ; both or neither. */
  readonly mu?: number;
  readonly sigma?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressFn;
}

export interface OnnxScore {
  /** Model path (or label). */
  readonly model: string;
  /** `ir:<backend>` or `ort`. */
  readonly engine: string;
  /** Ψ (mean over repeats). */
  readonly swap: number;
  readonly perRepeat: readonly number[];
  /** Θ: floating-point initializer elements (BN running statistics excluded). */
  readonly params: number;
  readonly regFactor: number;
  readonly regSwap: number;
  /** V: recorded values per sample (each distinct recorded tensor once). */
  readonly recorded: number;
  /** Recorded Relu tensors, and Relu tensors of another rank (ignored, as in the official hooks). */
  readonly relus: number;
  readonly ignoredRelus: number;
  /** Whether the model imports into the IR, and why not. */
  readonly importable: boolean;
  readonly importReason?: string;
  readonly warnings: readonly string[];
  readonly settings: {
    readonly batch: number;
    readonly repeats: number;
    readonly seed: number;
    readonly reinit: boolean;
    readonly bn: 'model' | 'batch';
    readonly inputs: string;
    readonly inputShape: Shape3;
    readonly opset: number;
    readonly producer: string;
    readonly skippedBackends: readonly SkippedBackend[];
    readonly regulariser: { mu: number; sigma: number } | null;
  };
}

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new SwapError('E_OPTION', `${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** The per-sample input shape: the model's fixed dims, else --input-shape, else the given batch's. */
export function resolveInputShape(m: LoadedModel, given: Shape3 | undefined, batch: InputBatch | undefined): Shape3 {
  // a flat input viewed as images: its F (or the view's C,H,W) given, feature vectors or images of the view
  const view = m.input.view;
  if (view) {
    if (given?.join('x') === `${view[0] * view[1] * view[2]}x1x1`) given = view;
    batch = batch && viewBatch(batch, view);
  }
  if (given && m.input.flat && (given[1] !== 1 || given[2] !== 1))
    throw new SwapError(
      'E_INPUT_SHAPE',
      `${m.source} takes flat (N, F) inputs: --input-shape gives F, got ${given.join('x')}`,
    );
  const fixed = modelSampleShape(m);
  // a flat model reads an image batch flattened (C·H·W features per sample)
  const b = batch && m.input.flat ? flatBatch(batch) : batch;
  const fromBatch: Shape3 | undefined = b ? [b.c, b.h, b.w] : undefined;
  const candidate = given ?? fromBatch;
  if (fixed) {
    if (given && given.join('x') !== fixed.join('x'))
      throw new SwapError(
        'E_INPUT_SHAPE',
        `${m.source} takes ${sampleShapeText(m, fixed)} inputs, --input-shape says ${sampleShapeText(m, given)}`,
      );
    return fixed;
  }
  if (!candidate) {
    throw onnxError(
      'dynamic',
      `${m.source}: input ${m.input.name} has dynamic dimensions [${m.input.dims.join(', ')}]; give the per-sample shape with --input-shape ${m.input.flat ? 'F' : 'C,H,W'} (or an --input batch)`,
    );
  }
  m.input.dims.slice(1).forEach((x, i) => {
    if (typeof x === 'number' && x > 0 && x !== candidate[i]) {
      throw new SwapError(
        'E_INPUT_SHAPE',
        `${m.source}: input dimension ${i + 1} is ${x}, the given shape is ${sampleShapeText(m, candidate)}`,
      );
    }
  });
  candidate.forEach((x, i) => checkInt(`input shape dimension ${i + 1}`, x, 1));
  return candidate;
}

/** Refuse a model whose input batch or (imported) activations would exceed the memory limit. */
function checkOnnxMemory(shape: Shape3, S: number, net: Network | undefined, limit: number): void {
  const est = estimateScoreBytes({
    batch: S,
    input: shape,
    ...(net ? { network: networkSize(net) } : {}),
  });
  checkMemory(
    est,
    limit,
    `scoring ${S} samples of ${shape.join('x')}${net ? ` through ${net.nodes.length} nodes` : ''}`,
  );
}

async function resolveInputs(
  m: LoadedModel,
  shape: Shape3,
  S: number,
  opts: OnnxScoreOptions,
  warnings: string[],
): Promise<InputBatch> {
  if (opts.inputs && opts.images) throw new SwapError('E_OPTION', 'give an input batch or an image folder, not both');
  const text = sampleShapeText(m, shape);
  let b: InputBatch;
  if (opts.inputs) {
    const i = opts.inputs;
    b = takeSamples(makeBatch(i.data, i.n, i.c, i.h, i.w, i.source), S);
    if (m.input.view) b = viewBatch(b, m.input.view);
  } else {
    // the images a flat model reads flattened (3·s² or s² features)
    const img = m.input.flat ? requireImageShape(shape[0]) : shape;
    if (opts.images) {
      b = await loadImageFolder(opts.images, {
        count: S,
        channels: img[0],
        height: img[1],
        width: img[2],
        ...(opts.mean ? { mean: opts.mean } : {}),
        ...(opts.std ? { std: opts.std } : {}),
      });
    } else if (img[0] !== 3) {
      throw new SwapError(
        'E_INPUT_SHAPE',
        `${m.source} takes ${text} inputs; the default CIFAR-10 batch has 3 channels — give an input batch (--input) or an image folder (--images, read as ${img[0]} channel${img[0] === 1 ? '' : 's'})`,
      );
    } else {
      // the CIFAR images at the model's size (bilinear, as `score --proxies` feeds them; the source says so)
      b = resizeBatch(defaultBatch(S), img[1], img[2]);
      const note = stretchNote(32, 32, img[1], img[2]);
      if (note) warnings.push(note);
    }
    if (m.input.flat) warnings.push(flattenedImagesNote(img, b.source));
  }
  if (m.input.flat) b = flatBatch(b);
  if (b.c !== shape[0] || b.h !== shape[1] || b.w !== shape[2]) {
    throw new SwapError('E_INPUT_SHAPE', `${m.source} takes ${text} inputs, batch ${b.source} is ${b.c}x${b.h}x${b.w}`);
  }
  return b;
}

/** The checked scalar options of {@link scoreOnnxModel} (the model-dependent ones are resolved after loading). */
interface OnnxSettings {
  readonly reinit: boolean;
  readonly bn: 'model' | 'batch';
  readonly engine: 'auto' | 'ir' | 'ort';
  readonly seed: number;
  /** R: the asked repeats with `reinit`, else 1 (own weights run once). */
  readonly repeats: number;
  readonly reg: { mu: number; sigma: number } | undefined;
}

/** Validate the options that do not depend on the model (coded E_OPTION errors). */
function checkOnnxSettings(opts: OnnxScoreOptions): OnnxSettings {
  const reinit = opts.reinit ?? false;
  const bn = opts.bn ?? 'model';
  if (bn !== 'model' && bn !== 'batch')
    throw new SwapError('E_OPTION', `bn must be "model" or "batch", got ${quote(bn)}`);
  const engine = opts.engine ?? 'auto';
  if (!['auto', 'ir', 'ort'].includes(engine))
    throw new SwapError('E_OPTION', `engine must be auto, ir or ort, got ${quote(engine)}`);
  const seed = checkInt('seed', opts.seed ?? 0, 0);
  if (seed > 0xffffffff) throw new SwapError('E_OPTION', `seed must fit in 32 bits, got ${seed}`);
  const repeatsAsked = checkInt('repeats', opts.repeats ?? 32, 1);
  const reg = checkRegulariser(opts.mu, opts.sigma);
  return { reinit, bn, engine, seed, repeats: reinit ? repeatsAsked : 1, reg };
}

/** What one engine measured: Ψ per repeat and the recorded-value bookkeeping. */
interface EngineRun {
  readonly engine: string;
  readonly perRepeat: number[];
  readonly recorded: number;
  readonly relus: number;
  readonly ignoredRelus: number;
  readonly skipped: readonly SkippedBackend[];
}

/** The run options shared by both engines (threads, abort signal, progress). */
function runOptions(opts: OnnxScoreOptions) {
  return {
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
}

/** Score the imported network on an IR backend (PRNG weights, one count per seed). */
async function runOnIr(
  net: Network,
  source: string,
  inputs: InputBatch,
  seeds: number[],
  opts: OnnxScoreOptions,
): Promise<EngineRun> {
  const recorded = recordedValues(net);
  // SWAP records plain ReLUs on 4-D tensors (the official code hooks nn.ReLU: not nn.ReLU6, exported as Clip, nor
  // nn.LeakyReLU)
  const relus = net.nodes.filter(isRecorded).length;
  // plain ReLUs on another rank, as ONNX Runtime's path counts its ignored Relu outputs (a clip or a slope is no Relu)
  const ignoredRelus = net.nodes.filter(
    (n) => n.op === 'relu' && n.max === undefined && n.slope === undefined && !isRecorded(n),
  ).length;
  if (recorded === 0)
    throw onnxError(
      'no-relu',
      `${source} has no Relu on a 4-D tensor (${ignoredRelus} on other ranks, ignored; a ReLU6 or LeakyReLU is no nn.ReLU): the SWAP-Score is undefined`,
    );
  const registry = opts.registry ?? new BackendRegistry();
  const choice = await registry.choose(opts.backend ?? 'auto');
  let perRepeat: number[];
  try {
    const counts = await countPatterns(choice.backend, { networks: [net], inputs, seeds, ...runOptions(opts) });
    perRepeat = counts[0]!;
  } finally {
    await choice.backend.close?.();
  }
  return { engine: `ir:${choice.backend.name}`, perRepeat, recorded, relus, ignoredRelus, skipped: choice.skipped };
}

/**
 * ONNX Runtime's failure on a model exported with a fixed batch, run at another: the graph often holds that batch
 * as a constant (PyTorch's `view(x.size(0), -1)` traced without `dynamic_axes`), which the error does not say.
 */
function fixedBatchHint(e: unknown, modelBatch: number | string | undefined, S: number): unknown {
  if (!isSwapError(e) || e.code !== ONNX_ERROR_CODES.runtime) return e;
  if (typeof modelBatch !== 'number' || modelBatch <= 0 || modelBatch === S) return e;
  return new SwapError(
    e.code,
    `${e.message} (the model was exported with batch size ${modelBatch}, which its graph may hold as a constant, e.g. a traced view(x.size(0), -1): score it with --batch ${modelBatch}, or export with dynamic_axes for the input's first dimension)`,
    { cause: e },
  );
}

/** Score the model on ONNX Runtime (own weights, or re-initialised with the IR's tensor ids when importable). */
async function runOnOrt(
  m: LoadedModel,
  imp: ReturnType<typeof importOnnxModel>,
  batch: { readonly shape: Shape3; readonly S: number; readonly inputs: InputBatch },
  seeds: number[],
  set: OnnxSettings,
  opts: OnnxScoreOptions,
  warnings: string[],
): Promise<EngineRun> {
  const { shape, S, inputs } = batch;
  const prep = prepareForOrt(m, {
    batch: S,
    inputShape: shape,
    reinit: set.reinit,
    bn: set.bn,
    ...(imp.ok ? { weightIds: imp.weightIds } : {}),
  });
  if (prep.bnEval > 0 && set.bn !== 'batch') {
    warnings.push(
      `${prep.bnEval} BatchNormalization node(s) use running statistics (exported in eval mode); the official code scores in train mode — use bn "batch" (--bn batch) for batch statistics`,
    );
  }
  if (prep.reluOutputs.length === 0) throw onnxError('no-relu', `${m.source} has no Relu: the SWAP-Score is undefined`);
  const job = {
    model: prep.bytes,
    inputName: prep.inputName,
    input: inputs.data,
    inputDims: prep.inputDims,
    outputs: prep.reluOutputs,
    weights: prep.weights,
    seeds,
    intraOpThreads: 1,
    label: m.source,
  };
  const [res] = await runOrtJobs([job], runOptions(opts));
  return {
    engine: 'ort',
    perRepeat: res!.counts,
    recorded: res!.recorded.reduce((a, r) => a + r.dims.slice(1).reduce((x, y) => x * y, 1), 0),
    relus: res!.recorded.length,
    ignoredRelus: res!.ignored.length,
    skipped: [],
  };
}

/** Score an ONNX model file (or its bytes). */
export async function scoreOnnxModel(
  pathOrBytes: string | Uint8Array,
  opts: OnnxScoreOptions = {},
): Promise<OnnxScore> {
  const set = checkOnnxSettings(opts);
  const warnings: string[] = [];
  const m = loadOnnxModel(pathOrBytes, {
    ...(opts.maxModelBytes !== undefined ? { maxBytes: opts.maxModelBytes } : {}),
  });
  const shape = resolveInputShape(m, opts.inputShape, opts.inputs);
  const S = checkInt('batch', opts.batch ?? Math.min(16, opts.inputs?.n ?? 16), 1);
  const limit = opts.maxMemory ?? memoryLimit();
  checkOnnxMemory(shape, S, undefined, limit);
  const inputs = await resolveInputs(m, shape, S, opts, warnings);
  const modelBatch = m.input.dims[0];
  if (typeof modelBatch === 'number' && modelBatch > 0 && modelBatch !== S) {
    warnings.push(`the model was exported with batch size ${modelBatch}; its batch dimension was set to ${S}`);
  }

  const functional = functionalReluNote(m.model.graph?.node ?? [], (t) => m.consts.has(t));
  if (functional) warnings.push(functional);
  const imp = importOnnxModel(m, { inputShape: shape, bn: set.bn });
  if (imp.ok) checkOnnxMemory(shape, S, imp.network, limit);
  if (set.engine === 'ir') {
    if (!set.reinit)
      throw new SwapError(
        'E_OPTION',
        'the IR engine scores PRNG weights only: use it with --reinit (own weights run on ONNX Runtime)',
      );
    if (!imp.ok) throw new SwapError('E_OPTION', `${m.source} cannot be imported into the IR: ${imp.reason}`);
  }
  const seeds = set.reinit ? Array.from({ length: set.repeats }, (_, r) => repeatSeed(set.seed, r)) : [set.seed];
  const params = onnxParamCount(m);
  const run =
    set.engine !== 'ort' && set.reinit && imp.ok
      ? await runOnIr(imp.network, m.source, inputs, seeds, opts)
      : await runOnOrt(m, imp, { shape, S, inputs }, seeds, set, opts, warnings).catch((e: unknown) => {
          throw fixedBatchHint(e, modelBatch, S);
        });

  const swap = run.perRepeat.reduce((a, b) => a + b, 0) / run.perRepeat.length;
  const f = set.reg ? regFactor(params / 1000, set.reg.mu, set.reg.sigma) : 1;
  return {
    model: m.source,
    engine: run.engine,
    swap,
    perRepeat: run.perRepeat,
    params,
    regFactor: f,
    regSwap: swap * f,
    recorded: run.recorded,
    relus: run.relus,
    ignoredRelus: run.ignoredRelus,
    importable: imp.ok,
    ...(imp.ok ? {} : { importReason: imp.reason }),
    warnings,
    settings: {
      batch: S,
      repeats: set.repeats,
      seed: set.seed,
      reinit: set.reinit,
      bn: set.bn,
      inputs: inputs.source,
      inputShape: shape,
      opset: m.opset,
      producer: m.producer,
      skippedBackends: run.skipped,
      regulariser: set.reg ?? null,
    },
  };
}
