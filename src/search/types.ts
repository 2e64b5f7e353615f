import type { SearchSpace, TopologyOps } from '../spaces/types.js';
import type { Rng } from '../util/rng.js';

/** Names of the built-in search strategies. */
export const STRATEGY_NAMES = ['swap-nas', 'pre-nas', 'hybrid', 'random'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** A zero-cost score of one architecture. */
export interface ProxyScore {
  /** The value the search maximises (reg-SWAP for the SWAP proxy). */
  readonly fitness: number;
  /** Ψ, the raw SWAP-Score (mean over repeats). */
  readonly swap: number;
  /** Θ of the proxy network (absolute parameter count). */
  readonly params: number;
  /**
   * The values the fitness was made of, by proxy name, in the fitness's member order (an ensemble's members; absent
   * for reg-SWAP, whose only inputs are Ψ and Θ). null: the proxy failed on this network. Hybrid's predictor
   * features.
   */
  readonly values?: Readonly<Record<string, number | null>>;
}

/**
 * A fitness function over genotypes ("proxy"): cheap, deterministic, no ground truth. Implementations may batch.
 */
export interface FitnessProxy<G> {
  /** Short name for reports (e.g. "reg-swap"). */
  readonly name: string;
  /** Everything needed to reproduce the scores (network options, batch, repeats, μ/σ, backend, …). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Fitness of each genotype, in order. */
  scoreGenotypes(genotypes: readonly G[]): Promise<number[]>;
  /** Full scores of each genotype, in order. */
  scoreDetailed(genotypes: readonly G[]): Promise<ProxyScore[]>;
}

/** Result of one ground-truth evaluation. A failure is data, never an exception. */
export type Evaluation =
  | {
      readonly ok: true;
      /** The accuracy the search selects on (%, validation accuracy for benchmark tables). */
      readonly accuracy: number;
      /** Test accuracy where the evaluator knows it (%, reported only; never used for selection). */
      readonly test?: number;
      readonly valid?: number;
      /** Training cost in seconds, where known. */
      readonly cost?: number;
      /** Free-form extra output (e.g. a command's parsed JSON). */
      readonly extra?: Readonly<Record<string, unknown>>;
    }
  | {
      readonly ok: false;
      /** Why it failed (exit code, timeout, unparsable output, …). */
      readonly error: string;
    };

/** Extra information passed to an evaluator for one call. */
export interface EvaluationRequest {
  /** 0-based number of this query within the search. */
  readonly index: number;
  readonly signal?: AbortSignal;
}

/** "Ground-truth" evaluation: a benchmark lookup or real training. Each call is one counted query. */
export interface Evaluator<G> {
  readonly name: string;
  /** Settings that identify the evaluator (hashed into the journal header). */
  readonly metadata: Readonly<Record<string, unknown>>;
  evaluate(genotype: G, req: EvaluationRequest): Promise<Evaluation>;
  /**
   * Several queries at once (queue workers train them in parallel), in order: the same results as `evaluate` on
   * each. Absent: queries run one after another.
   */
  evaluateMany?(genotypes: readonly G[], reqs: readonly EvaluationRequest[]): Promise<Evaluation[]>;
}

export type { TopologyOps } from '../spaces/types.js';

/** The counted, journaled, replayable ground-truth query a strategy sees. */
export type QueryFn<G> = (genotype: G) => Promise<Evaluation>;

/** What a strategy gets: everything it may use, nothing global. */
export interface StrategyContext<G> {
  readonly space: SearchSpace<G, object>;
  /** The strategy's only source of randomness (seeded from the search seed). */
  readonly rng: Rng;
  /** Cached (by isomorphism class), journaled zero-cost proxy; absent when the strategy does not use one. */
  readonly proxy?: FitnessProxy<G>;
  /** Counted ground-truth query; absent for zero-query strategies. */
  readonly query?: QueryFn<G>;
  /**
   * Consecutive counted queries, the same as `query` on each in order, run at once: present only where the
   * evaluator trains in parallel (queue workers).
   */
  readonly queryMany?: (genotypes: readonly G[]) => Promise<Evaluation[]>;
  /** Query budget (number of ground-truth evaluations) for query-based strategies. */
  readonly budget: number;
  readonly topology?: TopologyOps<G>;
  /** Seed for models inside the strategy (e.g. the random forest), derived from the search seed. */
  readonly seed: number;
  /** The strategy's current answer changed; `signal` is what it ranks by (fitness or validation accuracy). */
  incumbent(g: G, signal: number): void;
  progress(done: number, total: number): void;
  readonly signal?: AbortSignal;
}

/** What a strategy returns. */
export interface StrategyOutcome<G> {
  /** The chosen architecture, or undefined when nothing could be evaluated (every query failed). */
  readonly best: G | undefined;
  /** Its fitness (zero-cost strategies) or evaluated accuracy (query-based ones). */
  readonly signal: number | undefined;
  /** Strategy-specific statistics for the report. */
  readonly stats?: Readonly<Record<string, unknown>>;
}

/** A search strategy ("optimizer"). Options are fixed at construction; `run` is deterministic given the context. */
export interface Strategy<G> {
  readonly name: StrategyName;
  readonly usesProxy: boolean;
  readonly usesQueries: boolean;
  /** Resolved options (defaults filled in), for the report and the journal's options hash. */
  readonly options: Readonly<Record<string, unknown>>;
  run(ctx: StrategyContext<G>): Promise<StrategyOutcome<G>>;
}
