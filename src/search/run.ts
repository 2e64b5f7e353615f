import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendRegistry } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { batchLabels } from '../data/labels.js';
import type { Regulariser } from '../proxies/regularise.js';
import { checkInt, checkSeed } from '../util/checks.js';
import type { InputChoice } from '../request/inputs.js';
import { resolveScoringRequest } from '../request/resolve.js';
import type { BenchmarkTable } from '../tables/types.js';
import { countParams } from '../ir/analysis.js';
import { checkTarget } from '../catalog/registry.js';
import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';
import { Rng } from '../util/rng.js';
import { CommandEvaluator, TableEvaluator } from './evaluator.js';
import { JOURNAL_VERSION, optionsHash as hashOptions, type JournalHeader } from './journal.js';
import { CachedProxy, SwapProxy, type RemoteSwapScorer, type ScoreSource } from './proxy.js';
import { EnsembleSource } from './ensemble-source.js';
import {
  EnsembleScorer,
  fitnessRule,
  labelsKeyFor,
  requestEnsembleOptions,
  resolveFitness,
} from '../score/ensemble.js';
import type { ScoringRequest } from '../request/types.js';
import type { SearchSpace } from '../spaces/types.js';
import { SearchSession, type TrajectoryPoint } from './session.js';
import { searchSpace, type SearchSpaceEntry } from './spaces.js';
import { createStrategy, type PreNasOptions, type SwapNasOptions } from './strategies/index.js';
import type { Evaluator, Strategy, StrategyContext, StrategyName, StrategyOutcome } from './types.js';

export type { TrajectoryPoint } from './session.js';
export { resolveRegulariser } from '../request/resolve.js';

/**
 * Query budgets when none is given: 100 for PRE-NAS and random search (the PRE-NAS paper's NB201 budget, so
 * the two compare at equal cost) and 25 for hybrid (issue 14's goal: PRE-NAS-100's accuracy with ≤ 25 queries;
 * bench/RESULTS.md "Hybrid with the suite's features").
 */
export const DEFAULT_BUDGETS: Readonly<Record<Exclude<StrategyName, 'swap-nas'>, number>> = Object.freeze({
  'pre-nas': 100,
  random: 100,
  hybrid: 25,
});

/** Proxy-network settings of a search (defaults: {@link SEARCH_PROXY_DEFAULTS}). */
export interface SearchProxyOptions {
  readonly channels?: number;
  readonly cells?: number;
  /** Samples S of the input batch. */
  readonly batch?: number;
  /** Weight initialisations R. */
  readonly repeats?: number;
  /** Drop dead cell edges from the proxy network (NB201). */
  readonly prune?: boolean;
  /** Input height = width (default: the proxy's, else the target's). */
  readonly inputSize?: number;
}

export type EvaluatorChoice =
  | { readonly kind: 'table' }
  | {
      readonly kind: 'command';
      readonly command: string;
      /** Seconds before the command is killed (0/undefined: no limit). */
      readonly timeoutSec?: number;
      /** Where run directories go (default: `<journal>.runs`, or a fresh folder under the OS temp dir). */
      readonly runDir?: string;
    }
  /** Training on queue workers, each with its own configured command (`search --redis`, `SearchDeps.remoteEvaluator`). */
  | { readonly kind: 'remote' };

