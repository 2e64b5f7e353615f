import { SwapError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { quote } from '../../util/quote.js';
import { checkArchText } from '../../util/limits.js';

/**
 * The DARTS cell space (also NAS-Bench-301's): two cells (normal, reduce), each with intermediate nodes 2–5;
 * node i sums two ops applied to earlier nodes (0 and 1 are the outputs of the previous two
 * cells); the cell output concatenates nodes 2–5.
 */
export const DARTS_OPS = [
  'none',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;
export type DartsOp = (typeof DARTS_OPS)[number];

/** The ops a searched genotype uses (DARTS never selects `none`); index = NASLib's compact op id. */
export const DARTS_SEARCH_OPS = [
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;

/** One edge: the op and the index of its source node. */
export type DartsEdge = readonly [op: DartsOp, src: number];
/** A cell: 8 edges; entries 2(i−2) and 2(i−2)+1 feed node i. */
export type DartsCell = readonly DartsEdge[];

export interface DartsGenotype {
  readonly normal: DartsCell;
  readonly normalConcat: readonly number[];
  readonly reduce: DartsCell;
  readonly reduceConcat: readonly number[];
}

const STANDARD_CONCAT = Object.freeze([2, 3, 4, 5]);

function bad(code: 'E_ARCH_SYNTAX' | 'E_ARCH_OP' | 'E_ARCH_EDGE', msg: string): never {
  throw new SwapError(code, `invalid DARTS genotype: ${msg}`);
}

/** Check a cell's structure; throws a coded error naming the cell, node and edge. */
export function validateDartsCell(cell: readonly (readonly [string, number])[], name: string): DartsCell {
  if (cell.length !== 8) bad('E_ARCH_EDGE', `${name} cell has ${cell.length} edges, expected 8 (two per node 2–5)`);
  const out: DartsEdge[] = [];
  cell.forEach(([op, src], k) => {
    const node = 2 + (k >> 1);
    if (!(DARTS_OPS as readonly string[]).includes(op))
      bad(
        'E_ARCH_OP',
        `${name} edge ${k} (node ${node}): unknown op ${quote(op)} (expected one of ${DARTS_OPS.join(', ')})`,
      );
    if (!Number.isInteger(src) || src < 0 || src >= node)
      bad('E_ARCH_EDGE', `${name} edge ${k}: node ${node} cannot take input from node ${src} (must be 0…${node - 1})`);
    out.push(Object.freeze([op as DartsOp, src]) as DartsEdge);
  });
  // Both edges of a node may share a source: DARTS' own derivation never does that, but SWAP's 1,000-genotype
  // CIFAR-10 set does, and the network is well defined. Sampling and mutation keep the two sources distinct.
  return Object.freeze(out);
}

function validateConcat(c: readonly number[], name: string): readonly number[] {
  if (c.length === 0 || c.some((x) => !Number.isInteger(x) || x < 2 || x > 5) || new Set(c).size !== c.length) {
    bad('E_ARCH_EDGE', `${name}_concat ${quote(c)} must list distinct intermediate nodes from 2–5`);
  }
  return Object.freeze([...c]);
}

/** Build a validated genotype from parts (concat defaults to nodes 2–5). */
export function makeDartsGenotype(
  normal: readonly (readonly [string, number])[],
  reduce: readonly (readonly [string, number])[],
  normalConcat: readonly number[] = STANDARD_CONCAT,
  reduceConcat: readonly number[] = STANDARD_CONCAT,
): DartsGenotype {
  return Object.freeze({
    normal: validateDartsCell(normal, 'normal'),
    normalConcat: validateConcat(normalConcat, 'normal'),
    reduce: validateDartsCell(reduce, 'reduce'),
    reduceConcat: validateConcat(reduceConcat, 'reduce'),
  });
}

/** Parse a Python-style edge list `[('sep_conv_3x3', 0), ('skip_connect', 1), …]` or a JSON `[["op", 0], …]` list. */
function parseEdgeList(text: string, name: string): [string, number][] {
  const body = text.trim();
  if (!body.startsWith('[') || !body.endsWith(']')) bad('E_ARCH_SYNTAX', `${name} must be a list of (op, input) pairs`);
  const edges: [string, number][] = [];
  const re = /[([]\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*(-?\d+)\s*[)\]]/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    edges.push([m[1]!, Number(m[2])]);
  }
  const rest = body.slice(1, -1).replace(re, '').replace(/[\s,]/g, '');
  if (rest.length > 0) bad('E_ARCH_SYNTAX', `${name}: cannot read ${quote(rest.slice(0, 30))} as (op, input) pairs`);
  return edges;
}

function parseConcat(text: string, name: string): number[] {
  const t = text.trim();
  const range = /^range\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
  if (range) {
    // Checked before expanding: range(2, 4294967295) must not allocate four billion numbers.
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (!(lo >= 2 && hi <= 6 && lo < hi))
      bad(
        'E_ARCH_EDGE',
        `${name}_concat ${quote(t)} must be a range of intermediate nodes within 2–5, e.g. range(2, 6)`,
      );
    return Array.from({ length: hi - lo }, (_, i) => lo + i);
  }
  if (!/^\[[\d\s,]*\]$/.test(t))
    bad('E_ARCH_SYNTAX', `${name}_concat ${quote(t)} must be a list like [2, 3, 4, 5] or range(2, 6)`);
  return t
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
}

/**
 * Parse the standard text form `Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=[2, 3, 4, 5],
 * reduce=[…], reduce_concat=range(2, 6))`, or the compact form of {@link formatDartsCompact}.
 */
export function parseDarts(text: string): DartsGenotype {
  if (typeof text !== 'string') bad('E_ARCH_SYNTAX', 'not a string');
  checkArchText(text, 'DARTS genotype');
  const t = text.trim();
  if (/^[0-7]{16}\|[0-7]{16}$/.test(t)) return parseDartsCompact(t);
  const m = /^Genotype\s*\((.*)\)$/s.exec(t);
  if (!m)
    bad(
      'E_ARCH_SYNTAX',
      `expected "Genotype(normal=[…], normal_concat=…, reduce=[…], reduce_concat=…)", got ${quote(t.slice(0, 40))}`,
    );
  const fields = new Map<string, string>();
  const inner = m[1]!;
  const re = /(normal_concat|reduce_concat|normal|reduce)\s*=\s*/g;
  const starts: { key: string; at: number; from: number }[] = [];
  for (let f = re.exec(inner); f !== null; f = re.exec(inner))
    starts.push({ key: f[1]!, at: f.index, from: f.index + f[0].length });
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? starts[i + 1]!.at : inner.length;
    fields.set(s.key, inner.slice(s.from, end).trim().replace(/,\s*$/, ''));
  });
  for (const k of ['normal', 'reduce']) if (!fields.has(k)) bad('E_ARCH_SYNTAX', `missing field ${k}=`);
  return makeDartsGenotype(
    parseEdgeList(fields.get('normal')!, 'normal'),
    parseEdgeList(fields.get('reduce')!, 'reduce'),
    fields.has('normal_concat') ? parseConcat(fields.get('normal_concat')!, 'normal') : STANDARD_CONCAT,
    fields.has('reduce_concat') ? parseConcat(fields.get('reduce_concat')!, 'reduce') : STANDARD_CONCAT,
  );
}

