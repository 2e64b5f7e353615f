/**
 * The proxy suite on the C++ engine: the same protocols, inputs and scoring as {@link runProxies} (the reference,
 * which stays the definition), with every pass made by the addon in float32, or for the gradient groups in float64
 * under `precision: 'float64'` (FLOAT64_GROUPS; the addon's float64 pass equals the reference). Passes of one
 * network's groups and of several networks run concurrently, `threads` at a time (one addon thread each; a pass
 * that starts with no other waiting takes every free thread); a network's passes on the same parameters and inputs
 * share one forward pass (native-coalesce.ts). Groups without a native form — or whose float32 value would not be
 * faithful (synflow when its float32 value nears the end of float32 range) — run on the reference engine, and each
 * such value's settings say so (`engine: 'reference'`, `routed`: why).
 */
import { availableParallelism } from 'node:os';
import { packParams } from '../backends/native/grad.js';
import { gaussianBatch } from '../data/gaussian.js';
import type { GaussianFill } from '../init/prng.js';
import { nativeProxyPass, type ProxyPassRequest } from '../backends/native/proxy-pass.js';
import type { NetParams } from '../grad/types.js';
import type { Network } from '../ir/types.js';
import type { NativeAddon } from '../native/addon.js';
import { poolGate, uvPoolSize } from '../native/pool-gate.js';
import { prngRademacher } from './az.js';
import { initParams, type InitScheme, type PrngFills } from './init.js';
import { passCoalescer } from './native-coalesce.js';
import { NATIVE_GROUPS } from './native-groups.js';
import { groupNeedsWeights, type ProxyGroup, type ProxyName, proxySpec } from './registry.js';
import {
  checkProxyRequest,
  FLOAT64_GROUPS,
  type GaussianSource,
  type Precision,
  inputsFor,
  NO_WEIGHTS,
  type ProxyRun,
  type ProxyRunOptions,
  type ProxySettings,
  runGroup,
  settingsFor,
} from './run.js';
import type { ProxyValue } from './value.js';
import { oneValueBatchNorm } from './one-value-bn.js';
import { softmaxSum } from './softmax-sum.js';

/** Why a group runs on the reference engine even when native is selected. */
export const ROUTED: Partial<Record<ProxyGroup, string>> = {
  count: 'computed from the network alone (no pass)',
  l2_norm: 'computed from the parameters alone (no pass)',
};

/**
 * Where and in what dtype a proxy's value is computed by the native runner at `precision`, before any per-network
 * routing (which its settings' `routed` reports): the groups without a native form on the reference engine
 * (float64); synflow_bn always, and FLOAT64_GROUPS at float64, in the addon's float64 pass; the rest in float32.
 */
export function nativePlan(
  name: ProxyName,
  precision: Precision = 'float32',
): { readonly engine: 'native' | 'reference'; readonly dtype: 'float32' | 'float64' } {
  const group = proxySpec(name).group;
  if (!NATIVE_GROUPS[group]) return { engine: 'reference', dtype: 'float64' };
  const f64 = group === 'synflow_bn' || (precision === 'float64' && FLOAT64_GROUPS.includes(group));
  return { engine: 'native', dtype: f64 ? 'float64' : 'float32' };
}

/** A native proxy run: values, settings and the largest memory one pass held. */
export interface NativeProxyRun extends ProxyRun {
  readonly peakBytes: number;
}

/** How passes share the threads ({@link passLanes}). */
export interface LanePlan {
  /** Passes running at once. */
  readonly lanes: number;
  /** Threads of each (a lone pass takes them all). */
  readonly share: number;
  /** Passes in flight beyond the lanes, waiting in the addon for threads. */
  readonly queued: number;
}

/**
 * How passes share `n` threads: at most `lanes` run at once, each on `share` threads (its convolutions split over
 * them; values do not depend on how many), and a pass with nothing else in flight takes all `n`. Lanes are capped by
 * libuv's pool, less one thread kept for file I/O: more passes than pool threads would only queue in libuv while
 * cores idle (with the default pool of 4, `--threads 16` ran 4 one-thread passes at a time).
 */
