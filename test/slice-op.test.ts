import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/ir/builder.js';
import type { Network } from '../src/ir/types.js';
import { serializeNetwork } from '../src/ir/serialize.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { referenceCount, referenceForward } from '../src/backends/reference/forward.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { WebGpuBackend, probeWebgpu } from '../src/backends/webgpu/index.js';
import { loadAddon } from '../src/native/loader.js';
import { SwapError } from '../src/util/errors.js';
import { expectOnnxRoundTrip, webgpuRequired } from './helpers.js';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;

/** Channel truncation (NB101), a one-pixel spatial offset (DARTS FactorizedReduce) and a slice of a slice. */
function sliceNet(): Network {
  const b = new GraphBuilder([3, 10, 10]);
  const r0 = b.relu(b.bn(b.conv(b.input, 8, 3)));
  const trunc = b.slice(r0, { c: 5 });
  const t1 = b.relu(b.bn(b.conv(trunc, 5, 1)));
  const x = b.relu(b.add([t1, trunc]));
  const a = b.conv(x, 4, 1, { stride: 2, pad: 0 });
  const off = b.slice(x, { h0: 1, w0: 1 });
  const c = b.conv(off, 4, 1, { stride: 2, pad: 0 });
  const fr = b.relu(b.bn(b.concat([a, c])));
  const inner = b.relu(b.slice(b.slice(fr, { c0: 2, c: 5, h0: 1, h: 3 }), { c0: 1, c: 3, w0: 2 }));
  return b.finish(b.linear(b.gap(inner), 3));
}

describe('slice op', () => {
  it('infers shapes, returns the identity window as the input, and rejects windows that do not fit', () => {
    const b = new GraphBuilder([4, 6, 6]);
    expect(b.slice(b.input, {})).toBe(b.input);
    const s = b.slice(b.input, { c0: 1, c: 2, h0: 1, w0: 1 });
    expect(b.shape(s)).toEqual([2, 5, 5]);
    expect(() => b.slice(b.input, { c0: 3, c: 2 })).toThrow(SwapError);
    expect(() => b.slice(b.input, { h0: 6 })).toThrow(/does not fit 4x6x6/);
    expect(Array.from(serializeNetwork(b.finish(s))).slice(-5)).toEqual([3, 1, 1, 1, 0]); // its attribute words, then no shared weights
  });

  it('reference: copies the window exactly', () => {
    const b = new GraphBuilder([2, 3, 4]);
    const s = b.relu(b.slice(b.input, { c0: 1, c: 1, h0: 1, h: 2, w0: 2, w: 2 }));
    const net = b.finish(s);
    const data = Float32Array.from({ length: 2 * 24 }, (_, i) => i + 1);
    const batch = { ...gaussianBatch(2, 2, 3, 4, 0), data };
    const seen: number[] = [];
    referenceForward(net, batch, 0, (_n, y) => seen.push(...y));
    // sample 0: channel 1 starts at 13; rows 1..2, cols 2..3 → 19 20 23 24; sample 1 adds 24
    expect(seen).toEqual([19, 20, 23, 24, 43, 44, 47, 48]);
  });

  it('native equals the reference', async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(load.reason);
    const net = sliceNet();
    for (const S of [5, 16, 40]) {
      const batch = gaussianBatch(S, 3, 10, 10, S);
      const got = await new NativeBackend(load.addon).countPatterns({
        networks: [net, net],
        inputs: batch,
        seeds: [3, 4],
      });
      const want = [3, 4].map((seed) => referenceCount(net, batch, seed));
      expect(got).toEqual([want, want]);
    }
  });

  it('ONNX: exported as Slice, run by ONNX Runtime with the same count, and imported back to the same IR', async () => {
    const loaded = await expectOnnxRoundTrip(sliceNet(), 3, gaussianBatch(12, 3, 10, 10, 1));
    expect(loaded.model.graph!.node!.filter((n) => n.opType === 'Slice')).toHaveLength(4);
    expect(ort).toBeDefined();
  });
});

const probe = await probeWebgpu();
const required = webgpuRequired();
if (!probe.available) console.warn(`[slice] webgpu parity skipped: ${probe.reason}`);

describe.runIf(required)('webgpu availability (required in CI)', () => {
  it('has an adapter', () => {
    expect(probe.available, probe.available ? '' : probe.reason).toBe(true);
  });
});

describe.skipIf(!probe.available)('slice op on webgpu', () => {
  let be: WebGpuBackend;
  beforeAll(async () => {
    be = await WebGpuBackend.create();
  });
  afterAll(async () => {
    await be?.close();
  });
  it('equals the reference', async () => {
    const net = sliceNet();
    for (const S of [5, 33]) {
      const batch = gaussianBatch(S, 3, 10, 10, S);
      const got = await be.countPatterns({ networks: [net], inputs: batch, seeds: [3] });
      expect(got).toEqual([[referenceCount(net, batch, 3)]]);
    }
  });
});
