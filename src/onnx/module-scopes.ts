/**
 * The outputs of the PyTorch modules a model was exported from, read from the node names torch.onnx (≥ 1.13) writes:
 * `/layer1/layer1.0/conv1/Conv` is a Conv node inside module `layer1.0.conv1`, inside `layer1.0`, inside `layer1`;
 * a functional op (`F.relu`, `x + y`) sits directly in its caller's scope (`/layer1/layer1.0/Add`). A repeated name
 * gets a suffix on its last scope only (`relu`, `relu_1`; a container's second call keeps `/block` and its children
 * become `/block/block.0_1`). A module's outputs are the tensors its nodes produce that a node outside it reads, the
 * graph returns, or its own next call reads (a chain). MeCo's official code hooks every module call
 * (`named_modules()`, containers and the root included), so these are the activations it reads — a container whose
 * output is its last child's counts that tensor again.
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

/** The scope a module scope sits in (`''`: the root). */
const parentOf = (scope: string) => scope.slice(0, scope.lastIndexOf('/'));

/**
 * Each node's module scope, a reused container's suffixed twin folded back ({@link ownScopes}), or undefined when
 * the nodes carry no torch.onnx scopes: every node must be named `/…` but those off the data path (`isConst`: an
 * unnamed Constant of shape arithmetic, and the `Identity_3` an eval-mode export gives each initializer it merged
 * with an equal one, as a fresh model's BN scales and running variances), which sit in no module.
 */
function nodeScopes(nodes: readonly NodeProto[], isConst: (t: string) => boolean): string[] | undefined {
  const data = dataPath(nodes, isConst);
  const named = nodes.map((n, i) => (!data[i] && !n.name?.startsWith('/') ? '' : scopeOf(n.name)));
  if (nodes.length === 0 || named.some((s) => s === undefined)) return undefined;
  return ownScopes(named as string[]);
}

/** Whether a node of scope `inner` is inside module `outer`. */
const inside = (inner: string, outer: string) => outer === '' || inner === outer || inner.startsWith(`${outer}/`);

/** What {@link moduleOutputs} found. */
export interface ModuleOutputs {
  /** One IR node id per module call, in the order the modules finish (repeats where outputs coincide). */
  readonly ids: readonly number[];
  /** The positions in `ids` of the calls whose output is a map permuted to channels-last (N, H, W, C). */
  readonly channelsLast: readonly number[];
  /** Modules whose output is a zero-padded map the IR folds into the next conv or pool (nn.ZeroPad2d), by scope. */
  readonly missing: readonly string[];
  /**
   * Modules one of whose calls returns several maps (a tuple or list: HRNet's branches, OctConv's (high, low) pair),
   * by scope: more maps of their own leave them than they have calls (a parameter-free op of an outside tensor is
   * taken for torch.onnx's merge of sibling modules' first ops, not a tuple element). The official MeCo hook reads
   * `data_output[0]`, the tuple's first map (N, C, H, W), with its samples as rows: of MeCo's one image one row, and
   * torch.linalg.eig raises there.
   */
  readonly tuples: readonly string[];
}

/**
 * The IR node of every module call's output, or undefined when the nodes carry no torch.onnx scopes (another
 * exporter, or torch before 1.13: every node on the data path must be named `/…`). `irOf` maps a tensor name to its
 * IR node, `padded` says which tensors are zero-padded maps without a node of their own (listed in `missing`). Each
 * map leaving a module counts as one call's output; where more maps leave a module than it has calls, one call
 * returns several (`tuples`).
 */
