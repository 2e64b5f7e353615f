/**
 * A user ONNX model as a network with its OWN weights for the proxies: IR import + {@link onnxParams}, where BN
 * scale/bias are trainable unless the import found the node non-affine (PyTorch exports a non-affine BatchNorm's
 * γ = 1, β = 0 as Constant nodes), so parameter counts and orders follow the PyTorch model's `named_parameters`.
 */
import type { NetParams, NodeParams, ParamRef } from '../grad/types.js';
import type { Network, Shape3 } from '../ir/types.js';
import { importOnnxModel } from '../onnx/import.js';
import type { LoadedModel } from '../onnx/load.js';
import { functionalReluNote, moduleOutputs, sharedWeightNote } from '../onnx/module-scopes.js';
import { onnxParams } from '../onnx/params.js';
import { SwapError } from '../util/errors.js';

export interface OnnxProxyModel {
  readonly net: Network;
  readonly params: NetParams;
  /** Graph outputs that are feature tensors, by name → IR node id. */
  readonly outputs: ReadonlyMap<string, number>;
  /** What the import changed that a proxy's value may depend on (see `importOnnxModel`). */
  readonly notes: readonly string[];
  /**
   * The graph outputs after the first that are feature maps, by name, in the file's order: the AZ-NAS block
   * features (the official code reads the model's `extract_cell_features`, which a file cannot carry otherwise).
   */
  readonly blockOutputs: readonly (readonly [name: string, node: number])[];
  /**
   * The output of every module call of the PyTorch model the file was exported from, read from torch.onnx's node
   * scopes ({@link moduleOutputs}): what MeCo's official hooks read. Undefined when the names carry no scopes.
   */
  readonly modules?: readonly number[];
  /** The positions in `modules` of calls whose output is channels-last (N, H, W, C): MeCo correlates its rows h. */
  readonly channelsLastCalls?: readonly number[];
  /** Modules a call of which returns several maps (a tuple), by scope: MeCo's official hook raises there. */
  readonly tupleModules?: readonly string[];
}

/** Whether the tensor `ref` names (its first use) is shared with later nodes (`net.tied`). */
/** The uses of tensor `ref` scored as one tensor: its first use and the uses tied to it (`net.tied`). */
function tiedUses(net: Network, ref: ParamRef): number {
  return 1 + (net.tied ?? []).filter((t) => t.of === ref.node && t.kind === ref.kind).length;
}

/**
 * `m` imported for the proxies (BN in train mode), with its own weights; `learned`: the user's pattern of the
 * initializers that are nn.Parameters where read in arithmetic (src/onnx/parameters.ts; the file's own list counts
 * without it).
 */
export function onnxProxyModel(m: LoadedModel, inputShape: Shape3, learned?: RegExp): OnnxProxyModel {
  const r = importOnnxModel(m, { inputShape, bn: 'batch', ...(learned ? { learned } : {}) });
  if (!r.ok) throw new SwapError('E_ONNX_FORMAT', `${m.source}: cannot be scored by the proxies: ${r.reason}`);
  const { params, names } = onnxParams(m, r.network, r.weightIds, r.norms);
  const fixed = params.map((p) => (p ? { ...p } : undefined)) as (
    | { -readonly [K in keyof NodeParams]: NodeParams[K] }
    | undefined
  )[];
  // γ/β of a non-affine BN (the importer's rule: both fixed 1 and 0 outside the initializers) are not parameters
  for (const [, ref] of names) {
    const node = r.network.nodes[ref.node]!;
    if ((ref.kind === 'gamma' || ref.kind === 'beta') && node.op === 'bn' && !node.affine)
      delete fixed[ref.node]![ref.kind];
  }
  // not the first graph output (which a left-out Softmax tail may keep out of r.outputs), nor the network's output
  const first = m.model.graph?.output?.[0]?.name ?? '';
  const blockOutputs = [...r.outputs].filter(
    ([name, id]) => name !== first && id !== r.network.output && r.network.nodes[id]!.shape.length === 3,
  );
  const graph = m.model.graph;
  const scoped = moduleOutputs(
    graph?.node ?? [],
    (graph?.output ?? []).map((o) => o.name ?? ''),
    (t) => r.tensors.get(t),
    (t) => r.padded.has(t),
    (t) => m.consts.has(t),
    (t) => r.channelsLast.has(t),
  );
  const notes = [...r.notes];
  if (!scoped && (graph?.node ?? []).length > 0)
    notes.push(
      "the file's nodes name no PyTorch module scopes (another exporter, or torch before 1.13): MeCo reads the leaf ops' outputs (conv, BN, ReLU, pools) and nwot every ReLU, as the official hooks do on a model of flat modules only",
    );
  const initializers = new Set((graph?.initializer ?? []).map((t) => t.name ?? ''));
  const tiedNames = new Map([...names].map(([name, ref]) => [name, tiedUses(r.network, ref)] as const));
  const shared = sharedWeightNote(graph?.node ?? [], initializers, tiedNames);
  if (shared) notes.push(shared);
  const functional = functionalReluNote(graph?.node ?? [], (t) => m.consts.has(t));
  if (functional) notes.push(functional);
  if (scoped?.missing.length)
    notes.push(
      `MeCo hooks every module; ${scoped.missing.length} output zero-padded maps (${scoped.missing.slice(0, 3).join(', ').slice(0, 160)}: nn.ZeroPad2d?), which swapnas folds into the next convolution or pool, so MeCo leaves them out`,
    );
  return {
    net: r.network,
    params: fixed,
    outputs: r.outputs,
    notes,
    blockOutputs,
    ...(scoped ? { modules: scoped.ids } : {}),
    ...(scoped?.channelsLast.length ? { channelsLastCalls: scoped.channelsLast } : {}),
    ...(scoped?.tuples.length ? { tupleModules: scoped.tuples } : {}),
  };
}
