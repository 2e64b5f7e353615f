import { serializeNetworks } from '../ir/serialize.js';
import { SwapError } from '../util/errors.js';
import type { CountRequest, CountResult } from './types.js';

/** Fields every addon count job carries (CPU and CUDA engines add their own options). */
export interface AddonJobInputs {
  readonly program: Int32Array;
  readonly offsets: Int32Array;
  readonly input: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly seeds: Uint32Array;
  readonly cancel: Int32Array;
}

/** The count-job fields for `networks` on `inputs`, one repeat per seed (`cancel`: the shared flag, default fresh). */
export function addonJobInputs(
  networks: CountRequest['networks'],
  inputs: CountRequest['inputs'],
  seeds: readonly number[],
  cancel: Int32Array = new Int32Array(1),
): AddonJobInputs {
  const { program, offsets } = serializeNetworks(networks);
  const { data: input, n, c, h, w } = inputs;
  return { program, offsets, input, n, c, h, w, seeds: Uint32Array.from(seeds), cancel };
}

/**
 * Run one coarse addon call for a request: serialise the networks, wire the abort signal to the shared cancel
 * flag, forward progress, and turn addon rejections into coded errors (`E_CANCELLED`, else `E_BACKEND`).
 */
export async function runAddonJob<T>(
  engine: string,
  req: CountRequest,
  call: (job: AddonJobInputs, onProgress: (done: number, total: number) => void) => Promise<T>,
): Promise<T> {
  if (req.signal?.aborted) throw new SwapError('E_CANCELLED', 'scoring cancelled');
  const cancel = new Int32Array(1);
  const onAbort = () => {
    cancel[0] = 1;
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await call(addonJobInputs(req.networks, req.inputs, req.seeds, cancel), (done, total) =>
      req.onProgress?.(done, total),
    );
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'E_CANCELLED') throw new SwapError('E_CANCELLED', 'scoring cancelled', { cause: e });
    throw new SwapError('E_BACKEND', `${engine} backend failed: ${(e as Error).message}`, { cause: e });
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/** Split a flat `[network × repeat]` result into `[network][repeat]`. */
export function splitByNetwork(flat: Float64Array, req: CountRequest): CountResult {
  const R = req.seeds.length;
  return req.networks.map((_, i) => Array.from(flat.subarray(i * R, (i + 1) * R)));
}
