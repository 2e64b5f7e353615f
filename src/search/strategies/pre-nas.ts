import { SwapError } from '../../util/errors.js';
import { RandomForest } from '../forest.js';
import { stratifiedSample } from '../stratified.js';
import type {
  Evaluation,
  FitnessProxy,
  ProxyScore,
  Strategy,
  StrategyContext,
  StrategyOutcome,
  StrategyName,
} from '../types.js';
import { checkFraction, checkPositiveInt, sampleDistinct } from './common.js';
import { SWAP_NAS_DEFAULTS, swapNas } from './swap-nas.js';

/** PRE-NAS / hybrid hyper-parameters; see {@link PRE_NAS_DEFAULTS} and {@link HYBRID_DEFAULTS} for the values and why. */
export interface PreNasOptions {
  /** Random architectures evaluated before the predictor is first trained. */
  readonly initial?: number;
  /** Architectures evaluated per generation (the stratified sample size). */
  readonly perGeneration?: number;
  /** Parents per generation (tournament winners among evaluated architectures). */
  readonly parents?: number;
  /** Offspring generated per parent (all share the parent's topology); the predictor ranks them. */
  readonly offspring?: number;
  /** Tournament size for parent selection. */
  readonly tournament?: number;
  /** Stratified sampling covers the top fraction of the predicted ranking. */
  readonly topFraction?: number;
  /** An offspring differs from its parent in 1..maxOpChanges operations (never in topology). */
  readonly maxOpChanges?: number;
  /** Trees of the random forest predictor. */
  readonly trees?: number;
  /**
   * hybrid only: the initial sample is the best-by-fitness `initial` of `warmStart × initial` random
   * architectures (0 = plain random initial sample).
   */
  readonly warmStart?: number;
  /**
   * hybrid only: the fraction of offspring made by the space's own mutation (`space.mutate`, which may change the
   * topology) instead of op-only changes; 0 = PRE-NAS's same-topology offspring.
   */
  readonly topologyMutation?: number;
  /** hybrid only: that fraction in a generation that follows one which did not improve the incumbent. */
  readonly stallTopologyMutation?: number;
  /** hybrid only: candidates are ranked by mean + exploration × spread of the forest's trees (0 = the mean). */
  readonly exploration?: number;
  /** hybrid only: at most this many warm-start picks share a topology (0 = no limit). */
  readonly warmStartPerTopology?: number;
  /**
   * hybrid only: when > 0, the warm-start pool is every network scored by a zero-query SWAP-NAS evolution of this
   * many cycles (its defaults otherwise) instead of `warmStart × initial` random architectures; the initial sample
   * is the pool's best-by-fitness `initial`.
   */
  readonly warmStartCycles?: number;
}

/**
 * Defaults. The PRE-NAS papers give only the NB201 budget (100 queries), the predictor family (random forest
 * first among those compared) and the selection rule (percentile-stratified sampling over predicted accuracy);
 * the rest was chosen by measurement on the NB201 table (`node bench/search-tune.mjs pre-nas`, 3 datasets ×
 * 20 seeds, budget 100; mean test accuracy C10 / C100 / IN16, std ≈ 0.25 / 0.8 / 0.6):
 *
 * | variant (changes from the defaults)  | C10   | C100  | IN16  |
 * |--------------------------------------|-------|-------|-------|
 * | random search, same budget           | 93.88 | 71.72 | 45.82 |
 * | **defaults**                         | 94.19 | 72.85 | 46.27 |
 * | topFraction 0.5 / 0.2 / 0.1          | 94.16 / 94.02 / 93.99 | 72.76 / 72.44 / 72.36 | 46.15 / 46.09 / 46.05 |
 * | initial 20                           | 94.15 | 72.90 | 46.38 |
 * | perGeneration 3 / 10                 | 94.16 / 94.11 | 73.00 / 72.81 | 46.32 / 46.03 |
 * | parents 1 × offspring 90             | 94.17 | 72.70 | 46.08 |
 * | tournament 2                         | 94.08 | 72.28 | 45.91 |
 *
 * - `topFraction` 1: the strata cover the whole predicted ranking (one evaluation per 20 % percentile band, the
 *   top band greedily). Narrowing it to the top 20 % or 10 % (greedier) was consistently worse: the forest,
 *   trained on ≤ 100 points, learns more from evaluations spread over its ranking.
 * - `initial` 10: the smallest random sample the forest can start from; 20 was no better.
 * - `perGeneration` 5, `parents` 3 × `offspring` 30, `tournament` 5: 90 same-topology candidates per generation
 *   from three good topologies, so the topology still changes between generations; the alternatives were
 *   within noise except a weaker tournament (2), which was worse.
 * - `maxOpChanges` 2: offspring 1–2 op changes away (1 or 4 were within noise in the first round).
 * - `trees` 100: see {@link RandomForest}.
 * - `warmStart`: hybrid only, see {@link HYBRID_DEFAULTS}.
 */
