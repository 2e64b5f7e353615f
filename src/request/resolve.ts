import { createHash } from 'node:crypto';
import { takeSamples, type InputBatch } from '../data/batch.js';
import { checkRegulariser, type Regulariser } from '../proxies/regularise.js';
import { dataFreeRegulariser } from '../score/auto-reg.js';
import { checkTarget, spaceEntry, type ProxyDefaults, type SpaceEntry } from '../catalog/registry.js';
import { SwapError } from '../util/errors.js';
import { canonicalJson } from '../util/json.js';
import { checkInt, checkSeed } from '../util/checks.js';
import { inputLabels, inputsKey, loadInputs } from './inputs.js';
import type { ScoringOptions, ScoringRequest } from './types.js';

/**
 * What a caller keeps between resolutions, by the key of what the value depends on (`make` computes it on a
 * miss): input batches (the warm server) and data-free μ/σ (the warm server, and the disk cache of CLI calls).
 */
export interface ResolveMemo {
  inputs?(key: string, make: () => Promise<InputBatch>): Promise<InputBatch>;
  regulariser?(key: string, make: () => Regulariser): Regulariser;
}

/** A resolved request and the input batch it names (the batch is loaded once, here). */
export interface ResolvedScoring {
  readonly request: ScoringRequest;
  readonly inputs: InputBatch;
  /** Class labels of `inputs` where their source carries them (embedded CIFAR-10 images, CIFAR binary files). */
  readonly labels?: Int32Array;
}

/** The space's proxy settings for a run: its paper's protocol with `official`, else its studied defaults. */
export function proxyBase(entry: SpaceEntry<unknown>, official: boolean): ProxyDefaults {
  if (!official) return entry.proxyDefaults;
  if (!entry.official)
    throw new SwapError(
      'E_OPTION',
      `${entry.space.name} has no official SWAP protocol (the paper released no code for it); its defaults come from this package's ranking study`,
    );
  return entry.official.proxy;
}

/**
 * Builder options of the scored network: the target's options, the official protocol's, then explicit channels,
 * cells, classes and pruning (`official` never prunes; spaces without pruning ignore it). `inputSize` is set by
 * the caller once the batch is known.
 */
export function resolveNetwork(
  entry: SpaceEntry<unknown>,
  target: string,
  o: Pick<ScoringOptions, 'official' | 'network' | 'channels' | 'cells' | 'classes' | 'prune'>,
): Record<string, unknown> {
  const kind = o.network !== undefined ? networkKind(entry, o.network) : undefined;
  const base = kind ?? proxyBase(entry, Boolean(o.official));
  return {
    ...entry.networkFor(target),
    ...(o.official ? entry.official!.network : {}),
    ...(o.network !== undefined ? { kind: o.network } : {}),
    channels: o.channels !== undefined ? checkInt('channels', o.channels, 1) : base.channels,
    cells: o.cells !== undefined ? checkInt('cells', o.cells, 1) : base.cells,
    ...(o.classes !== undefined ? { classes: checkInt('classes', o.classes, 1) } : {}),
    prune: o.official ? false : (o.prune ?? true) && entry.proxyDefaults.prune,
  };
}

/** The channels/cells defaults of a proxy-network kind the space offers (`E_OPTION` for any other). */
function networkKind(entry: SpaceEntry<unknown>, kind: string): { channels: number; cells: number } {
  const kinds = entry.networkKinds ?? {};
  const k = Object.hasOwn(kinds, kind) ? kinds[kind] : undefined;
  if (!k)
    throw new SwapError(
      'E_OPTION',
      Object.keys(kinds).length === 0
        ? `${entry.space.name} builds one proxy network kind; drop --network`
        : `${entry.space.name} network kind must be one of ${Object.keys(kinds).join(', ')}, got ${JSON.stringify(kind.slice(0, 40))}`,
    );
  return k;
}

/** The input size a run scores at when none is given: the proxy's, else the target network's (else none). */
export function defaultInputSize(entry: SpaceEntry<unknown>, target: string, official: boolean): number | undefined {
  return proxyBase(entry, official).inputSize ?? (entry.networkFor(target)['inputSize'] as number | undefined);
}

/**
 * μ/σ of reg-SWAP: explicit `mu`/`sigma`; else `targetParams` K → μ = σ = K; else, unless `reg` is false, the
 * data-free rule over the space's own networks (`dataFree`); else none.
 */
