/**
 * The proxy groups on the C++ engine (float32 passes, and the float64 pass where float32 cannot hold the value or
 * the run asks for it, {@link NativeGroupContext.float64}; double reductions): each group makes its native passes
 * (src/backends/native/proxy-pass.ts) and reduces them with the same scoring functions the reference path uses, so
 * the two differ only by the passes' arithmetic (checked in test/proxies-native.test.ts; the float64 pass equals the
 * reference's to the last bits, test/f64-pass.test.ts).
 */
import { packedSlots, unpackGrads } from '../backends/native/grad.js';
import type { ProxyPassRequest } from '../backends/native/proxy-pass.js';
import { bnModeOf, breaksScaling, convAxes, type NodeOf } from '../ir/ops.js';
import type { BnMode, NetParams } from '../grad/types.js';
import { nonModuleWeights, numel } from '../ir/analysis.js';
import type { IRNode, Network, Shape, Shape3 } from '../ir/types.js';
import type { NativeGradResult } from '../native/addon.js';
import { logAbsDet } from '../backends/reference/nwot-kernel.js';
import { azFromComponents, azPairProblem } from './az.js';
import { blockFeatures } from './blocks.js';
import { epeNasScore, jacovScore } from './jacobian.js';
import { type MecoCall, mecoCalls, mecoFromTerms, mecoOneRow, mecoTerm } from './meco.js';
import type { ProxyGroup, ProxyName } from './registry.js';
import type { ProxyRunOptions, ProxySettings } from './run.js';
import { labelsFor } from './run.js';
import { graspFromWeightHv } from './grasp.js';
import { moduleWeights, saliencyFromGrads, synflowFromGrads, synflowNetwork, weightedNodes } from './saliency.js';
import { corrcoefRows, symmetricEigenvalues } from './linalg.js';
import { finite, type ProxyValue } from './value.js';
import { perSampleBn, scalarUses, sumUseColumns, vkdnwFromJacobian, vkdnwOneSlope, vkdnwTensors } from './vkdnw.js';
import { mixInputs, preGapNode, withoutPreGap, zenFromPasses } from './zen.js';
import { zicoFromGrads } from './zico.js';

/** What a native group gets: the network, its parameters (float64 and packed) and a pass runner. */
export interface NativeGroupContext {
  readonly net: Network;
  readonly params: NetParams;
  /** The parameters packed in float32 (float32 passes). */
  readonly packed: Float32Array;
  /** The parameters packed in float64 (the float64 pass), made on first use. */
  readonly packed64: () => Float64Array;
  readonly s: ProxySettings;
  readonly o: ProxyRunOptions;
  /** The run's precision is float64 and this group is one of FLOAT64_GROUPS: its gradient passes run in float64. */
  readonly float64: boolean;
  /** One native pass on `packed` (default: the context's parameters, float64-packed for `req.float64`). */
  readonly pass: (
    x: Float32Array,
    batch: number,
    req: ProxyPassRequest,
    packed?: Float32Array | Float64Array,
  ) => Promise<NativeGradResult>;
  /**
   * One native pass of `other`, a network with the context's nodes and parameter layout but other constants
   * (synflow's |state_dict| network), on its own (never merged with the context's passes).
   */
  readonly passOn: (
    other: Network,
    x: Float32Array,
    batch: number,
    req: ProxyPassRequest,
    packed: Float32Array | Float64Array,
  ) => Promise<NativeGradResult>;
  /** The input batch of settings `s` (`inputsFor` of run.ts; Gaussian batches cached across networks). */
  readonly inputs: (s: ProxySettings, salt?: number) => Float32Array;
  /** Rademacher ±1 cotangent of AZ pair `pair` (cached across networks). */
  readonly rademacher: (pair: number, length: number) => Float32Array;
}

type Values = Partial<Record<ProxyName, ProxyValue>>;

