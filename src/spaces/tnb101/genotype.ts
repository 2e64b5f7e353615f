import { SwapError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { quote } from '../../util/quote.js';
import { checkArchText } from '../../util/limits.js';

/**
 * TransNAS-Bench-101 micro (cell-level) search space: one cell of 4 nodes and 6 edges, each edge one of four ops,
 * repeated through the fixed macro skeleton `64-41414` (see `network.ts`). 4^6 = 4,096 cells.
 *
 * Op codes are the benchmark's own digits: `0` none (zero), `1` skip connection (identity, or a FactorizedReduce
 * when the edge leaves the input of a cell that changes resolution or width), `2` ReLU-conv1x1-BN, `3`
 * ReLU-conv3x3-BN.
 */
export const TNB101_OPS = ['none', 'skip_connect', 'conv_1x1', 'conv_3x3'] as const;
export type Tnb101OpName = (typeof TNB101_OPS)[number];
/** An op code: the digit used in the benchmark's arch strings. */
export type Tnb101Op = 0 | 1 | 2 | 3;

/**
 * The six edges in arch-string order `a_bc_def`: (1←0), (2←0), (2←1), (3←0), (3←1), (3←2). `EDGES[e] = [to, from]`.
 * Node 0 is the cell input, node 3 the cell output; a node is the sum of its incoming edges.
 */
export const TNB101_EDGES: readonly (readonly [to: number, from: number])[] = [
  [1, 0],
  [2, 0],
  [2, 1],
  [3, 0],
  [3, 1],
  [3, 2],
];

/** A TNB101 micro cell: the op code of each of the six edges, in {@link TNB101_EDGES} order. Plain immutable data. */
export type Tnb101Genotype = readonly [Tnb101Op, Tnb101Op, Tnb101Op, Tnb101Op, Tnb101Op, Tnb101Op];

export const TNB101_SIZE = 4096;

/** Base channels and macro skeleton shared by every architecture of the micro space. */
export const TNB101_ARCH_PREFIX = '64-41414';

function freeze(ops: readonly number[]): Tnb101Genotype {
  return Object.freeze(ops.slice()) as unknown as Tnb101Genotype;
}

function bad(code: 'E_ARCH_SYNTAX' | 'E_ARCH_OP', text: string, msg: string): never {
  throw new SwapError(code, `invalid TNB101 micro arch ${quote(text)}: ${msg}`);
}

function edgeName(e: number): string {
  const [to, from] = TNB101_EDGES[e]!;
  return `edge ${e + 1} (node ${to} ← node ${from})`;
}

function digits(text: string, cell: string, where: (i: number) => string): Tnb101Genotype {
  const ops: Tnb101Op[] = [];
  for (let i = 0; i < cell.length; i++) {
    const ch = cell[i]!;
    if (ch < '0' || ch > '9') bad('E_ARCH_SYNTAX', text, `${where(i)}: ${quote(ch)} is not a digit`);
    const op = ch.charCodeAt(0) - 48;
    if (op > 3)
      bad('E_ARCH_OP', text, `${where(i)}: unknown op ${op} (expected 0 none, 1 skip_connect, 2 conv_1x1, 3 conv_3x3)`);
    ops.push(op as Tnb101Op);
  }
  return freeze(ops);
}

/**
 * Parse a micro-space architecture. Accepted forms (surrounding whitespace ignored):
 * - the official string `64-41414-a_bc_def` (the table's `arch` column), e.g. `64-41414-1_02_333`;
 * - the cell part alone, `a_bc_def`;
 * - the bare six digits `abcdef` (the table's `cell_ops` column, read as a string: exactly six digits, so a value
 *   that lost its leading zeros is rejected rather than guessed).
 *
 * Errors: `E_ARCH_SYNTAX` (wrong prefix, wrong group sizes, non-digits, wrong length) and `E_ARCH_OP` (a digit
 * above 3); the message names the edge (`edge 3 (node 2 ← node 1)`) or the part that is wrong.
 */
export function parseTnb101(text: string): Tnb101Genotype {
  if (typeof text !== 'string') bad('E_ARCH_SYNTAX', String(text), 'not a string');
  checkArchText(text, 'TNB101 micro arch');
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    if (s.length !== 6)
      bad('E_ARCH_SYNTAX', text, `bare cell_ops must be exactly 6 digits (left-pad with zeros), found ${s.length}`);
    return digits(text, s, (i) => edgeName(i));
  }
  let cell = s;
  const parts = s.split('-');
  if (parts.length > 1) {
    if (parts.length !== 3)
      bad(
        'E_ARCH_SYNTAX',
        text,
        `expected '${TNB101_ARCH_PREFIX}-a_bc_def' (3 '-'-separated parts), found ${parts.length} parts`,
      );
    const prefix = `${parts[0]}-${parts[1]}`;
    if (prefix !== TNB101_ARCH_PREFIX) {
      bad(
        'E_ARCH_SYNTAX',
        text,
        `the micro space has base channels and macro skeleton '${TNB101_ARCH_PREFIX}', found ${quote(prefix)}`,
      );
    }
    cell = parts[2]!;
  }
  const groups = cell.split('_');
  if (groups.length !== 3)
    bad(
      'E_ARCH_SYNTAX',
      text,
      `cell ${quote(cell)} must be 3 '_'-separated node groups 'a_bc_def', found ${groups.length}`,
    );
  groups.forEach((g, gi) => {
    if (g.length !== gi + 1)
      bad('E_ARCH_SYNTAX', text, `node ${gi + 1} group ${quote(g)} must have ${gi + 1} digit(s), one per input edge`);
  });
  const offset = [0, 1, 3];
  return digits(text, groups.join(''), (i) => {
    const gi = i === 0 ? 0 : i < 3 ? 1 : 2;
    return `${edgeName(i)}, node ${gi + 1} entry ${i - offset[gi]! + 1}`;
  });
}