export function moduleOutputs(
  nodes: readonly NodeProto[],
  graphOutputs: readonly string[],
  irOf: (tensor: string) => number | undefined,
  padded: (tensor: string) => boolean = () => false,
  isConst: (tensor: string) => boolean = () => false,
  channelsLast: (tensor: string) => boolean = () => false,
): ModuleOutputs | undefined {
  const scopes = nodeScopes(nodes, isConst);
  if (!scopes) return undefined;
  const readers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const t of n.input ?? []) if (t) push(readers, t, i);
  });
  const restart = callStarts(nodes, scopes, dataPath(nodes, isConst));
  const returned = new Set(graphOutputs);
  // per module instance: the tensors leaving it, in node order (the order modules finish): read outside it, or
  // read by its own next call (a chain: `block(block(x))`)
  const exits = new Map<string, { tensor: string; at: number }[]>();
  nodes.forEach((n, i) => {
    for (const t of n.output ?? []) {
      if (!t) continue;
      for (const m of enclosing(scopes[i]!)) {
        const leaves = returned.has(t) || (readers.get(t) ?? []).some((r) => !inside(scopes[r]!, m) || restart(r, m));
        if (leaves) push(exits, m, { tensor: t, at: i });
      }
    }
  });
  const calls: { id: number; at: number; last: boolean }[] = [];
  const missing: string[] = [];
  const tuples: string[] = [];
  const callCount = callsOf(nodes, scopes, isConst);
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const t of n.output ?? []) if (t) producer.set(t, i);
  });
  for (const [m, out] of exits) {
    // constants and shape arithmetic leaving a module are not its output; several maps leaving one scope are as
    // many calls of it (torch.onnx names a container's second call like its first: `/block`, its children
    // `/block/block.0_1`), each hooked once
    const ir = out.flatMap((e) => {
      const id = irOf(e.tensor);
      return id === undefined ? [] : [{ id, at: e.at, last: channelsLast(e.tensor) }];
    });
    // the root's hook reads what the model returns, the file's first output (the others: the block features an
    // AZ-NAS export adds)
    const hooked = m === '' ? ir.filter((c) => out.some((e) => e.at === c.at && e.tensor === graphOutputs[0])) : ir;
    calls.push(...hooked);
    if (ir.length === 0 && out.length === 1 && padded(out[0]!.tensor)) missing.push(m || '(root)');
    // a map made by a parameter-free node reading only from outside the module is no element of a tuple: torch.onnx
    // merged two modules' identical first ops (NB201's and DARTS's edges each start with an nn.ReLU of one input),
    // or an in-place first op the caller reads again
    const own = out.filter(
      (e) => irOf(e.tensor) !== undefined && !borrowed(nodes[e.at]!, m, scopes, producer, isConst),
    );
    if (m !== '' && own.length > (callCount.get(m) ?? 1)) tuples.push(m);
  }
  calls.sort((a, b) => a.at - b.at);
  const last = calls.flatMap((c, i) => (c.last ? [i] : []));
  return { ids: calls.map((c) => c.id), channelsLast: last, missing, tuples };
}

/** Whether node `n` of module `m` reads no parameter and only tensors made outside `m` (the graph's input included). */
function borrowed(
  n: NodeProto,
  m: string,
  scopes: readonly string[],
  producer: ReadonlyMap<string, number>,
  isConst: (t: string) => boolean,
): boolean {
  const ins = (n.input ?? []).filter(Boolean);
  return ins.every((t) => {
    if (isConst(t)) return false;
    const p = producer.get(t);
    return p === undefined || !inside(scopes[p]!, m);
  });
}

/**
 * How many calls of each module the names show: how often its first data node's name recurs (names taken back to
 * their first occurrence; a container's second call suffixes its children, `/block/block.0_1/Conv`). A child called
 * several times within one call (R2U-Net's recurrent block) counts too: too many calls, so a module returning a
 * tuple can be missed there, but none is invented.
 */
function callsOf(nodes: readonly NodeProto[], scopes: readonly string[], isConst: (t: string) => boolean) {
  const data = dataPath(nodes, isConst);
  const names = new Set(nodes.map((n) => n.name ?? ''));
  const first = new Map<string, string>();
  const count = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!data[i]) return;
    const name = firstName(n.name ?? '', names);
    for (const m of enclosing(scopes[i]!)) {
      if (!first.has(m)) first.set(m, name);
      if (first.get(m) === name) count.set(m, (count.get(m) ?? 0) + 1);
    }
  });
  return count;
}

/** Append `v` to `map`'s list at `k` (in place: a list per key, no copies). */
function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}

/**
 * Which nodes work on the data: those reading a tensor that is not a constant. Constants are what `isConst` names
 * (initializers, folded values) and what nodes reading only constants make (shape arithmetic on an unnamed
 * Constant; nn.PReLU's Unsqueeze of its slope).
 */
