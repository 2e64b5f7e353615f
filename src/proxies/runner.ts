/**
 * What runs a resolved proxy request outside the CLI's flag parsing (the CLI and queue workers share it): the
 * request's shape, the engine's runner, one result row per network, and how many networks are in flight.
 */
import { availableParallelism } from 'node:os';
import type { Network } from '../ir/types.js';
import { loadAddon } from '../native/loader.js';
import { SwapError } from '../util/errors.js';
import { nativeProxyRunner } from './native-run.js';
import type { ProxyName } from './registry.js';
import { type Precision, type ProxyRun, type ProxyRunOptions, runProxies } from './run.js';

/** The resolved proxy request of a command: names, protocol, batch override, engine routing and precision. */
export interface ProxyRequest {
  readonly names: ProxyName[];
  readonly protocol: 'official' | 'swap';
  readonly batch?: number;
  readonly engine: { readonly backend: 'reference' | 'native'; readonly why: string };
  /** The native gradient passes' dtype when the command gives one (else {@link precisionFor}'s default). */
  readonly precision?: Precision;
}

/**
 * The precision of a request's native gradient passes: the one it gives, else float64 for a user's model (one
 * network, whose values should be the official code's in double: float32 moves deep models' gradients by up to
 * 1e-1 where a ReLU input lies within rounding of 0) and float32 for a search space's networks (thousands of
 * them, the fastest).
 */
export function precisionFor(req: Pick<ProxyRequest, 'precision'>, userModel: boolean): Precision {
  return req.precision ?? (userModel ? 'float64' : 'float32');
}

/** What runs a request's proxies on one network (see {@link proxyRunner}). */
export type ProxyRunFn = (
  net: Network,
  names: readonly ProxyName[],
  o: ProxyRunOptions,
) => Promise<ProxyRun & { peakBytes?: number }>;

/**
 * Where a caller keeps its runners (a warm server: one per engine and thread count, so a native runner's
 * activation buffers and caches outlive a request); absent, each command makes its own with {@link proxyRunner}.
 */
export type ProxyEngines = (backend: ProxyRequest['engine']['backend'], threads?: number) => Promise<ProxyRunFn>;

/** The proxy runner of a request's engine (one native runner per command, so its caches are shared). */
export function proxyRunner(req: ProxyRequest, threads?: number): ProxyRunFn {
  if (req.engine.backend === 'reference') return async (net, names, o) => runProxies(net, names, o);
  const load = loadAddon();
  if (!load.ok) throw new SwapError('E_NATIVE_LOAD', load.reason.slice(0, 200));
  const runner = nativeProxyRunner(load.addon, threads);
  return (net, names, o) => runner.run(net, names, o);
}

/**
 * One result row: values (null when not finite), the reasons of the nulls, what was routed, and on the native
 * engine the peak activation + gradient memory of the network's largest pass (`peakBytes`).
 */
export function proxyRow(key: string, id: string, run: ProxyRun & { peakBytes?: number }): Record<string, unknown> {
  const values: Record<string, number | null> = {};
  const reasons: Record<string, string> = {};
  const routed: Record<string, string> = {};
  for (const [name, v] of Object.entries(run.values)) {
    values[name] = v!.value;
    if (v!.reason) reasons[name] = v!.reason;
    // routed to the reference engine, or to the native float64 pass after a float32 one
    const r = run.settings[name as ProxyName]?.routed;
    if (r) routed[name] = r;
  }
  return {
    [key]: id,
    proxies: values,
    ...(Object.keys(reasons).length > 0 ? { reasons } : {}),
    ...(Object.keys(routed).length > 0 ? { routed } : {}),
    ...(run.peakBytes !== undefined ? { peakBytes: run.peakBytes } : {}),
  };
}

/**
 * Networks scored at once by `score --proxies`: one more than the runner's threads, so the addon always has a
 * queued pass while finished networks are reduced on the main thread.
 */
export function proxyWindow(threads: number | undefined): number {
  return (threads ?? availableParallelism()) + 1;
}

/**
 * Score items `0 … count-1`, at most `inFlight` at a time, and hand each result to `emit` in item order (one that
 * finishes early waits for those before it; `emit` calls never overlap). An item's work starts only when a lane is
 * free, so what is held is bounded by the window and the results not yet emitted, not by `count`. The first error
 * (of `score` or `emit`) rejects at once: no item starts and nothing is emitted after it (items already in flight
 * finish unseen), so a failed run does not go on scoring the rest in the background.
 */
export async function inOrderWindow<R>(
  count: number,
  inFlight: number,
  score: (i: number) => Promise<R>,
  emit: (r: R, i: number) => void | Promise<void>,
): Promise<void> {
  const ready = new Map<number, R>();
  let next = 0;
  let emitted = 0;
  let flushed: Promise<void> = Promise.resolve();
  let failed = false;
  const lane = async () => {
    try {
      for (let i = next++; i < count && !failed; i = next++) {
        ready.set(i, await score(i));
        while (!failed && ready.has(emitted)) {
          const k = emitted++;
          const r = ready.get(k)!;
          ready.delete(k);
          flushed = flushed.then(() => (failed ? undefined : emit(r, k)));
        }
        await flushed;
      }
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, count)) }, lane));
  await flushed;
}
