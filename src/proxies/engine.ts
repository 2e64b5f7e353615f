import { BackendRegistry } from '../backends/registry.js';
import {
  MEASUREMENT_KINDS,
  type Backend,
  type BackendName,
  type CountRequest,
  type MeasureResult,
  type MeasurementKind,
} from '../backends/types.js';
import { SwapError } from '../util/errors.js';
import type { AnyProxy, ProxyContext } from './types.js';

/** Where a measurement was computed, and why when it was not the chosen backend. */
export interface MeasurementRoute {
  readonly measurement: MeasurementKind;
  readonly backend: BackendName;
  /** Present when the measurement was routed away from the chosen backend. */
  readonly reason?: string;
}

/** Options of {@link measureProxies}: the engine request (without the networks) plus the chosen backend. */
export interface ProxyEngineOptions extends Omit<CountRequest, 'networks'> {
  /** The backend the caller chose; measurements it does not compute are routed to a capable one. */
  readonly backend: Backend;
  /** Where capable backends for routed measurements come from (default: a fresh {@link BackendRegistry}). */
  readonly registry?: BackendRegistry;
  readonly context?: ProxyContext;
}

/** Result of {@link measureProxies}. */
export interface ProxyRun {
  /** Value of each requested proxy per network: `values[proxy][network]`. */
  readonly values: Readonly<Record<string, number[]>>;
  /** The raw measurements, `[network][repeat]` per kind. */
  readonly measured: MeasureResult;
  /** One entry per measurement made. */
  readonly routes: readonly MeasurementRoute[];
}

/** The measurement kinds a set of proxies consumes, in the fixed kind order. */
export function consumedKinds(proxies: readonly AnyProxy[]): MeasurementKind[] {
  const wanted = new Set(proxies.flatMap((p) => p.consumes));
  return MEASUREMENT_KINDS.filter((k) => wanted.has(k));
}

/**
 * Compute proxies of many networks: one engine pass on the chosen backend for every measurement it supports,
 * one pass on the best available capable backend (by registry priority) for the rest, then each proxy's
 * per-network reduction. Proxies that consume nothing (params, FLOPs) need no pass.
 */
export async function measureProxies(
  networks: CountRequest['networks'],
  proxies: readonly AnyProxy[],
  opts: ProxyEngineOptions,
): Promise<ProxyRun> {
  for (const p of proxies)
    if (!p.reduce)
      throw new SwapError(
        'E_PROXY_BACKEND',
        `${p.name} is computed by the proxy suite (score/correlate --proxies), not from engine measurements`,
      );
  const kinds = consumedKinds(proxies);
  const own = kinds.filter((k) => opts.backend.capabilities.includes(k));
  const rest = kinds.filter((k) => !own.includes(k));
  const { backend, registry, context, ...req } = opts;
  const measured: MeasureResult = {};
  const routes: MeasurementRoute[] = [];
  if (own.length > 0 && networks.length > 0) {
    Object.assign(measured, await backend.measure({ ...req, networks, measurements: own }));
    for (const k of own) routes.push({ measurement: k, backend: backend.name });
  }
  if (rest.length > 0 && networks.length > 0) {
    const { onProgress: _ignored, ...quiet } = req;
    for (const group of await (registry ?? new BackendRegistry()).routeMeasurements(rest, backend.name)) {
      try {
        Object.assign(measured, await group.backend.measure({ ...quiet, networks, measurements: group.kinds }));
      } finally {
        await group.backend.close?.();
      }
      for (const k of group.kinds)
        routes.push({
          measurement: k,
          backend: group.backend.name,
          reason: `backend ${backend.name} does not compute ${k}`,
        });
    }
  }
  const values: Record<string, number[]> = {};
  for (const p of proxies) values[p.name] = networks.map((network, i) => reduceOne(p, network, i, measured, context));
  return { values, measured, routes };
}

function reduceOne(
  p: AnyProxy,
  network: CountRequest['networks'][number],
  i: number,
  measured: MeasureResult,
  context: ProxyContext | undefined,
): number {
  const own: Partial<Record<MeasurementKind, readonly number[]>> = {};
  for (const k of p.consumes) own[k] = measured[k]![i]!;
  return p.reduce!({ network, measured: own as Record<MeasurementKind, readonly number[]>, context: context ?? {} });
}
