import { convTaps } from '../ir/ops.js';
import type { Network } from '../ir/types.js';
import { fillGaussian, type GaussianFill } from '../init/prng.js';
import type { NetParams, NodeParams, ParamKind, ParamRef } from './types.js';

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
  return net.nodes.map((n): NodeParams | undefined => {
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
      default:
        return undefined;
    }
  });
}

const KINDS: readonly ParamKind[] = ['weight', 'bias', 'gamma', 'beta'];

/**
 * The trainable tensors of `params` in IR node order and, within a node, PyTorch's order (weight, bias for
 * conv/linear; γ, β for BN). For networks built in module order this is `named_parameters()` order.
 */
export function paramRefs(params: NetParams): ParamRef[] {
  const out: ParamRef[] = [];
  params.forEach((p, node) => {
    if (p) for (const kind of KINDS) if (p[kind]) out.push({ node, kind });
  });
  return out;
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
    for (const kind of KINDS) {
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

/** Fan-in of a conv/linear weight (`cin/groups·kh·kw` or `fin`), 0 for other nodes. */
export function fanIn(net: Network, node: number): number {
  const n = net.nodes[node]!;
  if (n.op === 'conv') return (n.cin / n.groups) * convTaps(n);
  if (n.op === 'linear') return n.fin;
  return 0;
}
