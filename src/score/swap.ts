import type { Backend, BackendName, CountRequest, ProgressFn } from '../backends/types.js';
import { BackendRegistry, type SkippedBackend } from '../backends/registry.js';
import { takeSamples, type InputBatch } from '../data/batch.js';
import { defaultBatch } from '../data/cifar.js';
import { recordedValues } from '../ir/analysis.js';
import type { Network } from '../ir/types.js';
import { repeatSeed } from '../init/prng.js';
import { checkInt, checkSeed } from '../util/checks.js';
import { SwapError } from '../util/errors.js';
import { checkRegulariser, regFactor, type Regulariser } from '../proxies/regularise.js';
import { batchWarnings, scoreWarnings } from './degenerate.js';
import { measureProxies } from '../proxies/engine.js';
import { paramsProxy } from '../proxies/builtin/params.js';
import { regSwapProxy } from '../proxies/builtin/reg-swap.js';
import { swapProxy } from '../proxies/builtin/swap.js';

/** Options of a scoring run. Defaults follow the official protocol (S=16, R=32). */
export interface ScoreOptions {
  /** Samples S taken from the input batch (default: 16, or all of a smaller batch). */
  readonly batch?: number;
  /** Weight re-initialisations R averaged into Ψ (default 32). */
  readonly repeats?: number;
  /** User seed; repeat r uses `repeatSeed(seed, r)` (default 0). */
  readonly seed?: number;
  /** A ready regulariser (e.g. from `dataFreeRegulariser`); alternative to `mu`/`sigma`. */
  readonly regulariser?: Regulariser;
  /** reg-SWAP μ (K params) and σ (K²); both or neither. Without them reg-SWAP equals Ψ (factor 1). */
  readonly mu?: number;
  readonly sigma?: number;
  /** Input batch (default: the embedded CIFAR-10 test images). */
  readonly inputs?: InputBatch;
  readonly backend?: BackendName | 'auto';
  readonly registry?: BackendRegistry;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressFn;
}

/** Score of one network. */
export interface NetworkScore {
  /** Ψ: mean distinct-pattern count over the repeats. */
  readonly swap: number;
  /** Ψ of each repeat (integers). */
  readonly perRepeat: readonly number[];
  /** Θ, absolute trainable parameter count. */
  readonly params: number;
  /** f(Θ) (1 when no regulariser). */
  readonly regFactor: number;
  /** Ψ · f(Θ). */
  readonly regSwap: number;
  /** V: recorded activation values per sample (Ψ ≤ min(V, 2^S)). */
  readonly recorded: number;
}

/** Settings actually used, so a result can be reproduced. */
export interface ScoreSettings {
  readonly batch: number;
  readonly repeats: number;
  readonly seed: number;
  readonly inputs: string;
  readonly backend: BackendName;
  readonly skippedBackends: readonly SkippedBackend[];
  readonly regulariser: Regulariser | null;
}

export interface ScoreRun {
  readonly scores: NetworkScore[];
  readonly settings: ScoreSettings;
  /** Degenerate inputs that make the scores meaningless (e.g. a constant batch: Ψ = 1 everywhere); see `score/degenerate`. */
  readonly warnings: readonly string[];
}

/** Resolve and validate options (shared by `scoreNetworks` and long-running callers that score in chunks). */
export function resolveScoreOptions(opts: ScoreOptions): {
  inputs: InputBatch;
  repeats: number;
  seed: number;
  reg: Regulariser | undefined;
} {
  if (opts.regulariser && (opts.mu !== undefined || opts.sigma !== undefined))
    throw new SwapError('E_OPTION', 'give either regulariser or mu/sigma, not both');
  const base = opts.inputs ?? defaultBatch(16);
  const S = checkInt('batch', opts.batch ?? Math.min(16, base.n), 1);
  const inputs = takeSamples(base, S);
  const repeats = checkInt('repeats', opts.repeats ?? 32, 1);
  const seed = checkSeed('seed', opts.seed ?? 0);
  return { inputs, repeats, seed, reg: opts.regulariser ?? checkRegulariser(opts.mu, opts.sigma) };
}

/** Check that every network takes the batch's per-sample shape. */
export function checkInputsFit(networks: readonly Network[], inputs: InputBatch): void {
  for (const net of networks) {
    const s = net.nodes[0]!.shape;
    if (s.length !== 3 || s[0] !== inputs.c || s[1] !== inputs.h || s[2] !== inputs.w) {
      throw new SwapError(
        'E_INPUT_SHAPE',
        `network ${net.meta?.['arch'] ?? ''} expects ${s.join('x')} inputs, batch ${inputs.source} is ${inputs.c}x${inputs.h}x${inputs.w}`,
      );
    }
    if (recordedValues(net) === 0)
      throw new SwapError(
        'E_IR_SHAPE',
        `network ${net.meta?.['arch'] ?? ''} has no ReLU on a 4-D tensor: SWAP is undefined`,
      );
  }
}

/**
 * SWAP-Score and reg-SWAP of many networks in one coarse backend call (every network × every repeat).
 */
export async function scoreNetworks(networks: readonly Network[], opts: ScoreOptions = {}): Promise<ScoreRun> {
  const { inputs, repeats, seed, reg } = resolveScoreOptions(opts);
  checkInputsFit(networks, inputs);
  const registry = opts.registry ?? new BackendRegistry();
  const { backend, skipped } = await registry.choose(opts.backend ?? 'auto');
  try {
    const scores = await scoreWithBackend(networks, backend, {
      inputs,
      seeds: Array.from({ length: repeats }, (_, r) => repeatSeed(seed, r)),
      regulariser: reg,
      registry,
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    return {
      scores,
      warnings: [...batchWarnings(inputs), ...scoreWarnings(scores)],
      settings: {
        batch: inputs.n,
        repeats,
        seed,
        inputs: inputs.source,
        backend: backend.name,
        skippedBackends: skipped,
        regulariser: reg ?? null,
      },
    };
  } finally {
    await backend.close?.();
  }
}

/** The proxies behind a {@link NetworkScore}. */
const SCORE_PROXIES = [swapProxy, regSwapProxy, paramsProxy];

/**
 * {@link NetworkScore}s of networks on an open backend (one engine pass for SWAP, reg-SWAP and Θ): the chunk
 * step of long-running callers that keep one backend for many calls.
 */
export async function scoreWithBackend(
  networks: readonly Network[],
  backend: Backend,
  opts: Omit<CountRequest, 'networks'> & { regulariser: Regulariser | undefined; registry?: BackendRegistry },
): Promise<NetworkScore[]> {
  const { regulariser, registry, ...req } = opts;
  const run = await measureProxies(networks, SCORE_PROXIES, {
    ...req,
    backend,
    ...(registry ? { registry } : {}),
    context: { regulariser },
  });
  return networks.map((net, i) => {
    const params = run.values['params']![i]!;
    return {
      swap: run.values['swap']![i]!,
      perRepeat: run.measured['relu-patterns']![i]!,
      params,
      regFactor: regulariser ? regFactor(params / 1000, regulariser.mu, regulariser.sigma) : 1,
      regSwap: run.values['reg-swap']![i]!,
      recorded: recordedValues(net),
    };
  });
}
