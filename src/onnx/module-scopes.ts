/**
 * The outputs of the PyTorch modules a model was exported from, read from the node names torch.onnx (≥ 1.13) writes:
 * `/layer1/layer1.0/conv1/Conv` is a Conv node inside module `layer1.0.conv1`, inside `layer1.0`, inside `layer1`;
 * a module called twice gets a suffix (`relu`, `relu_1`), a functional op (`F.relu`, `x + y`) sits directly in
 * its caller's scope (`/layer1/layer1.0/Add`). A module instance's output is the tensor its nodes produce that a node
 * outside it reads (or the graph returns). MeCo's official code hooks every module (`named_modules()`, containers
 * and the root included), so these are the activations it reads — a container whose output is its last child's
 * counts that tensor again.
 */
import type { INodeProto as NodeProto } from './proto.js';

/** A module instance's scope (`''` for the root) from a node name, or undefined when the name has none. */
function scopeOf(name: string | null | undefined): string | undefined {
  if (!name?.startsWith('/')) return undefined;
  return name.slice(0, name.lastIndexOf('/'));
}

/** `scope` and every module scope enclosing it, the root (`''`) last. */
function enclosing(scope: string): string[] {
  const out = [scope];
  for (let s = scope; s !== ''; ) {
    s = s.slice(0, s.lastIndexOf('/'));
    out.push(s);
  }
  return out;
}

/** Whether a node of scope `inner` is inside module `outer`. */
const inside = (inner: string, outer: string) => outer === '' || inner === outer || inner.startsWith(`${outer}/`);

/** What {@link moduleOutputs} found. */
export interface ModuleOutputs {
  /** One IR node id per module call, in the order the modules finish (repeats where outputs coincide). */
  readonly ids: readonly number[];
  /** Modules whose output is a zero-padded map the IR folds into the next conv or pool (nn.ZeroPad2d), by scope. */
  readonly missing: readonly string[];
}

/**
 * The IR node of every module call's output, or undefined when the nodes carry no torch.onnx scopes (another
 * exporter, or torch before 1.13: every node but a Constant must be named `/…`). `irOf` maps a tensor name to its
 * IR node, `padded` says which tensors are zero-padded maps without a node of their own. Modules with several
 * outputs (a tuple: MeCo reads its first element whole) and modules whose output is not an IR node are left out,
 * padded maps listed in `missing`.
 */
export function moduleOutputs(
  nodes: readonly NodeProto[],
  graphOutputs: readonly string[],
  irOf: (tensor: string) => number | undefined,
  padded: (tensor: string) => boolean = () => false,
): ModuleOutputs | undefined {
  // torch.onnx leaves the Constants of shape arithmetic unnamed (`Constant_23`): they produce no map
  const scopes = nodes.map((n) => (n.opType === 'Constant' && !n.name?.startsWith('/') ? '' : scopeOf(n.name)));
  if (nodes.length === 0 || scopes.some((s) => s === undefined)) return undefined;
  const readers = new Map<string, string[]>();
  nodes.forEach((n, i) => {
    for (const t of n.input ?? []) if (t) readers.set(t, [...(readers.get(t) ?? []), scopes[i]!]);
  });
  const returned = new Set(graphOutputs);
  // per module instance: the tensors leaving it, in node order (the order modules finish)
  const exits = new Map<string, { tensor: string; at: number }[]>();
  nodes.forEach((n, i) => {
    for (const t of n.output ?? []) {
      if (!t) continue;
      for (const m of enclosing(scopes[i]!)) {
        const leaves = returned.has(t) || (readers.get(t) ?? []).some((r) => !inside(r, m));
        if (leaves) exits.set(m, [...(exits.get(m) ?? []), { tensor: t, at: i }]);
      }
    }
  });
  const calls: { id: number; at: number }[] = [];
  const missing: string[] = [];
  for (const [m, out] of exits) {
    // constants and shape arithmetic leaving a module are not its output
    const ir = out.filter((e) => irOf(e.tensor) !== undefined);
    if (ir.length === 1) calls.push({ id: irOf(ir[0]!.tensor)!, at: ir[0]!.at });
    else if (ir.length === 0 && out.length === 1 && padded(out[0]!.tensor)) missing.push(m || '(root)');
  }
  calls.sort((a, b) => a.at - b.at);
  return { ids: calls.map((c) => c.id), missing };
}

/**
 * The Relu nodes that are functional calls (`F.relu`, `torch.relu`): torch.onnx names them in their caller's scope,
 * which holds other nodes too (its own, or its children's: torchvision's BasicConv2d returns F.relu(bn(conv(x)))),
 * where an nn.ReLU module's Relu is the only node of its scope. The official SWAP and NASLib's nwot hook nn.ReLU
 * modules only, so they do not see these; swapnas counts every Relu. 0 without scopes (a file that cannot tell).
 */
export function functionalRelus(nodes: readonly NodeProto[]): number {
  if (nodes.length === 0 || nodes.some((n) => n.opType !== 'Constant' && scopeOf(n.name) === undefined)) return 0;
  // non-Constant nodes inside each module scope, its children's included
  const inScope = new Map<string, number>();
  for (const n of nodes)
    if (n.opType !== 'Constant') for (const m of enclosing(scopeOf(n.name)!)) inScope.set(m, (inScope.get(m) ?? 0) + 1);
  return nodes.filter((n) => n.opType === 'Relu' && inScope.get(scopeOf(n.name)!)! > 1).length;
}

/** The note {@link functionalRelus} gives, or undefined when there are none. */
export function functionalReluNote(nodes: readonly NodeProto[]): string | undefined {
  const k = functionalRelus(nodes);
  if (k === 0) return undefined;
  return `${k} of the model's Relu nodes are functional calls (F.relu, named in their caller's scope): the official SWAP and NASLib's nwot hook nn.ReLU modules only and would not see them; swapnas counts every ReLU`;
}