/** Format a genotype as the official arch string `64-41414-a_bc_def` (the table's `arch` column). */
export function formatTnb101(g: Tnb101Genotype): string {
  return `${TNB101_ARCH_PREFIX}-${g[0]}_${g[1]}${g[2]}_${g[3]}${g[4]}${g[5]}`;
}

/** The six digits `abcdef` (the table's `cell_ops` column). */
export function tnb101CellOps(g: Tnb101Genotype): string {
  return g.join('');
}

/**
 * Genotype number `i` in [0, 4096): base-4 digits over edges, edge 0 most significant, i.e. `cell_ops` read in
 * base 4. This is also the row order of the shipped table and of the benchmark's micro arch list.
 */
export function tnb101FromOrdinal(i: number): Tnb101Genotype {
  if (!Number.isInteger(i) || i < 0 || i >= TNB101_SIZE)
    throw new SwapError('E_OPTION', `TNB101 micro ordinal ${i} out of range`);
  const ops: number[] = [];
  for (let e = 5; e >= 0; e--) {
    ops[e] = i % 4;
    i = Math.floor(i / 4);
  }
  return freeze(ops);
}

export function tnb101Ordinal(g: Tnb101Genotype): number {
  let i = 0;
  for (const op of g) i = i * 4 + op;
  return i;
}

/** All 4,096 cells in ordinal order. */
export function enumerateTnb101(): Tnb101Genotype[] {
  return Array.from({ length: TNB101_SIZE }, (_, i) => tnb101FromOrdinal(i));
}

export function sampleTnb101(rng: Rng): Tnb101Genotype {
  return tnb101FromOrdinal(rng.int(TNB101_SIZE));
}

/** Change the op of one uniformly chosen edge to a different, uniformly chosen op. */
export function mutateTnb101(g: Tnb101Genotype, rng: Rng): Tnb101Genotype {
  const e = rng.int(6);
  const others = ([0, 1, 2, 3] as const).filter((o) => o !== g[e]);
  const out = g.slice();
  out[e] = rng.pick(others);
  return freeze(out);
}

