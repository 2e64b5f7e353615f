import { describe, expect, it } from 'vitest';
import { passLanes, threadBudget, uvPoolSize } from '../src/proxies/native-run.js';

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
