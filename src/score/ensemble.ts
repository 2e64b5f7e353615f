/**
 * Ensemble fitness of networks (a proxy plug-in with an `ensemble` form, e.g. `ensemble`): each member's value —
 * SWAP, reg-SWAP or Θ from one engine pass, any suite proxy under the SWAP protocol (the same proxy network, S
 * input images and the run's seed) — is placed in that member's distribution over the space's reference set
 * (src/score/reference-set.ts), scored once per settings and cached, and the fitness is Σ w_m · term_m(ln F̂_m).
 */
import { BackendRegistry } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import type { Network } from '../ir/types.js';
import { loadAddon } from '../native/loader.js';
import {
  type EnsembleRule,
  ensembleScore,
  memberNames,
  type ReferenceColumn,
  referenceColumn,
} from '../proxies/ensemble.js';
import { PROXY_NAMES, type ProxyName, proxySpec } from '../proxies/registry.js';
import type { Regulariser } from '../proxies/regularise.js';
import type { SearchSpace } from '../spaces/types.js';
import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';
import { ensembleProxies } from '../proxies/plugins.js';
import {
  REFERENCE_SEED,
  REFERENCE_SIZE,
  REFERENCE_WEIGHT_SEED,
  type ReferenceIdentity,
  type ReferenceSet,
  readReference,
  referenceFile,
  referenceGenotypes,
  writeReference,
} from './reference-set.js';
import { shippedReference } from './shipped-reference.js';
import { type NetworkScore, scoreNetworks } from './swap.js';
import {
  ENGINE_MEMBERS,
  type MemberPass,
  type MemberRun,
  memberValues,
  type RemoteMembers,
  type SuiteEngine,
  type SuiteEngineName,
  suitePass,
} from './ensemble-members.js';
export type { MemberPass, MemberRun, RemoteMembers, SuiteEngine, SuiteEngineName } from './ensemble-members.js';

/** The single-proxy fitness `--fitness reg-swap` names: reg-SWAP of the SWAP pass (Ψ when there is no μ/σ). */
export const REG_SWAP_FITNESS = 'reg-swap';

/**
 * The default fitness of `search` (swap-nas, hybrid) and the headline of `score` and `correlate`: the fitted rule
 * (docs/ensemble-study.md, "A fitted rule"), ranked against the space's reference set. It reads the batch's class
 * labels; on inputs without them the default is {@link LABEL_FREE_FITNESS}. This is the one definition of the
 * default; {@link resolveFitness} applies it.
 */
export const DEFAULT_FITNESS = 'ensemble-fit';

/**
 * The default's stand-in on input images without class labels (e.g. `--images FILE.npy` without `--labels`): the
 * label-free ensemble of reg-SWAP, MeCo and AZ-NAS trainability.
 */
export const LABEL_FREE_FITNESS = 'ensemble';

/** Names a fitness may be given by: reg-SWAP and every ensemble plug-in of the registry. */
export function fitnessNames(): string[] {
  return [REG_SWAP_FITNESS, ...ensembleProxies().map((p) => p.name)];
}

/** The fitness name of a registered ensemble rule (e.g. `ensemble`), else the rule's own name. */
export function fitnessNameOf(rule: EnsembleRule): string {
  return ensembleProxies().find((p) => p.ensemble === rule)?.name ?? rule.name;
}

/** The ensemble rule a fitness name stands for, or undefined for reg-SWAP; unknown names are `E_OPTION`. */
export function fitnessRule(name: string): EnsembleRule | undefined {
  if (name === REG_SWAP_FITNESS) return undefined;
  const p = ensembleProxies().find((e) => e.name === name);
  if (!p?.ensemble)
    throw new SwapError('E_OPTION', `fitness must be one of ${fitnessNames().join(', ')}, got ${quote(name)}`);
  return p.ensemble;
}