/** Node id → its slice of a concatenation of per-node tensors (batch × size(id) each, in `ids` order). */
function split<T extends Float32Array | Float64Array>(
  ids: readonly number[],
  size: (id: number) => number,
  flat: T,
): Map<number, T> {
  const out = new Map<number, T>();
  let off = 0;
  for (const id of ids) {
    out.set(id, flat.subarray(off, off + size(id)) as T);
    off += size(id);
  }
  return out;
}

async function saliency(c: NativeGroupContext): Promise<GroupOutcome> {
  const { net, s } = c;
  const f64 = c.float64;
  const labels = labelsFor(s, c.o);
  // fisher of an nn.Linear over a channels-last map reads its rows (the official hook's sums over W and C)
  const rows = (net.channelsLastLinears?.length ?? 0) > 0;
  const req = {
    bn: s.bn,
    labels,
    wantParams: true,
    wantSaliency: true,
    ...(rows ? { wantRowSaliency: true } : {}),
    ...(f64 ? { float64: true } : {}),
  };
  const r = await c.pass(c.inputs(s), s.batch, req);
  const nodes = weightedNodes(net);
  const sums = split(nodes, (id) => s.batch * net.nodes[id]!.shape[0], f64 ? r.saliency64 : r.saliency);
  const rowSums = rows
    ? split(nodes, (id) => s.batch * rowsOf(net, id), f64 ? r.rowSaliency64 : r.rowSaliency)
    : undefined;
  const grads = unpackGrads(net, c.params, f64 ? r.params64 : r.params);
  const v = { ...saliencyFromGrads(net, c.params, grads, sums, s.batch, rowSums) };
  return f64 ? { float64: v } : v;
}

/** The rows of node `id`'s output: H of a map, 1 of a flat tensor (the addon's row sums per sample). */
function rowsOf(net: Network, id: number): number {
  const shape = net.nodes[id]!.shape;
  return shape.length === 3 ? shape[1]! : 1;
}

/**
 * Smallest eigenvalue of the Jacobian rows' correlation matrix below which jacov's float32 value is not kept:
 * −Σ[ln(λ + 1e-5) + 1/(λ + 1e-5)] amplifies an eigenvalue's float32 error (~1e-7·B) by 1/λ², so nearly collinear
 * rows (tiny networks, dead branches) are recomputed in float64 on the reference engine.
 */
const JACOV_MIN_EIGENVALUE = 1e-3;
/**
 * max |∂(Σ logits)/∂x| / max |logits| below which the Jacobian is taken to vanish analytically (e.g. a train-mode
 * BN right before the pool cancels a constant cotangent): what remains is rounding noise (~1e-7 of the network's
 * gain in float32, ~1e-15 in float64; healthy networks measure 0.01–1), and jacov of noise is only reproducible
 * in the precision of the definition.
 */
const JACOBIAN_MIN = 1e-4;

/**
 * `c.packed` with the biases a train-mode BatchNorm cancels set to 0 (a conv / linear whose every reader is such a
 * BN: the BN subtracts each channel's mean, so the bias changes no output and no gradient of the pass), or undefined
 * when the network has none. The float32 passes of GraSP, ZiCo and the input Jacobian lose digits to such a bias
 * (x − mean of a map shifted by it; GraSP 3.5e-3 off the float64 value on NB201 search cells, 6e-6 without it).
 * The saliencies keep it: fisher reads the conv's output itself.
 */
export function withoutCancelledBiases(net: Network, packed: Float32Array, mode: BnMode): Float32Array | undefined {
  const readers = new Map<number, IRNode[]>();
  for (const n of net.nodes) for (const j of n.inputs) readers.set(j, [...(readers.get(j) ?? []), n]);
  // the output's own bias reaches the logits, whatever else (a dead branch) reads it
  const cancelled = (id: number) => {
    const rs = readers.get(id) ?? [];
    return id !== net.output && rs.length > 0 && rs.every((r) => r.op === 'bn' && bnModeOf(r, mode) === 'train');
  };
  const slots = packedSlots(net).filter((t) => t.kind === 'bias' && cancelled(t.node));
  if (slots.length === 0) return undefined;
  const out = packed.slice();
  for (const t of slots) out.fill(0, t.offset, t.offset + t.size);
  return out;
}

