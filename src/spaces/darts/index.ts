import type { SearchSpace } from '../types.js';
import {
  DARTS_OPS,
  crossoverDarts,
  formatDarts,
  makeDartsGenotype,
  mutateDarts,
  parseDarts,
  sampleDarts,
  type DartsCell,
  type DartsEdge,
  type DartsGenotype,
} from './genotype.js';
import { DARTS_PROXY_NETWORK, buildDartsNetwork, type DartsNetworkOptions } from './network.js';

export * from './genotype.js';
export * from './network.js';
export * from './known.js';

/** All 24 orders of the intermediate nodes 2–5 (`perm[i]` = new label of node 2 + i). */
const NODE_PERMS: readonly (readonly number[])[] = (() => {
  const out: number[][] = [];
  const rec = (prefix: number[], rest: number[]) => {
    if (rest.length === 0) out.push(prefix);
    rest.forEach((x, i) => rec([...prefix, x], [...rest.slice(0, i), ...rest.slice(i + 1)]));
  };
  rec([], [2, 3, 4, 5]);
  return out;
})();

interface CanonicalCell {
  readonly edges: DartsEdge[];
  readonly concat: number[];
  readonly key: string;
}

const edgeKey = ([op, src]: DartsEdge) => `${src}${DARTS_OPS.indexOf(op)}`;

/** Smallest relabelled form of one cell over the node orders that keep every edge pointing to an earlier node. */
function canonicalCell(cell: DartsCell, concat: readonly number[]): CanonicalCell {
  let best: CanonicalCell | undefined;
  for (const perm of NODE_PERMS) {
    const label = (n: number) => (n < 2 ? n : perm[n - 2]!);
    const nodes: DartsEdge[][] = [];
    let valid = true;
    for (let k = 0; k < 8 && valid; k += 2) {
      const to = label(2 + k / 2);
      const pair = [cell[k]!, cell[k + 1]!].map(([op, src]) => [op, label(src)] as DartsEdge);
      if (pair.some(([, src]) => src >= to)) valid = false;
      nodes[to - 2] = pair.sort((a, b) => (edgeKey(a) < edgeKey(b) ? -1 : edgeKey(a) > edgeKey(b) ? 1 : 0));
    }
    if (!valid) continue;
    const edges = nodes.flat();
    const cc = concat.map(label).sort((a, b) => a - b);
    const key = `${edges.map(edgeKey).join('')}/${cc.join('')}`;
    if (!best || key < best.key) best = { edges, concat: cc, key };
  }
  return best!;
}

/**
 * The canonical representative of `g`'s class (see {@link dartsCanonicalKey}): per cell, the relabelling of nodes 2–5
 * with the smallest edge list, each node's two edges sorted by (source, op), and the concat list sorted.
 */
export function canonicalDarts(g: DartsGenotype): DartsGenotype {
  const n = canonicalCell(g.normal, g.normalConcat);
  const r = canonicalCell(g.reduce, g.reduceConcat);
  return makeDartsGenotype(n.edges, r.edges, n.concat, r.concat);
}

/**
 * Equal for genotypes whose normal and reduce cells are the same graph up to (a) the order of the two edges of a
 * node (their sum commutes), (b) a relabelling of the intermediate nodes 2–5 under which every edge still comes
 * from an earlier node, and (c) the order of the concat list. Such networks compute the same function up to a
 * permutation of channel blocks in each cell output, so with i.i.d. random weights they are equal in distribution
 * (same expected SWAP score and the same parameter count); for one fixed weight draw the scores may differ. The
 * key is the genotype text of {@link canonicalDarts}.
 */
export function dartsCanonicalKey(g: DartsGenotype): string {
  return formatDarts(canonicalDarts(g));
}

/** Length of {@link encodeDarts}: 16 edges × (8 op + 5 source one-hots) + 2 × 4 concat flags. */
export const DARTS_ENCODING_LENGTH = 16 * (DARTS_OPS.length + 5) + 8;

/**
 * Fixed-length features of the canonical form: for each of the 16 edges (normal then reduce, node by node), a
 * one-hot of the op over {@link DARTS_OPS} and a one-hot of the source node 0–4; then membership of nodes 2–5 in
 * the normal and reduce concat lists. Genotypes with equal {@link dartsCanonicalKey} have equal encodings.
 */
export function encodeDarts(g: DartsGenotype): number[] {
  const c = canonicalDarts(g);
  const out: number[] = [];
  for (const [op, src] of [...c.normal, ...c.reduce]) {
    for (const o of DARTS_OPS) out.push(o === op ? 1 : 0);
    for (let s = 0; s < 5; s++) out.push(s === src ? 1 : 0);
  }
  for (const concat of [c.normalConcat, c.reduceConcat])
    for (let i = 2; i <= 5; i++) out.push(concat.includes(i) ? 1 : 0);
  return out;
}

/**
 * The DARTS / NAS-Bench-301 cell space. Not enumerable. `build` defaults to SWAP's one-cell scoring proxy
 * ({@link DARTS_PROXY_NETWORK}); pass `{ kind: 'cifar' }` or `{ kind: 'imagenet' }` for DARTS' evaluation networks.
 */
export const dartsSpace: SearchSpace<DartsGenotype, DartsNetworkOptions> = {
  name: 'darts',
  parse: parseDarts,
  format: formatDarts,
  sample: sampleDarts,
  mutate: mutateDarts,
  crossover: crossoverDarts,
  canonicalKey: dartsCanonicalKey,
  encode: encodeDarts,
  build: (g, opts) => buildDartsNetwork(g, opts),
  defaultNetwork: DARTS_PROXY_NETWORK,
};