/** What {@link resolveFitness} is told for `score --official`. */
export const OFFICIAL_PROTOCOL_FITNESS =
  "--official is the SWAP paper's protocol, whose fitness is reg-SWAP (--fitness ensemble ranks by the ensemble, its reference set scored once at these settings)";

/** The fitness a run ranks by, as resolved from what was asked. */
export interface FitnessChoice {
  /** `reg-swap` or an ensemble plug-in's name. */
  readonly name: string;
  /** The ensemble rule; undefined for reg-SWAP. */
  readonly rule: EnsembleRule | undefined;
  /** Set when the default could not serve the run and another fitness was used instead: why (to tell the user). */
  readonly fallback?: string;
}

/** What in a run bears on its default fitness (see {@link resolveFitness}). */
export interface FitnessContext {
  /**
   * What the run does that an ensemble cannot serve, and why (e.g. `correlate --images gaussian`): an ensemble named
   * there is `E_OPTION`, and the default falls back to reg-SWAP, said in `fallback`.
   */
  readonly unsupported?: string | undefined;
  /**
   * The run follows a paper's protocol whose own fitness is reg-SWAP (`score --official`), and why: the default
   * falls back to reg-SWAP, said in `fallback`; an ensemble may still be named.
   */
  readonly protocol?: string | undefined;
  /**
   * Whether the run's input images carry class labels (their source's, or `--labels`). False: a default that needs
   * labels falls back to {@link LABEL_FREE_FITNESS}, said in `fallback`; a rule named that needs them fails where
   * its members run (`E_LABELS`). Undefined counts as labelled.
   */
  readonly labelled?: boolean | undefined;
}

/**
 * Resolve `--fitness`: the name given, else {@link DEFAULT_FITNESS}, except where the context makes the default
 * reg-SWAP (a run the ensemble cannot serve, a paper's protocol) or {@link LABEL_FREE_FITNESS} (unlabelled images) —
 * never silently: `fallback` says why, for the caller to tell the user.
 */
export function resolveFitness(given: string | undefined, ctx: FitnessContext = {}): FitnessChoice {
  const name = given ?? DEFAULT_FITNESS;
  const rule = fitnessRule(name);
  const why = ctx.unsupported ?? ctx.protocol;
  if (!rule || why === undefined || (given !== undefined && ctx.unsupported === undefined)) {
    const unlabelled = given === undefined && rule !== undefined && ctx.labelled === false && needsLabels(rule);
    return unlabelled ? labelFree(name) : { name, rule };
  }
  if (given !== undefined)
    throw new SwapError(
      'E_OPTION',
      `fitness ${name} is not available with ${ctx.unsupported}; use --fitness ${REG_SWAP_FITNESS}`,
    );
  const fallback = `ranking by ${REG_SWAP_FITNESS}, not the default ${name}: ${why}; --fitness ${REG_SWAP_FITNESS} chooses it without this note`;
  return { name: REG_SWAP_FITNESS, rule: undefined, fallback };
}

/** The default's stand-in on unlabelled inputs, with the note that says so. */
function labelFree(name: string): FitnessChoice {
  const fallback = `ranking by ${LABEL_FREE_FITNESS}, not the default ${name}: the input images carry no class labels (give them with --labels FILE, or a server request's labels setting); --fitness ${LABEL_FREE_FITNESS} chooses it without this note`;
  return { name: LABEL_FREE_FITNESS, rule: fitnessRule(LABEL_FREE_FITNESS), fallback };
}

/** Whether a member of `rule` reads class labels (only then do given labels key its reference set). */
export function needsLabels(rule: EnsembleRule): boolean {
  return rule.members.some((m) => (PROXY_NAMES as readonly string[]).includes(m) && proxySpec(m as ProxyName).labels);
}

/**
 * The fitness of a `score` request, wherever it comes from (`swapnas score`, `swapnas serve`, either with queue
 * workers): `fitness` as given, else the default fitness — except with `official` (the paper's protocol), where the
 * default is reg-SWAP and `fallback` says why.
 */