/**
 * grasp: one labelled pass with the gradient and ⟨W, H·g⟩ per conv/linear node (shared with the saliencies' where no
 * bias is cancelled: with one, it runs on its own parameters).
 */
async function grasp(c: NativeGroupContext): Promise<GroupOutcome> {
  const { net, s } = c;
  if (net.nodes.some((n) => n.op === 'softmax'))
    return { routed: 'grasp: the Hessian-vector product through a softmax runs on the reference engine' };
  if (net.nodes.some((n) => n.op === 'gn'))
    return { routed: 'grasp: the Hessian-vector product through a GroupNorm runs on the reference engine' };
  const req = { bn: s.bn, labels: labelsFor(s, c.o), wantParams: true, wantHvp: true };
  if (c.float64) {
    const d = await c.pass(c.inputs(s), s.batch, { ...req, float64: true });
    return { float64: { grasp: graspFromWeightHv(moduleWeights(net), d.weightHv) } };
  }
  const r = await c.pass(c.inputs(s), s.batch, req, withoutCancelledBiases(net, c.packed, s.bn));
  return { grasp: graspFromWeightHv(moduleWeights(net), r.weightHv) };
}

async function jacobian(c: NativeGroupContext): Promise<GroupOutcome> {
  const { s } = c;
  if (c.float64) {
    const d = await c.pass(c.inputs(s), s.batch, { bn: s.bn, wantInput: true, float64: true });
    return { float64: withNoiseReason(jacobianValues(c, d.input64, d.outputs.length / s.batch), d) };
  }
  const r = await c.pass(
    c.inputs(s),
    s.batch,
    { bn: s.bn, wantInput: true },
    withoutCancelledBiases(c.net, c.packed, s.bn),
  );
  const rows = Float64Array.from(r.input);
  const logits = maxAbs(r.outputs);
  const why = jacobianTrouble(rows, logits, s.batch);
  const classes = r.outputs.length / s.batch;
  if (why === undefined) return jacobianValues(c, rows, classes);
  // the same pass in float64: the reference's value (bit for bit), at native speed
  const d = await c.pass(c.inputs(s), s.batch, { bn: s.bn, wantInput: true, float64: true });
  const top = maxAbs(d.input64);
  const zero =
    top < JACOBIAN_ZERO * logits
      ? ` (in float64 too, max ${top.toExponential(2)}: the Jacobian is analytically zero, e.g. a train-mode BN right before the global pool, so the value measures rounding in any precision)`
      : '';
  return {
    float64: jacobianValues(c, d.input64, classes),
    why: `${why}; computed in float64 on the native engine${zero}`,
  };
}

/** A float64 Jacobian this far below the logits is rounding noise: its exact value is zero. */
const JACOBIAN_ZERO = 1e-10;

/**
 * jacov and epe_nas of a float64 pass, each with a reason where the Jacobian is analytically zero (their values
 * then measure rounding, in any implementation and precision: the official float32 and float64 disagree there).
 */
function withNoiseReason(v: Values, d: NativeGradResult): Values {
  const top = maxAbs(d.input64);
  if (!(top < JACOBIAN_ZERO * maxAbs(d.outputs))) return v;
  const reason = `the input Jacobian is analytically zero (max ${top.toExponential(2)} in float64, e.g. a train-mode BN right before the global pool): the value measures rounding noise`;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, x && x.value !== null ? { ...x, reason: `${k}: ${reason}` } : x]),
  );
}

/**
 * Why float32 rows of the input Jacobian cannot give jacov / epe_nas within 1e-4 (undefined: they can); `logits`: the
 * largest |logit|.
 */
