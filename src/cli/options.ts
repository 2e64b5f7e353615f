import type { Command } from 'commander';
import { defaultProviders } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import { loadInputs, type InputChoice } from '../request/inputs.js';
import type { ScoringOptions } from '../request/types.js';
import { spaceNames } from '../catalog/registry.js';
import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';
import { int, num, seedArg } from './parse.js';

/**
 * The CLI option groups shared by `score`, `search`, `correlate` and `export`, declared once, and the parsing of
 * their string values into library {@link ScoringOptions}. Commands add their own options next to these.
 */

/** `--space`, `--dataset`. */
export function addSpaceOptions(cmd: Command, datasetHelp: string): Command {
  return cmd
    .option('--space <name>', `search space: ${spaceNames().join(' | ')}`, 'nb201')
    .option('--dataset <name>', datasetHelp);
}

/** `--channels`, `--cells`, `--input-size` (+ `--no-prune`, `--classes` where the command has them). */
export function addNetworkOptions(cmd: Command, o: { prune?: boolean; classes?: boolean } = {}): Command {
  cmd
    .option(
      '--network <kind>',
      'proxy network kind where a space builds several (darts: cifar = stem + 5 cells, the default; pair = the two cells side by side on the image; proxy = the official single reduction cell)',
    )
    .option('--channels <C>', "proxy network channels (default: the space's proxy, NB201 8)")
    .option('--cells <N>', "cells (per stage) (default: the space's proxy, NB201 3)");
  if (o.classes) cmd.option('--classes <n>', "classifier outputs (only changes Θ; default: the dataset's)");
  cmd.option(
    '--input-size <px>',
    "input height/width (default: the dataset's, e.g. 224 for darts imagenet; CIFAR images are resized to it)",
  );
  if (o.prune) cmd.option('--no-prune', 'keep dead cell edges (the official code hooks them too)');
  return cmd;
}

/** `--batch`, `--repeats`. */
export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .option('--batch <S>', "samples per batch (default: the space's proxy, NB201 16)")
    .option('--repeats <R>', "weight re-initialisations averaged (default: the space's proxy, NB201 8)");
}

/** The input-batch flags of `score` and `search`. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .option('--images <file>', 'CIFAR binary file for the input batch')
    .option('--image-dir <dir>', 'folder of PNG/JPEG images (first S by name), resized to the input size')
    .option('--norm <name>', 'normalisation for --images: cifar10 | cifar100', 'cifar10')
    .option('--npy <file>', 'float32 (or float64, rounded) NCHW .npy input batch ((N, F) for a flat model)')
    .option('--gaussian', 'seeded N(0,1) input batch')
    .option('--gaussian-seed <k>', 'seed of the Gaussian batch', '0');
}

/** `--mu`, `--sigma` (+ `--target-params` where the command has it). */
export function addRegOptions(cmd: Command, o: { targetParams?: boolean } = {}): Command {
  if (o.targetParams) cmd.option('--target-params <K>', 'reg-SWAP μ = σ = K (thousands of proxy-network parameters)');
  return cmd
    .option('--mu <K>', 'reg-SWAP μ, thousands of parameters (default: data-free rule)')
    .option('--sigma <K2>', 'reg-SWAP σ, divides (Θ-μ)² directly (default: data-free rule)');
}

/** The backend names the registry knows, for help texts. */
export function backendHelp(): string {
  return ['auto', ...defaultProviders().map((p) => p.name)].join(' | ');
}

/** `--backend` (every backend of the registry listed) and `--threads`. */
export function addBackendOptions(cmd: Command): Command {
  return cmd
    .option('--backend <name>', `${backendHelp()} (see \`swapnas backends\`)`, 'auto')
    .option('--threads <n>', 'worker threads (default: all cores)');
}

/** Commander's values of the shared groups (all strings, as typed). */
export interface ScoringFlags {
  space?: string;
  dataset?: string;
  seed?: string;
  network?: string;
  channels?: string;
  cells?: string;
  classes?: string;
  inputSize?: string;
  prune?: boolean;
  official?: boolean;
  reg?: boolean;
  batch?: string;
  repeats?: string;
  images?: string;
  imageDir?: string;
  norm?: string;
  npy?: string;
  gaussian?: boolean;
  gaussianSeed?: string;
  mu?: string;
  sigma?: string;
  targetParams?: string;
  backend?: string;
}

/** The input choice of `--images/--image-dir/--npy/--gaussian` (at most one). */
export function inputChoiceFromFlags(f: ScoringFlags): InputChoice {
  const chosen = [f.images, f.imageDir, f.npy, f.gaussian ? 'g' : undefined].filter((x) => x !== undefined);
  if (chosen.length > 1)
    throw new SwapError(
      'E_OPTION',
      f.imageDir !== undefined
        ? 'choose at most one of --images, --image-dir, --npy, --gaussian'
        : 'choose at most one of --images, --npy, --gaussian',
    );
  if (f.imageDir !== undefined) return { kind: 'image-dir', dir: f.imageDir };
  if (f.gaussian) return { kind: 'gaussian', seed: seedArg('--gaussian-seed', f.gaussianSeed ?? '0') };
  if (f.npy) return { kind: 'npy', file: f.npy };
  if (f.norm !== undefined && f.norm !== 'cifar10' && f.norm !== 'cifar100')
    throw new SwapError('E_OPTION', `--norm must be cifar10 or cifar100, got ${quote(f.norm)}`);
  if (f.images) return { kind: 'cifar-file', file: f.images, norm: f.norm === 'cifar100' ? 'cifar100' : 'cifar10' };
  return { kind: 'cifar10' };
}

/** Parse the shared groups' flags into library options (unset flags stay unset: the resolver fills defaults). */
export function scoringOptionsFromFlags(f: ScoringFlags): ScoringOptions {
  const opt = <T>(text: string | undefined, parse: (t: string) => T): T | undefined =>
    text === undefined ? undefined : parse(text);
  const o: Record<string, unknown> = {
    space: f.space,
    target: f.dataset,
    official: f.official,
    network: f.network,
    channels: opt(f.channels, (t) => int('--channels', t, 1)),
    cells: opt(f.cells, (t) => int('--cells', t, 1)),
    classes: opt(f.classes, (t) => int('--classes', t, 1)),
    inputSize: opt(f.inputSize, (t) => int('--input-size', t, 4)),
    prune: f.prune,
    batch: opt(f.batch, (t) => int('--batch', t, 1)),
    repeats: opt(f.repeats, (t) => int('--repeats', t, 1)),
    seed: opt(f.seed, (t) => seedArg('--seed', t)),
    inputs: inputChoiceFromFlags(f),
    mu: opt(f.mu, (t) => num('--mu', t)),
    sigma: opt(f.sigma, (t) => num('--sigma', t)),
    targetParams: opt(f.targetParams, (t) => num('--target-params', t)),
    reg: f.reg,
    backend: f.backend as BackendName | 'auto' | undefined,
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ScoringOptions;
}

/** The input-batch flags alone (what `addInputOptions` declares, plus `--batch` and `--input-size`). */
export type InputFlags = Pick<
  ScoringFlags,
  'images' | 'imageDir' | 'npy' | 'gaussian' | 'gaussianSeed' | 'norm' | 'batch' | 'inputSize'
>;

/** The input batch the flags name: `want` samples at `size` (CIFAR images resized to `resizeTo` when set). */
export function inputsFromFlagsAsync(f: InputFlags, size: number, want: number, resizeTo?: number) {
  return loadInputs(inputChoiceFromFlags(f), size, want, resizeTo);
}
