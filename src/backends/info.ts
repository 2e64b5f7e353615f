/**
 * What the registry knows about each backend without loading it: name, priority, description and the measurements it
 * makes. The one definition of these facts: each backend's provider spreads its entry, and the registry's default
 * providers (src/backends/registry.ts) carry them while the implementation is still unloaded.
 */
import type { BackendName, MeasurementKind } from './types.js';

/** A backend's metadata (a {@link BackendProvider} less `probe` and `create`). */
export interface BackendInfo {
  readonly name: BackendName;
  readonly priority: number;
  readonly description: string;
  /** What the backend's `measure` computes (known without creating it, for routing). */
  readonly capabilities: readonly MeasurementKind[];
}

const BOTH: readonly MeasurementKind[] = Object.freeze(['relu-patterns', 'relu-kernel-logdet']);
const PATTERNS: readonly MeasurementKind[] = Object.freeze(['relu-patterns']);

/** Every built-in backend's metadata, by name. */
export const BACKEND_INFO: Readonly<Record<BackendName, BackendInfo>> = Object.freeze({
  cuda: {
    name: 'cuda',
    priority: 30,
    capabilities: PATTERNS,
    description: 'CUDA kernels in the C++ addon: forward pass, fused ReLU sign packing and counting on an NVIDIA GPU',
  },
  native: {
    name: 'native',
    priority: 20,
    description: 'C++ addon, multi-threaded CPU forward pass with bit-packed counting',
    capabilities: BOTH,
  },
  webgpu: {
    name: 'webgpu',
    priority: 10,
    capabilities: PATTERNS,
    description: 'WGSL compute shaders via WebGPU (Dawn); forward pass, sign packing and counting on the device',
  },
  ort: {
    name: 'ort',
    priority: 5,
    capabilities: PATTERNS,
    description:
      'ONNX Runtime (onnxruntime-node, CPU provider) on worker threads, with exact TypeScript pattern counting',
  },
  reference: {
    name: 'reference',
    priority: 0,
    description: 'plain TypeScript reference (slow; the correctness baseline)',
    capabilities: BOTH,
  },
});