function jacobianTrouble(rows: Float64Array, logits: number, batch: number): string | undefined {
  const top = maxAbs(rows);
  if (!Number.isFinite(top)) return 'jacobian: the float32 input Jacobian is not finite';
  if (top < JACOBIAN_MIN * logits)
    return `jacobian: the input Jacobian vanishes to float32 rounding (max ${top.toExponential(2)})`;
  const corr = corrcoefRows({ rows: batch, cols: rows.length / batch, data: rows });
  const low = symmetricEigenvalues(corr, batch)[0]!;
  if (low < JACOV_MIN_EIGENVALUE)
    return `jacobian: the Jacobian rows are nearly collinear (smallest correlation eigenvalue ${low.toExponential(2)} < ${JACOV_MIN_EIGENVALUE}); float32 cannot resolve jacov there`;
  return undefined;
}

/** The largest |value| (NaN propagates, so a non-finite array gives a non-finite result). */
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** jacov, and epe_nas when there are labels, from the Jacobian rows (batch × input size). */
function jacobianValues(c: NativeGroupContext, rows: Float64Array, classes: number): Values {
  const { s, o } = c;
  const out: Values = { jacov: jacovScore(rows, s.batch) };
  if (o.labels) out.epe_nas = epeNasScore(rows, labelsFor(s, o), classes);
  return out;
}

/**
 * zico: the weight gradients of two labelled batches (train-mode BN). A network with a layer whose gradient is zero
 * in exact arithmetic ({@link scaleBeforeBn}) takes the float64 pass: ZiCo divides each weight's mean gradient by
 * its spread over the batches, so that layer's term is a ratio of rounding noise, float32's far from float64's.
 */
async function zico(c: NativeGroupContext): Promise<GroupOutcome> {
  const { net, s, o } = c;
  const scale = scaleBeforeBn(net);
  const f64 = c.float64 || scale !== undefined;
  const packed = f64 ? undefined : withoutCancelledBiases(net, c.packed, 'train');
  const grads = await Promise.all(
    [0, 1].map(async (k) => {
      const req = { bn: 'train' as const, labels: labelsFor(s, o, k), wantParams: true };
      const r = await c.pass(c.inputs(s, k), s.batch, f64 ? { ...req, float64: true } : req, packed);
      return unpackGrads(net, c.params, f64 ? r.params64 : r.params);
    }),
  );
  const v = { zico: zicoFromGrads(net, grads) };
  if (!f64) return v;
  if (scale === undefined) return { float64: v };
  return {
    float64: v,
    why: `zico: node ${scale} scales each channel by one weight right before a train-mode BN or an InstanceNorm, which cancels it (its gradient is rounding noise, and ZiCo's ratio reads it); computed in float64 on the native engine`,
  };
}

/**
 * The first convolution that multiplies each channel by one weight (one input channel per output, and one kernel
 * tap that ever reads inside the map: a depthwise 1×1, or a depthwise 1×3 dilated past a 3-wide map) and feeds
 * train-mode BatchNorms (or InstanceNorms) only: the normalisation cancels that scale, so the weight's gradient is
 * exactly 0.
 */
export function scaleBeforeBn(net: Network): number | undefined {
  // (ZiCo reads module weights only: a transposed conv's, or a caller's, gradient is never summed)
  const other = nonModuleWeights(net);
  const readers = new Map<number, IRNode[]>();
  for (const n of net.nodes) for (const j of n.inputs) readers.set(j, [...(readers.get(j) ?? []), n]);
  return net.nodes.find(
    (n) =>
      n.op === 'conv' &&
      !other.has(n.id) &&
      liveTaps(n, net.nodes[n.inputs[0]!]!.shape) === 1 &&
      n.cin === n.groups &&
      (readers.get(n.id) ?? []).length > 0 &&
      readers.get(n.id)!.every((r) => r.op === 'bn' || isInstanceNorm(r)),
  )?.id;
}

/** A GroupNorm of one channel per group (nn.InstanceNorm2d): like a train-mode BN, it cancels a channel's shift and scale. */
function isInstanceNorm(n: IRNode): boolean {
  return n.op === 'gn' && !n.pixelwise && n.groups === n.shape[0] && n.shape.length === 3;
}

