import { createHash } from 'node:crypto';
import { SwapError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { quote } from '../../util/quote.js';
import { checkArchText } from '../../util/limits.js';

/**
 * The NAS-Bench-101 cell space (Ying et al., ICML 2019): a DAG of at most 7 vertices and 9 edges given by an
 * upper-triangular 0/1 adjacency matrix (`matrix[i][j] = 1`: vertex i feeds vertex j) and one label per vertex.
 * Vertex 0 is `input`, the last vertex is `output`, interior vertices carry one of {@link NB101_OPS}.
 */
export const NB101_LABELS = ['input', 'conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3', 'output'] as const;
export type Nb101Label = (typeof NB101_LABELS)[number];

/** Interior ops in NAS-Bench-101's canonical order (`available_ops`); the index is the op's hash label. */
export const NB101_OPS = ['conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3'] as const;
export type Nb101Op = (typeof NB101_OPS)[number];

export const NB101_MAX_VERTICES = 7;
export const NB101_MAX_EDGES = 9;
/** Number of distinct cells (isomorphism classes) in the benchmark. */
export const NB101_SIZE = 423624;
/** Length of {@link encodeNb101}: 21 upper-triangular bits of a 7×7 matrix + 5 interior vertices × 3 ops. */
export const NB101_ENCODING_LENGTH = 21 + 5 * 3;

/**
 * An NB101 cell: the *pruned* spec (every vertex lies on an input→output path, as nasbench's `ModelSpec.matrix`
 * / `.ops`), 2–7 vertices, ≤ 9 edges. Deeply frozen plain data; build one with {@link makeNb101} or
 * {@link parseNb101}, never by hand.
 */
export interface Nb101Genotype {
  readonly matrix: readonly (readonly (0 | 1)[])[];
  readonly ops: readonly Nb101Label[];
}

/** One-character codes of the compact text form. */
const CODE_OF: Readonly<Record<Nb101Label, string>> = {
  input: 'i',
  'conv3x3-bn-relu': '3',
  'conv1x1-bn-relu': '1',
  maxpool3x3: 'm',
  output: 'o',
};
const LABEL_OF: ReadonlyMap<string, Nb101Label> = new Map(NB101_LABELS.map((l) => [CODE_OF[l], l]));

type Code = 'E_ARCH_SYNTAX' | 'E_ARCH_OP' | 'E_ARCH_EDGE';

function bad(code: Code, msg: string): never {
  throw new SwapError(code, `invalid NB101 cell: ${msg}`);
}

/** Result of nasbench's pruning: the kept matrix and ops, or `undefined` when input and output are disconnected. */
export interface Nb101PrunedSpec {
  readonly matrix: (0 | 1)[][];
  readonly ops: string[];
  /** Original indices of the kept vertices, in order. */
  readonly kept: number[];
}

/**
 * nasbench `ModelSpec._prune`: keep exactly the vertices reachable from vertex 0 *and* reaching the last vertex
 * (forward and backward search along edges i→j, i < j), in their original order. Returns `undefined` when fewer
 * than 2 vertices survive (input not connected to output). The matrix must be square, 0/1 and upper triangular.
 */
export function pruneNb101(
  matrix: readonly (readonly number[])[],
  ops: readonly string[],
): Nb101PrunedSpec | undefined {
  const n = matrix.length;
  const fromIn = new Array<boolean>(n).fill(false);
  const toOut = new Array<boolean>(n).fill(false);
  fromIn[0] = true;
  for (let i = 0; i < n; i++) {
    if (!fromIn[i]) continue;
    for (let j = i + 1; j < n; j++) if (matrix[i]![j]) fromIn[j] = true;
  }
  toOut[n - 1] = true;
  for (let j = n - 1; j >= 0; j--) {
    if (!toOut[j]) continue;
    for (let i = 0; i < j; i++) if (matrix[i]![j]) toOut[i] = true;
  }
  const kept: number[] = [];
  for (let v = 0; v < n; v++) if (fromIn[v] && toOut[v]) kept.push(v);
  if (kept.length < 2) return undefined;
  return {
    matrix: kept.map((i) => kept.map((j) => (matrix[i]![j] ? 1 : 0) as 0 | 1)),
    ops: kept.map((v) => ops[v]!),
    kept,
  };
}

/** Number of edges (ones) of a matrix. */
function countEdges(matrix: readonly (readonly number[])[]): number {
  let e = 0;
  for (const row of matrix) for (const x of row) e += x ? 1 : 0;
  return e;
}

/**
 * Validate and prune a raw spec exactly as nasbench's `ModelSpec` + `NASBench._check_spec`: the matrix must be
 * square, 0/1, upper triangular (`E_ARCH_SYNTAX` / `E_ARCH_EDGE`), with one known label per vertex, `input`
 * first, `output` last and only the three ops in between (`E_ARCH_OP`); after pruning, input must reach output
 * and the cell must have ≤ 7 vertices and ≤ 9 edges (`E_ARCH_EDGE`). Returns the frozen pruned genotype.
 */
export function makeNb101(matrix: readonly (readonly number[])[], ops: readonly string[]): Nb101Genotype {
  if (!Array.isArray(matrix) || matrix.length === 0) bad('E_ARCH_SYNTAX', 'matrix must be a non-empty array of rows');
  const n = matrix.length;
  matrix.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== n)
      bad(
        'E_ARCH_SYNTAX',
        `matrix must be square: row ${r} has ${Array.isArray(row) ? row.length : 'no'} entries, expected ${n}`,
      );
    row.forEach((x, c) => {
      if (x !== 0 && x !== 1) bad('E_ARCH_SYNTAX', `matrix entry [${r}][${c}] is ${quote(x)}, expected 0 or 1`);
      if (x === 1 && c <= r)
        bad(
          'E_ARCH_EDGE',
          `matrix is not upper triangular: entry [${r}][${c}] is 1 (edges must go from a lower to a higher vertex)`,
        );
    });
  });
  if (!Array.isArray(ops) || ops.length !== n)
    bad(
      'E_ARCH_SYNTAX',
      `ops must list one label per vertex: ${Array.isArray(ops) ? ops.length : 'no'} labels for ${n} vertices`,
    );
  if (n < 2) bad('E_ARCH_EDGE', `a cell needs at least 2 vertices (input and output), got ${n}`);
  ops.forEach((op, v) => {
    if (!(NB101_LABELS as readonly string[]).includes(op))
      bad('E_ARCH_OP', `vertex ${v}: unknown op ${quote(op)} (expected one of ${NB101_LABELS.join(', ')})`);
  });
  if (ops[0] !== 'input') bad('E_ARCH_OP', `the first vertex must be 'input', got ${quote(ops[0])}`);
  if (ops[n - 1] !== 'output') bad('E_ARCH_OP', `the last vertex must be 'output', got ${quote(ops[n - 1])}`);
  for (let v = 1; v < n - 1; v++) {
    if (!(NB101_OPS as readonly string[]).includes(ops[v]!))
      bad('E_ARCH_OP', `interior vertex ${v} has op ${quote(ops[v])} (expected one of ${NB101_OPS.join(', ')})`);
  }
  const p = pruneNb101(matrix, ops);
  if (!p) bad('E_ARCH_EDGE', 'no path from input to output (the graph is disconnected)');
  if (p.ops.length > NB101_MAX_VERTICES)
    bad('E_ARCH_EDGE', `too many vertices: ${p.ops.length} after pruning (max ${NB101_MAX_VERTICES})`);
  const e = countEdges(p.matrix);
  if (e > NB101_MAX_EDGES) bad('E_ARCH_EDGE', `too many edges: ${e} after pruning (max ${NB101_MAX_EDGES})`);
  return freeze(p.matrix, p.ops as Nb101Label[]);
}

