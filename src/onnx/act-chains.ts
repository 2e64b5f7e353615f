/**
 * The ONNX node chains that torch.onnx (opset ≤ 17) writes for one activation module, recognised so that the
 * module imports as one IR `act` node: nn.GELU as Div(x, √2) → Erf → Add(1) → Mul(x) → Mul(½) (or Mul(x, 1/√2)
 * first), nn.GELU(approximate='tanh') as Mul(x, x) → Mul(x) → Mul(κ) → Add(x) → Mul(β) → Tanh → Add(1) → Mul(x) →
 * Mul(½), and nn.Mish as Softplus(x) → Tanh → Mul(x). Each intermediate tensor must have the chain's next node as
 * its only reader (and not be a graph output), so nothing else sees a value the IR does not compute.
 */
import type { ActFn } from '../ir/types.js';
import type { INodeProto } from './proto.js';
import { GELU_TANH_BETA, GELU_TANH_KAPPA } from '../ir/activations.js';

/** What a matcher reads of the graph being imported. */
export interface ChainGraph {
  readonly nodes: readonly INodeProto[];
  readersOf(name: string): readonly number[];
  readonly graphOutputs: ReadonlySet<string>;
  /** The values of tensor `name` when it is a constant (undefined otherwise). */
  constant(name: string): readonly number[] | undefined;
}

/** A recognised chain: the activation, its input tensor, the nodes it consumes after the first, its last node. */
export interface ActChain {
  readonly fn: ActFn;
  readonly input: string;
  readonly absorbed: readonly number[];
  readonly last: INodeProto;
}

/** The only reader of `n`'s output, when it has one and is of type `op`. */
function soleReader(g: ChainGraph, n: INodeProto, op: string): [number, INodeProto] | undefined {
  const y = n.output?.[0];
  if (!y || (n.output ?? []).length !== 1 || g.graphOutputs.has(y)) return undefined;
  const rs = g.readersOf(y);
  const m = rs.length === 1 ? g.nodes[rs[0]!] : undefined;
  return m?.opType === op ? [rs[0]!, m] : undefined;
}

/** The input of binary node `m` other than `name`, or undefined when `name` is not one of its two inputs. */
function other(m: INodeProto, name: string): string | undefined {
  const ins = m.input ?? [];
  if (ins.length !== 2) return undefined;
  return ins[0] === name ? ins[1] : ins[1] === name ? ins[0] : undefined;
}

/** Whether `name` is a scalar constant within float32 rounding of `v`. */
function isScalar(g: ChainGraph, name: string | undefined, v: number): boolean {
  const c = name === undefined ? undefined : g.constant(name);
  return c?.length === 1 && Math.abs(c[0]! - v) <= 1e-6 * Math.abs(v);
}

/**
 * nn.GELU from its first node `n`: Div(x, √2) or Mul(x, 1/√2), then Erf, Add(1), and the product with x and ½
 * as (x·u)·½ (torch.onnx's order) or x·(u·½).
 */
export function geluChain(g: ChainGraph, n: INodeProto): ActChain | undefined {
  const ins = n.input ?? [];
  // Mul may hold its constant first
  const [x, c] = n.opType === 'Mul' && g.constant(ins[0] ?? '') ? [ins[1], ins[0]] : [ins[0], ins[1]];
  if (!x || ins.length !== 2) return undefined;
  const scaled = n.opType === 'Div' ? isScalar(g, c, Math.SQRT2) : n.opType === 'Mul' && isScalar(g, c, Math.SQRT1_2);
  if (!scaled) return undefined;
  const erf = soleReader(g, n, 'Erf');
  const add = erf && soleReader(g, erf[1], 'Add');
  if (!add || !isScalar(g, other(add[1], erf[1].output![0]!), 1)) return undefined;
  const m1 = soleReader(g, add[1], 'Mul');
  if (!m1) return undefined;
  const m2 = soleReader(g, m1[1], 'Mul');
  const mid = other(m1[1], add[1].output![0]!);
  if (!m2) return undefined;
  const last = other(m2[1], m1[1].output![0]!);
  // (x·u)·½, or (u·½)·x
  const ok = (mid === x && isScalar(g, last, 0.5)) || (isScalar(g, mid, 0.5) && last === x);
  return ok ? { fn: 'gelu', input: x, absorbed: [erf[0], add[0], m1[0], m2[0]], last: m2[1] } : undefined;
}

/** nn.Mish from its Softplus `n`: Softplus(x) → Tanh → Mul with x. */
export function mishChain(g: ChainGraph, n: INodeProto): ActChain | undefined {
  const x = n.input?.[0];
  const tanh = x ? soleReader(g, n, 'Tanh') : undefined;
  const mul = tanh && soleReader(g, tanh[1], 'Mul');
  if (!mul || other(mul[1], tanh[1].output![0]!) !== x) return undefined;
  return { fn: 'mish', input: x!, absorbed: [tanh[0], mul[0]], last: mul[1] };
}

/**
 * nn.GELU(approximate='tanh') from its first node `n`, Mul(x, x), as torch.onnx writes it: x·x² → κ·x³ → x + κx³ →
 * β·(…) → Tanh → 1 + t → x·(1 + t) → ½·(…), each step with its operands in either order.
 */
export function geluTanhChain(g: ChainGraph, n: INodeProto): ActChain | undefined {
  const [x, x2] = n.input ?? [];
  if (n.opType !== 'Mul' || !x || x !== x2) return undefined;
  const absorbed: number[] = [];
  let cur: INodeProto = n;
  // each step: the next node's type and what its other operand must be (x itself, or a scalar constant)
  const steps: [string, string | number][] = [
    ['Mul', x],
    ['Mul', GELU_TANH_KAPPA],
    ['Add', x],
    ['Mul', GELU_TANH_BETA],
    ['Tanh', ''],
    ['Add', 1],
    ['Mul', x],
    ['Mul', 0.5],
  ];
  for (const [op, want] of steps) {
    const next = soleReader(g, cur, op);
    if (!next) return undefined;
    if (op !== 'Tanh') {
      const o = other(next[1], cur.output![0]!);
      if (typeof want === 'string' ? o !== want : !isScalar(g, o, want)) return undefined;
    }
    absorbed.push(next[0]);
    cur = next[1];
  }
  return { fn: 'gelu_tanh', input: x, absorbed, last: cur };
}
