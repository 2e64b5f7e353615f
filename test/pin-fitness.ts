/**
 * Tests that check something other than the fitness pin the single-proxy fitness: the default ensemble costs about
 * 1.6 times SWAP's CPU per network, and with non-default (small, fast) settings its reference set would be scored on
 * every run (256 networks), which those tests have no use for. Tests of the default itself (test/fitness-default.test.ts,
 * the golden "defaults" cases) do not pin.
 */

/** The CLI commands that take `--fitness`. */
const WITH_FITNESS = new Set(['score', 'search', 'correlate']);

/** `args` (a CLI call) with `--fitness reg-swap` added when it runs score, search or correlate without `--fitness`. */
export function pinRegSwap(args: readonly string[]): string[] {
  if (!WITH_FITNESS.has(args[0] ?? '') || args.includes('--fitness') || args.includes('--help')) return [...args];
  return [args[0]!, '--fitness', 'reg-swap', ...args.slice(1)];
}
