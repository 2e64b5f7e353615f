import { isActivation, pathInputs } from './analysis.js';
import type { Network } from './types.js';

/**
 * Statistics of the paths through a network's graph: every path from the input node to the output node, counted
 * with multiplicity (a node reached by k paths passes each of them on along every edge that leaves it). A `zero`
 * node (a dead node: all its edges were `none`) ends every path that reaches it. A path's depth is the number of
 * ReLU nodes on it, the nonlinearities a signal passes: a residual network reads as an ensemble of paths of many
 * depths (Veit et al., NeurIPS 2016), so skips shorten some paths and pools sit on others.
 */
export interface PathStats {
  /** ln of the number of input→output paths. */
  readonly logCount: number;
  /** Mean depth (ReLUs) over all paths. */
  readonly meanDepth: number;
  /** Fewest ReLUs on any path. */
  readonly minDepth: number;
  /** Share of the paths that pass at least one average or max pool (the global pool excluded). */
  readonly poolShare: number;
}

/** ln(Σ exp(xᵢ)) without overflow; −∞ for an empty or all −∞ list. */
function logSumExp(xs: readonly number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m) m = x;
  if (m === Number.NEGATIVE_INFINITY) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/**
 * A statistic rounded to 12 significant digits (and −0 to 0): the sums behind it run in log space, so graphs whose
 * statistic is the same number (depth 12) can differ in the last bits (11.999999999999993); rounded, they tie.
 */
function tidy(v: number): number {
  return Number(v.toPrecision(12)) + 0;
}

/**
 * {@link PathStats} of a network, or `null` when no path reaches the output (a network whose output does not
 * depend on its input). Path counts are kept as logarithms, so stacks of many cells cannot overflow.
 */
export function pathStats(net: Network): PathStats | null {
  const n = net.nodes.length;
  const logCount = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  // ln of the number of paths that pass no pool, the mean depth and the fewest ReLUs of the paths into each node.
  const logPoolFree = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const mean = new Float64Array(n);
  const least = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    const node = net.nodes[i]!;
    if (node.op === 'input') {
      logCount[i] = 0;
      logPoolFree[i] = 0;
      least[i] = 0;
      continue;
    }
    if (node.op === 'zero') continue;
    const live = pathInputs(node).filter((j) => logCount[j]! > Number.NEGATIVE_INFINITY);
    if (live.length === 0) continue;
    const lc = logSumExp(live.map((j) => logCount[j]!));
    logCount[i] = lc;
    let m = 0;
    for (const j of live) m += Math.exp(logCount[j]! - lc) * mean[j]!;
    const step = isActivation(net, node) ? 1 : 0;
    mean[i] = m + step;
    least[i] = Math.min(...live.map((j) => least[j]!)) + step;
    logPoolFree[i] =
      node.op === 'avgpool' || node.op === 'maxpool'
        ? Number.NEGATIVE_INFINITY
        : logSumExp(live.map((j) => logPoolFree[j]!));
  }
  const o = net.output;
  if (logCount[o] === Number.NEGATIVE_INFINITY) return null;
  return {
    logCount: tidy(logCount[o]!),
    meanDepth: tidy(mean[o]!),
    minDepth: least[o]!,
    // 1 − free/all, as −expm1 so that a small share keeps its digits.
    poolShare: tidy(-Math.expm1(logPoolFree[o]! - logCount[o]!)),
  };
}
