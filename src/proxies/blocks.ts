/**
 * Block features of a network for AZ-NAS (stem and cell/block outputs): the 4-D points every input→output path
 * passes through (cut vertices, found by counting paths modulo a prime) where paths split or merge — a cut vertex
 * with several consumers (the stem output feeding a cell's edges) or several inputs (a cell's or residual block's
 * output sum). On NB201 these are the 18 official features (stem, 15 cells, 2 reduction blocks) except for cells
 * that are a single chain; in DARTS-style cells that also read the cell before last, only points all paths share
 * qualify.
 */
import { pathInputs } from '../ir/analysis.js';
import type { Network } from '../ir/types.js';

const P = 2147483629; // prime < 2^31: path counts mod P (products stay exact in float64 via two halves)

function mulMod(a: number, b: number): number {
  const hi = Math.floor(b / 65536);
  const lo = b % 65536;
  return (((a * hi) % P) * 65536 + a * lo) % P;
}

export function blockFeatures(net: Network): number[] {
  const n = net.nodes.length;
  const from = new Array<number>(n).fill(0);
  const to = new Array<number>(n).fill(0);
  from[0] = 1;
  // paths through a product follow its signal, not its gate (a SiLU or squeeze-and-excitation is no split/merge)
  for (const node of net.nodes) for (const j of pathInputs(node)) from[node.id] = (from[node.id]! + from[j]!) % P;
  to[net.output] = 1;
  for (let i = n - 1; i >= 0; i--) for (const j of pathInputs(net.nodes[i]!)) to[j] = (to[j]! + to[i]!) % P;
  const total = from[net.output]!;
  const cut = net.nodes.filter(
    (v) => v.id !== 0 && v.shape.length === 3 && to[v.id] !== 0 && mulMod(from[v.id]!, to[v.id]!) === total,
  );
  const consumers = new Array<number>(n).fill(0);
  for (const node of net.nodes) for (const j of new Set(pathInputs(node))) if (to[node.id]) consumers[j]!++;
  const only = new Map<number, number>();
  for (const node of net.nodes) if (pathInputs(node).length === 1) only.set(pathInputs(node)[0]!, node.id);
  const q = cut.filter((v) => pathInputs(v).length >= 2 || consumers[v.id]! >= 2).map((v) => v.id);
  // Of qualifying points joined by a plain chain (a sum followed by its ReLU), keep the later one.
  const chainedTo = (a: number, b: number) => {
    let v = a;
    while (v !== b && consumers[v] === 1 && only.has(v)) v = only.get(v)!;
    return v === b;
  };
  return q.filter((v, k) => k + 1 === q.length || !chainedTo(v, q[k + 1]!));
}
