/**
 * A study measurement as a resolved scoring request (src/request/): what `correlate --redis` queues, so that its
 * jobs carry the same request a `score` job does and their results are keyed by its {@link requestKey}.
 */
import type { InputBatch } from '../data/batch.js';
import type { ScoringRequest } from '../request/types.js';
import { measureInputs, measureNetwork, type ProxySetting } from './measure.js';

/** Where a measurement request comes from: the space, the table target, the setting and the builder options. */
export interface MeasureRequestOptions {
  readonly space: string;
  readonly target: string;
  readonly official: boolean;
  readonly setting: ProxySetting;
  /** Builder options besides channels/cells/prune (the target's, a network kind). */
  readonly network?: Readonly<Record<string, unknown>>;
  readonly backend: ScoringRequest['backend'];
}

/**
 * The request a setting's measurements stand for, and its input batch (the one a local `measure` loads). μ/σ are
 * not part of it (null): measurements do not depend on them, the producer applies them.
 */
export function measureRequest(o: MeasureRequestOptions): { request: ScoringRequest; inputs: InputBatch } {
  const inputs = measureInputs(o.setting, o.network);
  const request: ScoringRequest = {
    space: o.space,
    target: o.target,
    official: o.official,
    network: measureNetwork(o.setting, o.network, inputs.h),
    batch: o.setting.batch,
    repeats: o.setting.repeats,
    seed: o.setting.seed,
    inputs: inputs.source,
    regulariser: null,
    backend: o.backend,
  };
  return { request, inputs };
}