/** Everything that defines a search. Plain data; heavy objects come in {@link SearchDeps}. */
export interface SearchOptions {
  readonly strategy: string;
  /** Default "nb201". */
  readonly space?: string;
  /** Default "cifar10". */
  readonly dataset?: string;
  /** Default 0. Drives every random choice and the proxy's weights. */
  readonly seed?: number;
  /** Ground-truth query budget (query-based strategies only; defaults: {@link DEFAULT_BUDGETS}). */
  readonly budget?: number;
  readonly swapNas?: SwapNasOptions;
  readonly preNas?: PreNasOptions;
  readonly proxy?: SearchProxyOptions;
  /** Where the proxy's input batch comes from (default: the embedded CIFAR-10 images; `deps.inputs` wins). */
  readonly inputs?: InputChoice;
  /**
   * Class labels of the input batch (its first `n` are used; fewer is `E_LABELS`), for an ensemble fitness whose
   * members need them: unlabelled images (a folder, `.npy`, Gaussian) then keep the default `ensemble-fit` instead
   * of falling back to the label-free ensemble. Their key joins the reference set's identity and the journal's hash.
   */
  readonly labels?: ArrayLike<number>;
  /** reg-SWAP μ (K params of the proxy network) and σ (K²): both or neither. */
  readonly mu?: number;
  readonly sigma?: number;
  /** μ = σ = K (K params of the proxy network), the paper's μ=σ variants. Exclusive with mu/sigma. */
  readonly targetParams?: number;
  /** Default: the NB201 table. */
  readonly evaluator?: EvaluatorChoice;
  /** JSONL journal of every evaluation. */
  readonly journal?: string;
  /** Continue the journal's search (replaying its evaluations) instead of starting a new one. */
  readonly resume?: boolean;
  readonly backend?: BackendName | 'auto';
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * What swap-nas and hybrid rank by: an ensemble proxy plug-in, ranked against the space's reference set (shipped
   * for the default settings, else scored once per settings and cached in `cacheDir`), or `reg-swap`. Default:
   * `DEFAULT_FITNESS` (`ensemble-fit`; the label-free ensemble on images without labels); with a remote scorer (`--redis`) its member passes run there too, and only a
   * remote scorer without member passes makes the default reg-SWAP (`onNote` is told) and a named ensemble
   * `E_OPTION`.
   */
  readonly fitness?: string;
  /** Told when the run departs from a default it cannot honour (e.g. the default fitness with a remote scorer). */
  readonly onNote?: (note: string) => void;
  /** Where ensemble reference sets are cached (default: `$SWAPNAS_CACHE_DIR`, else the user's cache folder). */
  readonly cacheDir?: string;
  /** Progress of building an ensemble reference set (networks scored, total). */
  readonly onReference?: (done: number, total: number) => void;
}

/** Heavy shared objects, passed in (no globals). */
export interface SearchDeps {
  /**
   * Ground truth of the space's benchmark: the table evaluator and the (uncounted) report lookup. Absent: queries
   * need `--evaluator command`, and the report has no accuracies (e.g. a DARTS search).
   */
  readonly table?: BenchmarkTable;
  readonly registry?: BackendRegistry;
  /** Proxy input batch (default: the embedded CIFAR-10 images, `defaultBatch(batch)`). */
  readonly inputs?: InputBatch;
  /** Score the proxy on queue workers (`search --redis`); the whole batch of a step goes out at once. */
  readonly remoteScorer?: RemoteSwapScorer;
  /** Ground-truth queries for `{ kind: 'remote' }`: run by the workers' own training command. */
  readonly remoteEvaluator?: <G>(space: SearchSpace<G, object>, dataset: string, seed: number) => Evaluator<G>;
}

export interface SearchReport {
  readonly version: 1;
  readonly strategy: StrategyName;
  readonly space: string;
  readonly dataset: string;
  readonly seed: number;
  /** The options that define the trajectory (hashed into the journal header). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly optionsHash: string;
  readonly chosen: {
    readonly arch: string;
    /** Benchmark index, test and validation accuracy (%), benchmark-network parameters (null: not in the table). */
    readonly index: number | null;
    readonly test: number | null;
    readonly valid: number | null;
    readonly benchmarkParams: number | null;
    /** Trainable parameters of the network a user would train for the dataset (the space's evaluation network). */
    readonly evalParams: number | null;
    /** How that network is configured (e.g. "cifar: C=36, 20 cells"). */
    readonly evalNetwork: string | null;
    /** The value the strategy chose it by. */
    readonly signal: number | null;
    readonly signalName: string;
  } | null;
  /** What `test` values are (the table's description of its ground truth; null: no table). */
  readonly truth: string | null;
  /** Best test accuracy in the table for the dataset, and how far the chosen arch is from it (null: no table). */
  readonly optimum: { readonly arch: string; readonly test: number } | null;
  readonly regret: number | null;
  /** Distinct networks scored by the proxy (replayed + computed). */
  readonly networksScored: number;
  /** Ground-truth queries spent (replayed + run), failed ones included. */
  readonly queries: number;
  readonly failedQueries: number;
  readonly wallTimeSec: number;
  readonly resumed: boolean;
  /** Work done in this process vs. served from the journal. */
  readonly session: {
    readonly proxyComputed: number;
    readonly proxyReplayed: number;
    readonly queriesRun: number;
    readonly queriesReplayed: number;
    readonly wallTimeSec: number;
  };
  readonly proxy: {
    readonly name: string;
    readonly backend: string | null;
    readonly regulariser: Regulariser | null;
    readonly settings: Readonly<Record<string, unknown>>;
  } | null;
  readonly evaluator: Readonly<Record<string, unknown>> | null;
  readonly strategyStats: Readonly<Record<string, unknown>>;
  readonly trajectory: readonly TrajectoryPoint[];
  readonly journal: string | null;
}

