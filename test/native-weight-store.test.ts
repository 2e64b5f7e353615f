import { describe, expect, it } from 'vitest';
import { NativeBackend } from '../src/backends/native/index.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import type { InputBatch } from '../src/data/batch.js';
import { repeatSeed } from '../src/init/prng.js';
import type { Network } from '../src/ir/types.js';
import { addonJobInputs } from '../src/backends/addon-job.js';
import type { NativeAddon, NativeCountJob, NativeWeightStore } from '../src/native/addon.js';
import { loadAddon } from '../src/native/loader.js';
import { sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import { Rng } from '../src/util/rng.js';
import { randomBatch } from './helpers.js';

const load = loadAddon();
if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
const addon: NativeAddon = load.addon;

function job(
  nets: readonly Network[],
  batch: InputBatch,
  seeds: readonly number[],
  threads: number,
  weights?: NativeWeightStore,
): NativeCountJob {
  return { ...addonJobInputs(nets, batch, seeds), threads, ...(weights ? { weights } : {}) };
}

/** Counts of every network, one addon call per network (a warm server's lone requests). */
async function lone(
  nets: readonly Network[],
  batch: InputBatch,
  seeds: readonly number[],
  threads: number,
  store?: NativeWeightStore,
) {
  const out: number[] = [];
  for (const net of nets) out.push(...(await addon.countPatterns(job([net], batch, seeds, threads, store))));
  return out;
}

// Two widths of NB201 cells: the same node ids then come with two tensor sizes, which must not share weights.
const rng = new Rng(77);
const cells = Array.from({ length: 12 }, () => sampleNb201(rng));
const nets = cells.flatMap((g) => [4, 6].map((channels) => buildNb201Network(g, { channels, cells: 1, inputSize: 8 })));
const seeds = [repeatSeed(3, 0), repeatSeed(3, 1), repeatSeed(3, 2)];
const batch = randomBatch(10, 3, 8, 5);

describe('native weight store (weights kept across count calls)', () => {
  it('lone calls through one store equal the TypeScript reference, and a second pass generates nothing', async () => {
    const store = new addon.WeightStore();
    const first = await lone(nets, batch, seeds, 2, store);
    const want = nets.flatMap((net) => seeds.map((s) => referenceCount(net, batch, s)));
    expect(first).toEqual(want);
    const after1 = store.stats();
    expect(after1.tensors).toBeGreaterThan(0);
    expect(after1.hits).toBeGreaterThan(0); // the 4- and 6-channel cells share their tensors among themselves
    const second = await lone(nets, batch, seeds, 3, store);
    expect(second).toEqual(want);
    const after2 = store.stats();
    expect(after2.misses).toBe(after1.misses);
    expect(after2.hits).toBeGreaterThan(after1.hits);
    expect(after2.floats).toBeLessThanOrEqual(after2.budget);
  });

  it('a store too small for one seed evicts (least recently used first) and still gives the same counts', async () => {
    const plain = await addon.countPatterns(job(nets, batch, seeds, 2));
    for (const budget of [0, 2_000, 20_000]) {
      const store = new addon.WeightStore(budget);
      expect(await lone(nets, batch, seeds, 2, store)).toEqual(Array.from(plain));
      expect(Array.from(await addon.countPatterns(job(nets, batch, seeds, 2, store)))).toEqual(Array.from(plain));
      const s = store.stats();
      expect(s.floats).toBeLessThanOrEqual(budget);
      if (budget === 20_000) expect(s.evictions).toBeGreaterThan(0);
      if (budget === 0) expect(s.tensors).toBe(0);
    }
  });

  it('NWOT jobs through a store equal those without', async () => {
    const store = new addon.WeightStore();
    const plain = await addon.countPatterns({ ...job(nets.slice(0, 6), batch, seeds, 2), nwot: true });
    for (let round = 0; round < 2; round++) {
      const kept = await addon.countPatterns({ ...job(nets.slice(0, 6), batch, seeds, 2, store), nwot: true });
      expect(Array.from(kept.counts)).toEqual(Array.from(plain.counts));
      expect(Array.from(kept.nwot)).toEqual(Array.from(plain.nwot));
    }
  });

  it('clear() drops the kept tensors and the next call regenerates the same weights', async () => {
    const store = new addon.WeightStore();
    const a = await lone(nets.slice(0, 4), batch, seeds, 1, store);
    store.clear();
    expect(store.stats().tensors).toBe(0);
    expect(await lone(nets.slice(0, 4), batch, seeds, 1, store)).toEqual(a);
  });

  it('rejects a job whose weights field is not a WeightStore with E_BACKEND', async () => {
    const bad = {
      ...job(nets.slice(0, 1), batch, seeds, 1),
      weights: { stats: () => ({}) },
    } as unknown as NativeCountJob;
    await expect(addon.countPatterns(bad)).rejects.toMatchObject({ code: 'E_BACKEND', message: /WeightStore/ });
    expect(() => new addon.WeightStore(-1)).toThrow(/budget/);
  });

  it('the native backend keeps one store across its calls and close() empties it', async () => {
    const backend = new NativeBackend(addon);
    const req = { networks: nets.slice(0, 3), inputs: batch, seeds, threads: 2 };
    const first = await backend.countPatterns(req);
    const misses = backend.weights.stats().misses;
    expect(await backend.countPatterns(req)).toEqual(first);
    expect(backend.weights.stats().misses).toBe(misses);
    backend.close();
    expect(backend.weights.stats().tensors).toBe(0);
  });
});
