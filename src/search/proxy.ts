import { SWAP_DEFAULTS } from '../catalog/defaults.js';
import type { BackendRegistry } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import { takeSamples, type InputBatch } from '../data/batch.js';
import type { ScoringRequest } from '../request/types.js';
import type { Regulariser } from '../proxies/regularise.js';
import { scoreNetworks, type NetworkScore } from '../score/swap.js';
import type { RemoteMembers } from '../score/ensemble-members.js';
import type { SearchSpace } from '../spaces/types.js';
import { SwapError } from '../util/errors.js';
import type { FitnessProxy, ProxyScore } from './types.js';

/**
 * Proxy-network settings used by `swapnas search` when the user gives none: the scoring defaults chosen by the
 * ranking study (`SWAP_DEFAULTS`, docs/ranking-study.md): C=8, N=3, dead edges pruned, S=16, R=8 — about
 * 0.05 s per network on 2 cores, so a SWAP-NAS search of ~150 networks takes seconds.
 */
export const SEARCH_PROXY_DEFAULTS = SWAP_DEFAULTS;

/** Settings of a {@link SwapProxy}. */
export interface SwapProxyOptions<N extends object> {
  /** Proxy-network options passed to `space.build` (channels, cells, classes, inputSize, …). */
  readonly network: Partial<N>;
  readonly inputs: InputBatch;
  readonly batch: number;
  readonly repeats: number;
  /** Weight seed (the search seed). */
  readonly seed: number;
  /** reg-SWAP μ/σ; without it fitness = Ψ. */
  readonly regulariser?: Regulariser;
  readonly backend?: BackendName | 'auto';
  readonly registry?: BackendRegistry;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /** Score elsewhere (queue workers, `search --redis`) with exactly these settings instead of a local backend. */
  readonly remote?: RemoteSwapScorer;
  /** The resolved request these options come from: what a remote scorer is sent (required with `remote`). */
  readonly request?: ScoringRequest;
}

/** What a remote scorer gets: the proxy's resolved scoring request and its input batch (S samples). */
export interface RemoteSwapRequest {
  readonly request: ScoringRequest;
  readonly inputs: InputBatch;
}

/** Scores architectures somewhere else (implemented by the queue), in order, with the backend that ran. */
export interface RemoteSwapScorer {
  score(req: RemoteSwapRequest, archs: readonly string[]): Promise<{ scores: NetworkScore[]; backend: string }>;
  /**
   * An ensemble's member passes there for the search's resolved request and its input batch (an ensemble fitness
   * with a remote scorer without it is `E_OPTION`).
   */
  members?(req: RemoteSwapRequest): RemoteMembers;
}

/** Uncached fitness source: computes scores of genotypes. */
export interface ScoreSource<G> {
  readonly name: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  compute(genotypes: readonly G[]): Promise<ProxyScore[]>;
}

/** reg-SWAP of each genotype's proxy network, through `scoreNetworks` (uncached; wrap it in {@link CachedProxy}). */
export class SwapProxy<G, N extends object> implements ScoreSource<G> {
  readonly name = 'reg-swap';
  /** Backend that the last call actually used (for reports). */
  backendUsed: BackendName | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;

  constructor(
    private readonly space: SearchSpace<G, N>,
    private readonly opts: SwapProxyOptions<N>,
  ) {
    this.metadata = {
      proxy: 'reg-swap',
      network: { ...space.defaultNetwork, ...opts.network },
      batch: opts.batch,
      repeats: opts.repeats,
      seed: opts.seed,
      inputs: opts.inputs.source,
      mu: opts.regulariser?.mu ?? null,
      sigma: opts.regulariser?.sigma ?? null,
    };
  }

