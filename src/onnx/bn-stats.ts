/**
 * The subgraph torch.onnx writes for a BatchNorm without running statistics (`track_running_stats=False`, NAS-Bench-201's
 * search cells): the mean and the biased variance of its own input X per channel, fed to the BatchNormalization as
 * its mean / var inputs —
 *
 *   R = Reshape(X, [N, C, −1]); T = Transpose(R, [0, 2, 1]); mean = ReduceMean(T, [0, 1], keepdims 0);
 *   D = Sub(T, ReduceMean(T, [0, 1], keepdims 1)); var = ReduceMean(Mul(D, D), [0, 1], keepdims 0).
 *
 * Such a BatchNormalization normalises with batch statistics in every mode (its eval form reads these very values);
 * it imports as a `bn` with `batchStats`, and the seven nodes are absorbed. Each must be read only inside the
 * subgraph or by the BatchNormalization's mean / var inputs.
 */
import { getInt, getInts, type INodeProto, type ITensorProto, tensorValues } from './proto.js';

/** What the matcher reads of the graph. */
export interface StatsGraph {
  readonly nodes: readonly INodeProto[];
  readonly consts: ReadonlyMap<string, ITensorProto>;
  readersOf(name: string): readonly number[];
  readonly graphOutputs: ReadonlySet<string>;
}

/** The BatchNormalizations whose statistics are computed from their input, and the nodes computing them. */
export interface BatchStatSubgraphs {
  readonly bns: ReadonlySet<number>;
  readonly absorbed: ReadonlySet<number>;
  /** Each such BN's Reshape target [batch or 0, C, −1] (the importer checks C and the batch against X). */
  readonly targets: ReadonlyMap<number, readonly number[]>;
}

export function batchStatSubgraphs(g: StatsGraph): BatchStatSubgraphs {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) producer.set(o, i);
  });
  const bns = new Set<number>();
  const absorbed = new Set<number>();
  const targets = new Map<number, readonly number[]>();
  g.nodes.forEach((b, bi) => {
    if (b.opType !== 'BatchNormalization') return;
    const set = statsOf(g, producer, b, bi);
    if (!set) return;
    bns.add(bi);
    for (const i of set) absorbed.add(i);
    const reshape = g.nodes[set[set.length - 1]!]!;
    targets.set(bi, Array.from(tensorValues(g.consts.get(reshape.input![1]!)!)));
  });
  return { bns, absorbed, targets };
}

/** The node indices of BN `b`'s statistics subgraph, or undefined when its mean / var are not that subgraph. */
function statsOf(
  g: StatsGraph,
  producer: ReadonlyMap<string, number>,
  b: INodeProto,
  bi: number,
): number[] | undefined {
  const [x, , , mean, variance] = b.input ?? [];
  if (!x || !mean || !variance || g.consts.has(mean) || g.consts.has(variance)) return undefined;
  const node = (name: string | undefined, op: string): [number, INodeProto] | undefined => {
    const i = name === undefined ? undefined : producer.get(name);
    const n = i === undefined ? undefined : g.nodes[i];
    return n?.opType === op ? [i!, n] : undefined;
  };
  const pm = node(mean, 'ReduceMean');
  const pv = node(variance, 'ReduceMean');
  const pq = node(pv?.[1].input?.[0], 'Mul');
  const [d1, d2] = pq?.[1].input ?? [];
  const pd = d1 === d2 ? node(d1, 'Sub') : undefined;
  const t = pm?.[1].input?.[0];
  const pk = node(pd?.[1].input?.[1], 'ReduceMean');
  const pt = node(t, 'Transpose');
  const pr = node(pt?.[1].input?.[0], 'Reshape');
  if (!pm || !pv || !pq || !pd || !pk || !pt || !pr) return undefined;
  const overBatchAndPositions = (n: INodeProto, keep: number) =>
    reduceAxes(g, n).join(',') === '0,1' && getInt(n, 'keepdims', 1) === keep;
  const ok =
    pd[1].input?.[0] === t &&
    pv[1].input?.[0] === pq[1].output?.[0] &&
    pk[1].input?.[0] === t &&
    overBatchAndPositions(pm[1], 0) &&
    overBatchAndPositions(pv[1], 0) &&
    overBatchAndPositions(pk[1], 1) &&
    (getInts(pt[1], 'perm') ?? []).join(',') === '0,2,1' &&
    pr[1].input?.[0] === x &&
    flattensPositions(g, pr[1].input?.[1]);
  const set = [pm, pv, pq, pd, pk, pt, pr].map(([i]) => i);
  return ok && readOnlyWithin(g, set, bi) ? set : undefined;
}

/** ReduceMean's axes: its attribute, or (opset 18) its constant second input. */
function reduceAxes(g: StatsGraph, n: INodeProto): number[] {
  const name = n.input?.[1];
  const t = name ? g.consts.get(name) : undefined;
  return (t ? Array.from(tensorValues(t)) : (getInts(n, 'axes') ?? [])).map(Number).sort();
}

/** Whether a Reshape target is [N or 0, C, −1]: the batch kept, the channels, the positions flattened. */
function flattensPositions(g: StatsGraph, name: string | undefined): boolean {
  const t = name ? g.consts.get(name) : undefined;
  const v = t ? Array.from(tensorValues(t)) : [];
  return v.length === 3 && v[0]! >= 0 && v[1]! > 0 && v[2] === -1;
}

/** Whether every output of the nodes `set` is read only by nodes of the set or by BN `bi`, and is no graph output. */
function readOnlyWithin(g: StatsGraph, set: readonly number[], bi: number): boolean {
  const inside = new Set([...set, bi]);
  return set.every((i) =>
    (g.nodes[i]!.output ?? []).every(
      (o) => !o || (!g.graphOutputs.has(o) && g.readersOf(o).every((r) => inside.has(r))),
    ),
  );
}
