import { describe, expect, it } from 'vitest';
import { packParams } from '../src/backends/native/grad.js';
import { nativeProxyPass, type ProxyPassRequest } from '../src/backends/native/proxy-pass.js';
import { prngParams } from '../src/grad/params.js';
import type { Network } from '../src/ir/types.js';
import type { NativeGradBuffers, NativeGradResult } from '../src/native/addon.js';
import { loadAddon } from '../src/native/loader.js';
import { sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import { Rng } from '../src/util/rng.js';

const load = loadAddon();
if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
const addon = load.addon;

// Two widths and two batch sizes: a kept executor meets tensors of other sizes than the ones it grew for.
const rng = new Rng(5);
const nets: Network[] = [8, 16, 8].map((channels) =>
  buildNb201Network(sampleNb201(rng), { channels, cells: 1, inputSize: 16 }),
);
const BATCHES = [6, 3, 6];
const REQUESTS: ProxyPassRequest[] = [
  { bn: 'train', labels: [1, 0, 3, 2, 9, 4], wantParams: true, wantInput: true },
  { bn: 'eval', wantInput: true },
  { bn: 'train', keep: [3], bnVar: true, nwot: true, labels: [2, 2, 0, 1, 5, 7], wantParams: true, wantSaliency: true },
];

function input(batch: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: batch * 3 * 16 * 16 }, () => r.normal());
}

/** Every pass of the sequence, each one addon call, with or without kept executors. */
async function passes(buffers?: NativeGradBuffers): Promise<NativeGradResult[]> {
  const out: NativeGradResult[] = [];
  for (let round = 0; round < 2; round++)
    for (let i = 0; i < nets.length; i++) {
      const net = nets[i]!;
      const packed = packParams(net, prngParams(net, 3));
      out.push(
        await nativeProxyPass(addon, net, packed, input(BATCHES[i]!, i), BATCHES[i]!, { ...REQUESTS[i]!, buffers }),
      );
    }
  return out;
}

/** The result's arrays, in a fixed order, for bit-for-bit comparison. */
function arrays(r: NativeGradResult): number[][] {
  return [r.outputs, r.params, r.input, r.saliency, r.activations, r.bnVar, r.nwotK].map((a) => Array.from(a));
}

describe('GradBuffers: pass executors kept across gradient jobs', () => {
  it('results are bit-identical with and without kept executors, and executors are reused', async () => {
    const fresh = await passes();
    const buffers = new addon.GradBuffers();
    const kept = await passes(buffers);
    expect(kept.length).toBe(fresh.length);
    kept.forEach((r, i) => {
      expect(arrays(r), `pass ${i}`).toEqual(arrays(fresh[i]!));
      expect(r.peakBytes).toBe(fresh[i]!.peakBytes);
    });
    const s = buffers.stats();
    expect(s.created).toBe(1);
    expect(s.reused).toBe(kept.length - 1);
    expect(s.idle).toBe(1);
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.dropped).toBe(0);
    buffers.clear();
    expect(buffers.stats()).toMatchObject({ idle: 0, bytes: 0 });
  });

  it("executors lent at once share one set of split helpers: at most a job's threads - 1, values unchanged", async () => {
    const net = buildNb201Network(sampleNb201(new Rng(8)), { channels: 8, cells: 1, inputSize: 32 });
    const packed = packParams(net, prngParams(net, 4));
    const x = Float32Array.from({ length: 16 * 3 * 32 * 32 }, (_, i) => Math.sin(i));
    const req: ProxyPassRequest = {
      bn: 'train',
      labels: Array.from({ length: 16 }, (_, i) => i % 10),
      wantParams: true,
    };
    const one = await nativeProxyPass(addon, net, packed, x, 16, { ...req, threads: 1 });
    const buffers = new addon.GradBuffers();
    // six lone-network jobs of 4 threads each in flight together: six executors, one shared set of helpers
    const many = await Promise.all(
      Array.from({ length: 6 }, () => nativeProxyPass(addon, net, packed, x, 16, { ...req, threads: 4, buffers })),
    );
    for (const r of many) expect(arrays(r)).toEqual(arrays(one));
    const s = buffers.stats();
    expect(s.helperThreads).toBeGreaterThan(0);
    expect(s.helperThreads).toBeLessThanOrEqual(3);
  });

  it('slots bound the threads its jobs run on at once (a job beyond them waits), values unchanged', async () => {
    const net = buildNb201Network(sampleNb201(new Rng(9)), { channels: 8, cells: 2, inputSize: 32 });
    const packed = packParams(net, prngParams(net, 5));
    const x = Float32Array.from({ length: 8 * 3 * 32 * 32 }, (_, i) => Math.cos(i));
    const req: ProxyPassRequest = { bn: 'train', labels: [0, 1, 2, 3, 4, 5, 6, 7], wantParams: true, threads: 1 };
    const one = await nativeProxyPass(addon, net, packed, x, 8, req);
    const open = new addon.GradBuffers();
    const bounded = new addon.GradBuffers(undefined, 2);
    // three jobs at once on libuv's pool of 4 threads: all three start, the third finds no slot free
    const run = (buffers: NativeGradBuffers, threads = 1) =>
      Promise.all(
        Array.from({ length: 3 }, () => nativeProxyPass(addon, net, packed, x, 8, { ...req, threads, buffers })),
      );
    for (const r of [...(await run(open)), ...(await run(bounded)), ...(await run(bounded, 3))])
      expect(arrays(r)).toEqual(arrays(one));
    expect(open.stats()).toMatchObject({ slots: 0, slotsUsed: 0, peakSlotsUsed: 0, slotWaits: 0 });
    // never more than the 2 slots held at once (a 3-thread job holds both and runs on 2 threads), and jobs waited
    expect(bounded.stats()).toMatchObject({ slots: 2, slotsUsed: 0, peakSlotsUsed: 2 });
    expect(bounded.stats().slotWaits).toBeGreaterThan(0);
    expect(() => new addon.GradBuffers(undefined, -1)).toThrow(/slots/);
    expect(() => new addon.GradBuffers(undefined, 1.5)).toThrow(/slots/);
  });

  it('a budget too small for an executor keeps none; bad budgets and foreign objects are coded errors', async () => {
    const none = new addon.GradBuffers(0);
    const r = await passes(none);
    expect(r.length).toBe(2 * nets.length);
    expect(none.stats()).toMatchObject({
      idle: 0,
      bytes: 0,
      budget: 0,
      created: 2 * nets.length,
      dropped: 2 * nets.length,
    });
    expect(() => new addon.GradBuffers(-1)).toThrow(/budget/);
    const net = nets[0]!;
    const packed = packParams(net, prngParams(net, 3));
    await expect(
      nativeProxyPass(addon, net, packed, input(6, 0), 6, {
        bn: 'eval',
        wantInput: true,
        buffers: { stats: () => none.stats(), clear: () => {} } as NativeGradBuffers,
      }),
    ).rejects.toMatchObject({ code: 'E_BACKEND' });
  });
});
