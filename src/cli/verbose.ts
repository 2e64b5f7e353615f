import type { SkippedBackend } from '../backends/registry.js';

/**
 * Quiet by default: backends skipped by `--backend auto` (e.g. cuda on a machine without a GPU) are reported on
 * stderr only with `--verbose`; the result's settings (`skippedBackends`) record them either way.
 */
export function reportSkipped(skipped: readonly SkippedBackend[], verbose: boolean | undefined): void {
  if (!verbose) return;
  for (const s of skipped) process.stderr.write(`swapnas: backend ${s.name} skipped: ${s.reason}\n`);
}