/** Θ of the evaluation network of `g` for `dataset` (null when the space defines none). */
function evalNetworkOf<G>(
  entry: SearchSpaceEntry<G>,
  g: G,
  dataset: string,
): { evalParams: number | null; evalNetwork: string | null } {
  const opts = entry.evalNetworkFor?.(dataset);
  if (!opts) return { evalParams: null, evalNetwork: null };
  const evalParams = entry.evalParams ? entry.evalParams(g, dataset) : countParams(entry.space.build(g, opts));
  return {
    evalParams,
    evalNetwork: Object.entries(opts)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', '),
  };
}

/** What the validation step fixed: the target, the seed, the strategy and its query budget. */
interface SearchPlan<G> {
  readonly dataset: string;
  readonly seed: number;
  readonly strategy: Strategy<G>;
  readonly budget: number;
}

/** Check the options that do not depend on the proxy or the evaluator, and fix the budget. */
function planSearch<G>(entry: SearchSpaceEntry<G>, opts: SearchOptions, deps: SearchDeps): SearchPlan<G> {
  const space = entry.space;
  const dataset = checkTarget(entry, opts.dataset ?? entry.targets[0]!);
  const table = deps.table;
  if (table && table.space !== space.name)
    throw new SwapError('E_TABLE', `table ${table.name} belongs to space ${table.space}, not ${space.name}`);
  const seed = checkSeed('seed', opts.seed ?? 0);
  const strategy = createStrategy<G>(opts.strategy, {
    ...(opts.swapNas ? { swapNas: opts.swapNas } : {}),
    ...(opts.preNas ? { preNas: opts.preNas } : {}),
  });
  const budget = checkBudget(entry, strategy, opts.budget);
  if (opts.resume && !opts.journal) throw new SwapError('E_OPTION', '--resume needs --journal FILE');
  if (opts.fitness !== undefined && fitnessRule(opts.fitness) && !strategy.usesProxy)
    throw new SwapError('E_OPTION', `${strategy.name} ranks by accuracy; --fitness applies to swap-nas and hybrid`);
  if (!strategy.usesProxy && (opts.mu !== undefined || opts.sigma !== undefined || opts.targetParams !== undefined))
    throw new SwapError(
      'E_OPTION',
      `${strategy.name} does not use the SWAP proxy; --mu/--sigma/--target-params apply to swap-nas and hybrid`,
    );
  return { dataset, seed, strategy, budget };
}

/** The query budget of a query-based strategy (its default when unset); 0 for zero-query strategies. */
function checkBudget<G>(entry: SearchSpaceEntry<G>, strategy: Strategy<G>, given: number | undefined): number {
  const name = strategy.name;
  const space = entry.space;
  if (!strategy.usesQueries) {
    if (given !== undefined)
      throw new SwapError(
        'E_OPTION',
        `${name} spends no ground-truth queries; --budget applies to pre-nas, hybrid and random (use --population/--cycles)`,
      );
    return 0;
  }
  const budget = checkInt('budget', given ?? DEFAULT_BUDGETS[name as Exclude<StrategyName, 'swap-nas'>], 1);
  const initial = (strategy.options['initial'] as number | undefined) ?? 0;
  if (budget < initial)
    throw new SwapError('E_OPTION', `budget ${budget} is smaller than the initial random sample ${initial} of ${name}`);
  if (space.enumerate && budget > 1000) {
    const classes = new Set<string>();
    for (const g of space.enumerate()) classes.add(space.canonicalKey(g));
    if (budget > classes.size)
      throw new SwapError(
        'E_OPTION',
        `budget ${budget} exceeds the ${classes.size} distinct architectures of ${space.name}`,
      );
  }
  return budget;
}