export function scoreFitness(asked: {
  readonly fitness?: string | undefined;
  readonly official?: boolean | undefined;
  /** Whether the request's inputs carry class labels (see {@link FitnessContext.labelled}). */
  readonly labelled?: boolean | undefined;
}): FitnessChoice {
  return resolveFitness(asked.fitness, {
    protocol: asked.official ? OFFICIAL_PROTOCOL_FITNESS : undefined,
    labelled: asked.labelled,
  });
}

/**
 * A suite engine, its module loaded here (a reg-SWAP-only run loads neither): `native` keeps its activation buffers
 * from pass to pass (one engine may serve many scorers, one pass at a time each), `reference` runs the TypeScript
 * definition. `native` falls back to `reference` when the addon does not load.
 */
export async function makeSuiteEngine(engine: SuiteEngineName, threads?: number): Promise<SuiteEngine> {
  const load = loadAddon();
  if (engine === 'native' && load.ok) {
    const { nativeProxyRunner } = await import('../proxies/native-run.js');
    const native = nativeProxyRunner(load.addon, threads);
    return (net, names, o) => native.run(net, names, o);
  }
  const { runProxies } = await import('../proxies/run.js');
  return async (net, names, o) => runProxies(net, names, o);
}

/** How an {@link EnsembleScorer} scores: the resolved scoring settings, the rule and where its reference lives. */
export interface EnsembleOptions<N extends object> {
  readonly rule: EnsembleRule;
  /** Proxy-network options (as `space.build` takes them). */
  readonly network: Partial<N>;
  readonly inputs: InputBatch;
  /**
   * Class labels of `inputs`, one per image, for members that need them (epe_nas, zico, the saliencies); a rule
   * with such a member and no labels fails with the proxy's `E_LABELS`.
   */
  readonly labels?: ArrayLike<number> | undefined;
  readonly batch: number;
  readonly repeats: number;
  readonly seed: number;
  readonly regulariser?: Regulariser | undefined;
  /**
   * Identity of these settings for the cache key (the resolved scoring request); its `seed` is replaced by the
   * reference set's own weight seed, so runs that differ only in their seed share one reference set.
   */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly backend?: BackendName | 'auto';
  readonly registry?: BackendRegistry;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /** Cache folder (default: {@link cacheDirectory}'s). */
  readonly cacheDir?: string;
  /**
   * Use a reference set shipped with the package when its identity is this scorer's (default true; false scores
   * it or reads the disk cache, as `scripts/build-reference-sets.mjs` does to regenerate the shipped file).
   */
  readonly shipped?: boolean;
  readonly referenceSize?: number;
  readonly referenceSeed?: number;
  /**
   * The suite engine for the members (e.g. a warm server's, shared by every scorer with the same engine and
   * threads), asked for on every suite pass and never kept by the scorer: the provider decides how long an engine
   * lives (one it evicted is dropped once its pass ends) and whether a failed make is retried. Default
   * {@link makeSuiteEngine}, one per scorer, made on first use (again after a failure).
   */
  readonly suiteEngine?: (engine: SuiteEngineName, threads: number | undefined) => Promise<SuiteEngine>;
  /** Progress of building the reference set (networks scored, total). */
  readonly onReference?: (done: number, total: number) => void;
  /**
   * Compute the member values elsewhere (queue workers, `--redis`): every network's and the reference set's, with
   * these settings and the backend and suite engine fixed here; the ranking and the reference cache stay here.
   */
  readonly remote?: RemoteMembers;
}

/** The part of a resolved scoring request an ensemble scorer follows (structurally a `ScoringRequest`). */
export interface EnsembleRequest {
  readonly network: Readonly<Record<string, unknown>>;
  readonly batch: number;
  readonly repeats: number;
  readonly seed: number;
  readonly regulariser: Regulariser | null;
  readonly backend: BackendName | 'auto';
}

