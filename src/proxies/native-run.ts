/**
 * The proxy suite on the C++ engine: the same protocols, inputs and scoring as {@link runProxies} (the reference,
 * which stays the definition), with every pass made by the addon in float32. Passes of one network's groups and of
 * several networks run concurrently, `threads` at a time (one addon thread each; a pass that starts with no other
 * waiting takes every free thread); a network's passes on the same
 * parameters and inputs share one forward pass (native-coalesce.ts). Groups without a native form —
 * or whose float32 value would not be faithful (synflow when its float32 value nears the end of float32 range) — run on the reference
 * engine, and each such value's settings say so (`engine: 'reference'`, `routed`: why).
 */
import { availableParallelism } from 'node:os';
import { packParams } from '../backends/native/grad.js';
import { type GaussianFill, gaussianBatch } from '../data/gaussian.js';
import { nativeProxyPass } from '../backends/native/proxy-pass.js';
import type { NetParams } from '../grad/types.js';
import type { Network } from '../ir/types.js';
import type { NativeAddon } from '../native/addon.js';
import { prngRademacher } from './az.js';
import { initParams, type InitScheme } from './init.js';
import { passCoalescer } from './native-coalesce.js';
import { NATIVE_GROUPS } from './native-groups.js';
import { groupNeedsWeights, type ProxyGroup, type ProxyName, proxySpec } from './registry.js';
import {
  checkProxyRequest,
  type GaussianSource,
  inputsFor,
  NO_WEIGHTS,
  type ProxyRun,
  type ProxyRunOptions,
  type ProxySettings,
  runGroup,
  settingsFor,
} from './run.js';
import type { ProxyValue } from './value.js';

/** Why a group runs on the reference engine even when native is selected. */
export const ROUTED: Partial<Record<ProxyGroup, string>> = {
  count: 'computed from the network alone (no pass)',
  l2_norm: 'computed from the parameters alone (no pass)',
};

/** A native proxy run: values, settings and the largest memory one pass held. */
export interface NativeProxyRun extends ProxyRun {
  readonly peakBytes: number;
}

/**
 * Runs tasks on at most `n` threads at once: a task starts with one thread, or with every free thread when no
 * other task waits (a lone pass then splits its convolutions over them; its values do not depend on how many).
 * Tasks issued together (one network's passes) are all counted before the first starts.
 */
function threadBudget(n: number): <T>(task: (threads: number) => Promise<T>) => Promise<T> {
  let free = n;
  let pending = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    pending++;
    await new Promise<void>((r) => setImmediate(r));
    while (free < 1) await new Promise<void>((r) => waiting.push(r));
    pending--;
    const take = pending === 0 ? free : 1;
    free -= take;
    try {
      return await task(take);
    } finally {
      free += take;
      for (let k = 0; k < take; k++) waiting.shift()?.();
    }
  };
}

/**
 * A reusable native proxy runner (its Rademacher cotangents, concurrency limit and the addon's pass executors are
 * shared by its runs).
 */
export interface NativeProxyRunner {
  run(net: Network, names: readonly ProxyName[], o: ProxyRunOptions): Promise<NativeProxyRun>;
}

/** Seeds whose Rademacher cotangents a {@link NativeProxyRunner} keeps: the latest few, not every seed it saw. */
export const RADEMACHER_SEEDS = 4;

/**
 * AZ-NAS's Rademacher cotangents by seed, block pair and length, each drawn once and kept for the `limit` seeds
 * drawn most recently (a warm server's shared runner sees every request's seed: keeping all of them, several MB
 * each, would grow without bound). A dropped seed's values are drawn again, equal.
 */
export function rademacherCache(
  limit = RADEMACHER_SEEDS,
): (seed: number) => (pair: number, length: number) => Float32Array {
  const bySeed = new Map<number, Map<string, Float32Array>>();
  return (seed) => (pair, length) => {
    const kept = bySeed.get(seed) ?? new Map<string, Float32Array>();
    bySeed.delete(seed); // re-inserted last: the most recently drawn
    bySeed.set(seed, kept);
    if (bySeed.size > limit) bySeed.delete(bySeed.keys().next().value!);
    const key = `${pair}:${length}`;
    if (!kept.has(key)) kept.set(key, Float32Array.from(prngRademacher(seed)(pair, length)));
    return kept.get(key)!;
  };
}