/** The search's fitness proxy: the scoring request resolved once, uncached source plus journaled cache. */
interface SearchProxy<G> {
  /** reg-SWAP's source, or the ensemble's (`fitness`). */
  readonly swap: ScoreSource<G> & { readonly backendUsed: string | undefined };
  readonly cached: CachedProxy<G>;
  readonly regulariser: Regulariser | null;
}

async function buildProxy<G>(
  entry: SearchSpaceEntry<G>,
  plan: SearchPlan<G>,
  opts: SearchOptions,
  deps: SearchDeps,
  session: SearchSession<G>,
): Promise<SearchProxy<G>> {
  const p = opts.proxy ?? {};
  const { request, inputs, labels } = await resolveScoringRequest({
    space: entry.space.name,
    target: plan.dataset,
    ...p,
    seed: plan.seed,
    // Default batch: the embedded CIFAR-10 images, resized to the proxy's (or the target's) input size.
    inputs: deps.inputs ? { kind: 'batch', batch: deps.inputs } : (opts.inputs ?? { kind: 'cifar10' }),
    ...(opts.mu !== undefined ? { mu: opts.mu } : {}),
    ...(opts.sigma !== undefined ? { sigma: opts.sigma } : {}),
    ...(opts.targetParams !== undefined ? { targetParams: opts.targetParams } : {}),
  });
  // The search's network records its input channels (part of the journal's options hash).
  const { inputSize, inputChannels: _c, ...rest } = request.network;
  const network = { ...rest, inputSize, inputChannels: inputs.c };
  const regulariser = request.regulariser;
  const swap = new SwapProxy(entry.space, {
    network,
    inputs,
    batch: request.batch,
    repeats: request.repeats,
    seed: plan.seed,
    ...(regulariser ? { regulariser } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(deps.remoteScorer ? { remote: deps.remoteScorer, request } : {}),
  });
  const given = opts.labels !== undefined ? batchLabels(opts.labels, inputs, 'the search labels') : undefined;
  const r = { request, inputs, labels: given?.labels ?? labels, labelsKey: given?.key, network };
  const source = ensembleSource(entry, opts, deps, r, swap) ?? swap;
  const cached = new CachedProxy(entry.space, source, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(deps.remoteScorer ? { chunk: Number.MAX_SAFE_INTEGER } : {}),
    onComputed: (g, key, s) => session.recordProxy(g, key, s),
  });
  return { swap: source, cached, regulariser };
}

/** The ensemble source of `opts.fitness` (undefined for reg-SWAP), with the SWAP source's settings. */
function ensembleSource<G>(
  entry: SearchSpaceEntry<G>,
  opts: SearchOptions,
  deps: SearchDeps,
  r: {
    request: ScoringRequest;
    inputs: InputBatch;
    labels?: Int32Array | undefined;
    /** Labels given apart from the inputs: their key, recorded with the reference set and the journal. */
    labelsKey?: string | undefined;
    network: Record<string, unknown>;
  },
  swap: SwapProxy<G, object>,
): EnsembleSource<G> | undefined {
  const remote = deps.remoteScorer;
  const unsupported = remote && !remote.members ? 'a remote scorer without member passes' : undefined;
  const fit = resolveFitness(opts.fitness, { unsupported, labelled: r.labels !== undefined });
  if (fit.fallback) opts.onNote?.(fit.fallback);
  const rule = fit.rule;
  const labelsKey = rule && labelsKeyFor(rule, r.labelsKey);
  if (r.labelsKey !== undefined && labelsKey === undefined)
    opts.onNote?.(`the given labels are not read: no member of fitness ${fit.name} uses class labels`);
  if (!rule) return undefined;
  const members = remote?.members?.({ request: r.request, inputs: r.inputs });
  const scorer = new EnsembleScorer(entry.space as SearchSpace<G, object>, {
    ...requestEnsembleOptions(rule, r.request, r.inputs, r.labels, r.labelsKey),
    network: r.network,
    backend: opts.backend ?? 'auto',
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.onReference ? { onReference: opts.onReference } : {}),
    ...(members ? { remote: members } : {}),
  });
  return new EnsembleSource(scorer, rule, fit.name, swap.metadata, labelsKey);
}

