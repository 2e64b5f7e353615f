import type { IRNode, Network } from '../ir/types.js';

/**
 * One learned constant tensor: an nn.PReLU's slopes, or an nn.Parameter read as an arithmetic's constant (a layer
 * scale): the node of its first call or read (which counts it in Θ), its length (1, or one per channel) and every
 * call's node, first call first. PyTorch holds one parameter however often the module is called, and its gradient
 * is the sum over the calls'.
 */
export interface SlopeTensor {
  readonly node: number;
  readonly count: number;
  readonly uses: readonly number[];
}

/**
 * A node's constants and `learned` if it is a call of an nn.PReLU (a leaky relu or a prelu act) or an arithmetic
 * by an nn.Parameter.
 */
function slopesOf(n: IRNode): { values: readonly number[]; learned: number; firstCall?: number } | undefined {
  const first = (f: number | undefined) => (f === undefined ? {} : { firstCall: f });
  if (n.op === 'relu' && n.learned !== undefined)
    return { values: [n.slope ?? 0], learned: n.learned, ...first(n.firstCall) };
  if (n.op === 'act' && n.learned !== undefined)
    return { values: n.alphas ?? [n.alpha ?? 1], learned: n.learned, ...first(n.firstCall) };
  return undefined;
}

/**
 * The learned slope tensors of `net`, in node order of their first calls. A later call (`learned` 0) belongs to its
 * `firstCall` (an import's, read off the initializer both calls read), else to the earliest earlier first call of
 * the same slope values; for a leaky relu, whose slopes hold one value, also of the same length where one matches
 * its channels.
 */
export function slopeTensors(net: Network): readonly SlopeTensor[] {
  let known = tensorsOf.get(net);
  if (!known) tensorsOf.set(net, (known = pairCalls(net)));
  return known;
}

/** Each network's slope tensors (networks are immutable data: computed once, as every per-sample term asks). */
const tensorsOf = new WeakMap<Network, readonly SlopeTensor[]>();

function pairCalls(net: Network): SlopeTensor[] {
  const firsts: { node: number; count: number; key: string; uses: number[] }[] = [];
  for (const n of net.nodes) {
    const slopes = slopesOf(n);
    if (!slopes) continue;
    const key = slopes.values.join(',');
    if (slopes.learned > 0) {
      firsts.push({ node: n.id, count: slopes.learned, key, uses: [n.id] });
      continue;
    }
    const same = firsts.filter((f) => f.key === key);
    const channels = n.shape[0];
    const owner = firsts.find((f) => f.node === slopes.firstCall) ?? same.find((f) => f.count === channels) ?? same[0];
    owner?.uses.push(n.id);
  }
  return firsts.map(({ node, count, uses }) => ({ node, count, uses }));
}

/** The length of the slope tensor node `node` calls (undefined where it calls none). */
export function slopeCountAt(net: Network, node: number): number | undefined {
  return slopeTensors(net).find((t) => t.uses.includes(node))?.count;
}