function freeze(matrix: (0 | 1)[][], ops: Nb101Label[]): Nb101Genotype {
  return Object.freeze({ matrix: Object.freeze(matrix.map((r) => Object.freeze(r))), ops: Object.freeze(ops) });
}

/** True when {@link makeNb101} would accept the raw spec (no exception). */
export function isValidNb101(matrix: readonly (readonly number[])[], ops: readonly string[]): boolean {
  try {
    makeNb101(matrix, ops);
    return true;
  } catch {
    return false;
  }
}

/**
 * Compact text form: the vertex codes (`i` input, `3` conv3x3-bn-relu, `1` conv1x1-bn-relu, `m` maxpool3x3,
 * `o` output), `:`, then the upper triangle row by row — row i lists `matrix[i][i+1..V-1]` as 0/1 digits — rows
 * joined by `.`. Example: `i31mo:1100.011.01.1`; the input→output cell is `io:1`. Written for the pruned spec, so
 * equal cells with different dead vertices format alike. Isomorphic cells (vertex permutations) may format
 * differently; {@link nb101Hash} identifies them.
 */
export function formatNb101(g: Nb101Genotype): string {
  const n = g.ops.length;
  const rows: string[] = [];
  for (let i = 0; i < n - 1; i++) rows.push(g.matrix[i]!.slice(i + 1).join(''));
  return `${g.ops.map((o) => CODE_OF[o]).join('')}:${rows.join('.')}`;
}