/** Kernel taps of a conv that read inside its input for at least one output (the others only ever read padding). */
function liveTaps(n: NodeOf<'conv'>, input: Shape): number {
  const a = convAxes(n);
  const live = (k: number, s: number, p: number, d: number, size: number, out: number) => {
    let count = 0;
    for (let t = 0; t < k; t++) {
      let reads = false;
      for (let o = 0; o < out && !reads; o++) reads = o * s - p + t * d >= 0 && o * s - p + t * d < size;
      if (reads) count++;
    }
    return count;
  };
  const [, oh, ow] = n.shape;
  return live(a.kh, a.sh, a.ph, a.dh, input[1]!, oh!) * live(a.kw, a.sw, a.pw, a.dw, input[2]!, ow!);
}

async function nwot(c: NativeGroupContext): Promise<Values> {
  const { s } = c;
  const r = await c.pass(c.inputs(s), s.batch, { bn: s.bn, nwot: true });
  return { nwot: finite('nwot', logAbsDet(Float64Array.from(r.nwotK), s.batch)) };
}

async function meco(c: NativeGroupContext): Promise<Values> {
  const { net, s } = c;
  // one kept output per node, one term per module call (a container whose output is its last child's counts again)
  const raised = mecoOneRow(net, c.o);
  if (raised) return { meco: raised };
  const calls = mecoCalls(net, c.o);
  // one kept output per node and layout (a channels-last module's term reads its rows)
  const key = (m: MecoCall) => `${m.id}${m.channelsLast ? 'r' : ''}`;
  // a call returning the model's input (an nn.Identity first: the file shows it as an Identity node of the input)
  // reads no node the pass makes: its term is computed here
  const kept = [...new Map(calls.filter((m) => m.id !== 0).map((m) => [key(m), m])).values()];
  const keep = kept.map((m) => m.id);
  const keepReduce = kept.map((m) => (m.channelsLast ? ('mecoRows' as const) : ('meco' as const)));
  const x = c.inputs(s);
  const r = await c.pass(x, s.batch, { bn: s.bn, keep, keepReduce });
  const at = new Map(kept.map((m, i) => [key(m), i]));
  const [C, H, W] = net.nodes[0]!.shape as readonly number[];
  const input = () => mecoTerm(x.subarray(0, C! * (H ?? 1) * (W ?? 1)), C!, (H ?? 1) * (W ?? 1));
  return { meco: mecoFromTerms(calls.map((m) => (m.id === 0 ? input() : r.keptValues[at.get(key(m))!]!))) };
}

/** Per rank-3 BN node, its slice of the addon's concatenated variances (undefined where not evaluated). */
function bnVariances(net: Network, flat: Float64Array): (id: number) => Float64Array | undefined {
  const at = new Map<number, Float64Array>();
  let off = 0;
  for (const n of net.nodes) {
    if (n.op !== 'bn' || n.shape.length !== 3) continue;
    const v = flat.subarray(off, off + n.shape[0]);
    off += n.shape[0];
    if (!Number.isNaN(v[0])) at.set(n.id, v);
  }
  return (id) => at.get(id);
}

async function zen(c: NativeGroupContext): Promise<Values> {
  const { net, s } = c;
  const none = withoutPreGap(net);
  if (none) return { zen: none };
  const feat = preGapNode(net);
  const x = c.inputs(s);
  const mixed = mixInputs(x, c.inputs({ ...s, input: 'gaussian' }, 1));
  const [a, b] = await Promise.all(
    [x, mixed].map((input) => c.pass(input, s.batch, { bn: 'train', keep: [feat], bnVar: true })),
  );
  const view = (r: NativeGradResult) => ({ feature: r.activations, variance: bnVariances(net, r.bnVar) });
  return { zen: zenFromPasses(net, c.params, view(a!), view(b!), s.batch) };
}

