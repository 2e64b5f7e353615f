import type { BackendName } from './types.js';

/** Whether a backend computes gradients, and if not, why (for the proxy registry's routing messages). */
export type GradientSupport =
  | { readonly supported: true; readonly precision: 'float32' | 'float64' }
  | { readonly supported: false; readonly reason: string };

const SUPPORT: Readonly<Record<BackendName, GradientSupport>> = {
  reference: { supported: true, precision: 'float64' },
  native: { supported: true, precision: 'float32' },
  cuda: { supported: false, reason: 'the CUDA engine has a forward pass only (no reverse mode yet)' },
  webgpu: { supported: false, reason: 'the WebGPU engine has a forward pass only (no reverse mode yet)' },
  ort: { supported: false, reason: 'ONNX Runtime scoring runs inference sessions only (no reverse mode)' },
};

/** Gradient capability of a backend by name; gradient proxies must be routed to one that supports them. */
export function gradientSupport(name: BackendName): GradientSupport {
  return SUPPORT[name];
}