function parseCompact(text: string): Nb101Genotype {
  const m = /^([^:]*):(.*)$/.exec(text);
  if (!m)
    bad(
      'E_ARCH_SYNTAX',
      `${quote(text)} is neither JSON {"matrix": …, "ops": …} nor the compact form "<ops>:<rows>" (e.g. "i31mo:1100.011.01.1")`,
    );
  const codes = m[1]!;
  const n = codes.length;
  if (n < 2) bad('E_ARCH_SYNTAX', `compact form ${quote(text)}: need at least the codes "io" before ':'`);
  const ops = [...codes].map((ch, v) => {
    const l = LABEL_OF.get(ch);
    if (!l)
      bad(
        'E_ARCH_OP',
        `compact form ${quote(text)}: vertex ${v} has unknown op code ${quote(ch)} (expected i, 3, 1, m, o)`,
      );
    return l;
  });
  const rows = m[2]!.split('.');
  if (rows.length !== n - 1)
    bad(
      'E_ARCH_SYNTAX',
      `compact form ${quote(text)}: ${n} vertices need ${n - 1} '.'-separated rows, found ${rows.length}`,
    );
  const matrix: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  rows.forEach((row, i) => {
    if (row.length !== n - 1 - i || !/^[01]*$/.test(row)) {
      bad(
        'E_ARCH_SYNTAX',
        `compact form ${quote(text)}: row ${i} ${quote(row)} must be ${n - 1 - i} digits 0/1 (edges to vertices ${i + 1}…${n - 1})`,
      );
    }
    for (let k = 0; k < row.length; k++) matrix[i]![i + 1 + k] = row[k] === '1' ? 1 : 0;
  });
  return makeNb101(matrix, ops);
}

/**
 * Parse JSON `{"matrix": [[…], …], "ops": ["input", …, "output"]}` (raw nasbench spec; pruned here) or the
 * compact form of {@link formatNb101}. Errors are coded `SwapError`s (`E_ARCH_SYNTAX`, `E_ARCH_OP`,
 * `E_ARCH_EDGE`) that name the problem and where it is.
 */