/** The ground-truth evaluator of a query-based strategy: the benchmark table or a training command. */
function buildEvaluator<G>(
  entry: SearchSpaceEntry<G>,
  plan: SearchPlan<G>,
  opts: SearchOptions,
  deps: SearchDeps,
): Evaluator<G> {
  const table = deps.table;
  const space = entry.space;
  const ev = opts.evaluator ?? { kind: 'table' };
  if (ev.kind === 'table') {
    if (!table)
      throw new SwapError('E_OPTION', `no benchmark table for ${space.name} ${plan.dataset}: use --evaluator command`);
    // Strategies sample the whole space: a table holding only part of it would answer most queries "not found".
    if (space.size === undefined || table.records.length < space.size)
      throw new SwapError(
        'E_OPTION',
        `the ${table.name} table holds ${table.records.length} architectures, not the whole ${space.name} space${space.size ? ` (${space.size})` : ''}, so table queries would mostly miss: use --evaluator command`,
      );
    return new TableEvaluator(space, table, plan.dataset);
  }
  if (ev.kind === 'command') {
    const runDir =
      ev.runDir ??
      (opts.journal ? `${opts.journal}.runs` : join(tmpdir(), `swapnas-search-${process.pid}-${Date.now()}`));
    return new CommandEvaluator(space, {
      command: ev.command,
      runDir,
      dataset: plan.dataset,
      seed: plan.seed,
      ...(ev.timeoutSec !== undefined ? { timeoutSec: ev.timeoutSec } : {}),
    });
  }
  if (ev.kind === 'remote' && deps.remoteEvaluator) return deps.remoteEvaluator(space, plan.dataset, plan.seed);
  throw new SwapError(
    'E_OPTION',
    `unknown evaluator ${quote((ev as { kind: unknown }).kind)} (expected table or command)`,
  );
}

/** The options that define the trajectory (hashed into the journal header) and the header itself. */
function journalHeader<G>(
  space: string,
  plan: SearchPlan<G>,
  evaluator: Evaluator<G> | undefined,
  proxy: SearchProxy<G> | undefined,
): JournalHeader {
  const hashed: Record<string, unknown> = {
    version: JOURNAL_VERSION,
    strategy: plan.strategy.name,
    space,
    dataset: plan.dataset,
    seed: plan.seed,
    strategyOptions: plan.strategy.options,
    ...(evaluator ? { budget: plan.budget, evaluator: evaluator.metadata } : {}),
    ...(proxy ? { proxy: proxy.swap.metadata, regulariserSource: proxy.regulariser?.source ?? null } : {}),
  };
  return {
    type: 'header',
    version: JOURNAL_VERSION,
    tool: 'swapnas-search',
    strategy: plan.strategy.name,
    space,
    dataset: plan.dataset,
    seed: plan.seed,
    optionsHash: hashOptions(hashed),
    options: hashed,
    created: new Date().toISOString(),
  };
}

/**
 * Run a complete search: build the strategy, proxy and evaluator, replay a journal on resume, run, and report.
 * Deterministic given the options: on `resume`, the journal's evaluations are served from it (ground-truth
 * queries in order, proxy scores by isomorphism class), so the same trajectory is reproduced without repeating
 * completed evaluations, and the search continues live where the journal ends.
 */
export async function runSearch(opts: SearchOptions, deps: SearchDeps): Promise<SearchReport> {
  const sessionStart = performance.now();
  return runIn(searchSpace(opts.space ?? 'nb201') as SearchSpaceEntry<unknown>, opts, deps, sessionStart);
}

