import { describe, expect, it } from 'vitest';
import { loadAddon } from '../src/native/loader.js';
import { PoolGate, poolGate, uvPoolSize } from '../src/native/pool-gate.js';
import { nativeProxyRunner, passLanes, threadBudget } from '../src/proxies/native-run.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { defaultBatch } from '../src/data/cifar.js';
import { defaultLabels } from '../src/data/labels.js';
import { Rng } from '../src/util/rng.js';
import { NativeBackend } from '../src/backends/native/index.js';

/** Runs `count` tasks issued together through `budget`; each records its threads and how many were in flight. */
async function trace(budget: ReturnType<typeof threadBudget>, count: number) {
  let inFlight = 0;
  let peak = 0;
  const takes: number[] = [];
  await Promise.all(
    Array.from({ length: count }, () =>
      budget(async (t) => {
        takes.push(t);
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
      }),
    ),
  );
  return { takes, peak };
}

describe('how native passes share the threads', () => {
  it('libuv pool size: UV_THREADPOOL_SIZE as libuv reads it (atoi, 0 -> 1, negative -> 1024), else 4', () => {
    expect(uvPoolSize({})).toBe(4);
    expect(uvPoolSize({ UV_THREADPOOL_SIZE: '12' })).toBe(12);
    expect(uvPoolSize({ UV_THREADPOOL_SIZE: ' 8x' })).toBe(8);
    expect(uvPoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(1);
    expect(uvPoolSize({ UV_THREADPOOL_SIZE: '' })).toBe(1);
    expect(uvPoolSize({ UV_THREADPOOL_SIZE: 'many' })).toBe(1);
    expect(uvPoolSize({ UV_THREADPOOL_SIZE: '-3' })).toBe(1024);
    expect(uvPoolSize({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
  });

  it('lanes stay below the pool (one thread kept for I/O); more threads than lanes go into each pass', () => {
    expect(passLanes(2, 4)).toEqual({ lanes: 2, share: 1, queued: 1 });
    expect(passLanes(1, 4)).toEqual({ lanes: 1, share: 1, queued: 1 });
    expect(passLanes(16, 4)).toEqual({ lanes: 3, share: 5, queued: 0 });
    expect(passLanes(16, 20)).toEqual({ lanes: 16, share: 1, queued: 1 });
    expect(passLanes(4, 1)).toEqual({ lanes: 1, share: 4, queued: 0 });
  });

  it('at most lanes + queued tasks in flight, each on its share; a lone task takes every thread', async () => {
    const two = await trace(threadBudget(2, { lanes: 2, share: 1, queued: 1 }), 12);
    expect(two.peak).toBe(3);
    expect(two.takes.every((t) => t === 1)).toBe(true);
    const none = await trace(threadBudget(2, { lanes: 2, share: 1, queued: 0 }), 12);
    expect(none.peak).toBe(2);
    const wide = await trace(threadBudget(16, { lanes: 3, share: 5, queued: 1 }), 12);
    expect(wide.peak).toBe(4);
    expect(wide.takes.every((t) => t === 5)).toBe(true);
    const lone = await trace(threadBudget(4, { lanes: 4, share: 1, queued: 1 }), 1);
    expect(lone.takes).toEqual([4]);
  });
});

describe('one gate over every runner of a process', () => {
  it('two runners’ budgets together stay within the gate (pool − 1); without it they would take 6 of a pool of 4', async () => {
    const gate = new PoolGate(3);
    const plan = passLanes(2, 4);
    const [a, b] = [threadBudget(2, plan), threadBudget(2, plan)];
    let inFlight = 0;
    let peak = 0;
    const task = (budget: ReturnType<typeof threadBudget>) =>
      budget(() =>
        gate.run(async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 2));
          inFlight--;
        }),
      );
    await Promise.all(Array.from({ length: 24 }, (_, i) => task(i % 2 ? a : b)));
    expect([peak, gate.peak]).toEqual([3, 3]);
    // the same two budgets without the gate: each keeps 3 in flight, together 6 on a pool of 4
    let both = 0;
    let bothPeak = 0;
    const [c, d] = [threadBudget(2, plan), threadBudget(2, plan)];
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? c : d)(async () => {
          bothPeak = Math.max(bothPeak, ++both);
          await new Promise((r) => setTimeout(r, 2));
          both--;
        }),
      ),
    );
    expect(bothPeak).toBe(6);
  });

  it('hands a freed place to the first waiter: tasks start in the order they asked', async () => {
    const gate = new PoolGate(1);
    const order: number[] = [];
    const task = (i: number) => gate.run(async () => void order.push(i));
    await Promise.all([task(0), task(1), task(2), task(3)]);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('a task cancelled while it waits leaves the queue at once (E_CANCELLED); the next waiter still gets its place', async () => {
    const gate = new PoolGate(1);
    let release!: () => void;
    const holder = gate.run(() => new Promise<void>((r) => (release = r)));
    const ctl = new AbortController();
    let ran = false;
    const cancelled = gate.run(async () => void (ran = true), ctl.signal);
    const next = gate.run(async () => 'next');
    expect(gate.queued).toBe(2);
    ctl.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(gate.queued).toBe(1);
    release();
    await holder;
    expect(await next).toBe('next');
    expect([ran, gate.queued]).toEqual([false, 0]);
    await expect(gate.run(async () => 1, AbortSignal.abort())).rejects.toMatchObject({ code: 'E_CANCELLED' });
  });

  it('real runners share the process gate; their values equal a lone run’s', async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
    const gate = poolGate(load.addon);
    expect(poolGate(load.addon)).toBe(gate);
    expect(gate.capacity).toBe(Math.max(1, uvPoolSize() - 1));
    expect(gate.peak).toBe(0); // nothing else in this file's module graph ran a pass
    const entry = spaceEntry('nb201');
    const rng = new Rng(4);
    const nets = Array.from({ length: 4 }, () =>
      entry.space.build(entry.space.sample(rng), { channels: 4, cells: 1, inputSize: 32 }),
    );
    const o = { seed: 0, images: defaultBatch(32), labels: defaultLabels(32), batch: 16, protocol: 'swap' as const };
    const names = ['grad_norm', 'snip', 'zico', 'az_trainability'] as const;
    const [r1, r2] = [nativeProxyRunner(load.addon, 2), nativeProxyRunner(load.addon, 3)];
    const both = await Promise.all(nets.flatMap((n) => [r1.run(n, names, o), r2.run(n, names, o)]));
    expect(gate.peak).toBeGreaterThanOrEqual(2);
    expect(gate.peak).toBeLessThanOrEqual(gate.capacity);
    const lone = nativeProxyRunner(load.addon, 1);
    for (let i = 0; i < nets.length; i++) {
      const want = (await lone.run(nets[i]!, names, o)).values;
      expect(both[2 * i]!.values).toEqual(want);
      expect(both[2 * i + 1]!.values).toEqual(want);
    }
  });

  it('a SWAP count job takes a place of the same gate: it waits while passes hold every place', async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
    const gate = poolGate(load.addon);
    const entry = spaceEntry('nb201');
    const nets = [entry.space.build(entry.space.sample(new Rng(9)), { channels: 4, cells: 1, inputSize: 32 })];
    const req = { networks: nets, inputs: defaultBatch(16), seeds: [0], threads: 1 };
    const backend = new NativeBackend(load.addon);
    const want = await backend.countPatterns(req);
    // hold every place, as passes of other runners would
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const holders = Array.from({ length: gate.capacity }, () => gate.run(() => held));
    let counted = false;
    const job = backend.countPatterns(req).then((r) => ((counted = true), r));
    await new Promise((r) => setTimeout(r, 200)); // ample for one tiny count job were it not held back
    expect(counted).toBe(false);
    release();
    await Promise.all(holders);
    expect(await job).toEqual(want);
    // a count job cancelled while it waits for a place is rejected before any place frees up
    let again!: () => void;
    const held2 = new Promise<void>((r) => (again = r));
    const holders2 = Array.from({ length: gate.capacity }, () => gate.run(() => held2));
    const ctl = new AbortController();
    const cancelled = backend.countPatterns({ ...req, signal: ctl.signal });
    ctl.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'E_CANCELLED' });
    again();
    await Promise.all(holders2);
    backend.close();
  });
});