function dataPath(nodes: readonly NodeProto[], isConst: (t: string) => boolean): boolean[] {
  const made = new Set<string>();
  return nodes.map((n) => {
    const data = (n.input ?? []).some((t) => t && !isConst(t) && !made.has(t));
    if (!data) for (const t of n.output ?? []) if (t) made.add(t);
    return data;
  });
}

/** A node's name as its first occurrence had it: torch.onnx suffixes a repeated name's last scope (`/a/b_1/Conv`). */
function firstName(name: string, names: ReadonlySet<string>): string {
  const cut = name.lastIndexOf('/');
  const m = /^(.*)_\d+$/.exec(name.slice(0, cut));
  const base = m ? `${m[1]}${name.slice(cut)}` : name;
  return base !== name && names.has(base) ? base : name;
}

/**
 * `restart(r, m)`: node r begins another call of module m. A chain of calls (`block(block(x))`) shows as m's data
 * nodes, names taken back to their first occurrence, repeating one sequence of at least two nodes end to end; r
 * opens a repeat after the first. A tensor m makes and r reads is then the previous call's output. Anything else
 * (a child called several times inside one call, R2U-Net's recurrent blocks) does not tile so and is one call. A
 * container of one node called in a chain reads like a module calling its one child twice: one call.
 */
function callStarts(
  nodes: readonly NodeProto[],
  scopes: readonly string[],
  data: readonly boolean[],
): (r: number, m: string) => boolean {
  const names = new Set(nodes.map((n) => n.name ?? ''));
  const inM = new Map<string, number[]>(); // each module's data nodes, in order
  nodes.forEach((_, i) => {
    if (data[i]) for (const m of enclosing(scopes[i]!)) push(inM, m, i);
  });
  const starts = new Map<string, Set<number>>();
  for (const [m, list] of inM) {
    if (m === '') continue;
    const seq = list.map((i) => firstName(nodes[i]!.name ?? '', names));
    const p = period(seq);
    if (p !== undefined) starts.set(m, new Set(list.filter((_, k) => k > 0 && k % p === 0)));
  }
  return (r, m) => starts.get(m)?.has(r) ?? false;
}

/** The shortest p ≥ 2 that tiles `seq` with copies of its first p entries (at least two copies), if any. */
function period(seq: readonly string[]): number | undefined {
  for (let p = 2; 2 * p <= seq.length; p++) if (seq.length % p === 0 && seq.every((v, i) => v === seq[i % p])) return p;
  return undefined;
}

/**
 * Node scopes with a container's repeated call folded back: torch.onnx suffixes only the last scope of a repeated
 * name, so the functional ops of a container's second call land in a scope of their own (`/shared_1/Add` beside
 * `/shared/conv_1/Conv`), which no module is. Such a scope (a suffixed twin of a container that shows a repeated
 * child, holding no module itself) is read as the container; a module really named `conv_1` beside a container
 * `conv` whose children do not repeat stays itself.
 */
function ownScopes(named: readonly string[]): string[] {
  const all = new Set(named.flatMap(enclosing));
  const children = new Set([...all].filter((t) => t !== '').map(parentOf));
  const twinOf = (t: string) => /^(.*)_\d+$/.exec(t)?.[1];
  // containers with a child scope `c_k` beside `c`: a child called again
  const repeats = new Set(
    [...all].filter((t) => t !== '' && all.has(twinOf(t) ?? '\0') && twinOf(t) !== '').map(parentOf),
  );
  return named.map((s) => {
    const twin = twinOf(s);
    return twin !== undefined && repeats.has(twin) && !children.has(s) ? twin : s;
  });
}

/** The ops of the ReLU family, which NASLib's nwot hooks as modules (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU). */
const RELU_OPS = new Set(['Relu', 'Clip', 'LeakyRelu', 'PRelu']);