export const PRE_NAS_DEFAULTS = Object.freeze({
  initial: 10,
  perGeneration: 5,
  parents: 3,
  offspring: 30,
  tournament: 5,
  topFraction: 1,
  maxOpChanges: 2,
  trees: 100,
  warmStart: 10,
  topologyMutation: 0,
  stallTopologyMutation: 0,
  exploration: 0,
  warmStartPerTopology: 0,
  warmStartCycles: 0,
});

/**
 * Hybrid's defaults: PRE-NAS's, except a warm start from a zero-query SWAP-NAS evolution and greedy selection,
 * chosen for its 25-query budget (`DEFAULT_BUDGETS.hybrid`) by `bench/hybrid-study.mjs` — the strategy itself on
 * the NB201 table, its proxy served from committed all-cell values (CIFAR-10 proxy network, weight seed 0) instead
 * of scored live.
 *
 * `warmStartCycles` 30 (session 16; `VARIANTS_JSON="$(cat bench/hybrid-evolve-variants.json)" node
 * bench/hybrid-study.mjs --fitness ensemble-fit --first-seed 20 --seeds 40`, then `--first-seed 60 --seeds 80`,
 * raw bench/raw/hybrid-evolve/; seeds 0–19 played no part): the 10 initial queries go to the best-by-fitness 10 of
 * every cell a 30-cycle zero-query evolution scored (≈ 150 distinct) instead of 10 of 300 random cells. Mean test
 * accuracy C10 / C100 / IN16:
 *
 * | variant (25 queries, ensemble-fit features)   | seeds 20–59            | seeds 60–139           | networks |
 * |-----------------------------------------------|------------------------|------------------------|---------:|
 * | random pool (warmStart 30; session 12)        | 94.11 / 73.02 / 46.34  | 94.16 / 73.00 / 46.45  | 504 |
 * | evolved, 15 cycles                            | 94.27 / 73.07 / 46.44  | 94.30 / 73.20 / 46.38  | 290 |
 * | **evolved, 30 cycles** (the default)          | 94.36 / 73.27 / 46.46  | 94.34 / 73.28 / 46.40  | 325 |
 * | evolved, 60 cycles                            | 94.37 / 73.40 / 46.42  | 94.37 / 73.39 / 46.42  | 355 |
 * | PRE-NAS, 100 queries                          | 94.10 / 72.30 / 46.21  | 94.14 / 72.73 / 46.29  | 0 |
 *
 * 30 is SWAP-NAS's own cycle count; 60 adds +0.1 on CIFAR-100 offline for 10 % more scoring, and offline every
 * search shares one weight seed's fitness, which flatters a longer evolution. Why it helps (TRACE=1, seeds 20–59,
 * C10 / C100 / IN16): the initial topologies allow the same best cells either way (94.37 / 73.48 / 46.7), but the
 * warm-start pool itself is better — the test accuracy of its best-by-validation cell is 94.32 / 73.22 / 46.40
 * against 93.97 / 72.22 / 46.02 for 300 random cells — so the forest starts next to the best cells, and on CIFAR-10
 * a better offspring than the chosen cell was scored but not queried in 3 searches of 40 instead of 21.
 *
 * The rest (session 10, seeds 0–19, random pool; label-free ensemble features; PRE-NAS-100 over the same seeds:
 * 94.19 / 72.85 / 46.27):
 *
 * | variant (25 queries; features: encoding, Ψ, fitness, members)  | C10   | C100  | IN16  | networks |
 * |-----------------------------------------------------------------|-------|-------|-------|---------:|
 * | PRE-NAS's settings (warmStart 10)                               | 94.03 | 72.13 | 45.90 | 300 |
 * | warmStart 30                                                    | 94.09 | 72.60 | 46.30 | 500 |
 * | warmStart 30, topFraction 0.2                                   | 94.16 | 72.70 | 46.39 | 508 |
 * | **warmStart 30, topFraction 0.05**                              | 94.21 | 72.93 | 46.41 | 508 |
 * | same + zico, synflow, nwot, FLOPs as features                   | 94.14 | 73.03 | 46.42 | 504 |
 *
 * - `warmStart` 30 (used when `warmStartCycles` is 0): the best-by-fitness 10 of 300 random cells.
 * - `topFraction` 0.05: with 90 candidates and 5 queries per generation, the 5 best-predicted — greedy. Unlike
 *   PRE-NAS with 100 plain-encoding queries, a forest whose features hold the proxies ranks well enough from 10–25
 *   points that spreading queries over its ranking only wastes the few there are (with the evolved start, 0.2 was
 *   level: 94.35 / 73.31 / 46.39 on seeds 60–139).
 * - Other suite proxies as extra features were within noise, so the features are the fitness's own members
 *   ({@link scoreFeatures}), computed in the fitness's pass at no extra cost.
 * - The escapes (`topologyMutation`, `stallTopologyMutation`, `exploration`, `warmStartPerTopology`) are off (0):
 *   on seeds 20–59 (`bench/hybrid-escape-variants.json`, bench/RESULTS.md "Hybrid: escaping the stuck mode") none
 *   beat the random-pool defaults beyond noise; spreading the evolved start over topologies (3 per topology) was
 *   level or worse (94.32 / 73.30 / 46.43 on seeds 20–59).
 */