export function passLanes(n: number, pool = uvPoolSize()): LanePlan {
  const lanes = Math.max(1, Math.min(n, pool - 1));
  // one pass queued beyond the lanes while the pool still has a thread to spare for it and for file I/O
  return { lanes, share: Math.max(1, Math.floor(n / lanes)), queued: lanes + 1 < pool ? 1 : 0 };
}

/**
 * Runs tasks on `n` threads as `plan` says ({@link passLanes}); a task with nothing else in flight or waiting takes
 * all `n`. Tasks issued together (one network's passes) are all counted before the first starts. The `queued`
 * tasks beyond the lanes wait in the addon for threads (GradBuffers slots, `n` of them), so a finished pass's
 * threads start the next pass at once instead of when the event loop, busy with other networks' results, gets to
 * hand them over (the all-proxy pass on 2 cores used 187 % of them, now 191 %).
 */
export function threadBudget(n: number, plan: LanePlan): <T>(task: (threads: number) => Promise<T>) => Promise<T> {
  const { lanes, share, queued } = plan;
  let inFlight = 0;
  let pending = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    pending++;
    await new Promise<void>((r) => setImmediate(r));
    while (inFlight >= lanes + queued) await new Promise<void>((r) => waiting.push(r));
    pending--;
    const take = inFlight === 0 && pending === 0 ? n : share;
    inFlight++;
    try {
      return await task(take);
    } finally {
      inFlight--;
      waiting.shift()?.();
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

/**
 * `kept`'s value of `key`, made by `make` when missing, now the most recently used; beyond `limit` keys the least
 * recently used one is dropped (a Map iterates in insertion order).
 */
function keptRecent<K, V>(kept: Map<K, V>, key: K, limit: number, make: () => V): V {
  const v = kept.get(key) ?? make();
  kept.delete(key); // re-inserted last
  kept.set(key, v);
  if (kept.size > limit) kept.delete(kept.keys().next().value!);
  return v;
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
  fill?: GaussianFill,
): (seed: number) => (pair: number, length: number) => Float32Array {
  const bySeed = new Map<number, Map<string, Float32Array>>();
  return (seed) => (pair, length) => {
    const kept = keptRecent(bySeed, seed, limit, () => new Map<string, Float32Array>());
    const key = `${pair}:${length}`;
    if (!kept.has(key)) kept.set(key, Float32Array.from(prngRademacher(seed, fill)(pair, length)));
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
  return (n, c, h, w, seed) =>
    keptRecent(kept, `${seed}:${n}x${c}x${h}x${w}`, limit, () => gaussianBatch(n, c, h, w, seed, undefined, fill).data);
}

/**
 * The proxy suite on the addon with `threads` threads. Its passes run on libuv's pool ({@link passLanes}): for
 * more than 3 threads, start the process with UV_THREADPOOL_SIZE ≥ threads + 2 (the `swapnas` command's entry,
 * src/cli/swapnas.cts, does), or passes share the pool's lanes.
 */
export function nativeProxyRunner(addon: NativeAddon, threads = availableParallelism()): NativeProxyRunner {
  const n = Math.max(1, Math.floor(threads));
  const limit = threadBudget(n, passLanes(n));
  const gate = poolGate(addon);
  // executors (activation pools) kept from pass to pass: a full-size pass would fault ~300 MB in per call; its n
  // slots keep the pass queued beyond the threads waiting in the addon
  const buffers = new addon.GradBuffers(undefined, n);

  // the addon's PRNG draws the same float32 values as init/prng.ts (test/prng.test.ts), several times faster
  const gaussianFill = (out: Float32Array, seed: number, tensor: number) => {
    out.set(addon.prngFill(seed, tensor, out.length));
    return out;
  };
  const gaussian = gaussianCache(gaussianFill);
  const draw = rademacherCache(RADEMACHER_SEEDS, gaussianFill);
  const fills: PrngFills = { gaussian: gaussianFill, uniform: (...a) => addon.prngUniform(...a) };
  return {
    async run(net, names, o) {
      checkProxyRequest(net, names, o);
      const groups = new Map<ProxyGroup, ProxyName[]>();
      for (const n of names) groups.set(proxySpec(n).group, [...(groups.get(proxySpec(n).group) ?? []), n]);
      // by init scheme; packed (float32, the addon's layout) only for groups that make a pass
      const params = new Map<string, NetParams>();
      const packs = new Map<string, Float32Array>();
      const paramsFor = (s: ProxySettings) => {
        if (!params.has(s.init)) params.set(s.init, o.weights ?? initParams(net, s.init as InitScheme, o.seed, fills));
        return params.get(s.init)!;
      };
      const packedFor = (s: ProxySettings) => {
        if (!packs.has(s.init)) packs.set(s.init, packParams(net, paramsFor(s)));
        return packs.get(s.init)!;
      };
      const packs64 = new Map<string, Float64Array>();
      const packed64For = (s: ProxySettings) => {
        if (!packs64.has(s.init)) packs64.set(s.init, packParams(net, paramsFor(s), Float64Array));
        return packs64.get(s.init)!;
      };
      let peakBytes = 0;
      const passOn = (
        of: Network,
        x: Float32Array,
        batch: number,
        req: ProxyPassRequest,
        packed: Float32Array | Float64Array,
      ) =>
        limit(async (t) => {
          const r = await gate.run(() =>
            nativeProxyPass(addon, of, packed, x, batch, { ...req, threads: req.threads ?? t, buffers }),
          );
          peakBytes = Math.max(peakBytes, r.peakBytes);
          return r;
        });
      // passes of this network issued together share forward passes (native-coalesce.ts)
      const pass = passCoalescer(net, (x, batch, req, packed) => passOn(net, x, batch, req, packed));
      const values: Partial<Record<ProxyName, ProxyValue>> = {};
      const settings: Partial<Record<ProxyName, ProxySettings>> = {};
      await Promise.all(
        [...groups].map(async ([group, members]) => {
          const s = settingsFor(members[0]!, o);
          const native = NATIVE_GROUPS[group];
          const blocked = oneValueBatchNorm(net, group, members, s, o.features) ?? softmaxSum(net, group, members);
          const got = blocked
            ? blocked
            : native
              ? await native({
                  net,
                  params: paramsFor(s),
                  packed: packedFor(s),
                  packed64: () => packed64For(s),
                  s,
                  o,
                  float64: o.precision === 'float64' && FLOAT64_GROUPS.includes(group),
                  pass: (x, batch, req, packed) =>
                    pass(x, batch, req, packed ?? (req.float64 ? packed64For(s) : packedFor(s))),
                  passOn,
                  inputs: (settings, salt) => inputsFor(settings, o, net, salt, gaussian),
                  rademacher: draw(o.seed),
                })
              : { routed: ROUTED[group] ?? 'no native form' };
          const routed = 'routed' in got ? (got.routed as string) : undefined;
          const dtype = 'float64' in got ? 'float64' : 'float32';
          const why = 'why' in got ? (got.why as string | undefined) : undefined;
          const vals =
            routed !== undefined
              ? runGroup(group, net, groupNeedsWeights(group) ? paramsFor(s) : NO_WEIGHTS, s, o)
              : 'float64' in got
                ? (got.float64 as Partial<Record<ProxyName, ProxyValue>>)
                : (got as Partial<Record<ProxyName, ProxyValue>>);
          for (const m of members) {
            values[m] = vals[m] ?? { value: null, reason: `${m}: not computed` };
            settings[m] =
              routed === undefined
                ? { ...settingsFor(m, o), dtype, engine: 'native', ...(why ? { routed: why } : {}) }
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
