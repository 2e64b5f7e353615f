/**
 * The `--proxies` options of `score` and `correlate`, apart from the proxy runs they configure (src/cli/proxies.ts):
 * the commands register them on every call, and load the proxies only when a run asks for them.
 */
import type { Command } from 'commander';

/** Flags of the proxy options (commander's camel-cased values). */
export interface ProxyFlags {
  proxies?: string;
  proxyProtocol?: string;
  labels?: string;
  proxyBatch?: string;
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
  inputShape?: string;
  threads?: string;
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
    .option('--labels <file>', 'class labels of the input images: one integer per line, or a .npy integer array');
}
