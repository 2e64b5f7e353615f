import { BACKEND_INFO } from '../info.js';
import type { BackendProvider } from '../types.js';
import { WebGpuBackend } from './backend.js';
import { probeWebgpu } from './gpu.js';

export { WebGpuBackend, type WebGpuInspection, type WebGpuOptions } from './backend.js';
export { findAdapter, probeWebgpu } from './gpu.js';
export { planNetwork, type NetworkPlan, type PlannedDispatch } from './plan.js';
export { PROGRAMS, convProgram, programKey, type ProgramSpec } from './programs.js';

/**
 * `--backend webgpu`: WGSL compute kernels through Dawn (npm `webgpu`). Probing imports the package and asks for
 * an adapter lazily (never at import time); without a GPU, Mesa's software OpenGL ES driver gives one.
 */
export const webgpuProvider: BackendProvider = {
  ...BACKEND_INFO.webgpu,
  probe: async () => {
    const r = await probeWebgpu();
    return r.available ? { available: true } : { available: false, reason: r.reason };
  },
  create: () => WebGpuBackend.create(),
};
