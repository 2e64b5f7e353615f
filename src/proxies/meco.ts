/**
 * MeCo (HamsterMimi/MeCo `correlation/NAS_Bench_201.py` `get_score`, measure `meco`): one train-mode forward of
 * (by protocol) a single image; for every module output of sample 0 with channels × positions, the Pearson
 * correlation of the channels (NaN/Inf entries set to 0), and its smallest eigenvalue; S = Σ over modules.
 *
 * Modules here are the IR ops PyTorch implements as modules: conv, BN, ReLU, avg/max pool, the smooth activations
 * (nn.GELU, nn.Tanh, nn.ELU, nn.SELU, nn.Softplus, nn.Mish: one `act` node each), gates and products (4-D outputs).
 * Functional additions/concatenations are not hooked, nor is an upsampling (nn.Upsample is a module, F.interpolate a
 * function, and without torch.onnx's scopes a file cannot tell them apart), nor are container modules (the official
 * hook on every `named_modules()` entry also fires on containers, e.g. an NB201 cell, counting their outputs again —
 * the IR has no module tree, so networks built from flat modules match exactly). 2-D outputs (linear, pooled) give a
 * one-column matrix whose correlations are NaN → 0 → eigenvalue 0, so they add nothing and are skipped.
 */
import { forwardTape } from '../backends/reference/tape.js';
import type { BnMode, NetParams } from '../grad/types.js';
import type { Network } from '../ir/types.js';
import { reluKind } from '../ir/ops.js';
import { isFunctionFn } from '../ir/activations.js';
import { clip } from '../util/quote.js';
import { corrcoefRows, symmetricEigenvalues } from './linalg.js';
import { finite, type ProxyValue } from './value.js';

const HOOKED = new Set(['conv', 'bn', 'relu', 'avgpool', 'maxpool', 'sigmoid', 'mul', 'act']);

/**
 * Whether sigmoid node `id` is the inside of an `nn.SiLU` / `nn.Hardswish` (x ⊙ σ(x): a product of its own input):
 * the module's output is the product, and no hook sees the gate.
 */
function selfGate(net: Network, id: number): boolean {
  const x = net.nodes[id]!.inputs[0];
  return net.nodes.some((m) => m.op === 'mul' && m.inputs.includes(id) && m.inputs.includes(x!));
}

/**
 * IR nodes whose outputs MeCo reads: every module's output. A clamp at 0 is a function (reluKind), which no hook
 * sees, nor arithmetic with a constant (`x * 0.5`), nor a strided slice (an average pool of one tap); a SiLU's or
 * Hardswish's gate is inside the module, whose output is the product; a product is taken for a module's output
 * (nn.SiLU, nn.Hardswish, torchvision's SqueezeExcitation returns scale * x). C×1×1 maps (a squeeze-and-excitation
 * block's inside) add 0, as in the official code (a one-column correlation is NaN, set to 0).
 */
export function mecoNodes(net: Network, modules?: readonly number[]): number[] {
  if (modules) return modules.filter((id) => net.nodes[id]!.shape.length === 3);
  return net.nodes
    .filter(
      (n) =>
        HOOKED.has(n.op) &&
        n.shape.length === 3 &&
        !(n.op === 'relu' && reluKind(n) === 'clamp') &&
        !(n.op === 'act' && isFunctionFn(n.fn)) &&
        // an average pool of one tap is a strided slice's subsample (`x[:, :, ::2, ::2]`), a function
        !(n.op === 'avgpool' && n.k === 1) &&
        !(n.op === 'sigmoid' && selfGate(net, n.id)),
    )
    .map((n) => n.id);
}

/** One module call MeCo reads: its output's node, and whether PyTorch holds that output channels-last (N, H, W, C). */
export interface MecoCall {
  readonly id: number;
  readonly channelsLast: boolean;
}

/**
 * The module calls MeCo reads ({@link mecoNodes}), with the layout of each: `channelsLastCalls` are positions in
 * `modules` (an imported ConvNeXt's nn.LayerNorm / nn.Linear / activation between its permutes).
 */
export function mecoCalls(
  net: Network,
  o: { readonly modules?: readonly number[]; readonly channelsLastCalls?: readonly number[] },
): MecoCall[] {
  const last = new Set(o.channelsLastCalls ?? []);
  if (!o.modules) return mecoNodes(net).map((id) => ({ id, channelsLast: false }));
  return o.modules
    .map((id, i) => ({ id, channelsLast: last.has(i) }))
    .filter((c) => net.nodes[c.id]!.shape.length === 3);
}