/**
 * The names of the ReLU-family nodes that are functional calls (`F.relu`, `F.relu6`, `torch.relu`): torch.onnx names
 * them in their caller's scope, which holds other nodes too (its own, or its children's: torchvision's BasicConv2d
 * returns F.relu(bn(conv(x)))), where an nn.ReLU module's node is the only one of its scope. The official hooks on
 * nn.ReLU modules (SWAP, NASLib's nwot) do not see them. Empty without scopes (a file that cannot tell); a wrapper
 * module whose only node is an F.relu reads as an nn.ReLU (class names are not in the file). `isConst` names the
 * constants and initializers: a node that reads nothing else (nn.PReLU's Unsqueeze of its slope) works on a
 * parameter, not the data, and does not count. A reused container's `/x_1` scope is read as `/x` (its second
 * call's F.relu is alone there); a scope holding only ReLUs that read from outside it is a module's, called again
 * (`relu` reused beside a module `relu_1`: torch names both calls `/relu_1`).
 */
export function functionalActivations(nodes: readonly NodeProto[], isConst: (t: string) => boolean): Set<string> {
  const scopes = nodeScopes(nodes, isConst);
  if (!scopes) return new Set();
  const data = dataPath(nodes, isConst);
  // data nodes inside each module scope, its children's included; and the scopes whose own nodes are all ReLUs
  // reading from outside (one nn.ReLU called again beside a sibling named like its repeat: `/relu_1/Relu_1`)
  const inScope = new Map<string, number>();
  const reluOnly = new Map<string, boolean>();
  const made = new Map<string, string>();
  nodes.forEach((n, i) => {
    const sc = scopes[i]!;
    if (data[i]) {
      for (const m of enclosing(sc)) inScope.set(m, (inScope.get(m) ?? 0) + 1);
      const relu = RELU_OPS.has(n.opType ?? '') && (n.input ?? []).every((t) => made.get(t) !== sc);
      reluOnly.set(sc, (reluOnly.get(sc) ?? true) && relu);
    }
    for (const t of n.output ?? []) if (t) made.set(t, sc);
  });
  const parents = new Set([...inScope.keys()].filter((t) => t !== '').map(parentOf));
  return new Set(
    nodes
      .filter((n, i) => {
        const sc = scopes[i]!;
        const module = reluOnly.get(sc) === true && !parents.has(sc) && sc !== '';
        return RELU_OPS.has(n.opType ?? '') && inScope.get(sc)! > 1 && !module;
      })
      .map((n) => n.name ?? ''),
  );
}

/**
 * A node's scope with a repeated call's suffix on its last part folded (`/block/block.0_1` → `/block/block.0`,
 * `/mix_1` → `/mix`): equal for the calls of one module; undefined for a name without a scope.
 */
export function callScope(nodeName: string | null | undefined): string | undefined {
  return scopeOf(nodeName)?.replace(/_\d+$/, '');
}

/**
 * Whether a weight is an nn.Conv2d / nn.Linear module's: named `<module path>.weight` with the path ending in the
 * node's scope, or, named so after another module, read by a node alone in a scope of its own (a module whose weight
 * was assigned another's: `self.conv3.weight = self.conv2.weight`). Undefined where the file cannot tell.
 */
function ownsWeight(n: NodeProto, weight: string, alone: boolean): boolean | undefined {
  const scope = scopeOf(n.name);
  // no scope, or a name the exporter made (a BN folded into the conv: `onnx::Conv_24`): unknown
  if (scope === undefined || weight.includes('::')) return undefined;
  const owner = weight === 'weight' ? '' : weight.endsWith('.weight') ? weight.slice(0, -'.weight'.length) : undefined;
  if (owner === undefined) return false;
  const last = scope.slice(scope.lastIndexOf('/') + 1);
  // a repeated call's scope carries a suffix (`/mix_1`, `/block/block.0_1`)
  return (
    [last, last.replace(/_\d+$/, '')].some((m) => owner === m || owner.endsWith(`.${m}`)) || (alone && scope !== '')
  );
}

/**
 * Names of the Conv / Gemm / MatMul nodes that apply a parameter of their caller (`F.conv2d(x, self.w)`, a weight
 * tied by hand) rather than an nn.Conv2d / nn.Linear module's weight, which torch.onnx names `<module>.weight` in
 * the module's scope (`/layer1/layer1.0/conv1/Conv` reads `layer1.0.conv1.weight`; see `ownsWeight`). The official
 * proxies iterate over Conv2d / Linear modules, so they leave these out. Only weights read straight from an initializer
 * (`isInitializer`) are judged (a MatMul reading a Transpose of one is taken for a module's). Empty where no weight
 * of the file is named a module's (another exporter, or an optimiser that renamed the initializers).
 */
