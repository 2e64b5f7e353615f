/**
 * The `ort` backend's registry entry, apart from the backend itself: the registry is loaded on every scoring call,
 * and the backend's ONNX export and protobuf encoder (onnx-proto, protobufjs) are loaded only when it is created.
 */
import { SwapError } from '../../util/errors.js';
import { BACKEND_INFO } from '../info.js';
import type { BackendProbe, BackendProvider } from '../types.js';
import { loadOrt } from './job.js';

/** Whether onnxruntime-node's native binding loads on this machine. */
export function probeOrt(): BackendProbe {
  try {
    const ort = loadOrt() as unknown as { listSupportedBackends?: () => { name: string }[] };
    const cpu = ort.listSupportedBackends?.().some((b) => b.name === 'cpu') ?? true;
    return cpu ? { available: true } : { available: false, reason: 'onnxruntime-node has no CPU execution provider' };
  } catch (e) {
    return { available: false, reason: `onnxruntime-node does not load: ${(e as Error).message}` };
  }
}

export const ortProvider: BackendProvider = {
  ...BACKEND_INFO.ort,
  probe: async () => probeOrt(),
  create: async () => {
    const p = probeOrt();
    if (!p.available) throw new SwapError('E_BACKEND_UNAVAILABLE', p.reason);
    const { OrtBackend } = await import('./index.js');
    return new OrtBackend();
  },
};
