/**
 * The `--proxies` options of `score` and `correlate`, apart from the proxy runs they configure (src/cli/proxies.ts):
 * the commands register them on every call, and load the proxies only when a run asks for them.
 */
import type { Command } from 'commander';
import { SwapError } from '../util/errors.js';

/** Flags of the proxy options (commander's camel-cased values). */
export interface ProxyFlags {
  proxies?: string;
  proxyProtocol?: string;
  labels?: string;
  proxyBatch?: string;
  /** SWAP's batch S: the batch of every proxy under `--proxy-protocol swap`. */
  batch?: string;
  /** Per-channel normalisation of an image folder (`--images DIR`, `--image-dir`). */
  mean?: string;
  std?: string;
  /** An ONNX model's size limit in MiB. */
  maxModelSize?: string;
  backend?: string;
  seed?: string;
  format?: string;
  images?: string;
  imageDir?: string;
  npy?: string;
  input?: string;
  gaussian?: boolean;
  gaussianSeed?: string;
  norm?: string;
  reinit?: boolean;
  /** float32 | float64 | auto: the native engine's gradient passes. */
  precision?: string;
  inputShape?: string;
  threads?: string;
  /** An ONNX model's nn.Parameters among its arithmetic constants (a regular expression over their names). */
  learned?: string;
}

/** Add the proxy options to a command. */
export function addProxyOptions(cmd: Command): Command {
  return cmd
    .option(
      '--proxies <list>',
      'zero-cost proxies to compute instead of SWAP: comma-separated names or "all" (grad_norm, snip, synflow, jacov, zico, meco, zen, az_*, vkdnw, …)',
    )
    .option(
      '--proxy-protocol <p>',
      "official (each proxy's own batch, init, inputs) | swap (SWAP's inputs and weights)",
      'official',
    )
    .option('--proxy-batch <n>', "samples per batch for every proxy (default: each proxy's official batch; swap: S)")
    .option('--labels <file>', 'class labels of the input images: one integer per line, or a .npy integer array')
    .option(
      '--precision <p>',
      "the native engine's gradient passes (saliencies, grasp, jacov / epe_nas, zico, synflow): float32 (fastest) | float64 (the float64 reference's values; 1.1-3x the time on models, 5-6x on NB201's networks) | auto: float64 for an ONNX model, float32 for a space's networks",
      'auto',
    );
}

/**
 * Refuse, with `--proxies`, the `flags` of this command that set SWAP's scoring (given on the command line): the
 * proxies run their own protocols (each proxy's settings name its batch, init and BN mode), so such a flag would
 * be silently ignored. `--batch` is SWAP's batch S, which only `--proxy-protocol swap` reads.
 */
export function refuseSwapOnlyFlags(cmd: Command, f: ProxyFlags, flags: readonly string[]): void {
  if (f.proxies === undefined) {
    for (const [flag, key] of [
      ['--proxy-protocol', 'proxyProtocol'],
      ['--proxy-batch', 'proxyBatch'],
      ['--precision', 'precision'],
    ])
      if (cmd.getOptionValueSource(key!) === 'cli') throw new SwapError('E_OPTION', `${flag} applies with --proxies`);
    return;
  }
  for (const o of cmd.options) {
    const flag = o.long;
    if (flag && flags.includes(flag) && cmd.getOptionValueSource(o.attributeName()) === 'cli')
      refuseSwapOnly(flag, f.proxyProtocol === 'swap');
  }
}

/** The refusal of one SWAP-only `flag` given with `--proxies` (none for `--batch` under the SWAP protocol). */
export function refuseSwapOnly(flag: string, swapProtocol: boolean): void {
  if (flag === '--batch' && swapProtocol) return;
  throw new SwapError(
    'E_OPTION',
    flag === '--batch'
      ? "--batch is SWAP's batch: with --proxies give --proxy-batch (under --proxy-protocol swap, --batch sets S as for SWAP)"
      : `${flag} applies to SWAP scoring (and what is reported beside it), which --proxies does not run (each proxy follows its protocol, named in the result's settings): drop ${flag}`,
  );
}
