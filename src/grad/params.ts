import { convTaps } from '../ir/ops.js';
import type { Network, TiedParam } from '../ir/types.js';
import { fillGaussian, type GaussianFill } from '../init/prng.js';
import type { NetParams, NodeParams, ParamKind, ParamRef } from './types.js';

/** The trainable tensor kinds, in PyTorch's order within a module (weight, bias; γ, β). */
export const PARAM_KINDS: readonly ParamKind[] = ['weight', 'bias', 'gamma', 'beta'];

/**
 * The weights every forward-scoring backend uses, as explicit parameters: conv/linear weights N(0,1) from the
 * shared PRNG (`init/prng.ts`, float32 values widened exactly), biases 0, BN γ = 1, β = 0, running mean 0 and
 * running variance 1. `fill` may be a faster bit-identical generator (the native addon's `prngFill`).
 */
export function prngParams(net: Network, seed: number, fill: GaussianFill = fillGaussian): NetParams {
  return paramsWith(net, (node, kind, length) =>
    kind === 'bias' ? new Float64Array(length) : Float64Array.from(fill(new Float32Array(length), seed, node)),
  );
}

/**
 * Parameters of `net` whose conv/linear weights and biases `make` draws (by node id, kind and length), with BN
 * γ = 1, β = 0, running mean 0 and running variance 1 — the layout {@link prngParams} and the proxies' init
 * schemes share.
 */
export function paramsWith(
  net: Network,
  make: (node: number, kind: 'weight' | 'bias', length: number) => Float64Array,
): NetParams {
  return withTies(
    net,
    net.nodes.map((n): NodeParams | undefined => {
      switch (n.op) {
        case 'conv': {
          const weight = make(n.id, 'weight', n.cout * (n.cin / n.groups) * convTaps(n));
          return { weight, ...(n.bias ? { bias: make(n.id, 'bias', n.cout) } : {}) };
        }
        case 'linear': {
          const weight = make(n.id, 'weight', n.fout * n.fin);
          return { weight, ...(n.bias ? { bias: make(n.id, 'bias', n.fout) } : {}) };
        }
        case 'bn': {
          const c = n.shape[0];
          const stats = { runningMean: new Float64Array(c), runningVar: new Float64Array(c).fill(1) };
          return n.affine ? { gamma: new Float64Array(c).fill(1), beta: new Float64Array(c), ...stats } : stats;
        }
        case 'gn':
          return n.affine
            ? { gamma: new Float64Array(n.shape[0]).fill(1), beta: new Float64Array(n.shape[0]) }
            : undefined;
        default:
          return undefined;
      }
    }),
  );
}

/**
 * `params` with each tied tensor (`net.tied`) replaced by its first use's, so that a module called twice holds one
 * tensor, as in PyTorch (a fresh initialisation draws it once, under the first use's node id); so is a weight two
 * modules share (`net.sharedDraws`), whose uses are otherwise scored apart.
 */
function withTies(net: Network, params: (NodeParams | undefined)[]): NetParams {
  for (const t of net.tied ?? []) params[t.node] = { ...params[t.node], [t.kind]: params[t.of]![t.kind] };
  for (const d of net.sharedDraws ?? []) params[d.node] = { ...params[d.node], weight: params[d.of]!.weight };
  return params;
}

/** Every use of each tensor that has several (`net.tied`): its first use's node id → all users, first use first. */
export function tensorUses(net: Network, kind: TiedParam['kind']): Map<number, number[]> {
  const uses = new Map<number, number[]>();
  for (const t of net.tied ?? []) if (t.kind === kind) uses.set(t.of, [...(uses.get(t.of) ?? [t.of]), t.node]);
  return uses;
}

/** The elementwise sum of the defined tensors of `parts`, in order (undefined when none is). */
export function sumOf(parts: readonly (Float64Array | undefined)[]): Float64Array | undefined {
  const defined = parts.filter((g) => g !== undefined);
  if (defined.length === 0) return undefined;
  const sum = defined[0]!.slice();
  for (const g of defined.slice(1)) for (let i = 0; i < sum.length; i++) sum[i]! += g[i]!;
  return sum;
}

