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
export { ReferenceBackend } from './backends/reference/index.js';
export { referenceCount, referenceForward } from './backends/reference/forward.js';
export { PatternCounter } from './score/patterns.js';
export * from './score/regularise.js';
export * from './score/swap.js';