/** Uniform crossover: each edge's op from parent a or b with equal probability. */
export function crossoverTnb101(a: Tnb101Genotype, b: Tnb101Genotype, rng: Rng): Tnb101Genotype {
  return freeze(a.map((op, e) => (rng.next() < 0.5 ? op : b[e]!)));
}

/** One-hot features: 6 edges × 4 ops (edge-major), 24 numbers. */
export function encodeTnb101(g: Tnb101Genotype): number[] {
  return g.flatMap((op) => [0, 1, 2, 3].map((o) => (o === op ? 1 : 0)));
}

/**
 * Edges that can influence node 3: a non-`none` edge whose source is reachable from node 0 through non-`none`
 * edges and whose target reaches node 3. Every other edge computes zeros (ReLU-conv-BN and FactorizedReduce map
 * an all-zero input to zeros at γ=1, β=0) or feeds a node nobody reads.
 */
export function tnb101LiveEdges(g: Tnb101Genotype): boolean[] {
  const fromInput = [true, false, false, false];
  for (let j = 1; j <= 3; j++) {
    TNB101_EDGES.forEach(([to, from], e) => {
      if (to === j && g[e] !== 0 && fromInput[from]) fromInput[j] = true;
    });
  }
  const toOutput = [false, false, false, true];
  for (let i = 2; i >= 0; i--) {
    TNB101_EDGES.forEach(([to, from], e) => {
      if (from === i && g[e] !== 0 && toOutput[to]) toOutput[i] = true;
    });
  }
  return TNB101_EDGES.map(([to, from], e) => g[e] !== 0 && fromInput[from]! && toOutput[to]!);
}

/** True when the cell output is identically zero (no live path from node 0 to node 3), so the whole backbone after the stem is. */
export function tnb101IsDegenerate(g: Tnb101Genotype): boolean {
  return !tnb101LiveEdges(g).some((l) => l);
}

/** A weighted computation of the cell: vertex 0 is the cell input, vertices 1.. are the live parametric edges. */
interface Vertex {
  readonly op: string;
  /** Input multiset: vertex → multiplicity. */
  readonly input: ReadonlyMap<number, number>;
}

function sumInto(acc: Map<number, number>, m: ReadonlyMap<number, number>): void {
  for (const [v, k] of m) acc.set(v, (acc.get(v) ?? 0) + k);
}

/**
 * Canonical key of the function a cell computes, equal for cells that compute the same function in every cell
 * position of the network (both the stride-1 cells and the width-doubling stride-2 cells).
 *
 * The cell is rewritten as a DAG of weighted operations over the cell input X: one vertex per *live* edge (see
 * {@link tnb101LiveEdges}) that carries weights — conv1x1 (`2`), conv3x3 (`3`) and a skip from node 0 (`1`, which
 * is a FactorizedReduce with its own weights in stride-2 cells) — each applied to a multiset of vertices (its
 * source node's value, with multiplicities). Skips between intermediate nodes are identities and are folded into
 * those multisets; `none` and dead edges vanish. The key is the DAG up to isomorphism (vertex relabelling),
 * including which terms are the *same* weighted vertex reached twice (e.g. through two skips) and which are two
 * distinct vertices with equal structure. It therefore identifies exactly:
 * - cells differing only in dead edges (source identically zero, or target not reaching node 3);
 * - skip chains between intermediate nodes, which only pass a value on: `3_00_010`, `3_01_001`, `0_30_001` and
 *   `0_00_300` are all "one conv3x3 of the input";
 * - commutativity of node sums and any relabelling of the intermediate nodes — in general, any two cells whose
 *   weighted DAGs are isomorphic.
 * Not identified (kept apart, so the key stays sound): inputs equal up to a positive scale (`conv(2v)` and
 * `conv(v)` agree only through BN's normalisation), and a stride-1 skip from the input being X itself, which
 * would merge cells whose stride-2 cells differ. Over the 4,096 cells this gives 1,376 keys.
 * Key text: vertices labelled 1.. in canonical order, `label=op(inputs)`, then `out=inputs`; inputs are `+`-joined
 * labels (0 = X) with `k*` for multiplicity, e.g. `1=2(0);2=3(0);out=1+2` is conv1x1(X) + conv3x3(X).
 * Every cell with an identically-zero output gets the key `zero`. Cells with equal keys compute the same family
 * of functions with the same weight-sharing structure, so at Gaussian initialisation they have the same output
 * distribution; the unpruned network may still record ReLUs of dead branches, so equal keys need not give equal
 * SWAP scores (as with NB201's `prune: false`).
 */