/** Gaussian input batches a {@link NativeProxyRunner} keeps (by seed and shape; zen's mixing noise, Gaussian inputs). */
export const GAUSSIAN_BATCHES = 4;

/**
 * Seeded Gaussian batches drawn once by `fill` and kept for the `limit` most recently used seeds and shapes: every
 * network of a run with one seed reads the same batch, so it is drawn once per run, not once per network. Callers
 * only read them.
 */
export function gaussianCache(fill: GaussianFill, limit = GAUSSIAN_BATCHES): GaussianSource {
  const kept = new Map<string, Float32Array>();
  return (n, c, h, w, seed) => {
    const key = `${seed}:${n}x${c}x${h}x${w}`;
    const got = kept.get(key) ?? gaussianBatch(n, c, h, w, seed, undefined, fill).data;
    kept.delete(key); // re-inserted last: the most recently used
    kept.set(key, got);
    if (kept.size > limit) kept.delete(kept.keys().next().value!);
    return got;
  };
}

export function nativeProxyRunner(addon: NativeAddon, threads = availableParallelism()): NativeProxyRunner {
  const limit = threadBudget(Math.max(1, Math.floor(threads)));
  // executors (activation pools) kept from pass to pass: a full-size pass would fault ~300 MB in per call
  const buffers = new addon.GradBuffers();
  const draw = rademacherCache();
  // the addon's PRNG draws the same float32 values as init/prng.ts (test/prng.test.ts), several times faster
  const gaussianFill = (out: Float32Array, seed: number, tensor: number) => {
    out.set(addon.prngFill(seed, tensor, out.length));
    return out;
  };
  const gaussian = gaussianCache(gaussianFill);
  return {
    async run(net, names, o) {
      checkProxyRequest(net, names, o);
      const groups = new Map<ProxyGroup, ProxyName[]>();
      for (const n of names) groups.set(proxySpec(n).group, [...(groups.get(proxySpec(n).group) ?? []), n]);
      const params = new Map<string, { params: NetParams; packed: Float32Array }>();
      const paramsFor = (s: ProxySettings) => {
        if (!params.has(s.init)) {
          const p = o.weights ?? initParams(net, s.init as InitScheme, o.seed, gaussianFill);
          params.set(s.init, { params: p, packed: packParams(net, p) });
        }
        return params.get(s.init)!;
      };
      let peakBytes = 0;
      // passes of this network issued together share forward passes (native-coalesce.ts)
      const pass = passCoalescer(net, (x, batch, req, packed) =>
        limit(async (t) => {
          const r = await nativeProxyPass(addon, net, packed, x, batch, { ...req, threads: req.threads ?? t, buffers });
          peakBytes = Math.max(peakBytes, r.peakBytes);
          return r;
        }),
      );
      const values: Partial<Record<ProxyName, ProxyValue>> = {};
      const settings: Partial<Record<ProxyName, ProxySettings>> = {};
      await Promise.all(
        [...groups].map(async ([group, members]) => {
          const s = settingsFor(members[0]!, o);
          const native = NATIVE_GROUPS[group];
          const p = native ? paramsFor(s) : undefined;
          const got = native
            ? await native({
                net,
                params: p!.params,
                packed: p!.packed,
                s,
                o,
                pass: (x, batch, req, packed) => pass(x, batch, req, packed ?? p!.packed),
                inputs: (settings, salt) => inputsFor(settings, o, net, salt, gaussian),
                rademacher: draw(o.seed),
              })
            : { routed: ROUTED[group] ?? 'no native form' };
          const routed = 'routed' in got ? (got.routed as string) : undefined;
          const vals =
            routed === undefined
              ? (got as Partial<Record<ProxyName, ProxyValue>>)
              : runGroup(group, net, groupNeedsWeights(group) ? (p ?? paramsFor(s)).params : NO_WEIGHTS, s, o);
          for (const m of members) {
            values[m] = vals[m] ?? { value: null, reason: `${m}: not computed` };
            settings[m] =
              routed === undefined
                ? { ...settingsFor(m, o), dtype: 'float32', engine: 'native' }
                : { ...settingsFor(m, o), engine: 'reference', routed };
          }
        }),
      );
      // groups finish in any order; report in the requested order
      return {
        values: Object.fromEntries(names.map((n) => [n, values[n]])),
        settings: Object.fromEntries(names.map((n) => [n, settings[n]])),
        peakBytes,
      };
    },
  };
}
