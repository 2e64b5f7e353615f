// One gate per process over libuv's thread pool for the addon's long calls: proxy passes (src/proxies/native-run.ts)
// and SWAP count jobs (src/backends/native). Kept here, beside the addon's loader, so both folders use one gate
// without importing each other.
import { SwapError } from '../util/errors.js';
import type { NativeAddon } from './addon.js';

/**
 * Threads of libuv's pool, which runs the addon's passes: Node's default 4, or UV_THREADPOOL_SIZE as the process
 * was started with, read as libuv reads it (C `atoi`; 0 means 1; a negative value wraps to the 1024 maximum).
 */
export function uvPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  if (raw === undefined) return 4;
  const v = Number.parseInt(raw.trim(), 10) || 0;
  return v === 0 ? 1 : v < 0 ? 1024 : Math.min(v, 1024);
}

/**
 * Passes on libuv's pool at once over every runner of a process: the pool is one per process, and each runner's
 * budget ({@link passLanes}) keeps only its own passes below it. With several runners busy (a warm server holds one
 * per thread count, an ensemble scorer its own), their passes together could take every pool thread and leave file
 * I/O waiting behind them; the gate lets at most `capacity` (pool − 1) run or wait in the addon, the rest wait here.
 * A pass waiting in the addon for its runner's slots counts: a runner with passes queued there may hold every place
 * while another runner waits. A SWAP count call (NativeBackend) holds one pool thread for its whole job (its own
 * parked threads do the work), so it takes one place too. Not gated: the library's direct gradient jobs
 * (`nativeGradients`) and the CUDA backend's count jobs (which wait on the device, not on CPU threads).
 */
export class PoolGate {
  private inFlight = 0;
  private peakInFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  /**
   * Runs `task` once fewer than `capacity` gated tasks are in flight, in the order they asked. A `signal` aborted
   * while the task waits for its place takes it out of the queue and rejects with `E_CANCELLED` (a running task
   * sees its own cancel flag).
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw cancelledWaiting();
    // a finished task hands its place straight to the first waiter (which a newcomer cannot then overtake)
    if (this.inFlight < this.capacity && this.waiting.length === 0) this.inFlight++;
    else await this.waitForPlace(signal);
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }

  private waitForPlace(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(cancelledWaiting());
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiting.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Tasks waiting for a place now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The most gated tasks in flight at once so far. */
  get peak(): number {
    return this.peakInFlight;
  }
}

function cancelledWaiting(): SwapError {
  return new SwapError('E_CANCELLED', 'cancelled while waiting for a pool thread');
}

/** One gate per loaded addon, i.e. per process (a module holds one instance of the addon). */
const poolGates = new WeakMap<NativeAddon, PoolGate>();

/** The process's {@link PoolGate} for `addon`'s passes (made on first use, for the pool the process started with). */
export function poolGate(addon: NativeAddon): PoolGate {
  let g = poolGates.get(addon);
  if (!g) poolGates.set(addon, (g = new PoolGate(Math.max(1, uvPoolSize() - 1))));
  return g;
}