async function az(c: NativeGroupContext): Promise<Values> {
  const { net, s, o } = c;
  const feats = o.features ?? blockFeatures(net);
  const size = (id: number) => s.batch * numel(net.nodes[id]!.shape);
  const passes = [];
  for (let i = feats.length - 1, pair = 0; i >= 1; i--, pair++)
    passes.push({
      seed: feats[i]!,
      values: c.rademacher(pair, size(feats[i]!)),
      read: feats[i - 1]!,
      reduce: 'trainability' as const,
    });
  const r = await c.pass(c.inputs(s), s.batch, { bn: 'train', keep: feats, keepReduce: 'entropy', passes });
  const az = azFromComponents(
    r.keptValues,
    r.passValues,
    azPairProblem(feats.map((id) => net.nodes[id]!.shape as Shape3)),
  );
  return { az_expressivity: az.expressivity, az_progressivity: az.progressivity, az_trainability: az.trainability };
}

async function vkdnw(c: NativeGroupContext): Promise<Values> {
  const { net, s } = c;
  const oneSlope = vkdnwOneSlope(net);
  if (oneSlope) return { ...oneSlope };
  const tensors = vkdnwTensors(net, c.params);
  const chosen = scalarUses(tensors.slice(0, 128));
  const uses = chosen.flat();
  const K = numel(net.nodes[net.output]!.shape);
  const B = s.batch;
  // The factor L's last column is zero (choleskyFactor: q_{K−1} = 0), so Jacobian column K − 1 never reaches F:
  // its pass is skipped and the column left at 0 (one backward pass in K saved, the value unchanged).
  const passes = Array.from({ length: K - 1 }, (_, k) => {
    const values = new Float32Array(B * K);
    for (let b = 0; b < B; b++) values[b * K + k] = 1;
    return { seed: net.output, values };
  });
  const P = chosen.length;
  const J = new Float64Array(B * K * P);
  const outputs = new Float64Array(B * K);
  // one pass, or one per sample where a BN without running statistics normalises each sample alone (vkdnw.ts)
  const size = perSampleBn(net) ? 1 : B;
  const x = c.inputs(s);
  const per = x.length / B;
  for (let b0 = 0; b0 < B; b0 += size) {
    const part = passes.map((p) => ({ ...p, values: p.values.subarray(b0 * K, (b0 + size) * K) }));
    const r = await c.pass(x.subarray(b0 * per, (b0 + size) * per), size, {
      bn: 'eval',
      passes: part,
      scalars: uses,
    });
    outputs.set(r.outputs, b0 * K);
    for (let k = 0; k < K - 1; k++) {
      // pass k's per-sample terms, one column per use, summed over each scalar's uses
      const cols = uses.map((_, u) =>
        r.perSample.subarray((k * uses.length + u) * size, (k * uses.length + u + 1) * size),
      );
      sumUseColumns(net, chosen, cols).forEach((col, i) => {
        for (let b = 0; b < size; b++) J[((b0 + b) * K + k) * P + i] = col[b]!;
      });
    }
  }
  // sample by sample, the probabilities still come from one batched forward (vkdnw.ts)
  if (size < B) outputs.set((await c.pass(x, B, { bn: 'eval' })).outputs);
  return { vkdnw: vkdnwFromJacobian(J, outputs, B, K, P), vkdnw_dim: { value: tensors.length } };
}

