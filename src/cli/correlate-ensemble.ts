/**
 * `correlate --fitness ensemble`: the ensemble's row (its fitness against the space's cached reference set) put at
 * the head of the SWAP report, measured on the same architectures with the same proxy setting.
 */
import type { SpaceEntry } from '../catalog/registry.js';
import { type EnsembleRule, memberNames } from '../proxies/ensemble.js';
import { groupNeedsWeights, PROXY_NAMES, type ProxyName, proxySpec } from '../proxies/registry.js';
import { resolveScoringRequest } from '../request/resolve.js';
import type { ResolvedSetting } from '../request/resolve.js';
import type { BenchmarkTable } from '../tables/types.js';
import type { CorrelationRow } from '../study/metrics.js';
import { correlate } from '../study/metrics.js';
import type { SearchSpace } from '../spaces/types.js';
import { SwapError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { ensembleScorerFor, givenLabels } from './ensemble.js';
import { type EnsembleScore, fitnessNameOf, type RemoteMembers } from '../score/ensemble.js';
import type { ScoringRequest } from '../request/types.js';
import type { InputBatch } from '../data/batch.js';

/** What the ensemble row needs from a correlate run. */
export interface EnsembleCorrelateInput {
  readonly entry: SpaceEntry<unknown>;
  readonly table: BenchmarkTable;
  readonly dataset: string;
  readonly genotypes: readonly unknown[];
  readonly setting: ResolvedSetting;
  readonly images: string;
  readonly weightSeed: number;
  readonly mu?: number;
  readonly sigma?: number;
  readonly threads?: number;
  readonly cacheDir?: string;
  readonly progress: boolean;
  readonly resamples: number;
  /** `--labels FILE`: class labels for the members in place of the embedded batch's (see {@link givenLabels}). */
  readonly labels?: string;
  /** Member passes elsewhere (`--redis`): a source for the ensemble's resolved request and its input batch. */
  readonly remote?: (request: ScoringRequest, inputs: InputBatch) => RemoteMembers;
}

/**
 * Spearman/Kendall of the ensemble fitness over the run's architectures (reference set built once, cached), and of
 * each member the SWAP report lacks (the suite proxies, e.g. MeCo under the SWAP protocol).
 */
export async function ensembleCorrelationRows(
  rule: EnsembleRule,
  c: EnsembleCorrelateInput,
): Promise<CorrelationRow[]> {
  if (c.images !== 'cifar10')
    throw new SwapError('E_OPTION', '--fitness ensemble uses the embedded CIFAR-10 batch; drop --images');
  const s = c.setting;
  const { request, inputs, labels } = await resolveScoringRequest({
    space: s.entry.space.name,
    target: c.dataset,
    channels: s.network['channels'] as number,
    cells: s.network['cells'] as number,
    prune: s.network['prune'] as boolean,
    ...(typeof s.network['kind'] === 'string' ? { network: s.network['kind'] } : {}),
    batch: s.batch,
    repeats: s.repeats,
    seed: c.weightSeed,
    ...(s.inputSize !== undefined ? { inputSize: s.inputSize } : {}),
    ...(c.mu !== undefined && c.sigma !== undefined ? { mu: c.mu, sigma: c.sigma } : {}),
  });
  const space = c.entry.space as SearchSpace<unknown, object>;
  const given = c.labels !== undefined ? givenLabels(c.labels, inputs) : undefined;
  const scorer = ensembleScorerFor(space, rule, {
    request,
    inputs,
    labels: given?.labels ?? labels,
    labelsKey: given?.key,
    ...(c.threads !== undefined ? { threads: c.threads } : {}),
    ...(c.cacheDir !== undefined ? { cacheDir: c.cacheDir } : {}),
    progress: c.progress,
    ...(c.remote ? { remote: c.remote(request, inputs) } : {}),
  });
  await scorer.loadReference();
  // Locally 32 networks at a time, with progress; on the queue all at once (one run, the queue's progress).
  const step = c.remote ? Math.max(1, c.genotypes.length) : 32;
  const progress = new Progress('correlate ensemble', c.progress && !c.remote, process.stderr, 'architectures');
  const scores: EnsembleScore[] = [];
  for (let i = 0; i < c.genotypes.length; i += step) {
    scores.push(...(await scorer.score(c.genotypes.slice(i, i + step))));
    progress.update(scores.length, c.genotypes.length);
  }
  const truth = c.genotypes.map((g) => c.table.get(space.format(g))!.truth[c.dataset]!);
  const opts = { resamples: c.resamples, seed: 7 };
  const extra = memberNames(rule).filter((m) => !['swap', 'reg-swap', 'params'].includes(m));
  return [
    correlate(
      fitnessNameOf(rule),
      scores.map((s) => s.fitness),
      truth,
      'in-house',
      opts,
    ),
    ...extra.map((m) =>
      correlate(
        memberLabel(m),
        scores.map((s) => s.values[m] ?? undefined),
        truth,
        'in-house',
        opts,
      ),
    ),
  ];
}

/** A member's row name: the suite's pass-based members ran under the SWAP protocol; the others read the architecture. */
function memberLabel(m: string): string {
  const known = (PROXY_NAMES as readonly string[]).includes(m);
  return known && !groupNeedsWeights(proxySpec(m as ProxyName).group)
    ? `${m} (member, from the architecture)`
    : `${m} (member, SWAP protocol)`;
}
