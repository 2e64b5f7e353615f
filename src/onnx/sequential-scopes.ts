/**
 * What torch.onnx's node scopes say about `nn.Sequential` containers, for MeCo's module outputs
 * (src/onnx/module-scopes.ts). A Sequential's children are named `<its name>.<index>` (`/layers.0/op/op.1/Conv`
 * is child 1 of Sequential `op`), and it returns its last child's output. Two things follow:
 *
 * - a tensor one of its children makes and a later child reads is not the Sequential's output, even where a node
 *   outside reads it too: torch.onnx merges identical nodes (two ReLU-Conv-BN edges leaving one NB201 node each
 *   have an nn.ReLU of the same tensor, and the file keeps one `Relu`, in the first edge's scope), so the second
 *   edge's Conv reads the first edge's ReLU;
 * - an index missing below the last one present is a child that was called but left no node (the merged ReLU, an
 *   nn.Identity, an eval-mode Dropout, a BN folded into its conv): its output is what the next child reads from
 *   outside, which the official hook counts.
 */

/** A module scope's last name (`op` of `/layers.0/op`). */
const lastName = (scope: string) => scope.slice(scope.lastIndexOf('/') + 1);

/**
 * The children of each Sequential scope among `scopes` (every module scope of the file, enclosing ones included),
 * by index; a scope some of whose children are not named `<its name>.<index>` is not taken for one.
 */
export function sequentialChildren(scopes: ReadonlySet<string>): Map<string, Map<number, string>> {
  const kids = new Map<string, string[]>();
  for (const s of scopes) {
    if (s === '') continue;
    const parent = s.slice(0, s.lastIndexOf('/'));
    kids.set(parent, [...(kids.get(parent) ?? []), s]);
  }
  const out = new Map<string, Map<number, string>>();
  for (const [parent, list] of kids) {
    if (parent === '') continue;
    const name = lastName(parent);
    const byIndex = new Map<number, string>();
    for (const child of list) {
      const last = lastName(child);
      const index = last.startsWith(`${name}.`) ? last.slice(name.length + 1) : '';
      if (!/^\d+$/.test(index)) break;
      byIndex.set(Number(index), child);
    }
    if (byIndex.size === list.length) out.set(parent, byIndex);
  }
  return out;
}

/**
 * For each index missing below a Sequential's last present child, the scope of the next present child: the missing
 * child's output is what that child reads from outside itself.
 */
export function missingChildren(children: ReadonlyMap<number, string>): { index: number; next: string }[] {
  const present = [...children.keys()].sort((a, b) => a - b);
  const out: { index: number; next: string }[] = [];
  for (let k = 0; k < present[present.length - 1]!; k++)
    if (!children.has(k)) out.push({ index: k, next: children.get(present.find((j) => j > k)!)! });
  return out;
}