export const HYBRID_DEFAULTS = Object.freeze({
  ...PRE_NAS_DEFAULTS,
  warmStart: 30,
  topFraction: 0.05,
  warmStartCycles: 30,
});

interface Evaluated<G> {
  readonly g: G;
  readonly key: string;
  readonly acc: number;
  readonly features: number[];
}

/**
 * A proxy value as a predictor feature: log max(x, 1e-12) for x ≥ 0 (Ψ, reg-SWAP), continued linearly below 0, so a
 * fitness that is < 0 (an ensemble's weighted sum of ln F̂ terms, the default's included) keeps its order instead of collapsing to one value.
 */
export function proxyFeature(x: number): number {
  const floor = 1e-12;
  return Math.log(Math.max(x, floor)) + Math.min(x, 0); // = log(max(x, 1e-12)) for x ≥ 0, as before the ensemble
}

/**
 * A member value as a feature: {@link proxyFeature}, with a failed value (null, NaN, −∞) below every value (as the
 * ensemble ranks it) and +∞ above; both finite, as the forest requires.
 */
function valueFeature(v: number | null | undefined): number {
  if (v === null || v === undefined || Number.isNaN(v) || v === Number.NEGATIVE_INFINITY) return -Number.MAX_VALUE;
  return v === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : proxyFeature(v);
}

/**
 * Hybrid's proxy features of one network: log Ψ, the (log) fitness, then every value the fitness was made of (an
 * ensemble's members, in the rule's order; none for reg-SWAP). All are monotone maps of the proxies' values, so
 * the forest's splits are those of the raw values.
 */
export function scoreFeatures(s: ProxyScore): number[] {
  const members = Object.values(s.values ?? {}).map(valueFeature);
  return [proxyFeature(s.swap), proxyFeature(s.fitness), ...members];
}

type PreNasSettings = Required<PreNasOptions>;

/** Options that only hybrid reads (not reported for PRE-NAS). */
const HYBRID_ONLY = [
  'warmStart',
  'topologyMutation',
  'stallTopologyMutation',
  'exploration',
  'warmStartPerTopology',
  'warmStartCycles',
] as const;

/** The state of one PRE-NAS run: what was evaluated, the incumbent and the counters reported in `stats`. */
class PreNasRun<G> {
  /** Keys evaluated (or failed). */
  readonly seen = new Set<string>();
  /** Successful evaluations: the predictor's training rows. */
  readonly data: Evaluated<G>[] = [];
  used = 0;
  failed = 0;
  best: Evaluated<G> | undefined;
  generations = 0;
  fallbacks = 0;
  /** The last generation did not improve the incumbent. */
  stalled = false;

