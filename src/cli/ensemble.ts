/**
 * `--fitness` on `score`, `search` and `correlate`: an ensemble proxy plug-in of the registry (the default,
 * `ensemble`, docs/ensemble-study.md), ranked against the space's reference set (shipped for the default settings,
 * else scored once and cached under `--cache-dir`), or reg-SWAP.
 */
import type { Command } from 'commander';
import type { BackendRegistry } from '../backends/registry.js';
import type { InputBatch } from '../data/batch.js';
import { type EnsembleRule, ruleSettings } from '../proxies/ensemble.js';
import type { ScoringRequest } from '../request/types.js';
import {
  DEFAULT_FITNESS,
  type EnsembleOptions,
  EnsembleScorer,
  fitnessNames,
  type RemoteMembers,
  requestEnsembleOptions,
} from '../score/ensemble.js';
export { fitnessRule, needsLabels } from '../score/ensemble.js';
import { cacheDirectory, REFERENCE_SEED, REFERENCE_SIZE } from '../score/reference-set.js';
import type { SearchSpace } from '../spaces/types.js';
import { Progress } from '../util/progress.js';
import { batchLabels, readLabels } from '../data/labels.js';

/** Add `--fitness` and `--cache-dir` to a command. */
export function addFitnessOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--fitness <name>', `${what}: ${fitnessNames().join(' | ')} (default ${DEFAULT_FITNESS})`)
    .option(
      '--cache-dir <dir>',
      `where ensemble reference sets (and score's data-free μ/σ) are cached (default $SWAPNAS_CACHE_DIR, else $XDG_CACHE_HOME/swapnas or ~/.cache/swapnas: ${cacheDirectory()})`,
    );
}

/**
 * What the settings blocks of ensemble results record about the rule and its reference set (not where the set was
 * read from: shipped, cached and freshly scored sets of one identity hold the same values).
 */
export function ensembleSettings(rule: EnsembleRule): Record<string, unknown> {
  return {
    ...ruleSettings(rule),
    description: rule.description,
    reference: { size: REFERENCE_SIZE, seed: REFERENCE_SEED },
  };
}

/**
 * An ensemble scorer for a resolved scoring request (its network, batch, seed, μ/σ and backend), with the
 * reference set's build progress on stderr.
 */
export function ensembleScorerFor<G>(
  space: SearchSpace<G, object>,
  rule: EnsembleRule,
  r: {
    request: ScoringRequest;
    inputs: InputBatch;
    /** Class labels of `inputs` (the resolved request's, or {@link givenLabels}), for members that need them. */
    labels?: Int32Array | undefined;
    /** Labels given apart from the inputs ({@link givenLabels}): their key joins the reference set's identity. */
    labelsKey?: string | undefined;
    threads?: number | undefined;
    cacheDir?: string | undefined;
    progress: boolean;
    /** Where the SWAP backend comes from (a warm server's kept backends; default a fresh registry). */
    registry?: BackendRegistry;
    /** Where the suite members run (a warm server's shared engines; default one per scorer). */
    suiteEngine?: EnsembleOptions<object>['suiteEngine'];
    /** Queue workers that compute the member values instead (`--redis`). */
    remote?: RemoteMembers;
  },
): EnsembleScorer<G, object> {
  const progress = new Progress('ensemble reference set', r.progress, process.stderr, 'networks');
  return new EnsembleScorer(space, {
    ...requestEnsembleOptions(rule, r.request, r.inputs, r.labels, r.labelsKey),
    ...(r.threads !== undefined ? { threads: r.threads } : {}),
    ...(r.cacheDir !== undefined ? { cacheDir: r.cacheDir } : {}),
    ...(r.registry ? { registry: r.registry } : {}),
    ...(r.suiteEngine ? { suiteEngine: r.suiteEngine } : {}),
    ...(r.remote ? { remote: r.remote } : {}),
    onReference: (d, t) => progress.update(d, t),
  });
}

/**
 * `--labels FILE` for an ensemble fitness: the labels of the first `inputs.n` images (fewer is `E_LABELS`) and their
 * key (SHA-256 of the labels, 16 hex digits), which the reference set's identity and the run's settings record.
 */
export function givenLabels(file: string, inputs: InputBatch): { labels: Int32Array; key: string } {
  return batchLabels(readLabels(file), inputs, file);
}
