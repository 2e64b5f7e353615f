import { type EnsembleRule, ruleSettings } from '../proxies/ensemble.js';
import type { EnsembleScorer } from '../score/ensemble.js';
import type { ScoreSource } from './proxy.js';
import type { ProxyScore } from './types.js';

/**
 * An ensemble fitness as a search's score source (`search --fitness ensemble`): each genotype's fitness is its
 * Σ ln F̂ against the space's reference set (scored once per settings, cached), so it never depends on the
 * population; Ψ and Θ come from the same SWAP pass. Wrap it in a {@link CachedProxy} like the SWAP source.
 */
export class EnsembleSource<G> implements ScoreSource<G> {
  readonly name: string;
  readonly metadata: Readonly<Record<string, unknown>>;

  constructor(
    private readonly scorer: EnsembleScorer<G, object>,
    rule: EnsembleRule,
    proxyName: string,
    swapMetadata: Readonly<Record<string, unknown>>,
    /** The key of labels given apart from the inputs (recorded, so a resume with other labels is refused). */
    labelsKey?: string,
  ) {
    this.name = proxyName;
    const id = scorer.identity();
    this.metadata = {
      ...swapMetadata,
      proxy: proxyName,
      ensemble: {
        ...ruleSettings(rule),
        reference: { size: id.size, seed: id.seed },
        ...(labelsKey !== undefined ? { labels: labelsKey } : {}),
      },
    };
  }

  /** The SWAP backend that last ran. */
  get backendUsed(): string | undefined {
    return this.scorer.backendUsed;
  }

  async compute(genotypes: readonly G[]): Promise<ProxyScore[]> {
    return (await this.scorer.score(genotypes)).map((s) => ({
      fitness: s.fitness,
      swap: s.swap,
      params: s.params,
      values: s.values,
    }));
  }
}
