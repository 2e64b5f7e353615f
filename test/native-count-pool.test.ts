import { describe, expect, it } from 'vitest';
import { addonJobInputs } from '../src/backends/addon-job.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { repeatSeed } from '../src/init/prng.js';
import type { Network } from '../src/ir/types.js';
import type { NativeAddon, NativeCountJob, NativeCountPool } from '../src/native/addon.js';
import { loadAddon } from '../src/native/loader.js';
import { sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import { Rng } from '../src/util/rng.js';
import { randomBatch } from './helpers.js';

const load = loadAddon();
if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
const addon: NativeAddon = load.addon;

const batch = randomBatch(10, 3, 8, 11);
const seeds = [repeatSeed(5, 0), repeatSeed(5, 1), repeatSeed(5, 2)];
// Cells of three widths and depths, interleaved: a kept buffer set sees networks larger and smaller than its last.
const rng = new Rng(91);
const nets = Array.from({ length: 6 }, (_, i) =>
  buildNb201Network(sampleNb201(rng), { channels: [4, 8, 6][i % 3]!, cells: 1 + (i % 2), inputSize: 8 }),
);
const want = nets.map((net) => seeds.map((s) => referenceCount(net, batch, s)));

function job(net: readonly Network[], threads: number, pool?: NativeCountPool, cancel?: Int32Array): NativeCountJob {
  return { ...addonJobInputs(net, batch, seeds, cancel), threads, ...(pool ? { pool } : {}) };
}

describe('native count pool (threads and buffers kept across count jobs)', () => {
  it('lone jobs through one pool, at 1 to 3 threads, equal the TypeScript reference', async () => {
    const pool = new addon.CountPool();
    for (const threads of [2, 1, 3, 2]) {
      for (const [k, net] of nets.entries()) {
        expect(Array.from(await addon.countPatterns(job([net], threads, pool)))).toEqual(want[k]);
      }
    }
    const s = pool.stats();
    expect(s.jobs).toBe(4 * nets.length);
    expect(s.busy).toBe(0);
    expect(s.threads).toBe(2); // the job's own thread plus two parked ones served three
    expect(s.buffers).toBe(3);
  });

  it('a batched job and NWOT through the pool equal jobs without it', async () => {
    const pool = new addon.CountPool();
    const plain = await addon.countPatterns({ ...job(nets, 2), nwot: true });
    for (let round = 0; round < 2; round++) {
      const kept = await addon.countPatterns({ ...job(nets, 2, pool), nwot: true });
      expect(Array.from(kept.counts)).toEqual(want.flat());
      expect(Array.from(kept.nwot)).toEqual(Array.from(plain.nwot));
    }
  });

  it('concurrent jobs on one pool all finish with the right counts (one holds it, the others run on their own)', async () => {
    const pool = new addon.CountPool();
    const got = await Promise.all(nets.map((net) => addon.countPatterns(job([net], 2, pool))));
    expect(got.map((g) => Array.from(g))).toEqual(want);
    const s = pool.stats();
    expect(s.jobs + s.busy).toBe(nets.length);
    expect(s.jobs).toBeGreaterThan(0);
  });

  it('a cancelled job leaves the pool usable', async () => {
    const pool = new addon.CountPool();
    const cancel = new Int32Array(1);
    cancel[0] = 1;
    await expect(addon.countPatterns(job(nets, 2, pool, cancel))).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(Array.from(await addon.countPatterns(job(nets.slice(0, 1), 2, pool)))).toEqual(want[0]);
    expect(pool.stats().jobs).toBe(2);
  });

  it('release() ends the threads and frees the buffers; the next job makes them again', async () => {
    const pool = new addon.CountPool();
    await addon.countPatterns(job(nets.slice(0, 2), 3, pool));
    expect(pool.stats()).toMatchObject({ threads: 2, buffers: 3 });
    pool.release();
    expect(pool.stats()).toMatchObject({ threads: 0, buffers: 0 });
    expect(Array.from(await addon.countPatterns(job(nets.slice(1, 2), 2, pool)))).toEqual(want[1]);
    expect(pool.stats()).toMatchObject({ threads: 1, buffers: 2 });
  });

  it('release() during a job leaves that job intact', async () => {
    const pool = new addon.CountPool();
    const running = addon.countPatterns(job(nets, 2, pool));
    pool.release();
    expect(Array.from(await running)).toEqual(want.flat());
  });

  it('rejects a job whose pool field is not a CountPool with E_BACKEND', async () => {
    const bad = { ...job(nets.slice(0, 1), 1), pool: { stats: () => ({}) } } as unknown as NativeCountJob;
    await expect(addon.countPatterns(bad)).rejects.toMatchObject({ code: 'E_BACKEND', message: /CountPool/ });
  });

  it('the native backend keeps one pool across its calls and close() releases it', async () => {
    const backend = new NativeBackend(addon);
    const req = { networks: nets.slice(0, 2), inputs: batch, seeds, threads: 2 };
    expect(await backend.countPatterns(req)).toEqual(want.slice(0, 2));
    expect(await backend.countPatterns(req)).toEqual(want.slice(0, 2));
    expect(backend.pool.stats()).toMatchObject({ jobs: 2, threads: 1, buffers: 2 });
    backend.close();
    expect(backend.pool.stats()).toMatchObject({ threads: 0, buffers: 0 });
  });
});