export function parseNb101(text: string): Nb101Genotype {
  if (typeof text !== 'string') bad('E_ARCH_SYNTAX', `expected a string, got ${typeof text}`);
  checkArchText(text, 'NB101 cell');
  const t = text.trim();
  if (!t.startsWith('{')) return parseCompact(t);
  let obj: unknown;
  try {
    obj = JSON.parse(t);
  } catch (e) {
    bad('E_ARCH_SYNTAX', `malformed JSON: ${(e as Error).message}`);
  }
  const o = obj as { matrix?: unknown; ops?: unknown };
  if (!Array.isArray(o.matrix)) bad('E_ARCH_SYNTAX', 'JSON form needs a "matrix" array of rows');
  if (!Array.isArray(o.ops) || o.ops.some((x) => typeof x !== 'string'))
    bad('E_ARCH_SYNTAX', 'JSON form needs an "ops" array of strings');
  return makeNb101(o.matrix as number[][], o.ops as string[]);
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/**
 * nasbench `graph_util.hash_module`: per vertex md5 of the Python tuple text `(out_degree, in_degree, label)`,
 * then V rounds of md5(sorted in-neighbour hashes ‖ '|' ‖ sorted out-neighbour hashes ‖ '|' ‖ own hash), then md5
 * of the Python list text of the sorted hashes. Isomorphism-invariant; `labels` are integers.
 */
export function nb101HashModule(matrix: readonly (readonly number[])[], labels: readonly number[]): string {
  const n = matrix.length;
  let h = labels.map((label, v) => {
    let out = 0;
    let inn = 0;
    for (let w = 0; w < n; w++) {
      out += matrix[v]![w] ? 1 : 0;
      inn += matrix[w]![v] ? 1 : 0;
    }
    return md5(`(${out}, ${inn}, ${label})`);
  });
  for (let round = 0; round < n; round++) {
    h = h.map((own, v) => {
      const ins: string[] = [];
      const outs: string[] = [];
      for (let w = 0; w < n; w++) {
        if (matrix[w]![v]) ins.push(h[w]!);
        if (matrix[v]![w]) outs.push(h[w]!);
      }
      return md5(`${ins.sort().join('')}|${outs.sort().join('')}|${own}`);
    });
  }
  return md5(
    `[${[...h]
      .sort()
      .map((x) => `'${x}'`)
      .join(', ')}]`,
  );
}

/**
 * The NAS-Bench-101 hash of a cell (nasbench `ModelSpec.hash_spec` with the canonical op order): labels −1 for
 * input, −2 for output, the index in {@link NB101_OPS} otherwise. Equal for isomorphic cells; it is the
 * benchmark's key and this space's canonical key.
 */
export function nb101Hash(g: Nb101Genotype): string {
  const labels = g.ops.map((op) => (op === 'input' ? -1 : op === 'output' ? -2 : NB101_OPS.indexOf(op as Nb101Op)));
  return nb101HashModule(g.matrix, labels);
}

/** Number of edges of the (pruned) cell. */
export function nb101EdgeCount(g: Nb101Genotype): number {
  return countEdges(g.matrix);
}

/**
 * Place a cell on 7 vertices: kept interior vertex k goes to `slots[k]`, output to 6, the other interior slots are
 * dead (no edges) with op `fill(slot)`. Returns a mutable raw matrix and op list.
 */
function padTo7(
  g: Nb101Genotype,
  slots: readonly number[],
  fill: (slot: number) => Nb101Op,
): { matrix: number[][]; ops: string[] } {
  const n = g.ops.length;
  const pos = [0, ...slots, 6];
  const matrix = Array.from({ length: 7 }, () => new Array<number>(7).fill(0));
  const ops: string[] = new Array<string>(7);
  ops[0] = 'input';
  ops[6] = 'output';
  for (let s = 1; s < 6; s++) ops[s] = fill(s);
  for (let v = 1; v < n - 1; v++) ops[pos[v]!] = g.ops[v]!;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (g.matrix[i]![j]) matrix[pos[i]!]![pos[j]!] = 1;
  return { matrix, ops };
}

/** The leading slots 1…V−2 (the layout of {@link encodeNb101} and {@link crossoverNb101}). */
const leadingSlots = (g: Nb101Genotype) => Array.from({ length: g.ops.length - 2 }, (_, k) => k + 1);

/** Raw 7-vertex spec → genotype, or `undefined` when it is not a valid cell. */
function tryMake(matrix: number[][], ops: string[]): Nb101Genotype | undefined {
  const p = pruneNb101(matrix, ops);
  if (!p || countEdges(p.matrix) > NB101_MAX_EDGES) return undefined;
  return freeze(p.matrix, p.ops as Nb101Label[]);
}

/** Upper-triangle positions (i < j) of a 7×7 matrix, row by row: the 21 edge spots. */
const SPOTS: readonly (readonly [number, number])[] = (() => {
  const s: [number, number][] = [];
  for (let i = 0; i < 7; i++) for (let j = i + 1; j < 7; j++) s.push([i, j]);
  return s;
})();

/** Give up after this many rejected proposals (never reached in practice; a guard against endless loops). */
const MAX_TRIES = 100000;

/**
 * nasbench's `random_spec`: 21 fair edge bits on 7 vertices and a uniform op per interior vertex, rejected until
 * the pruned spec is valid (input reaches output, ≤ 9 edges). Uniform over valid raw specs, not over cells.
 */
export function sampleNb101(rng: Rng): Nb101Genotype {
  for (let t = 0; t < MAX_TRIES; t++) {
    const bits = rng.nextU32();
    const matrix = Array.from({ length: 7 }, () => new Array<number>(7).fill(0));
    SPOTS.forEach(([i, j], k) => (matrix[i]![j] = (bits >>> k) & 1));
    const ops = ['input', ...Array.from({ length: 5 }, () => NB101_OPS[rng.int(3)]!), 'output'];
    const g = tryMake(matrix, ops);
    if (g) return g;
  }
  throw new SwapError('E_SPACE', 'NB101 sampling found no valid cell');
}

/**
 * nasbench example's `mutate_spec`, on the pruned cell padded back to 7 vertices (the kept interior vertices at
 * random interior slots in order, dead slots with random ops): flip each of the 21 edge bits with probability
 * `rate/7` and resample each interior op (to a different op) with probability `rate/5`; repeat until the result
 * is valid and a different cell (different {@link nb101Hash}).
 */
export function mutateNb101(g: Nb101Genotype, rng: Rng, rate = 1): Nb101Genotype {
  const key = nb101Hash(g);
  for (let t = 0; t < MAX_TRIES; t++) {
    const slots = rng
      .sample(5, g.ops.length - 2)
      .map((s) => s + 1)
      .sort((a, b) => a - b);
    const { matrix, ops } = padTo7(g, slots, () => NB101_OPS[rng.int(3)]!);
    for (const [i, j] of SPOTS) if (rng.next() < rate / 7) matrix[i]![j] = 1 - matrix[i]![j]!;
    for (let v = 1; v < 6; v++) {
      if (rng.next() < rate / 5) ops[v] = rng.pick(NB101_OPS.filter((o) => o !== ops[v]));
    }
    const m = tryMake(matrix, ops);
    if (m && nb101Hash(m) !== key) return m;
  }
  throw new SwapError('E_SPACE', `NB101 mutation found no valid different cell for ${formatNb101(g)}`);
}

/**
 * Uniform crossover on the 7-vertex layout of {@link encodeNb101} (kept interior vertices first, dead slots
 * with random ops): each edge bit and each interior op from parent a or b with equal probability, redrawn until
 * the child is a valid cell. Falls back to a copy of `a` if no valid child turns up (not seen in practice).
 */
export function crossoverNb101(a: Nb101Genotype, b: Nb101Genotype, rng: Rng): Nb101Genotype {
  const pa = padTo7(a, leadingSlots(a), () => NB101_OPS[rng.int(3)]!);
  const pb = padTo7(b, leadingSlots(b), () => NB101_OPS[rng.int(3)]!);
  for (let t = 0; t < 1000; t++) {
    const matrix = Array.from({ length: 7 }, () => new Array<number>(7).fill(0));
    for (const [i, j] of SPOTS) matrix[i]![j] = (rng.next() < 0.5 ? pa : pb).matrix[i]![j]!;
    const ops = pa.ops.map((op, v) => (v === 0 || v === 6 ? op : rng.next() < 0.5 ? op : pb.ops[v]!));
    const c = tryMake(matrix, ops);
    if (c) return c;
  }
  return a;
}

/**
 * Fixed-length features (length {@link NB101_ENCODING_LENGTH}): the cell laid out on 7 vertices (interior
 * vertices at 1…V−2, output at 6, absent vertices empty), its 21 upper-triangular bits row by row, then a
 * one-hot of {@link NB101_OPS} per interior slot 1…5 (all zero for an absent vertex).
 */
export function encodeNb101(g: Nb101Genotype): number[] {
  const n = g.ops.length;
  const pos = [0, ...leadingSlots(g), 6];
  const m = Array.from({ length: 7 }, () => new Array<number>(7).fill(0));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (g.matrix[i]![j]) m[pos[i]!]![pos[j]!] = 1;
  const out = SPOTS.map(([i, j]) => m[i]![j]!);
  for (let s = 1; s < 6; s++) {
    const op = s < n - 1 ? g.ops[s] : undefined;
    for (const o of NB101_OPS) out.push(op === o ? 1 : 0);
  }
  return out;
}