  constructor(
    private readonly ctx: StrategyContext<G>,
    private readonly o: PreNasSettings,
    private readonly hybrid: boolean,
    private readonly query: (g: G) => Promise<Evaluation>,
  ) {}

  /** Predictor features: the space encoding, plus (hybrid) the proxy's {@link scoreFeatures}. */
  async features(gs: readonly G[]): Promise<number[][]> {
    const { space } = this.ctx;
    if (!this.hybrid) return gs.map((g) => space.encode(g));
    const s: ProxyScore[] = await this.ctx.proxy!.scoreDetailed(gs);
    return gs.map((g, i) => [...space.encode(g), ...scoreFeatures(s[i]!)]);
  }

  /** Query `gs` in order while budget remains; successes become training rows, the best the incumbent. */
  async evaluate(gs: readonly G[], feats: readonly number[][]): Promise<void> {
    const ctx = this.ctx;
    // The queries this budget allows, at once where the evaluator can (queue workers); taken in order below.
    const asked = gs.slice(0, Math.max(0, ctx.budget - this.used));
    const many = ctx.queryMany && asked.length > 1 ? await ctx.queryMany(asked) : undefined;
    for (let i = 0; i < asked.length; i++) {
      const g = asked[i]!;
      const key = ctx.space.canonicalKey(g);
      this.seen.add(key);
      const r: Evaluation = many ? many[i]! : await this.query(g);
      this.used++;
      ctx.progress(this.used, ctx.budget);
      if (!r.ok) {
        this.failed++;
        continue;
      }
      const e = { g, key, acc: r.accuracy, features: feats[i]! };
      this.data.push(e);
      if (!this.best || e.acc > this.best.acc) {
        this.best = e;
        ctx.incumbent(g, e.acc);
      }
    }
  }

  /** The initial sample: random, or (hybrid with warmStart > 1) the best-by-fitness of a larger random pool. */
  async initialSample(): Promise<G[]> {
    const { space, rng } = this.ctx;
    const o = this.o;
    if (this.hybrid && o.warmStartCycles > 0 && (space.size ?? Infinity) >= SWAP_NAS_DEFAULTS.population)
      return this.evolvedStart();
    if (!(this.hybrid && o.warmStart > 1)) return sampleDistinct(space, rng, o.initial, new Set(this.seen));
    const pool = sampleDistinct(space, rng, o.initial * o.warmStart, new Set(this.seen));
    return this.bestByFitness(pool, await this.ctx.proxy!.scoreGenotypes(pool));
  }

  /** The warm-start picks of `gs`: the best `initial` by fitness (ties: the earlier), spread over topologies if asked. */
  private bestByFitness(gs: readonly G[], fit: readonly number[]): G[] {
    const ranked = gs
      .map((g, i) => ({ g, f: fit[i]!, i }))
      .sort((a, b) => b.f - a.f || a.i - b.i)
      .map((x) => x.g);
    return this.o.warmStartPerTopology > 0 ? this.spreadTopologies(ranked) : ranked.slice(0, this.o.initial);
  }

  /**
   * The warm start from a zero-query SWAP-NAS run (`warmStartCycles` cycles) on the same proxy and random stream:
   * the best-by-fitness `initial` distinct networks among all it scored (its population's rejected mutants included).
   */
  private async evolvedStart(): Promise<G[]> {
    const { space } = this.ctx;
    const proxy = this.ctx.proxy!;
    const scored = new Map<string, { g: G; f: number }>();
    const recording: FitnessProxy<G> = {
      name: proxy.name,
      metadata: proxy.metadata,
      scoreDetailed: (gs) => proxy.scoreDetailed(gs),
      async scoreGenotypes(gs) {
        const f = await proxy.scoreGenotypes(gs);
        gs.forEach((g, j) => {
          const key = space.canonicalKey(g);
          if (!scored.has(key)) scored.set(key, { g, f: f[j]! });
        });
        return f;
      },
    };
    const quiet = { ...this.ctx, proxy: recording, progress: () => {}, incumbent: () => {} };
    await swapNas<G>({ cycles: this.o.warmStartCycles }).run(quiet);
    const all = [...scored.values()];
    const picked = this.bestByFitness(
      all.map((x) => x.g),
      all.map((x) => x.f),
    );
    // a short evolution may score fewer distinct cells than the initial sample: random ones fill it up
    const taken = new Set([...this.seen, ...scored.keys()]);
    return [...picked, ...sampleDistinct(space, this.ctx.rng, this.o.initial - picked.length, taken)];
  }

