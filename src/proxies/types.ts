import type { MeasurementKind, MeasurementValues } from '../backends/types.js';
import type { Network } from '../ir/types.js';
import type { EnsembleRule } from './ensemble.js';
import type { Regulariser } from './regularise.js';
import type { SuiteForm } from './suite-protocol.js';

/** Which way a proxy ranks: `higher` means a larger value predicts a better architecture. */
export type ProxyDirection = 'higher' | 'lower';

/** The settings a proxy's paper (or its official code) scores with; absent fields: the proxy has no such setting. */
export interface ProxyProtocol {
  /** Samples per batch. */
  readonly batch?: number;
  /** Weight initialisations averaged (or, for a single-initialisation proxy, 1). */
  readonly repeats?: number;
  /** Needs labelled data (loss gradients) rather than unlabelled images. */
  readonly labels?: boolean;
  /** Where the protocol comes from (paper, official code). */
  readonly source: string;
}

/** Request-wide inputs of a reduction besides the measurements (the resolved request's proxy parameters). */
export interface ProxyContext {
  /** reg-SWAP's μ/σ; absent: f(Θ) = 1. */
  readonly regulariser?: Regulariser | undefined;
}

/** What one network's reduction sees. */
export interface ProxyInput<K extends MeasurementKind> {
  readonly network: Network;
  /** The network's measurements, one value per weight seed (repeat), for every kind the proxy consumes. */
  readonly measured: { readonly [P in K]: readonly MeasurementValues[P][] };
  readonly context: ProxyContext;
}

/**
 * A zero-cost proxy as a plug-in: its name, which way it ranks, its protocol, and how it is computed — from the
 * engine pass's measurements on any capable backend (`consumes` + `reduce`: SWAP, reg-SWAP, NWOT, params, FLOPs),
 * by the proxy suite's pass under its official protocol (`suite`: every zero-cost proxy of src/proxies/run.ts), or
 * both — or as an `ensemble` of other proxies. Files in src/proxies/builtin/ (see docs/adding-a-proxy.md); one {@link ProxyRegistry} holds them all.
 */
export interface ProxyDefinition<K extends MeasurementKind = MeasurementKind> {
  /** Stable name (CLI `--proxies`, result keys), lower-case with dashes or underscores, e.g. `reg-swap`, `grad_norm`. */
  readonly name: string;
  /** One line for `--help` and reports. */
  readonly description: string;
  /** Engine measurements `reduce` needs; empty for proxies computed from the network alone (params, FLOPs). */
  readonly consumes: readonly K[];
  readonly direction: ProxyDirection;
  readonly protocol: ProxyProtocol;
  /** The per-network value from its engine measurements (deterministic, no I/O); absent: suite-only proxy. */
  reduce?(input: ProxyInput<K>): number;
  /** How the proxy suite computes it (official protocol, what its pass consumes); absent: engine-only proxy. */
  readonly suite?: SuiteForm;
  /**
   * A rank aggregation of other registered proxies against a fixed reference set of architectures (src/score/ensemble.ts
   * computes it); absent: not an ensemble.
   */
  readonly ensemble?: EnsembleRule;
}

/** A proxy whose consumed kinds are erased (how registries and the engine hold them). */
export type AnyProxy = ProxyDefinition<MeasurementKind>;

/** Identity helper that type-checks a proxy's `reduce` against what it declares in `consumes`. */
export function defineProxy<K extends MeasurementKind>(p: ProxyDefinition<K>): AnyProxy {
  return Object.freeze(p) as unknown as AnyProxy;
}
