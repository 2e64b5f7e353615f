import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendRegistry } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { defaultBatch } from '../data/cifar.js';
import { resizeBatch } from '../data/resize.js';
import { dataFreeRegulariser } from '../score/auto-reg.js';
import { checkRegulariser, type Regulariser } from '../proxies/regularise.js';
import type { BenchmarkTable } from '../tables/types.js';
import { countParams } from '../ir/analysis.js';
import { checkTarget } from '../catalog/registry.js';
import { SwapError, isSwapError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { CommandEvaluator, TableEvaluator } from './evaluator.js';
import {
  JOURNAL_VERSION,
  JournalWriter,
  optionsHash as hashOptions,
  readJournal,
  type BestRecord,
  type JournalContents,
  type JournalHeader,
  type QueryRecord,
} from './journal.js';
import { CachedProxy, SEARCH_PROXY_DEFAULTS, SwapProxy, type RemoteSwapScorer } from './proxy.js';
import { searchSpace, type SearchSpaceEntry } from './spaces.js';
import type { SearchSpace } from '../spaces/types.js';
import { createStrategy, type PreNasOptions, type SwapNasOptions } from './strategies/index.js';
import type { Evaluation, Evaluator, StrategyContext, StrategyName, StrategyOutcome } from './types.js';
import { quote } from '../util/quote.js';
import { type FileLock, lockOutput } from '../io/lock.js';

/**
 * Query budgets when none is given: 100 for PRE-NAS and random search (the PRE-NAS paper's NB201 budget, so
 * the two compare at equal cost) and 50 for hybrid (its target is to match PRE-NAS with half the queries).
 */
export const DEFAULT_BUDGETS: Readonly<Record<Exclude<StrategyName, 'swap-nas'>, number>> = Object.freeze({
  'pre-nas': 100,
  random: 100,
  hybrid: 50,
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

/** One point of the best-so-far trajectory. */
export interface TrajectoryPoint {
  /** Search wall time in seconds (summed over resumed sessions). */
  readonly t: number;
  /** Networks scored by the proxy so far (distinct isomorphism classes). */
  readonly scored: number;
  /** Ground-truth queries spent so far. */
  readonly queries: number;
  readonly arch: string;
  /** What the strategy ranks by: reg-SWAP (swap-nas) or evaluated accuracy. */
  readonly signal: number;
  /** Table test / validation accuracy of `arch` (reporting only; not a query). */
  readonly test: number | null;
  readonly valid: number | null;
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
    readonly signalName: 'reg-swap' | 'accuracy';
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

function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new SwapError('E_OPTION', `seed must be an integer in [0, 2^32), got ${seed}`);
  return seed;
}

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min)
    throw new SwapError('E_OPTION', `${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/**
 * μ/σ of the search's reg-SWAP: explicit `mu`/`sigma`; else `targetParams` K → μ = σ = K; else the data-free
 * rule over the space's own proxy networks.
 */
export function resolveRegulariser(
  opts: Pick<SearchOptions, 'mu' | 'sigma' | 'targetParams'>,
  compute: () => Regulariser,
): Regulariser {
  const user = checkRegulariser(opts.mu, opts.sigma);
  if (user && opts.targetParams !== undefined)
    throw new SwapError('E_OPTION', 'give either --target-params or --mu/--sigma, not both');
  if (user) return user;
  if (opts.targetParams !== undefined) {
    const k = opts.targetParams;
    if (!Number.isFinite(k) || k <= 0)
      throw new SwapError('E_OPTION', `target params must be a positive number of K parameters, got ${k}`);
    return { mu: k, sigma: k, source: 'target-params (μ=σ=K)' };
  }
  return compute();
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
  const space = entry.space;
  const dataset = checkTarget(entry, opts.dataset ?? entry.targets[0]!);
  const table = deps.table;
  if (table && table.space !== space.name)
    throw new SwapError('E_TABLE', `table ${table.name} belongs to space ${table.space}, not ${space.name}`);
  const seed = checkSeed(opts.seed ?? 0);
  const strategy = createStrategy<G>(opts.strategy, {
    ...(opts.swapNas ? { swapNas: opts.swapNas } : {}),
    ...(opts.preNas ? { preNas: opts.preNas } : {}),
  });
  const name = strategy.name;

  // Budget.
  let budget = 0;
  if (strategy.usesQueries) {
    budget = checkInt('budget', opts.budget ?? DEFAULT_BUDGETS[name as Exclude<StrategyName, 'swap-nas'>], 1);
    const initial = (strategy.options['initial'] as number | undefined) ?? 0;
    if (budget < initial)
      throw new SwapError(
        'E_OPTION',
        `budget ${budget} is smaller than the initial random sample ${initial} of ${name}`,
      );
    if (space.enumerate && budget > 1000) {
      const classes = new Set<string>();
      for (const g of space.enumerate()) classes.add(space.canonicalKey(g));
      if (budget > classes.size)
        throw new SwapError(
          'E_OPTION',
          `budget ${budget} exceeds the ${classes.size} distinct architectures of ${space.name}`,
        );
    }
  } else if (opts.budget !== undefined) {
    throw new SwapError(
      'E_OPTION',
      `${name} spends no ground-truth queries; --budget applies to pre-nas, hybrid and random (use --population/--cycles)`,
    );
  }
  if (opts.resume && !opts.journal) throw new SwapError('E_OPTION', '--resume needs --journal FILE');

  // Journal: opened once the options (and so the header to match) are known, below.
  let writer: JournalWriter | undefined;
  let contents: JournalContents | undefined;

  // Proxy.
  let cached: CachedProxy<G> | undefined;
  let swap: SwapProxy<G, object> | undefined;
  let reg: Regulariser | null = null;
  let baseT = 0; // wall time (ms) already spent by the journal's earlier sessions
  const clock = () => baseT + (performance.now() - sessionStart);
  if (strategy.usesProxy) {
    const p = { ...(entry.proxyDefaults ?? SEARCH_PROXY_DEFAULTS), ...opts.proxy };
    checkInt('channels', p.channels, 1);
    checkInt('cells', p.cells, 1);
    checkInt('batch', p.batch, 1);
    checkInt('repeats', p.repeats, 1);
    // Default batch: the embedded CIFAR-10 images, resized to the proxy's (or the target's) input size.
    const size = entry.proxyDefaults.inputSize ?? (entry.networkFor(dataset)['inputSize'] as number | undefined) ?? 32;
    const inputs = deps.inputs ?? resizeBatch(defaultBatch(p.batch), size);
    const network = {
      ...entry.networkFor(dataset),
      channels: p.channels,
      cells: p.cells,
      prune: p.prune,
      inputSize: inputs.h,
      inputChannels: inputs.c,
    };
    reg = resolveRegulariser(opts, () => dataFreeRegulariser(space, network));
    swap = new SwapProxy(space, {
      network,
      inputs,
      batch: p.batch,
      repeats: p.repeats,
      seed,
      regulariser: reg,
      ...(opts.backend ? { backend: opts.backend } : {}),
      ...(deps.registry ? { registry: deps.registry } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(deps.remoteScorer ? { remote: deps.remoteScorer } : {}),
    });
    cached = new CachedProxy(space, swap, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(deps.remoteScorer ? { chunk: Number.MAX_SAFE_INTEGER } : {}),
      onComputed: (g, key, s) =>
        writer?.write({
          type: 'proxy',
          t: clock(),
          key,
          arch: space.format(g),
          fitness: s.fitness,
          swap: s.swap,
          params: s.params,
        }),
    });
  } else if (opts.mu !== undefined || opts.sigma !== undefined || opts.targetParams !== undefined) {
    throw new SwapError(
      'E_OPTION',
      `${name} does not use the SWAP proxy; --mu/--sigma/--target-params apply to swap-nas and hybrid`,
    );
  }

  // Evaluator.
  let evaluator: Evaluator<G> | undefined;
  if (strategy.usesQueries) {
    const ev = opts.evaluator ?? { kind: 'table' };
    if (ev.kind === 'table') {
      if (!table)
        throw new SwapError('E_OPTION', `no benchmark table for ${space.name} ${dataset}: use --evaluator command`);
      // Strategies sample the whole space: a table holding only part of it would answer most queries "not found".
      if (space.size === undefined || table.records.length < space.size) {
        throw new SwapError(
          'E_OPTION',
          `the ${table.name} table holds ${table.records.length} architectures, not the whole ${space.name} space${space.size ? ` (${space.size})` : ''}, so table queries would mostly miss: use --evaluator command`,
        );
      }
      evaluator = new TableEvaluator(space, table, dataset);
    } else if (ev.kind === 'command') {
      const runDir =
        ev.runDir ??
        (opts.journal ? `${opts.journal}.runs` : join(tmpdir(), `swapnas-search-${process.pid}-${Date.now()}`));
      evaluator = new CommandEvaluator(space, {
        command: ev.command,
        runDir,
        dataset,
        seed,
        ...(ev.timeoutSec !== undefined ? { timeoutSec: ev.timeoutSec } : {}),
      });
    } else if (ev.kind === 'remote' && deps.remoteEvaluator) {
      evaluator = deps.remoteEvaluator(space, dataset, seed);
    } else
      throw new SwapError(
        'E_OPTION',
        `unknown evaluator ${quote((ev as { kind: unknown }).kind)} (expected table or command)`,
      );
  }

  const hashed: Record<string, unknown> = {
    version: JOURNAL_VERSION,
    strategy: name,
    space: space.name,
    dataset,
    seed,
    strategyOptions: strategy.options,
    ...(strategy.usesQueries ? { budget, evaluator: evaluator!.metadata } : {}),
    ...(swap ? { proxy: swap.metadata, regulariserSource: reg?.source ?? null } : {}),
  };
  const optionsHash = hashOptions(hashed);
  const header: JournalHeader = {
    type: 'header',
    version: JOURNAL_VERSION,
    tool: 'swapnas-search',
    strategy: name,
    space: space.name,
    dataset,
    seed,
    optionsHash,
    options: hashed,
    created: new Date().toISOString(),
  };

  const replayQueries: QueryRecord[] = [];
  const replayBest: BestRecord[] = [];
  // One writer per journal: the lock is taken before reading it back and held until the search ends.
  let journalLock: FileLock | undefined;
  if (opts.journal) {
    journalLock = lockOutput(opts.journal, 'search journal');
    try {
      if (opts.resume) contents = readJournal(opts.journal, header);
      else if (existsSync(opts.journal) && statSync(opts.journal).size > 0) {
        throw new SwapError(
          'E_JOURNAL',
          `journal ${opts.journal} already exists; pass --resume to continue that search, or remove the file`,
        );
      }
      if (contents) {
        for (const r of contents.records) {
          baseT = Math.max(baseT, r.t);
          if (r.type === 'proxy') cached?.preload(r.key, { fitness: r.fitness, swap: r.swap, params: r.params });
          else if (r.type === 'query') replayQueries.push(r);
          else if (r.type === 'best') replayBest.push(r);
        }
        replayQueries.forEach((r, i) => {
          if (r.q !== i)
            throw new SwapError(
              'E_JOURNAL',
              `journal ${opts.journal} is corrupt: query records out of order at query ${i}`,
            );
        });
        writer = JournalWriter.append(opts.journal, contents);
      } else writer = JournalWriter.create(opts.journal, header);
    } catch (e) {
      journalLock.release();
      throw e;
    }
  }

  // Counted, journaled, replayable query.
  let queries = 0;
  let failedQueries = 0;
  let queriesRun = 0;
  let queriesReplayed = 0;
  const query = async (g: G): Promise<Evaluation> => {
    if (opts.signal?.aborted) throw new SwapError('E_CANCELLED', 'search cancelled');
    const arch = space.format(g);
    const q = queries;
    const rep = replayQueries[q];
    let result: Evaluation;
    if (rep) {
      if (rep.arch !== arch) {
        throw new SwapError(
          'E_JOURNAL',
          `journal ${opts.journal} diverges from this search at query ${q}: it evaluated ${rep.arch}, the search now asks for ${arch}`,
        );
      }
      result = rep.result;
      queriesReplayed++;
    } else {
      try {
        result = await evaluator!.evaluate(g, { index: q, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (e) {
        if (isSwapError(e) && e.code === 'E_CANCELLED') throw e;
        result = { ok: false, error: `evaluator threw: ${(e as Error).message ?? String(e)}` };
      }
      queriesRun++;
      writer?.write({ type: 'query', t: clock(), q, key: space.canonicalKey(g), arch, result });
    }
    queries++;
    if (!result.ok) failedQueries++;
    return result;
  };

  const trajectory: TrajectoryPoint[] = [];
  let bestIdx = 0;
  let replayingBest = true;
  const incumbent = (g: G, signal: number) => {
    const arch = space.format(g);
    const rep = replayingBest ? replayBest[bestIdx] : undefined;
    let t: number;
    if (rep && rep.arch === arch) t = rep.t;
    else {
      replayingBest = false;
      t = clock();
      writer?.write({ type: 'best', t, arch, signal });
    }
    bestIdx++;
    const r = table?.get(arch);
    trajectory.push({
      t: t / 1000,
      scored: cached?.scored ?? 0,
      queries,
      arch,
      signal,
      test: r?.truth[dataset] ?? null,
      valid: r ? (r.valid?.[dataset] ?? r.truth[dataset] ?? null) : null,
    });
  };

  const ctx: StrategyContext<G> = {
    space,
    rng: new Rng(seed),
    ...(cached ? { proxy: cached } : {}),
    ...(strategy.usesQueries ? { query } : {}),
    budget,
    topology: entry.topology,
    seed,
    incumbent,
    progress: (d, t) => opts.onProgress?.(d, t),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };

  let outcome: StrategyOutcome<G>;
  try {
    outcome = await strategy.run(ctx);
    if (queries < replayQueries.length) {
      throw new SwapError(
        'E_JOURNAL',
        `journal ${opts.journal} holds ${replayQueries.length} queries but this search made only ${queries}: it belongs to a different version of the search`,
      );
    }
    const chosenArch = outcome.best === undefined ? null : space.format(outcome.best);
    const last = contents?.records[contents.records.length - 1];
    if (!(last?.type === 'done' && queriesRun === 0 && (cached?.stats.computed ?? 0) === 0))
      writer?.write({ type: 'done', t: clock(), arch: chosenArch });
  } finally {
    writer?.close();
    journalLock?.release();
  }

  const wall = clock() / 1000;
  const best = outcome.best;
  const rec = best === undefined ? undefined : table?.get(space.format(best));
  let opt: { arch: string; test: number } | null = null;
  for (const r of table?.records ?? []) {
    const v = r.truth[dataset];
    if (v !== undefined && (opt === null || v > opt.test)) opt = { arch: r.arch, test: v };
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
          signal: outcome.signal ?? null,
          signalName: strategy.usesQueries ? 'accuracy' : 'reg-swap',
        };
  return {
    version: 1,
    strategy: name,
    space: space.name,
    dataset,
    seed,
    options: hashed,
    optionsHash,
    chosen,
    truth: table ? table.describe(dataset) : null,
    optimum: opt,
    regret: chosen?.test != null && opt ? opt.test - chosen.test : null,
    networksScored: cached?.scored ?? 0,
    queries,
    failedQueries,
    wallTimeSec: wall,
    resumed: contents !== undefined,
    session: {
      proxyComputed: cached?.stats.computed ?? 0,
      proxyReplayed: cached?.stats.replayed ?? 0,
      queriesRun,
      queriesReplayed,
      wallTimeSec: (performance.now() - sessionStart) / 1000,
    },
    proxy: swap
      ? { name: swap.name, backend: swap.backendUsed ?? null, regulariser: reg, settings: swap.metadata }
      : null,
    evaluator: evaluator ? evaluator.metadata : null,
    strategyStats: outcome.stats ?? {},
    trajectory,
    journal: opts.journal ?? null,
  };
}