/**
 * The key of labels given apart from the inputs as far as `rule` is concerned: the key when a member of the rule
 * reads class labels (it then joins the reference set's identity and the run's settings), else undefined.
 */
export function labelsKeyFor(rule: EnsembleRule, key: string | undefined): string | undefined {
  return key !== undefined && needsLabels(rule) ? key : undefined;
}

/**
 * The options of an {@link EnsembleScorer} that follow from a resolved scoring request: its network, batch, seed,
 * μ/σ and backend, with the whole request as the reference set's cache identity — and the key of labels given apart
 * from the inputs, where the rule reads them ({@link labelsKeyFor}). Callers add threads, cache folder, progress and
 * the like.
 */
export function requestEnsembleOptions(
  rule: EnsembleRule,
  request: EnsembleRequest,
  inputs: InputBatch,
  labels?: ArrayLike<number>,
  labelsKey?: string,
): EnsembleOptions<object> {
  const keyed = labelsKeyFor(rule, labelsKey);
  return {
    rule,
    network: request.network,
    inputs,
    ...(labels ? { labels } : {}),
    batch: request.batch,
    repeats: request.repeats,
    seed: request.seed,
    regulariser: request.regulariser ?? undefined,
    settings: { ...request, ...(keyed !== undefined ? { labels: keyed } : {}) },
    backend: request.backend,
  };
}

/** One network's ensemble fitness, its members' values and the SWAP pass's Ψ and Θ. */
export interface EnsembleScore {
  readonly fitness: number;
  readonly values: Readonly<Record<string, number | null>>;
  readonly swap: number;
  readonly params: number;
}

/** Where a loaded reference set came from: shipped with the package, the disk cache, or scored in this run. */
export type ReferenceSource = 'shipped' | 'cache' | 'built';

/**
 * The reference a scorer ranks against: its cache file (the key, also when it was shipped or read elsewhere),
 * whether it was read rather than scored, where from, and each member's column.
 */
export interface LoadedReference {
  readonly file: string;
  readonly fromCache: boolean;
  readonly source: ReferenceSource;
  readonly size: number;
  readonly columns: Readonly<Record<string, ReferenceColumn>>;
}

/** Scores networks of one space with one ensemble rule under one resolved setting. */
export class EnsembleScorer<G, N extends object> {
  private readonly suite: ProxyName[];
  private readonly engine: SuiteEngineName;
  private runner: Promise<SuiteEngine> | undefined;
  private reference: Promise<LoadedReference> | undefined;
  /** The SWAP backend `auto` resolved to (fixed once, so the reference and every network use the same one). */
  private backend: BackendName | undefined;
  /** Backend of the SWAP pass that last ran (for reports). */
  backendUsed: BackendName | undefined;

  constructor(
    private readonly space: SearchSpace<G, N>,
    private readonly opts: EnsembleOptions<N>,
  ) {
    this.suite = memberNames(opts.rule).filter((m) => !(m in ENGINE_MEMBERS)) as ProxyName[];
    for (const m of this.suite)
      if (!(PROXY_NAMES as readonly string[]).includes(m))
        throw new SwapError('E_PROXY', `ensemble ${opts.rule.name}: member ${m.slice(0, 40)} is not a known proxy`);
    this.engine = opts.backend !== 'reference' && loadAddon().ok ? 'native' : 'reference';
  }

  /**
   * The identity its reference set is cached (or shipped) under, after the SWAP backend is fixed: the backend that
   * runs counts, not the one asked for (`auto` and `native` that both run native share a set).
   */
  identity(): ReferenceIdentity {
    const { backend: _asked, ...settings } = this.opts.settings;
    return {
      rule: this.opts.rule.name,
      members: memberNames(this.opts.rule),
      space: this.space.name,
      size: this.opts.referenceSize ?? REFERENCE_SIZE,
      seed: this.opts.referenceSeed ?? REFERENCE_SEED,
      settings: {
        ...settings,
        seed: REFERENCE_WEIGHT_SEED,
        swapBackend: this.backend ?? null,
        suiteEngine: this.engine,
      },
    };
  }