/** The standard text form (Python repr of DARTS' `Genotype` namedtuple). */
export function formatDarts(g: DartsGenotype): string {
  const cell = (c: DartsCell) => `[${c.map(([op, src]) => `('${op}', ${src})`).join(', ')}]`;
  return `Genotype(normal=${cell(g.normal)}, normal_concat=[${g.normalConcat.join(', ')}], reduce=${cell(g.reduce)}, reduce_concat=[${g.reduceConcat.join(', ')}])`;
}

/**
 * Compact encoding: per cell, 8 (source, op) digit pairs with op = index in {@link DARTS_OPS}, cells joined by
 * `|` — e.g. `0413...|...`. Requires the standard concat [2, 3, 4, 5].
 */
export function formatDartsCompact(g: DartsGenotype): string {
  const std = (c: readonly number[]) => c.length === 4 && c.every((x, i) => x === i + 2);
  if (!std(g.normalConcat) || !std(g.reduceConcat))
    throw new SwapError('E_ARCH_EDGE', 'the compact form needs the standard concat [2, 3, 4, 5]');
  const cell = (c: DartsCell) => c.map(([op, src]) => `${src}${DARTS_OPS.indexOf(op)}`).join('');
  return `${cell(g.normal)}|${cell(g.reduce)}`;
}

