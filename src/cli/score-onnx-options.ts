/**
 * The options of `swapnas score model.onnx`, apart from the ONNX scoring they configure (src/cli/score-onnx.ts): the
 * `score` command registers them on every call, and loads the ONNX path only when it scores a model.
 */
import type { Command } from 'commander';

/**
 * Flags of `swapnas score model.onnx` (commander's camel-cased option values; all optional strings so the
 * NB201 `score` command's flag object can be passed as it is).
 */
export interface ScoreOnnxFlags {
  /** .npy input batch (float32, N×C×H×W); `npy` is accepted as an alias. */
  input?: string;
  npy?: string;
  /** A folder of PNG/JPEG images, or a CIFAR binary file. */
  images?: string;
  /** Seeded N(0,1) batch of the model's input shape. */
  gaussian?: boolean;
  maxMemory?: string;
  gaussianSeed?: string;
  batch?: string;
  reinit?: boolean;
  repeats?: string;
  seed?: string;
  format?: string;
  /** Comma-separated per-channel mean / std for --images (0–1 scale). */
  mean?: string;
  std?: string;
  /** cifar10 | cifar100: default mean/std. */
  norm?: string;
  /** Per-sample input shape "C,H,W" for models with dynamic dimensions. */
  inputShape?: string;
  /** Size limit in MiB (default 512). */
  maxModelSize?: string;
  /** model | batch. */
  bn?: string;
  /** auto | ir | ort. */
  engine?: string;
  /** IR backend (auto | native | reference | webgpu …); `ort` forces the ONNX Runtime engine. */
  backend?: string;
  threads?: string;
  mu?: string;
  sigma?: string;
  output?: string;
  progress?: boolean;
  /** A folder of .onnx models to rank the model against by the ensemble fitness. */
  referenceModels?: string;
  /** A regular expression: initializers read in arithmetic whose names match are nn.Parameters. */
  learned?: string;
  // NB201-only flags of `swapnas score`, rejected when set for a model
  sample?: string;
  all?: boolean;
  resume?: boolean;
}

/** Add the ONNX-only options to a command (`swapnas score` adds them next to its own). */
export function addScoreOnnxOptions(cmd: Command): Command {
  return cmd
    .option('--input <npy>', '(.onnx) float32 (or float64, rounded) N×C×H×W .npy input batch')
    .option(
      '--reinit',
      "(.onnx) re-initialise Conv/Gemm/MatMul weights with the official Gaussian scheme over --repeats (default: the model's own weights, one run)",
    )
    .option('--mean <list>', '(.onnx --images folder) per-channel mean, e.g. 0.485,0.456,0.406 (default CIFAR-10)')
    .option('--std <list>', '(.onnx --images folder) per-channel std (default CIFAR-10)')
    .option(
      '--input-shape <C,H,W>',
      '(.onnx) per-sample input shape for models with dynamic dimensions (F for a flat (N, F) input)',
    )
    .option('--max-model-size <MiB>', '(.onnx) refuse larger model files', '512')
    .option(
      '--bn <mode>',
      '(.onnx) BatchNormalization statistics: model (as exported) | batch (train mode, always)',
      'model',
    )
    .option('--engine <name>', '(.onnx) auto | ir | ort', 'auto')
    .option(
      '--learned <regex>',
      '(.onnx) initializers read in arithmetic (a layer scale `gamma * x`) whose names match are nn.Parameters: params counts them, VKDNW differentiates them (a file whose metadata swapnas.parameters lists its parameters, as the Python client writes it, needs no flag)',
    )
    .option(
      '--reference-models <dir>',
      "(.onnx) rank the model by the ensemble fitness (--fitness) against the .onnx models of this folder (at least 8, same input shape; a few hundred rank best; scored once and cached in --cache-dir, reg-SWAP's μ/σ from their sizes)",
    );
}