  /** The reference columns: read from the cache, else scored (with progress) and written to it atomically. */
  loadReference(): Promise<LoadedReference> {
    this.reference ??= retried(this.buildReference(), () => {
      this.reference = undefined;
    });
    return this.reference;
  }

  /** Fitness and member values of networks; each network's fitness is independent of the others. */
  async score(genotypes: readonly G[]): Promise<EnsembleScore[]> {
    return this.scoreWith(genotypes);
  }

  /**
   * {@link score}, reusing SWAP scores the caller already has for these genotypes (same settings and backend as
   * this scorer's, e.g. `score`'s own pass) instead of a second SWAP pass. With {@link EnsembleOptions.remote} every
   * member comes from the remote source (`swap` is not needed there).
   */
  async scoreWith(genotypes: readonly G[], swap?: readonly NetworkScore[]): Promise<EnsembleScore[]> {
    if (this.opts.remote && genotypes.length > 0)
      return this.rank(
        await this.opts.remote(
          genotypes.map((g) => this.space.format(g)),
          await this.memberPass(),
        ),
      );
    return this.scoreBuilt(
      genotypes.map((g) => this.space.build(g, this.opts.network)),
      swap,
    );
  }

  /**
   * {@link scoreWith} for networks the caller already built from genotypes of this space with this scorer's network
   * options (a warm server builds each request's networks once); computed in this process.
   */
  async scoreBuilt(nets: readonly Network[], swap?: readonly NetworkScore[]): Promise<EnsembleScore[]> {
    if (nets.length === 0) return [];
    const ref = await this.loadReference();
    return this.ranked(await this.members(nets, swap), ref);
  }

  /**
   * Rank member runs computed elsewhere with {@link memberPass}'s settings (e.g. by queue workers) against the
   * reference set: the fitness of each network.
   */
  async rank(runs: readonly MemberRun[]): Promise<EnsembleScore[]> {
    return runs.length === 0 ? [] : this.ranked(runs, await this.loadReference());
  }

  /**
   * What a member pass of this scorer runs with, for a remote source: the weight seed (default the scorer's), the
   * SWAP backend fixed here, the suite members, their engine and the labels.
   */
  async memberPass(seed = this.opts.seed, onProgress?: (done: number, total: number) => void): Promise<MemberPass> {
    const backend = await this.fixBackend();
    this.backendUsed = backend;
    const labels = this.opts.labels ? Array.from(this.opts.labels) : null;
    return { seed, backend, suite: this.suite, engine: this.engine, labels, ...(onProgress ? { onProgress } : {}) };
  }

  private ranked(runs: readonly MemberRun[], ref: LoadedReference): EnsembleScore[] {
    return runs.map((r) => {
      const m = memberValues(this.opts.rule, r);
      return { ...m, fitness: ensembleScore(this.opts.rule, m.values, ref.columns) };
    });
  }

  /** Fix the SWAP backend: the one asked for, or the one `auto` picks here. */
  private async fixBackend(): Promise<BackendName> {
    if (this.backend) return this.backend;
    const { backend } = await (this.opts.registry ?? new BackendRegistry()).choose(this.opts.backend ?? 'auto');
    await backend.close?.();
    this.backend = backend.name;
    return this.backend;
  }

  private async buildReference(): Promise<LoadedReference> {
    await this.fixBackend();
    const id = this.identity();
    const file = referenceFile(id, this.opts.cacheDir);
    const shipped = this.opts.shipped === false ? undefined : shippedReference(id);
    const cached = shipped ?? readReference(file, id);
    const set = cached ?? (await this.scoreReference(id));
    if (!cached) writeReference(file, id, set);
    const columns = Object.fromEntries(id.members.map((m) => [m, referenceColumn(set.values[m]!)]));
    const source: ReferenceSource = shipped ? 'shipped' : cached ? 'cache' : 'built';
    return { file, fromCache: cached !== undefined, source, size: set.archs.length, columns };
  }