/** Whether tensor `kind` of `node` is a later use of an earlier node's tensor (it is scored there). */
export function isTiedUse(net: Network, node: number, kind: TiedParam['kind']): boolean {
  if (!net.tied?.length) return false;
  let later = laterUses.get(net.tied);
  if (!later) laterUses.set(net.tied, (later = new Set(net.tied.map((t) => `${t.node}:${t.kind}`))));
  return later.has(`${node}:${kind}`);
}

/** `node:kind` of every later use, per tie list (networks are immutable data: the list is their own). */
const laterUses = new WeakMap<readonly TiedParam[], Set<string>>();

/**
 * Per-use gradients (an engine's: one tensor per node) as PyTorch accumulates them: each tied tensor's gradient is
 * the sum over its uses, held by its first use, and the later uses hold none. `grads` itself when nothing is tied.
 */
export function tieGrads<T extends NetParams | undefined>(net: Network, grads: T): T {
  if (!grads || !net.tied?.length) return grads;
  const out = grads.map((p) => (p ? { ...p } : undefined)) as (
    | { -readonly [K in keyof NodeParams]: NodeParams[K] }
    | undefined
  )[];
  for (const kind of PARAM_KINDS)
    for (const [first, users] of tensorUses(net, kind)) {
      const sum = sumOf(users.map((u) => grads[u]?.[kind]));
      if (!sum) continue;
      out[first] = { ...out[first], [kind]: sum };
      for (const u of users.slice(1)) if (out[u]) delete out[u]![kind];
    }
  return out as unknown as T;
}

/**
 * The trainable tensors of `params` in IR node order and, within a node, PyTorch's order (weight, bias for
 * conv/linear; γ, β for BN). For networks built in module order this is `named_parameters()` order. With `net`, a
 * tensor several nodes share (`net.tied`) appears once, at its first use, as in `named_parameters()`, and an
 * imported model's own order (`net.parameterOrder`) replaces node order.
 */
export function paramRefs(params: NetParams, net?: Network): ParamRef[] {
  const out: ParamRef[] = [];
  params.forEach((p, node) => {
    if (p)
      for (const kind of PARAM_KINDS) if (p[kind] && !(net && isTiedUse(net, node, kind))) out.push({ node, kind });
  });
  const order = net?.parameterOrder;
  if (!order) return out;
  // the model's own order where the import read one; a tensor it does not list keeps its place after those it does
  const rank = new Map(order.map((r, i) => [`${r.node}:${r.kind}`, i]));
  return out
    .map((r, i) => ({ r, key: rank.get(`${r.node}:${r.kind}`) ?? order.length + i }))
    .sort((a, b) => a.key - b.key)
    .map(({ r }) => r);
}

/** The tensor a {@link ParamRef} names; throws a plain error when absent (a programming mistake). */
export function paramTensor(params: NetParams, ref: ParamRef): Float64Array {
  const t = params[ref.node]?.[ref.kind];
  if (!t) throw new Error(`node ${ref.node} has no ${ref.kind}`);
  return t;
}

/**
 * A copy of `params` with every trainable tensor transformed elementwise (running statistics copied
 * unchanged), e.g. `Math.abs` for synflow.
 */
export function mapParams(params: NetParams, f: (v: number, ref: ParamRef) => number): NetParams {
  return params.map((p, node) => {
    if (!p) return undefined;
    const q: { -readonly [K in keyof NodeParams]: NodeParams[K] } = { ...p };
    for (const kind of PARAM_KINDS) {
      const t = p[kind];
      if (!t) continue;
      const ref = { node, kind };
      q[kind] = t.map((v) => f(v, ref));
    }
    if (p.runningMean) q.runningMean = p.runningMean.slice();
    if (p.runningVar) q.runningVar = p.runningVar.slice();
    return q;
  });
}

/**
 * Fan-in of a conv/linear weight as PyTorch's initialisers count it (its dim 1 times the taps: `cin/groups·kh·kw`, a
 * transposed conv's `cout/groups·kh·kw`; `fin`), 0 for other nodes.
 */
export function fanIn(net: Network, node: number): number {
  const n = net.nodes[node]!;
  if (n.op === 'conv') return ((n.transposed ? n.cout : n.cin) / n.groups) * convTaps(n);
  if (n.op === 'linear') return n.fin;
  return 0;
}