/**
 * Null with the reason where the official MeCo raises: a hooked output of one row (one channel; one row h of a
 * channels-last output; one feature, the model's own output included, which the root module's hook reads) gives
 * torch.corrcoef a single row, whose correlation it returns as a scalar that torch.linalg.eig refuses.
 */
export function mecoOneRow(
  net: Network,
  o: {
    readonly modules?: readonly number[];
    readonly channelsLastCalls?: readonly number[];
    readonly tupleModules?: readonly string[];
  },
): ProxyValue | undefined {
  const tuple = o.tupleModules?.[0];
  if (tuple !== undefined)
    return {
      value: null,
      reason: `meco: module ${clip(tuple, 60)} returns several maps (a tuple or list), and the official hook reads the first one's samples as its rows: at MeCo's one image it has one row, whose correlation torch.corrcoef returns as a scalar, and the official code raises there (torch.linalg.eig needs a matrix); at more images a term unlike any other module's`,
    };
  const last = new Set(o.channelsLastCalls ?? []);
  const rows = (id: number, i: number) => {
    const s = net.nodes[id]!.shape;
    return s.length === 3 && last.has(i) ? s[1]! : s[0]!;
  };
  const ids = o.modules ?? [...mecoNodes(net), net.output];
  const i = ids.findIndex((id, k) => rows(id, k) === 1);
  if (i < 0) return undefined;
  return {
    value: null,
    reason: `meco: a module's output (node ${ids[i]}) has one row, whose correlation torch.corrcoef returns as a scalar; the official code raises there (torch.linalg.eig needs a matrix)`,
  };
}

export function meco(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  batch: number,
  bn: BnMode = 'train',
  modules?: readonly number[] | readonly MecoCall[],
): ProxyValue {
  const calls = asCalls(net, modules);
  const tape = forwardTape(net, params, x, batch, { bn, keep: [...new Set(calls.map((c) => c.id))] });
  return mecoFromActivations(net, (id) => tape.activations.get(id)!, calls);
}

function asCalls(net: Network, modules: readonly number[] | readonly MecoCall[] | undefined): MecoCall[] {
  if (modules?.length && typeof modules[0] !== 'number') return [...(modules as readonly MecoCall[])];
  return mecoCalls(net, modules ? { modules: modules as readonly number[] } : {});
}

/** MeCo from the outputs of {@link mecoNodes} (batch-first; sample 0 is read), from any engine. */
export function mecoFromActivations(
  net: Network,
  activation: (id: number) => ArrayLike<number>,
  modules?: readonly number[] | readonly MecoCall[],
): ProxyValue {
  return mecoFromTerms(
    asCalls(net, modules).map(({ id, channelsLast }) => {
      const [C, H, W] = net.nodes[id]!.shape as readonly [number, number, number];
      return channelsLast ? mecoTermRows(activation(id), C, H, W) : mecoTerm(activation(id), C, H * W);
    }),
  );
}

/**
 * The term of a module whose output PyTorch holds channels-last: the official hook reshapes sample 0's (H, W, C) to
 * H rows, so the correlation is of the rows h, each over its W·C values (their order is the same in every row, which
 * leaves the correlations unchanged).
 */
export function mecoTermRows(act: ArrayLike<number>, C: number, H: number, W: number): number {
  const rows = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++)
    for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) rows[(h * C + c) * W + w] = act[(c * H + h) * W + w]!;
  return mecoTerm(rows, H, C * W);
}

/**
 * One module's term: the smallest eigenvalue of the Pearson correlation of the `C` channels (rows of `HW`
 * positions) of sample 0 of `act`, with NaN/Inf correlations set to 0; NaN when the eigenvalue is not finite.
 */
export function mecoTerm(act: ArrayLike<number>, C: number, HW: number): number {
  const a = new Float64Array(C * HW);
  for (let i = 0; i < a.length; i++) a[i] = act[i]!;
  const corr = corrcoefRows({ rows: C, cols: HW, data: a });
  for (let i = 0; i < corr.length; i++) if (!Number.isFinite(corr[i]!)) corr[i] = 0;
  const min = symmetricEigenvalues(corr, C)[0]!;
  return Number.isFinite(min) ? min : Number.NaN;
}

/** MeCo from its per-module terms ({@link mecoTerm}, e.g. the native engine's): the sum of the finite ones. */
export function mecoFromTerms(terms: ArrayLike<number>): ProxyValue {
  let s = 0;
  for (let i = 0; i < terms.length; i++) if (Number.isFinite(terms[i]!)) s += terms[i]!;
  return finite('meco', s);
}