  private async scoreReference(id: ReferenceIdentity): Promise<ReferenceSet> {
    const gs = referenceGenotypes(this.space, id.size, id.seed);
    const archs = gs.map((g) => this.space.format(g));
    const runs = this.opts.remote
      ? await this.opts.remote(archs, await this.memberPass(REFERENCE_WEIGHT_SEED, this.opts.onReference))
      : await this.localReference(gs);
    const values: Record<string, (number | null)[]> = Object.fromEntries(id.members.map((m) => [m, []]));
    for (const r of runs) {
      const v = memberValues(this.opts.rule, r).values;
      for (const m of id.members) values[m]!.push(v[m] ?? null);
    }
    return { archs, values };
  }

  /** The reference networks' member runs in this process, 16 networks at a time (with progress). */
  private async localReference(gs: readonly G[]): Promise<MemberRun[]> {
    const runs: MemberRun[] = [];
    const chunk = 16;
    for (let i = 0; i < gs.length; i += chunk) {
      if (this.opts.signal?.aborted) throw new SwapError('E_CANCELLED', 'reference set cancelled');
      const nets = gs.slice(i, i + chunk).map((g) => this.space.build(g, this.opts.network));
      runs.push(...(await this.members(nets, undefined, REFERENCE_WEIGHT_SEED)));
      this.opts.onReference?.(Math.min(i + chunk, gs.length), gs.length);
    }
    return runs;
  }

  /** Each network's SWAP pass (unless given) and suite values, computed in this process. */
  private async members(
    nets: readonly Network[],
    given?: readonly NetworkScore[],
    seed = this.opts.seed,
  ): Promise<MemberRun[]> {
    const scores = given ?? (await this.swapScores(nets, seed));
    const suite = await Promise.all(nets.map((net) => this.suiteValues(net, seed)));
    return scores.map((score, i) => ({ score, suite: suite[i]! }));
  }

  /** SWAP, reg-SWAP and Θ of networks in one pass on the fixed backend. */
  private async swapScores(nets: readonly Network[], seed: number): Promise<NetworkScore[]> {
    const o = this.opts;
    const backend = await this.fixBackend();
    const run = await scoreNetworks(nets, {
      inputs: o.inputs,
      batch: o.batch,
      repeats: o.repeats,
      seed,
      ...(o.regulariser ? { regulariser: o.regulariser } : {}),
      backend,
      ...(o.registry ? { registry: o.registry } : {}),
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    this.backendUsed = run.settings.backend;
    return run.scores;
  }

  /** The suite members of one network under the SWAP protocol (proxy network, S images, the pass's seed). */
  private async suiteValues(net: Network, seed: number): Promise<Record<string, number | null>> {
    if (this.suite.length === 0) return {};
    const o = this.opts;
    return suitePass(await this.suiteRunner(), net, this.suite, {
      seed,
      images: o.inputs,
      labels: o.labels,
      batch: o.batch,
    });
  }

  /**
   * The suite members' engine: the provider's on every pass (see {@link EnsembleOptions.suiteEngine}), else this
   * scorer's own, made (and its module loaded) on first use: a reg-SWAP-only run loads neither.
   */
  private suiteRunner(): Promise<SuiteEngine> {
    if (this.opts.suiteEngine) return this.opts.suiteEngine(this.engine, this.opts.threads);
    this.runner ??= retried(makeSuiteEngine(this.engine, this.opts.threads), () => {
      this.runner = undefined;
    });
    return this.runner;
  }
}

/** `p`, with `forget` called if it rejects (so a cached failure is made again on the next call, not kept). */
function retried<T>(p: Promise<T>, forget: () => void): Promise<T> {
  p.catch(forget);
  return p;
}