async function runIn<G>(
  entry: SearchSpaceEntry<G>,
  opts: SearchOptions,
  deps: SearchDeps,
  sessionStart: number,
): Promise<SearchReport> {
  const plan = planSearch(entry, opts, deps);
  const session = new SearchSession<G>(
    entry.space,
    plan.dataset,
    {
      ...(opts.journal !== undefined ? { journal: opts.journal } : {}),
      ...(opts.resume ? { resume: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(deps.table ? { table: deps.table } : {}),
    },
    sessionStart,
  );
  const proxy = plan.strategy.usesProxy ? await buildProxy(entry, plan, opts, deps, session) : undefined;
  const evaluator = plan.strategy.usesQueries ? buildEvaluator(entry, plan, opts, deps) : undefined;
  const header = journalHeader(entry.space.name, plan, evaluator, proxy);
  session.open(header, proxy?.cached);
  const ctx: StrategyContext<G> = {
    space: entry.space,
    rng: new Rng(plan.seed),
    ...(proxy ? { proxy: proxy.cached } : {}),
    ...(evaluator ? { query: (g: G) => session.query(g, evaluator) } : {}),
    // Only an evaluator that runs queries in parallel gets them together; others keep querying one at a time.
    ...(evaluator?.evaluateMany ? { queryMany: (gs: readonly G[]) => session.queryMany(gs, evaluator) } : {}),
    budget: plan.budget,
    topology: entry.topology,
    seed: plan.seed,
    incumbent: (g, signal) => session.incumbent(g, signal, proxy?.cached.scored ?? 0),
    progress: (d, t) => opts.onProgress?.(d, t),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  let outcome: StrategyOutcome<G>;
  try {
    outcome = await plan.strategy.run(ctx);
    session.finish(
      outcome.best === undefined ? null : entry.space.format(outcome.best),
      proxy?.cached.stats.computed ?? 0,
    );
  } finally {
    session.close();
  }
  return buildReport(entry, { plan, header, session, proxy, evaluator, outcome, opts, table: deps.table });
}

/** The report of a finished search (chosen architecture, regret, trajectory, settings). */
function buildReport<G>(
  entry: SearchSpaceEntry<G>,
  r: {
    plan: SearchPlan<G>;
    header: JournalHeader;
    session: SearchSession<G>;
    proxy: SearchProxy<G> | undefined;
    evaluator: Evaluator<G> | undefined;
    outcome: StrategyOutcome<G>;
    opts: SearchOptions;
    table: BenchmarkTable | undefined;
  },
): SearchReport {
  const { plan, session, proxy, table } = r;
  const space = entry.space;
  const dataset = plan.dataset;
  const wall = session.clock() / 1000;
  const best = r.outcome.best;
  const rec = best === undefined ? undefined : table?.get(space.format(best));
  let opt: { arch: string; test: number } | null = null;
  for (const t of table?.records ?? []) {
    const v = t.truth[dataset];
    if (v !== undefined && (opt === null || v > opt.test)) opt = { arch: t.arch, test: v };
  }
  const chosen: SearchReport['chosen'] =
    best === undefined
      ? null
      : {
          arch: space.format(best),
          index: rec?.index ?? null,
          test: rec?.truth[dataset] ?? null,
          valid: rec ? (rec.valid?.[dataset] ?? rec.truth[dataset] ?? null) : null,
          benchmarkParams: rec?.params?.[dataset] ?? null,
          ...evalNetworkOf(entry, best, dataset),
          signal: r.outcome.signal ?? null,
          signalName: plan.strategy.usesQueries ? 'accuracy' : (proxy?.swap.name ?? 'reg-swap'),
        };
  return {
    version: 1,
    strategy: plan.strategy.name,
    space: space.name,
    dataset,
    seed: plan.seed,
    options: r.header.options,
    optionsHash: r.header.optionsHash,
    chosen,
    truth: table ? table.describe(dataset) : null,
    optimum: opt,
    regret: chosen?.test != null && opt ? opt.test - chosen.test : null,
    networksScored: proxy?.cached.scored ?? 0,
    queries: session.queries,
    failedQueries: session.failedQueries,
    wallTimeSec: wall,
    resumed: session.contents !== undefined,
    session: {
      proxyComputed: proxy?.cached.stats.computed ?? 0,
      proxyReplayed: proxy?.cached.stats.replayed ?? 0,
      queriesRun: session.queriesRun,
      queriesReplayed: session.queriesReplayed,
      wallTimeSec: session.sessionSeconds(),
    },
    proxy: proxy
      ? {
          name: proxy.swap.name,
          backend: proxy.swap.backendUsed ?? null,
          regulariser: proxy.regulariser,
          settings: proxy.swap.metadata,
        }
      : null,
    evaluator: r.evaluator ? r.evaluator.metadata : null,
    strategyStats: r.outcome.stats ?? {},
    trajectory: session.trajectory,
    journal: r.opts.journal ?? null,
  };
}
