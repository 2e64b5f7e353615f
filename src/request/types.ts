import type { BackendName } from '../backends/types.js';
import type { Regulariser } from '../proxies/regularise.js';
import type { InputChoice } from './inputs.js';

/**
 * What a caller may say about a scoring run: every field optional. {@link resolveScoringRequest} is the only place
 * where these meet the space's defaults, the target's network options and `official`.
 */
export interface ScoringOptions {
  /** Registered space name (default `nb201`). */
  readonly space?: string;
  /** Dataset or task of the space (default: its first target). */
  readonly target?: string;
  /** The space paper's scoring protocol (proxy settings and builder options); explicit options still win. */
  readonly official?: boolean;
  /**
   * Proxy-network kind, for spaces that build several (DARTS: `cifar` default, `pair`, `proxy`, `imagenet`); its own
   * channels/cells defaults apply unless given.
   */
  readonly network?: string;
  readonly channels?: number;
  readonly cells?: number;
  /** Classifier outputs (only changes Θ; default: the target's). */
  readonly classes?: number;
  /** Drop dead cell edges where the space supports it (default true; `official` never prunes). */
  readonly prune?: boolean;
  /** Input height = width (default: the proxy's, else the target's). */
  readonly inputSize?: number;
  /** Samples S. */
  readonly batch?: number;
  /** Weight initialisations R. */
  readonly repeats?: number;
  /** User seed: repeat r uses `repeatSeed(seed, r)` (default 0). */
  readonly seed?: number;
  /** Input batch (default: the embedded CIFAR-10 images). */
  readonly inputs?: InputChoice;
  /** reg-SWAP μ (K params) and σ (K²): both or neither. */
  readonly mu?: number;
  readonly sigma?: number;
  /** μ = σ = K (the paper's μ=σ variants); exclusive with mu/sigma. */
  readonly targetParams?: number;
  /** false: no data-free regulariser when no μ/σ is given (reg-SWAP = Ψ). Default true. */
  readonly reg?: boolean;
  readonly backend?: BackendName | 'auto';
}

/**
 * A validated, fully explicit scoring request (the options baton): plain JSON data, the same for score, search,
 * export, correlate, the server and queue workers, hashable with {@link requestKey}.
 */
export interface ScoringRequest {
  readonly space: string;
  readonly target: string;
  readonly official: boolean;
  /** Every builder option of the scored (proxy) network, `inputSize` included. */
  readonly network: Readonly<Record<string, unknown>>;
  readonly batch: number;
  readonly repeats: number;
  readonly seed: number;
  /** Where the input batch came from (the batch's `source`). */
  readonly inputs: string;
  /** reg-SWAP μ/σ and how they were chosen; null: reg-SWAP = Ψ. */
  readonly regulariser: Regulariser | null;
  /** The backend asked for (`auto` or a name); results record the one that ran. */
  readonly backend: BackendName | 'auto';
}