export function functionalWeights(nodes: readonly NodeProto[], isInitializer: (t: string) => boolean): Set<string> {
  const weighted = nodes.filter((n) => WEIGHTED.has(n.opType ?? '') && isInitializer(n.input?.[1] ?? ''));
  // nodes per scope, the ones that only shape or pad left out
  const count = new Map<string, number>();
  for (const n of nodes)
    if (!['Constant', 'Pad'].includes(n.opType ?? ''))
      count.set(scopeOf(n.name) ?? '', (count.get(scopeOf(n.name) ?? '') ?? 0) + 1);
  const owns = weighted.map((n) => ownsWeight(n, n.input![1]!, count.get(scopeOf(n.name) ?? '') === 1));
  if (!owns.includes(true)) return new Set();
  return new Set(weighted.filter((_, i) => owns[i] === false).map((n) => n.name ?? ''));
}

/** Ops whose second input is a weight. */
const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** The note on {@link functionalActivations}, or undefined when there are none. */
export function functionalReluNote(nodes: readonly NodeProto[], isConst: (t: string) => boolean): string | undefined {
  const k = functionalActivations(nodes, isConst).size;
  if (k === 0) return undefined;
  return `${k} of the model's ReLU nodes are functional calls (F.relu, named in their caller's scope), which hooks on nn.ReLU modules do not see: nwot leaves them out, as NASLib's does; SWAP counts them (the official SWAP code would see none of them)`;
}

/** Ops whose initializer inputs are a module's parameters. */
const PARAMETRISED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization', 'PRelu']);

/**
 * The note for a model that uses one parameter tensor in several places (a module called more than once, weights
 * tied by hand), or undefined. The import ties those it can (`tied`: by name, how many uses one tensor covers, see
 * `onnxTies`), which are scored as one tensor as PyTorch holds it; the other uses (one tensor read in two roles, or
 * by two modules) are scored apart, and a tensor with both kinds of use is in both parts of the note.
 */
export function sharedWeightNote(
  nodes: readonly NodeProto[],
  initializers: ReadonlySet<string>,
  tied: ReadonlyMap<string, number>,
): string | undefined {
  const uses = new Map<string, number>();
  for (const n of nodes)
    if (PARAMETRISED.has(n.opType ?? ''))
      // weight and bias (a BN's scale and shift; its running statistics are buffers)
      for (const t of (n.input ?? []).slice(1, 3)) if (t && initializers.has(t)) uses.set(t, (uses.get(t) ?? 0) + 1);
  const shared = [...uses].filter(([, k]) => k > 1);
  // a tensor some of whose uses are one module's calls (tied) and others another module's is in both lists
  const one = shared.filter(([t]) => (tied.get(t) ?? 1) > 1).map(([t]) => t);
  const apart = shared.filter(([t, k]) => k > (tied.get(t) ?? 1)).map(([t]) => t);
  const list = (ts: string[]) => ts.slice(0, 3).join(', ').slice(0, 120);
  const notes = [
    one.length > 0 &&
      `${one.length} parameter tensor${one.length === 1 ? ' is' : 's are'} used by more than one node (${list(one)}: a module called again, or a parameter applied twice), scored as one tensor each as PyTorch holds them: gradients summed over the uses, counted once in params, l2_norm and reg-SWAP's Θ; fisher is null where a Conv2d / Linear is among them, as the official code raises on a module called twice; SWAP with --reinit draws them once`,
    apart.length > 0 &&
      `${apart.length} parameter tensor${apart.length === 1 ? ' is' : 's are'} read in two roles or layouts, or by two modules (${list(apart)}), which swapnas scores as separate tensors (PyTorch would sum their gradients and count them once)`,
  ].filter((n) => typeof n === 'string');
  return notes.length > 0 ? notes.join('; ') : undefined;
}