  /** The first `initial` of `ranked` with at most `warmStartPerTopology` per topology, filled up in rank order. */
  private spreadTopologies(ranked: readonly G[]): G[] {
    const topo = this.ctx.topology!;
    const count = new Map<string, number>();
    const taken = ranked.filter((g) => {
      const k = topo.topologyKey(g);
      const c = count.get(k) ?? 0;
      count.set(k, c + 1);
      return c < this.o.warmStartPerTopology;
    });
    const rest = ranked.filter((g) => !taken.includes(g));
    return [...taken, ...rest].slice(0, this.o.initial);
  }

  /**
   * Offspring of tournament-selected parents, unseen and distinct (keys added to `poolKeys`): same-topology, except
   * a fraction (`topologyMutation`, or `stallTopologyMutation` after a generation without improvement) made by the
   * space's own mutation.
   */
  offspring(poolKeys: Set<string>): G[] {
    const { space, rng } = this.ctx;
    const o = this.o;
    const free = this.stalled ? o.stallTopologyMutation : o.topologyMutation;
    const pool: G[] = [];
    for (let p = 0; p < o.parents; p++) {
      const t = rng.sample(this.data.length, o.tournament).map((i) => this.data[i]!);
      const parent = t.reduce((a, b) => (b.acc > a.acc ? b : a));
      let attempts = 0;
      let made = 0;
      while (made < o.offspring && attempts < o.offspring * 20) {
        attempts++;
        const child = this.child(parent.g, free);
        if (child === undefined) break;
        const k = space.canonicalKey(child);
        if (poolKeys.has(k)) continue;
        poolKeys.add(k);
        pool.push(child);
        made++;
      }
    }
    return pool;
  }

  /** One offspring: 1..maxOpChanges changes, by the space's mutation with probability `free`, else op-only. */
  private child(g: G, free: number): G | undefined {
    const { space, rng } = this.ctx;
    const changes = 1 + rng.int(this.o.maxOpChanges);
    // rng.next() is drawn only when free > 0, so that PRE-NAS's offspring stream is unchanged.
    const topo = this.ctx.topology!;
    const anyEdge = free > 0 && rng.next() < free;
    let child: G | undefined = g;
    for (let c = 0; c < changes && child !== undefined; c++)
      child = anyEdge ? space.mutate(child, rng) : topo.mutateOps(child, rng);
    return child;
  }

  /** Indices of `k` candidates to evaluate: stratified over the forest's predictions, or random before it can fit. */
  pick(feats: readonly number[][], poolSize: number, k: number): number[] {
    const { rng } = this.ctx;
    if (this.data.length < 2) return rng.sample(poolSize, k);
    const rf = RandomForest.fit(
      this.data.map((d) => d.features),
      this.data.map((d) => d.acc),
      { trees: this.o.trees, seed: (this.ctx.seed * 1000003 + this.generations) >>> 0 },
    );
    const x = this.o.exploration;
    const score = x > 0 ? feats.map((f) => rf.predictSpread(f)).map((p) => p.mean + x * p.sd) : rf.predictMany(feats);
    return stratifiedSample(score, k, rng, { topFraction: this.o.topFraction });
  }

  /** One generation; false when the space is exhausted. */
  async generation(): Promise<boolean> {
    const ctx = this.ctx;
    this.generations++;
    const poolKeys = new Set<string>(this.seen);
    let pool: G[] = this.data.length >= 2 ? this.offspring(poolKeys) : [];
    if (pool.length === 0) {
      // Nothing to breed from (too few successful evaluations, or every same-topology offspring was seen):
      // fall back to random architectures.
      this.fallbacks++;
      pool = sampleDistinct(ctx.space, ctx.rng, this.o.parents * this.o.offspring, poolKeys);
      if (pool.length === 0) return false; // space exhausted
    }
    const feats = await this.features(pool);
    const picks = this.pick(feats, pool.length, Math.min(this.o.perGeneration, ctx.budget - this.used));
    const before = this.best?.acc;
    await this.evaluate(
      picks.map((i) => pool[i]!),
      picks.map((i) => feats[i]!),
    );
    this.stalled = this.best?.acc === before;
    return true;
  }
}