export function parseDartsCompact(text: string): DartsGenotype {
  const parts = text.trim().split('|');
  if (parts.length !== 2 || parts.some((p) => !/^[0-7]{16}$/.test(p)))
    bad('E_ARCH_SYNTAX', `compact form must be two groups of 16 digits joined by '|', got ${quote(text)}`);
  const cell = (p: string) =>
    Array.from({ length: 8 }, (_, k) => [DARTS_OPS[Number(p[2 * k + 1])]!, Number(p[2 * k])] as [string, number]);
  return makeDartsGenotype(cell(parts[0]!), cell(parts[1]!));
}

function sampleCell(rng: Rng): DartsEdge[] {
  const out: DartsEdge[] = [];
  for (let node = 2; node <= 5; node++) {
    const [a, b] = rng.sample(node, 2);
    out.push([rng.pick(DARTS_SEARCH_OPS), a!], [rng.pick(DARTS_SEARCH_OPS), b!]);
  }
  return out;
}

/** Uniform over searchable genotypes: per node two distinct sources and two ops (no `none`). */
export function sampleDarts(rng: Rng): DartsGenotype {
  return makeDartsGenotype(sampleCell(rng), sampleCell(rng));
}

/** Change one op or one input (keeping the node's two inputs distinct) in the normal or the reduce cell. */
export function mutateDarts(g: DartsGenotype, rng: Rng): DartsGenotype {
  const which = rng.next() < 0.5 ? 'normal' : 'reduce';
  const cell = g[which].map((e) => [...e] as [DartsOp, number]);
  const k = rng.int(8);
  const node = 2 + (k >> 1);
  const edge = cell[k]!;
  if (rng.next() < 0.5) edge[0] = rng.pick(DARTS_SEARCH_OPS.filter((o) => o !== edge[0]));
  else {
    const other = cell[k ^ 1]![1];
    const choices = Array.from({ length: node }, (_, i) => i).filter((i) => i !== edge[1] && i !== other);
    if (choices.length === 0) edge[0] = rng.pick(DARTS_SEARCH_OPS.filter((o) => o !== edge[0]));
    else edge[1] = rng.pick(choices);
  }
  return which === 'normal'
    ? makeDartsGenotype(cell, g.reduce, g.normalConcat, g.reduceConcat)
    : makeDartsGenotype(g.normal, cell, g.normalConcat, g.reduceConcat);
}

/** Node-wise uniform crossover: each intermediate node of each cell comes (both edges) from one parent. */
export function crossoverDarts(a: DartsGenotype, b: DartsGenotype, rng: Rng): DartsGenotype {
  const mix = (x: DartsCell, y: DartsCell) =>
    x.flatMap((_, k) => (k % 2 === 0 ? (rng.next() < 0.5 ? [x[k]!, x[k + 1]!] : [y[k]!, y[k + 1]!]) : []));
  return makeDartsGenotype(mix(a.normal, b.normal), mix(a.reduce, b.reduce), a.normalConcat, a.reduceConcat);
}
