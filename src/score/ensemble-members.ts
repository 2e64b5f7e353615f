/**
 * The member values of an ensemble, wherever they are computed: one SWAP pass (SWAP, reg-SWAP, Θ) and one suite
 * pass (every other member, under the SWAP protocol) per network. The ensemble scorer computes them in this process
 * or asks a {@link RemoteMembers} source (queue workers); both go through {@link suitePass} and
 * {@link memberValues}, so a value means the same wherever it was computed.
 */
import type { BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import type { Network } from '../ir/types.js';
import type { EnsembleRule } from '../proxies/ensemble.js';
import type { ProxyName } from '../proxies/registry.js';
import type { ProxyRun, ProxyRunOptions } from '../proxies/run.js';
import type { NetworkScore } from './swap.js';

/** Members read off the SWAP engine pass (the rest are suite proxies). */
export const ENGINE_MEMBERS: Readonly<
  Record<string, (s: Pick<NetworkScore, 'swap' | 'regSwap' | 'params'>) => number>
> = {
  swap: (s) => s.swap,
  'reg-swap': (s) => s.regSwap,
  params: (s) => s.params,
};

/** Where an ensemble's suite members run: the native engine (multi-threaded, float32) or the reference one. */
export type SuiteEngineName = 'native' | 'reference';

/** What one network's members come from: its SWAP pass and its suite members' values (null: failed). */
export interface MemberRun {
  readonly score: NetworkScore;
  readonly suite: Readonly<Record<string, number | null>>;
}

/** One network's member values (each member of the rule), with the SWAP pass's Ψ and Θ. */
export interface MemberValues {
  readonly values: Readonly<Record<string, number | null>>;
  readonly swap: number;
  readonly params: number;
}

/**
 * How a member pass runs besides the scorer's own settings (network, batch, repeats, μ/σ, inputs): the weight seed,
 * the SWAP backend the scorer fixed, the suite members, their engine and the class labels (null: none).
 */
export interface MemberPass {
  readonly seed: number;
  readonly backend: BackendName;
  readonly suite: readonly ProxyName[];
  readonly engine: SuiteEngineName;
  readonly labels: readonly number[] | null;
  /** Progress of this pass (networks done, total); absent: the source reports its own way. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Computes member runs elsewhere (queue workers) for architecture texts of the scorer's space, in order, with the
 * scorer's settings and the pass's; built by the caller, who binds the resolved request and its input batch.
 */
export type RemoteMembers = (archs: readonly string[], pass: MemberPass) => Promise<MemberRun[]>;

function finiteOrNull(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

/** A suite engine: the values of `names` on one network under run options `o`. */
export type SuiteEngine = (net: Network, names: readonly ProxyName[], o: ProxyRunOptions) => Promise<ProxyRun>;

/**
 * The suite members of one network under the SWAP protocol (proxy network, the first `batch` images, the pass's
 * seed); a value that is not finite (the proxy failed on this network) is null.
 */
export async function suitePass(
  engine: SuiteEngine,
  net: Network,
  names: readonly ProxyName[],
  o: { seed: number; images: InputBatch; labels?: ArrayLike<number> | undefined; batch: number },
): Promise<Record<string, number | null>> {
  if (names.length === 0) return {};
  const run = await engine(net, names, {
    protocol: 'swap',
    seed: o.seed,
    images: o.images,
    ...(o.labels ? { labels: o.labels } : {}),
    batch: o.batch,
  });
  return Object.fromEntries(names.map((m) => [m, finiteOrNull(run.values[m]?.value)]));
}

/** Every member of `rule` on one network, from its SWAP pass and suite values. */
export function memberValues(rule: EnsembleRule, run: MemberRun): MemberValues {
  const values: Record<string, number | null> = {};
  for (const m of rule.members) values[m] = m in ENGINE_MEMBERS ? ENGINE_MEMBERS[m]!(run.score) : run.suite[m]!;
  return { values, swap: run.score.swap, params: run.score.params };
}