/**
 * synflow: |θ|, an all-ones sample, d(Σ logits)/dθ, S = Σ |W ⊙ g|.
 * - With BN as identity (synflow; or no BN at all) every term is positive, so float32 loses only ~1e-7 relative per
 *   product — unless a value leaves float32's range: full-size networks reach 1e50, deep all-convolution cells 1e60,
 *   full-size DARTS networks 1e85, more than float32's 2^254 from input to output. The pass runs in block floating
 *   point (`blockScale`, native/block_scale.h): each activation and cotangent tensor carries its own power-of-two
 *   exponent, and each weight gradient comes back as mantissas with one (`weightExp`). Powers of two scale exactly,
 *   so the mantissas are those of an unscaled float32 pass wherever that pass stayed in range; Σ |W ⊙ g| · 2^e is
 *   taken in float64. A value that still is not finite is routed to the float64 reference with the reason. A
 *   network with a capped ReLU (ReLU6), or a run at `precision: 'float64'`, runs the float64 pass instead (a clip
 *   does not commute with scaling).
 * - With BN in train mode (synflow_bn) float32 cannot hold the value: on the one all-ones sample many gradients below
 *   a train-mode BN are analytically (near) zero, and float32 leaves rounding error there that can outweigh the true
 *   value (0.15 relative on a cell of 1×1 convolutions and skips). The official code runs in double, and so does
 *   this pass (`float64`, native/f64_pass.h: the reference's loops in C++, equal to it bit for bit).
 */
async function synflow(c: NativeGroupContext, group: 'synflow' | 'synflow_bn'): Promise<GroupOutcome> {
  const { net, s } = c;
  // the official code takes |·| of every state_dict entry: buffers and layer scales in the arithmetic and PReLU
  // slopes too, which only the program's constants hold
  const absNet = synflowNetwork(net);
  const slots = packedSlots(net);
  const weightAt = new Map(slots.filter((t) => t.kind === 'weight').map((t) => [t.node, t]));
  // a capped ReLU's clip is not scale-free: such a network goes to the float64 pass
  const blockScale =
    !c.float64 && (s.bn === 'identity' || !net.nodes.some((n) => n.op === 'bn')) && !breaksScaling(net);
  const abs = blockScale ? c.packed.slice() : c.packed64().slice();
  for (const t of slots)
    if (t.kind !== 'runningMean' && t.kind !== 'runningVar') absInPlace(abs.subarray(t.offset, t.offset + t.size));
  const x = new Float32Array(numel(net.nodes[0]!.shape)).fill(1);
  const req: ProxyPassRequest = { bn: s.bn, wantParams: true, ...(blockScale ? { blockScale } : { float64: true }) };
  const r = await (absNet === net ? c.pass(x, 1, req, abs) : c.passOn(absNet, x, 1, req, abs));
  const grads = blockScale ? r.params : r.params64;
  const grad = (id: number) => {
    const t = weightAt.get(id)!;
    return grads.subarray(t.offset, t.offset + t.size);
  };
  const v = synflowFromGrads(net, c.params, grad, s.bn, blockScale ? (id) => r.weightExp[id]! : undefined);
  if (blockScale && v.value === null)
    return {
      routed: `${group}: its float32 value is not finite even in block floating point; computed in float64 on the reference engine`,
    };
  return blockScale ? { [group]: v } : { float64: { [group]: v } };
}

/** a[i] = |a[i]| (a small function of its own, so V8 optimises the loop once, not on every synflow call). */
function absInPlace(a: Float32Array | Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] = Math.abs(a[i]!);
}

/** A group that could not give a faithful float32 value: it runs on the reference engine, for this reason. */
export interface Routed {
  readonly routed: string;
}

/** Values whose native pass ran in float64 (native/f64_pass.h), not float32, and why when float32 was tried first. */
export interface InFloat64 {
  readonly float64: Values;
  readonly why?: string;
}

/** What a native group gives: its float32 values, its float64 values, or the reason it runs on the reference. */
export type GroupOutcome = Values | Routed | InFloat64;

/** The native implementation of each group that has one (the others run on the reference engine). */
export const NATIVE_GROUPS: Partial<Record<ProxyGroup, (c: NativeGroupContext) => Promise<GroupOutcome>>> = {
  synflow: (c) => synflow(c, 'synflow'),
  synflow_bn: (c) => synflow(c, 'synflow_bn'),
  saliency,
  grasp,
  jacobian,
  zico,
  nwot,
  meco,
  zen,
  az,
  vkdnw,
};
