import { SwapError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { quote } from '../../util/quote.js';
import { checkArchText } from '../../util/limits.js';

/** The five NB201 edge operations, in NB201's own order. */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/**
 * The six edges in arch-string order: (1←0), (2←0), (2←1), (3←0), (3←1), (3←2). `EDGES[e] = [to, from]`.
 */
export const NB201_EDGES: readonly (readonly [to: number, from: number])[] = [
  [1, 0],
  [2, 0],
  [2, 1],
  [3, 0],
  [3, 1],
  [3, 2],
];

/** An NB201 cell: the op of each of the six edges, in {@link NB201_EDGES} order. Plain immutable data. */
export type Nb201Genotype = readonly [Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op];

export const NB201_SIZE = 15625;

function bad(code: 'E_ARCH_SYNTAX' | 'E_ARCH_OP' | 'E_ARCH_EDGE', text: string, msg: string): never {
  throw new SwapError(code, `invalid NB201 arch ${quote(text)}: ${msg}`);
}

/**
 * Parse an official NB201 arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. Errors (`E_ARCH_SYNTAX`,
 * `E_ARCH_OP`, `E_ARCH_EDGE`) name the node group and entry that is wrong.
 */
export function parseNb201(text: string): Nb201Genotype {
  if (typeof text !== 'string') bad('E_ARCH_SYNTAX', String(text), 'not a string');
  checkArchText(text, 'NB201 arch');
  const s = text.trim();
  const groups = s.split('+');
  if (groups.length !== 3) bad('E_ARCH_SYNTAX', text, `expected 3 '+'-separated node groups, found ${groups.length}`);
  const ops: Nb201Op[] = [];
  groups.forEach((g, gi) => {
    const node = gi + 1;
    if (!g.startsWith('|') || !g.endsWith('|') || g.length < 2) {
      bad('E_ARCH_SYNTAX', text, `node ${node} group ${quote(g)} must start and end with '|'`);
    }
    const entries = g.slice(1, -1).split('|');
    if (entries.length !== node)
      bad('E_ARCH_EDGE', text, `node ${node} must have ${node} input edge(s), found ${entries.length}`);
    entries.forEach((en, k) => {
      const parts = en.split('~');
      if (parts.length !== 2) bad('E_ARCH_SYNTAX', text, `node ${node} entry ${k + 1} ${quote(en)} is not 'op~source'`);
      const [op, src] = parts as [string, string];
      if (!(NB201_OPS as readonly string[]).includes(op)) {
        bad(
          'E_ARCH_OP',
          text,
          `node ${node} entry ${k + 1}: unknown op ${quote(op)} (expected one of ${NB201_OPS.join(', ')})`,
        );
      }
      if (src !== String(k))
        bad('E_ARCH_EDGE', text, `node ${node} entry ${k + 1}: source must be ${k}, found ${quote(src)}`);
      ops.push(op as Nb201Op);
    });
  });
  return Object.freeze(ops) as unknown as Nb201Genotype;
}

/** Format a genotype as the official arch string. */
export function formatNb201(g: Nb201Genotype): string {
  return `|${g[0]}~0|+|${g[1]}~0|${g[2]}~1|+|${g[3]}~0|${g[4]}~1|${g[5]}~2|`;
}

/** Genotype number `i` in [0, 15625): base-5 digits over edges, edge 0 most significant. Not the NB201 table index. */
export function nb201FromOrdinal(i: number): Nb201Genotype {
  if (!Number.isInteger(i) || i < 0 || i >= NB201_SIZE)
    throw new SwapError('E_OPTION', `NB201 ordinal ${i} out of range`);
  const ops: Nb201Op[] = [];
  for (let e = 5; e >= 0; e--) {
    ops[e] = NB201_OPS[i % 5]!;
    i = Math.floor(i / 5);
  }
  return Object.freeze(ops) as unknown as Nb201Genotype;
}

export function nb201Ordinal(g: Nb201Genotype): number {
  let i = 0;
  for (const op of g) i = i * 5 + NB201_OPS.indexOf(op);
  return i;
}

/** All 15,625 cells in ordinal order. */
export function enumerateNb201(): Nb201Genotype[] {
  return Array.from({ length: NB201_SIZE }, (_, i) => nb201FromOrdinal(i));
}

export function sampleNb201(rng: Rng): Nb201Genotype {
  return nb201FromOrdinal(rng.int(NB201_SIZE));
}

/** Change the op of one uniformly chosen edge to a different, uniformly chosen op. */
export function mutateNb201(g: Nb201Genotype, rng: Rng): Nb201Genotype {
  const e = rng.int(6);
  const others = NB201_OPS.filter((o) => o !== g[e]);
  const out = g.slice() as Nb201Op[];
  out[e] = rng.pick(others);
  return Object.freeze(out) as unknown as Nb201Genotype;
}

/** Uniform crossover: each edge's op from parent a or b with equal probability. */
export function crossoverNb201(a: Nb201Genotype, b: Nb201Genotype, rng: Rng): Nb201Genotype {
  const out = a.map((op, e) => (rng.next() < 0.5 ? op : b[e]!));
  return Object.freeze(out) as unknown as Nb201Genotype;
}

/**
 * Canonical key for isomorphism classes, following NATS-Bench's `to_unique_str(consider_zero=True)`: node 0 is
 * `0`; each input term is `#` when its op is `none` or its source is exactly `#`, the source's string for
 * `skip_connect`, otherwise `(src)@op`; a node is its terms sorted and joined by `+`. Two cells with equal keys
 * compute the same function; this reproduces the 6,466 classes of the benchmark.
 */
export function nb201CanonicalKey(g: Nb201Genotype): string {
  const node: string[] = ['0'];
  for (let j = 1; j <= 3; j++) {
    const terms: string[] = [];
    NB201_EDGES.forEach(([to, from], e) => {
      if (to !== j) return;
      const src = node[from]!;
      const op = g[e]!;
      if (op === 'none' || src === '#') terms.push('#');
      else if (op === 'skip_connect') terms.push(src);
      else terms.push(`(${src})@${op}`);
    });
    node[j] = terms.sort().join('+');
  }
  return node[3]!;
}

/** Number of edges of each op (for closed-form sizes and predictor features). */
export function nb201OpCounts(g: Nb201Genotype): Record<Nb201Op, number> {
  const c = { none: 0, skip_connect: 0, nor_conv_1x1: 0, nor_conv_3x3: 0, avg_pool_3x3: 0 } as Record<Nb201Op, number>;
  for (const op of g) c[op]++;
  return c;
}
