/**
 * swapnas — training-free scoring (SWAP-Score, reg-SWAP) and search of neural architectures.
 *
 * Library entry point. The data path: search space → genotype → network IR → backend → pattern counts → score.
 */
export * from './util/errors.js';
export { Rng } from './util/rng.js';
export * from './init/prng.js';
export type * from './ir/types.js';
export { GraphBuilder } from './ir/builder.js';
export * from './ir/analysis.js';
export * from './ir/serialize.js';
export type { SearchSpace } from './spaces/types.js';
export * from './spaces/nb201/index.js';
export * from './data/batch.js';
export * from './data/cifar.js';
export * from './data/npy.js';
export * from './data/gaussian.js';
export type * from './backends/types.js';
export { BackendRegistry, defaultProviders, type BackendChoice, type SkippedBackend } from './backends/registry.js';
export { ReferenceBackend, referenceMeasure } from './backends/reference/index.js';
export { countPatterns } from './backends/measure.js';
export { MEASUREMENT_KINDS } from './backends/types.js';
export type * from './proxies/types.js';
export { defineProxy } from './proxies/types.js';
export { ProxyRegistry, defaultProxies } from './proxies/plugins.js';
export {
  measureProxies,
  consumedKinds,
  type MeasurementRoute,
  type ProxyEngineOptions,
  type ProxyRun,
} from './proxies/engine.js';
export { swapProxy, meanOf } from './proxies/builtin/swap.js';
export { regSwapProxy } from './proxies/builtin/reg-swap.js';
export { nwotProxy } from './proxies/builtin/nwot.js';
export { paramsProxy } from './proxies/builtin/params.js';
export { flopsProxy } from './proxies/builtin/flops.js';
export { referenceCount, referenceForward } from './backends/reference/forward.js';
export { PatternCounter } from './backends/reference/patterns.js';
export * from './proxies/regularise.js';
export * from './score/swap.js';
export { OrtBackend, ortProvider } from './backends/ort/index.js';
export { countDistinctPatterns } from './onnx/count.js';
export { networkToOnnx, exportNetworkOnnx, type OnnxExport, type OnnxExportOptions } from './onnx/export.js';
export { loadOnnxModel, DEFAULT_MAX_MODEL_BYTES, MIN_OPSET, type LoadedModel } from './onnx/load.js';
export { importOnnxModel, type ImportOptions, type ImportResult } from './onnx/import.js';
export { scoreOnnxModel, type OnnxScore, type OnnxScoreOptions } from './score/onnx-model.js';
export { loadImageFolder, listImageFiles, type ImageFolderOptions } from './data/images.js';
export { ONNX_ERROR_CODES } from './onnx/errors.js';
export { Nb201Table, NB201_DATASETS, checkDataset, type Nb201Dataset, type Nb201Record } from './tables/nb201.js';
export * from './stats/rank.js';
export { dataFreeRegulariser, AUTO_REG_KAPPA } from './score/auto-reg.js';
export {
  DEFAULT_FITNESS,
  EnsembleScorer,
  LABEL_FREE_FITNESS,
  REG_SWAP_FITNESS,
  fitnessNames,
  requestEnsembleOptions,
  resolveFitness,
  type EnsembleOptions,
  type EnsembleScore,
  type FitnessChoice,
  type FitnessContext,
  type MemberPass,
  type MemberRun,
  type RemoteMembers,
} from './score/ensemble.js';
export { LABEL_FREE_ENSEMBLE, type EnsembleRule } from './proxies/ensemble.js';
export { FITTED_ENSEMBLE, FITTED_MEMBERS } from './proxies/fitted-rule.js';
import { LABEL_FREE_ENSEMBLE as LABEL_FREE } from './proxies/ensemble.js';
/** @deprecated The label-free ensemble, the default fitness until `ensemble-fit`; use `LABEL_FREE_ENSEMBLE`. */
export const DEFAULT_ENSEMBLE = LABEL_FREE;
export { readShippedReferences, type ShippedReference } from './score/shipped-reference.js';
export {
  runCorrelate,
  selectArchitectures,
  writeCorrelateReport,
  type CorrelateReport,
  type CorrelateOptions,
  type Selection,
} from './study/correlate-run.js';
export { measure, settingKey, type ProxySetting, type Measurement } from './study/measure.js';
export { WebGpuBackend, webgpuProvider } from './backends/webgpu/index.js';
export * from './search/index.js';
export { SWAP_DEFAULTS, OFFICIAL_PROTOCOL } from './catalog/defaults.js';
export { CudaBackend, cudaProvider, probeCuda } from './backends/cuda/index.js';
export * from './spaces/darts/index.js';
export * from './spaces/nb101/index.js';
export * from './spaces/tnb101/index.js';
export { Tnb101Table, loadTnb101Table } from './tables/tnb101.js';
export {
  checkTarget,
  spaceEntry,
  spaceNames,
  nb101Topology,
  dartsTopology,
  type SpaceEntry,
  type ProxyDefaults,
} from './catalog/registry.js';
export type { BenchmarkTable, BenchmarkRecord } from './tables/types.js';
export { nb201Benchmark } from './tables/nb201-benchmark.js';
export { loadNb301Table } from './tables/nb301.js';
export { loadNb101Table, loadNb101Sample } from './tables/nb101.js';
export { resizeBatch } from './data/resize.js';
export type { ScoringOptions, ScoringRequest } from './request/types.js';
export { loadInputs, type InputChoice } from './request/inputs.js';
export { checkInt, checkSeed } from './util/checks.js';
export {
  resolveScoringRequest,
  resolveNetwork,
  requestKey,
  type ResolvedScoring,
} from './request/resolve.js';
export type * from './grad/types.js';
export { prngParams, paramRefs, paramTensor, mapParams, fanIn } from './grad/params.js';
export { crossEntropy, type LossValue } from './grad/loss.js';
export { forwardTape, type Tape } from './backends/reference/tape.js';
export { backward, lossGradients, type LossGradientOptions } from './backends/reference/backward.js';
export { onnxParams, toOnnxLayout, type OnnxParams, type OnnxParamRef } from './onnx/params.js';
export { gradientSupport, type GradientSupport } from './backends/grad-support.js';
export { referenceGradients } from './backends/reference/grad-job.js';
export { nativeGradients, packParams, unpackGrads } from './backends/native/grad.js';