export function tnb101CanonicalKey(g: Tnb101Genotype): string {
  const live = tnb101LiveEdges(g);
  const verts: Vertex[] = [{ op: 'X', input: new Map() }];
  const value: Map<number, number>[] = [new Map([[0, 1]])];
  for (let j = 1; j <= 3; j++) {
    const acc = new Map<number, number>();
    TNB101_EDGES.forEach(([to, from], e) => {
      if (to !== j || !live[e]) return;
      const op = g[e]!;
      if (op === 1 && from !== 0) {
        sumInto(acc, value[from]!);
        return;
      }
      verts.push({ op: String(op), input: value[from]! });
      acc.set(verts.length - 1, 1);
    });
    value[j] = acc;
  }
  const out = value[3]!;
  if (out.size === 0) return 'zero';
  // Structural (tree) signature of each vertex: invariant under isomorphism, used to order the labelling.
  const sig: string[] = ['X'];
  const msig = (m: ReadonlyMap<number, number>) =>
    [...m]
      .map(([v, k]) => `${k}*${sig[v]}`)
      .sort()
      .join('+');
  for (let v = 1; v < verts.length; v++) sig[v] = `${verts[v]!.op}(${msig(verts[v]!.input)})`;
  // Group vertices by signature (sorted), then take the smallest encoding over permutations inside each group.
  const order = verts
    .map((_, v) => v)
    .slice(1)
    .sort((a, b) => (sig[a]! < sig[b]! ? -1 : sig[a]! > sig[b]! ? 1 : a - b));
  const groups: number[][] = [];
  for (const v of order) {
    const last = groups[groups.length - 1];
    if (last && sig[last[0]!] === sig[v]) last.push(v);
    else groups.push([v]);
  }
  const encode = (labelOf: Map<number, number>) => {
    const ms = (m: ReadonlyMap<number, number>) =>
      [...m]
        .map(([v, k]) => [labelOf.get(v)!, k] as const)
        .sort((a, b) => a[0] - b[0] || a[1] - b[1])
        .map(([l, k]) => (k === 1 ? `${l}` : `${k}*${l}`))
        .join('+');
    const lines: string[] = [];
    const byLabel = [...labelOf].filter(([v]) => v !== 0).sort((a, b) => a[1] - b[1]);
    for (const [v, l] of byLabel) lines.push(`${l}=${verts[v]!.op}(${ms(verts[v]!.input)})`);
    lines.push(`out=${ms(out)}`);
    return lines.join(';');
  };
  let best: string | undefined;
  const labelOf = new Map<number, number>([[0, 0]]);
  const assign = (gi: number, next: number) => {
    if (gi === groups.length) {
      const enc = encode(labelOf);
      if (best === undefined || enc < best) best = enc;
      return;
    }
    for (const perm of permutations(groups[gi]!)) {
      perm.forEach((v, i) => labelOf.set(v, next + i));
      assign(gi + 1, next + perm.length);
    }
  };
  assign(0, 1);
  return best!;
}

function* permutations<T>(xs: readonly T[]): Generator<T[]> {
  if (xs.length <= 1) {
    yield xs.slice();
    return;
  }
  for (let i = 0; i < xs.length; i++) {
    const rest = xs.slice(0, i).concat(xs.slice(i + 1));
    for (const p of permutations(rest)) yield [xs[i]!, ...p];
  }
}