export function resolveRegulariser(
  o: Pick<ScoringOptions, 'mu' | 'sigma' | 'targetParams' | 'reg'>,
  dataFree: () => Regulariser,
): Regulariser | null {
  const user = checkRegulariser(o.mu, o.sigma);
  if (user && o.targetParams !== undefined)
    throw new SwapError('E_OPTION', 'give either --target-params or --mu/--sigma, not both');
  if (user) return user;
  if (o.targetParams !== undefined) {
    const k = o.targetParams;
    if (!Number.isFinite(k) || k <= 0)
      throw new SwapError('E_OPTION', `target params must be a positive number of K parameters, got ${k}`);
    return { mu: k, sigma: k, source: 'target-params (μ=σ=K)' };
  }
  return o.reg === false ? null : dataFree();
}

/** The part of a request that needs no input batch: checked space and target, network options, S, R, seed. */
export interface ResolvedSetting {
  readonly entry: SpaceEntry<unknown>;
  readonly target: string;
  readonly official: boolean;
  /** Builder options of the scored network, without `inputSize` (set once the batch is known). */
  readonly network: Record<string, unknown>;
  readonly batch: number;
  readonly repeats: number;
  readonly seed: number;
  /** The input size asked for or the space's default for the target; undefined: the batch's own. */
  readonly inputSize: number | undefined;
}

/**
 * The batch-free part of {@link resolveScoringRequest}: space and target checked, the space's (or its official)
 * proxy defaults filled in and every number validated. Commands that load their inputs another way (correlate's
 * image sources) and pre-flight checks (the memory guard) use it so that the merge has one definition.
 */
export function resolveSetting(o: ScoringOptions = {}): ResolvedSetting {
  const entry = spaceEntry(o.space ?? 'nb201');
  const target = checkTarget(entry, o.target ?? entry.targets[0]!);
  const official = Boolean(o.official);
  const base = proxyBase(entry, official);
  return {
    entry,
    target,
    official,
    network: resolveNetwork(entry, target, o),
    batch: checkInt('batch', o.batch ?? base.batch, 1),
    repeats: checkInt('repeats', o.repeats ?? base.repeats, 1),
    seed: checkSeed('seed', o.seed ?? 0),
    inputSize:
      o.inputSize !== undefined ? checkInt('input size', o.inputSize, 4) : defaultInputSize(entry, target, official),
  };
}

/**
 * Turn scoring options into one explicit request: {@link resolveSetting}, then the input batch loaded (S samples
 * at the network's input size; a generated one over `limits.maxInputBytes` is refused) and μ/σ fixed (the
 * data-free rule runs here, once). With `memo`, batches and data-free μ/σ are reused across calls (either one).
 */
export async function resolveScoringRequest(
  o: ScoringOptions = {},
  limits: { readonly maxInputBytes?: number } = {},
  memo?: ResolveMemo,
): Promise<ResolvedScoring> {
  const s = resolveSetting(o);
  const choice = o.inputs ?? { kind: 'cifar10' };
  const wanted = s.inputSize;
  const load = () => loadInputs(choice, wanted ?? 32, s.batch, wanted, limits.maxInputBytes);
  const key = memo?.inputs && inputsKey(choice, wanted ?? 32, s.batch, wanted);
  const inputs = takeSamples(await (key ? memo.inputs!(key, load) : load()), s.batch);
  const memoReg = memo?.regulariser?.bind(memo);
  // A batch of other than 3 channels (a .npy) builds networks with as many input channels.
  const full = { ...s.network, inputSize: inputs.h, ...(inputs.c !== 3 ? { inputChannels: inputs.c } : {}) };
  const dataFree = () => dataFreeRegulariser(s.entry.space, full);
  const regulariser = resolveRegulariser(
    o,
    memoReg ? () => memoReg(canonicalJson([s.entry.space.name, full]), dataFree) : dataFree,
  );
  const request: ScoringRequest = {
    space: s.entry.space.name,
    target: s.target,
    official: s.official,
    network: full,
    batch: s.batch,
    repeats: s.repeats,
    seed: s.seed,
    inputs: inputs.source,
    regulariser,
    backend: o.backend ?? 'auto',
  };
  const labels = inputLabels(choice, inputs.n);
  return { request, inputs, ...(labels ? { labels } : {}) };
}

/** A stable key of a request (sha-256 of its canonical JSON, 16 hex digits): equal requests, equal keys. */
export function requestKey(r: ScoringRequest): string {
  return createHash('sha256').update(canonicalJson(r)).digest('hex').slice(0, 16);
}