  async compute(genotypes: readonly G[]): Promise<ProxyScore[]> {
    if (genotypes.length === 0) return [];
    if (this.opts.remote) return this.computeRemote(genotypes, this.opts.remote);
    const nets = genotypes.map((g) => this.space.build(g, this.opts.network));
    const run = await scoreNetworks(nets, {
      inputs: this.opts.inputs,
      batch: this.opts.batch,
      repeats: this.opts.repeats,
      seed: this.opts.seed,
      ...(this.opts.regulariser ? { mu: this.opts.regulariser.mu, sigma: this.opts.regulariser.sigma } : {}),
      backend: this.opts.backend ?? 'auto',
      ...(this.opts.registry ? { registry: this.opts.registry } : {}),
      ...(this.opts.threads !== undefined ? { threads: this.opts.threads } : {}),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    });
    this.backendUsed = run.settings.backend;
    return run.scores.map((s) => ({ fitness: s.regSwap, swap: s.swap, params: s.params }));
  }

  private async computeRemote(genotypes: readonly G[], remote: RemoteSwapScorer): Promise<ProxyScore[]> {
    const request = this.opts.request;
    if (!request) throw new SwapError('E_OPTION', 'remote scoring needs the resolved scoring request');
    // The workers score the request as resolved here, on the batch cut to its S samples, as the local path does.
    const inputs = takeSamples(this.opts.inputs, request.batch);
    const r = await remote.score(
      { request, inputs },
      genotypes.map((g) => this.space.format(g)),
    );
    this.backendUsed = r.backend as BackendName;
    return r.scores.map((s) => ({ fitness: s.regSwap, swap: s.swap, params: s.params }));
  }
}

/** Counters of a {@link CachedProxy}. */
export interface ProxyStats {
  /** Distinct isomorphism classes computed in this process. */
  computed: number;
  /** Distinct classes served from preloaded (journal) scores. */
  replayed: number;
  /** Requests answered from the cache (repeats within the search). */
  hits: number;
}

/**
 * Caches a {@link ScoreSource} by the space's canonical key (isomorphism class): a class is computed once per
 * search. `onComputed` sees every newly computed score as soon as its chunk finishes (the journal hook);
 * `preload` seeds the cache from a journal so a resumed search does not recompute.
 */
export class CachedProxy<G> implements FitnessProxy<G> {
  private readonly cache = new Map<string, ProxyScore>();
  private readonly preloaded = new Set<string>();
  readonly stats: ProxyStats = { computed: 0, replayed: 0, hits: 0 };

  constructor(
    private readonly space: SearchSpace<G, object>,
    private readonly source: ScoreSource<G>,
    private readonly hooks: {
      onComputed?: (g: G, key: string, s: ProxyScore) => void;
      signal?: AbortSignal;
      /** Networks per backend call, so that a long batch is journaled progressively (default 16). */
      chunk?: number;
    } = {},
  ) {}

  get name(): string {
    return this.source.name;
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return this.source.metadata;
  }

  /** Distinct classes scored for this search so far (computed + replayed). */
  get scored(): number {
    return this.stats.computed + this.stats.replayed;
  }

  preload(key: string, s: ProxyScore): void {
    this.cache.set(key, s);
    this.preloaded.add(key);
  }

  async scoreGenotypes(genotypes: readonly G[]): Promise<number[]> {
    return (await this.scoreDetailed(genotypes)).map((s) => s.fitness);
  }

  async scoreDetailed(genotypes: readonly G[]): Promise<ProxyScore[]> {
    const keys = genotypes.map((g) => this.space.canonicalKey(g));
    const todo: G[] = [];
    const todoKeys: string[] = [];
    const seen = new Set<string>();
    keys.forEach((k, i) => {
      if (this.cache.has(k)) {
        if (this.preloaded.delete(k)) this.stats.replayed++;
        else if (!seen.has(k)) this.stats.hits++;
        seen.add(k);
        return;
      }
      if (seen.has(k)) return;
      seen.add(k);
      todo.push(genotypes[i]!);
      todoKeys.push(k);
    });
    const chunk = this.hooks.chunk ?? 16;
    for (let i = 0; i < todo.length; i += chunk) {
      if (this.hooks.signal?.aborted) throw new SwapError('E_CANCELLED', 'search cancelled');
      const part = todo.slice(i, i + chunk);
      const scores = await this.source.compute(part);
      scores.forEach((s, j) => {
        const k = todoKeys[i + j]!;
        this.cache.set(k, s);
        this.stats.computed++;
        this.hooks.onComputed?.(part[j]!, k, s);
      });
    }
    return keys.map((k) => this.cache.get(k)!);
  }
}
