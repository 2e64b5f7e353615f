import type { SkippedBackend } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import type { Regulariser } from '../proxies/regularise.js';
import type { ScoringRequest } from './types.js';

/** The `settings` block of score results (`score --format json`, the server, queued runs): one shape everywhere. */
export interface ScoreSettingsBlock {
  readonly batch: number;
  readonly repeats: number;
  readonly seed: number;
  readonly inputs: string;
  readonly backend: BackendName;
  readonly skippedBackends: readonly SkippedBackend[];
  readonly regulariser: Regulariser | null;
  readonly network: Readonly<Record<string, unknown>>;
}

/** The settings block of a resolved request scored on `backend` (the backends skipped on the way, and why). */
export function settingsBlock(
  request: ScoringRequest,
  backend: BackendName,
  skipped: readonly SkippedBackend[],
): ScoreSettingsBlock {
  return {
    batch: request.batch,
    repeats: request.repeats,
    seed: request.seed,
    inputs: request.inputs,
    backend,
    skippedBackends: skipped,
    regulariser: request.regulariser,
    network: { space: request.space, ...request.network },
  };
}