/** Check PRE-NAS options (merged over the defaults). */
function checkPreNasOptions(o: PreNasSettings): void {
  for (const [k, min] of [
    ['initial', 1],
    ['perGeneration', 1],
    ['parents', 1],
    ['offspring', 1],
    ['tournament', 1],
    ['maxOpChanges', 1],
    ['trees', 1],
    ['warmStart', 0],
    ['warmStartPerTopology', 0],
    ['warmStartCycles', 0],
  ] as const) {
    checkPositiveInt(k, o[k], min);
  }
  checkFraction('topFraction', o.topFraction);
  for (const k of ['topologyMutation', 'stallTopologyMutation'] as const)
    if (!(o[k] >= 0 && o[k] <= 1)) throw new SwapError('E_OPTION', `${k} must be in [0, 1], got ${o[k]}`);
  if (!(o.exploration >= 0 && Number.isFinite(o.exploration)))
    throw new SwapError('E_OPTION', `exploration must be finite and ≥ 0, got ${o.exploration}`);
}

/**
 * PRE-NAS (Peng et al., GECCO 2022 / TEVC 2023; algorithms.md §3) on the table: predictor-assisted evolution.
 * After an initial random sample, each generation (1) fits a random forest to every successful evaluation so
 * far, (2) picks parents by tournament on evaluated accuracy, (3) generates offspring that keep the parent's
 * topology (same non-`none` edges) and change 1..maxOpChanges operations, (4) predicts their accuracy and
 * evaluates a percentile-stratified sample of the best predicted. Failed evaluations spend budget but are not
 * training data. Returns the evaluated architecture with the best accuracy.
 *
 * `hybrid` is the same algorithm whose predictor features also hold each candidate's proxy values
 * ({@link scoreFeatures}: Ψ, the fitness and the ensemble's members, from the cached proxy), whose initial sample is
 * warm-started by the fitness, and whose defaults are {@link HYBRID_DEFAULTS}.
 */
export function preNas<G>(opts: PreNasOptions = {}, variant: 'pre-nas' | 'hybrid' = 'pre-nas'): Strategy<G> {
  const o = { ...(variant === 'hybrid' ? HYBRID_DEFAULTS : PRE_NAS_DEFAULTS), ...opts };
  if (variant !== 'hybrid') for (const k of HYBRID_ONLY) (o as Record<string, number>)[k] = PRE_NAS_DEFAULTS[k];
  checkPreNasOptions(o);
  const hybrid = variant === 'hybrid';
  const options: Record<string, unknown> = { ...o };
  // PRE-NAS reports none of hybrid's settings; hybrid omits its escape settings while off (0), so that the options
  // (and their hash, which a resumed journal must match) of a search without them are what they were before.
  for (const k of HYBRID_ONLY) if (!hybrid || (k !== 'warmStart' && o[k] === 0)) delete options[k];
  // the random pool's size means nothing while the evolution makes the warm start
  if (hybrid && o.warmStartCycles > 0) delete options['warmStart'];
  return {
    name: variant as StrategyName,
    usesProxy: hybrid,
    usesQueries: true,
    options,
    async run(ctx: StrategyContext<G>): Promise<StrategyOutcome<G>> {
      const query = ctx.query;
      if (!query) throw new SwapError('E_OPTION', `${variant} needs an evaluator`);
      if (!ctx.topology)
        throw new SwapError('E_SPACE', `${variant} needs topology operators for space ${ctx.space.name}`);
      if (hybrid && !ctx.proxy) throw new SwapError('E_OPTION', 'hybrid needs a proxy');
      if (ctx.budget < o.initial)
        throw new SwapError('E_OPTION', `budget ${ctx.budget} is smaller than the initial sample ${o.initial}`);
      const st = new PreNasRun(ctx, o, hybrid, query);
      const init = await st.initialSample();
      await st.evaluate(init, await st.features(init));
      while (st.used < ctx.budget) {
        if (ctx.signal?.aborted) throw new SwapError('E_CANCELLED', 'search cancelled');
        if (!(await st.generation())) break;
      }
      const best = st.best;
      return {
        best: best?.g,
        signal: best?.acc,
        stats: {
          queries: st.used,
          failed: st.failed,
          generations: st.generations,
          randomFallbacks: st.fallbacks,
          trainingRows: st.data.length,
        },
      };
    },
  };
}
