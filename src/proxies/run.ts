/**
 * Compute a set of proxies on one network: each under its official protocol (its own init, input kind, batch, BN
 * mode; see {@link proxySpec}) or under the SWAP protocol (SWAP's network, its S input images and Gaussian weights),
 * one engine pass per proxy group. Own weights (an ONNX model) replace every protocol's initialisation.
 */
import type { InputBatch } from '../data/batch.js';
import { gaussianBatch } from '../data/gaussian.js';
import type { NetParams } from '../grad/types.js';
import { autodlFlops, checkSharedParams, countParams, numel } from '../ir/analysis.js';
import { pathStats } from '../ir/paths.js';
import type { Network } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import { azNas, prngRademacher } from './az.js';
import { blockFeatures } from './blocks.js';
import { initParams, type InitScheme } from './init.js';
import { epeNasScore, inputJacobian, jacovScore } from './jacobian.js';
import { meco, mecoCalls, mecoOneRow } from './meco.js';
import { nwotF64 } from './nwot.js';
import { groupNeedsWeights, type ProxyGroup, type ProxyName, type ProxyProtocol, proxySpec } from './registry.js';
import { grasp } from './grasp.js';
import { l2Norm, saliencies, synflow } from './saliency.js';
import type { ProxyValue } from './value.js';
import { vkdnw } from './vkdnw.js';
import { mixInputs, withoutPreGap, zen } from './zen.js';
import { oneValueBatchNorm } from './one-value-bn.js';
import { softmaxSum } from './softmax-sum.js';
import { zico } from './zico.js';

export interface ProxyRunOptions {
  /** `official` (default): each proxy's own protocol; `swap`: SWAP's inputs (first `batch` images) and weights. */
  readonly protocol?: 'official' | 'swap';
  readonly seed: number;
  /** Own weights (e.g. an ONNX model's); replace every protocol's initialisation. */
  readonly weights?: NetParams;
  /** Real images (normalised, sized for the network); labels, when given, one per image. */
  readonly images: InputBatch;
  readonly labels?: ArrayLike<number>;
  /** Samples per batch: SWAP's S under `swap`; under `official` it overrides every proxy's batch when given. */
  readonly batch?: number;
  /** AZ-NAS block features (IR node ids); default {@link blockFeatures}. */
  readonly features?: readonly number[];
  /**
   * The output of every module call of the model, as PyTorch's forward hooks see them (IR node ids, one per call;
   * an imported model's torch.onnx scopes, `OnnxProxyModel.modules`): MeCo's terms. Default: the IR ops PyTorch
   * implements as leaf modules ({@link mecoNodes}).
   */
  readonly modules?: readonly number[];
  /** The positions in `modules` of calls whose output is channels-last (N, H, W, C): MeCo correlates its rows h. */
  readonly channelsLastCalls?: readonly number[];
  /** Modules (scopes) a call of which returns several maps, a tuple (`OnnxProxyModel.tupleModules`): MeCo is null. */
  readonly tupleModules?: readonly string[];
  /**
   * The native engine's gradient passes ({@link FLOAT64_GROUPS}): `float32` (default; the fastest) or `float64`
   * (native/f64_pass.h, equal to the float64 reference; 1.1–3× the float32 time on torchvision models, 5–6× on
   * NB201's networks). The reference engine computes everything in float64 either way.
   */
  readonly precision?: Precision;
}

/** Dtype of the native engine's gradient passes ({@link ProxyRunOptions.precision}). */
export type Precision = 'float32' | 'float64';

/**
 * The proxy groups whose native passes `precision: 'float64'` runs in float64: the loss and output gradients
 * (saliencies, grasp, the input Jacobian, zico, synflow). A float32 gradient carries a ReLU mask that flipped
 * (an input within float32 rounding of 0) into every earlier layer; forward values move by the rounding alone.
 */
export const FLOAT64_GROUPS: readonly ProxyGroup[] = ['saliency', 'grasp', 'jacobian', 'zico', 'synflow', 'synflow_bn'];

/** What one proxy ran on, recorded next to its value. */
export interface ProxySettings {
  readonly protocol: 'official' | 'swap';
  readonly init: InitScheme | 'model';
  readonly input: ProxyProtocol['input'];
  readonly batch: number;
  readonly batches: number;
  readonly bn: ProxyProtocol['bn'];
  readonly dtype: 'float32' | 'float64';
  readonly source: string;
  /**
   * Engine that computed the value (`reference` unless a native run says otherwise) and, if routed (to the reference
   * engine, or to the native float64 pass after a float32 one), why.
   */
  readonly engine?: 'reference' | 'native';
  readonly routed?: string;
}

export interface ProxyRun {
  readonly values: Partial<Record<ProxyName, ProxyValue>>;
  readonly settings: Partial<Record<ProxyName, ProxySettings>>;
}

/** The path proxies (src/ir/paths.ts); null with the reason when no path reaches the output. */
function pathValues(net: Network): Partial<Record<ProxyName, ProxyValue>> {
  const p = pathStats(net);
  const of = (v: number | undefined): ProxyValue =>
    v === undefined ? { value: null, reason: 'no path from the input reaches the output' } : { value: v };
  return {
    path_depth: of(p?.meanDepth),
    path_min: of(p?.minDepth),
    path_count: of(p?.logCount),
    pool_path_share: of(p?.poolShare),
  };
}

/** Settings of one proxy under the run's protocol. */
export function settingsFor(name: ProxyName, o: ProxyRunOptions): ProxySettings {
  const p = proxySpec(name).protocol;
  const swap = o.protocol === 'swap';
  const init = o.weights ? 'model' : swap && p.input !== 'none' ? 'gaussian' : p.init;
  const batch = p.input === 'ones' || p.input === 'none' ? p.batch : (o.batch ?? p.batch);
  const input = swap && p.input === 'gaussian' ? 'real' : p.input;
  return {
    protocol: swap ? 'swap' : 'official',
    init,
    input,
    batch,
    batches: p.batches,
    bn: p.bn,
    dtype: p.dtype,
    source: p.source,
  };
}

/**
 * Refuse what cannot give an honest value, with coded errors: shared-parameter records that do not fit the network
 * ({@link checkSharedParams}), a label-based proxy without labels, a label count
 * other than the number of images, labels outside 0…classes−1, a loss/probability/pooling proxy on a network
 * without a classifier head (flat logits after a global pool), and fewer images than the proxies read.
 */
export function checkProxyRequest(net: Network, names: readonly ProxyName[], o: ProxyRunOptions): void {
  checkSharedParams(net);
  const out = net.nodes[net.output]!;
  const needHead = out.shape.length !== 1 ? names.filter((n) => proxySpec(n).head) : [];
  if (needHead.length > 0)
    throw new SwapError(
      'E_PROXY_HEAD',
      `${needHead.join(', ').slice(0, 160)} need${needHead.length === 1 ? 's' : ''} a classifier head (flat logits); this network's output is ${out.shape.join('x')}`,
    );
  for (const name of names) {
    const spec = proxySpec(name);
    if (spec.labels && !o.labels)
      throw new SwapError(
        'E_LABELS',
        `${name} needs class labels: the embedded CIFAR images carry them; for other inputs give them (--labels of score, correlate and search, a server request's \`labels\` setting, \`labels\` in the library)`,
      );
  }
  if (o.labels) checkLabels(o.labels, o.images.n, out.shape);
  checkImageCount(names, o);
}

/** Refuse a label count other than the number of images, and labels outside the network's outputs (E_LABELS). */
function checkLabels(labels: ArrayLike<number>, images: number, out: readonly number[]): void {
  if (labels.length !== images)
    throw new SwapError('E_LABELS', `${labels.length} labels for ${images} input images (one label per image)`);
  if (out.length !== 1) return;
  const classes = numel(out);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes)
      throw new SwapError(
        'E_LABELS',
        `label ${y} of image ${i} is outside 0…${classes - 1} (the network has ${classes} outputs; the embedded CIFAR images' labels run to 9 and CIFAR-100's to 99: give labels in range with --labels, or a network with as many outputs)`,
      );
  }
}

/** Refuse a request whose proxies read more images than the input holds, naming the largest need (E_INPUT_SHAPE). */
function checkImageCount(names: readonly ProxyName[], o: ProxyRunOptions): void {
  const needs = names.flatMap((name) => {
    const s = settingsFor(name, o);
    return s.input === 'real' ? [{ name, n: s.batch * (s.batches ?? 1), s }] : [];
  });
  const most = needs.reduce<(typeof needs)[number] | undefined>((a, b) => (a && a.n >= b.n ? a : b), undefined);
  if (most && most.n > o.images.n)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `the proxies need ${most.n} input images (${most.name}: ${(most.s.batches ?? 1) > 1 ? `${most.s.batches} batches of ${most.s.batch}` : `a batch of ${most.s.batch}`}), ${o.images.source} holds ${o.images.n} (lower the proxy batch)`,
    );
}

/** The parameters handed to a group that reads only the architecture ({@link groupNeedsWeights}): none. */
export const NO_WEIGHTS: NetParams = [];

/** Every proxy of `names` on `net` (validated first by {@link checkProxyRequest}). */
export function runProxies(net: Network, names: readonly ProxyName[], o: ProxyRunOptions): ProxyRun {
  checkProxyRequest(net, names, o);
  const values: Partial<Record<ProxyName, ProxyValue>> = {};
  const settings: Partial<Record<ProxyName, ProxySettings>> = {};
  const groups = new Map<ProxyGroup, ProxyName[]>();
  for (const n of names) groups.set(proxySpec(n).group, [...(groups.get(proxySpec(n).group) ?? []), n]);
  const paramCache = new Map<string, NetParams>();
  const paramsFor = (s: ProxySettings): NetParams => {
    if (o.weights) return o.weights;
    const key = s.init;
    if (!paramCache.has(key)) paramCache.set(key, initParams(net, s.init as InitScheme, o.seed));
    return paramCache.get(key)!;
  };
  for (const [group, members] of groups) {
    const s = settingsFor(members[0]!, o);
    const got =
      oneValueBatchNorm(net, group, members, s, o.features) ??
      softmaxSum(net, group, members) ??
      runGroup(group, net, groupNeedsWeights(group) ? paramsFor(s) : NO_WEIGHTS, s, o);
    for (const m of members) {
      values[m] = got[m] ?? { value: null, reason: `${m}: not computed` };
      settings[m] = settingsFor(m, o);
    }
  }
  return { values, settings };
}

/** The first `n` images (and labels) starting at image `from`. */
function realBatch(o: ProxyRunOptions, n: number, from = 0): { x: Float32Array; labels?: Float64Array } {
  const b = o.images;
  if (from + n > b.n)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `the proxies need ${from + n} input images, ${b.source} holds ${b.n} (lower the proxy batch)`,
    );
  const per = b.c * b.h * b.w;
  const x = b.data.subarray(from * per, (from + n) * per);
  return o.labels ? { x, labels: Float64Array.from(o.labels).subarray(from, from + n) } : { x };
}

/** A seeded Gaussian batch of n × c × h × w values (what {@link gaussianBatch} draws). */
export type GaussianSource = (n: number, c: number, h: number, w: number, seed: number) => Float32Array;

const drawGaussian: GaussianSource = (n, c, h, w, seed) => gaussianBatch(n, c, h, w, seed).data;

/**
 * The input batch of a proxy's settings (`salt` picks a further batch: zico's second, zen's mixing noise).
 * `gaussian` draws the Gaussian batches (default: {@link gaussianBatch}; a runner may cache them).
 */
export function inputsFor(
  s: ProxySettings,
  o: ProxyRunOptions,
  net: Network,
  salt = 0,
  gaussian: GaussianSource = drawGaussian,
): Float32Array {
  const [c, h, w] = net.nodes[0]!.shape as readonly [number, number, number];
  if (s.input === 'gaussian') return gaussian(s.batch, c, h, w, (o.seed ^ (0x5bd1e995 * salt)) >>> 0);
  return realBatch(o, s.batch, salt * s.batch).x;
}

/** Labels of batch `which` of a proxy's settings (coded error without labels). */
export function labelsFor(s: ProxySettings, o: ProxyRunOptions, which = 0): Float64Array {
  const l = realBatch(o, s.batch, which * s.batch).labels;
  if (!l)
    throw new SwapError(
      'E_LABELS',
      'this proxy needs class labels (the embedded CIFAR images carry them; for other inputs give them: --labels of score, correlate and search, a server request `labels` setting, `labels` in the library)',
    );
  return l;
}

/** One proxy group on the reference engine (float64). */
export function runGroup(
  group: ProxyGroup,
  net: Network,
  params: NetParams,
  s: ProxySettings,
  o: ProxyRunOptions,
): Partial<Record<ProxyName, ProxyValue>> {
  switch (group) {
    case 'count':
      return { params: { value: countParams(net) }, flops: { value: autodlFlops(net) }, ...pathValues(net) };
    case 'l2_norm':
      return { l2_norm: l2Norm(net, params) };
    case 'nwot':
      return { nwot: nwotF64(net, params, inputsFor(s, o, net), s.batch, s.bn) };
    case 'meco':
      return { meco: mecoOneRow(net, o) ?? meco(net, params, inputsFor(s, o, net), s.batch, s.bn, mecoCalls(net, o)) };
    case 'zen': {
      const none = withoutPreGap(net);
      if (none) return { zen: none };
      const x = inputsFor(s, o, net);
      const x2 = inputsFor({ ...s, input: 'gaussian' }, o, net, 1);
      return { zen: zen(net, params, x, mixInputs(x, x2), s.batch) };
    }
    case 'az': {
      const feats = o.features ?? blockFeatures(net);
      const r = azNas(net, params, inputsFor(s, o, net), s.batch, feats, prngRademacher(o.seed));
      return { az_expressivity: r.expressivity, az_progressivity: r.progressivity, az_trainability: r.trainability };
    }
    case 'saliency':
      return { ...saliencies(net, params, inputsFor(s, o, net), labelsFor(s, o), s.bn) };
    case 'grasp':
      return { grasp: grasp(net, params, inputsFor(s, o, net), labelsFor(s, o), s.bn) };
    case 'jacobian': {
      const { rows, outputs } = inputJacobian(net, params, inputsFor(s, o, net), s.batch, s.bn);
      const out: Partial<Record<ProxyName, ProxyValue>> = { jacov: jacovScore(rows, s.batch) };
      if (o.labels) out.epe_nas = epeNasScore(rows, labelsFor(s, o), outputs);
      return out;
    }
    case 'synflow':
    case 'synflow_bn':
      return { [group]: synflow(net, params, s.bn) };
    case 'zico': {
      const batches = [0, 1].map((k) => ({ x: inputsFor(s, o, net, k), labels: labelsFor(s, o, k) }));
      return { zico: zico(net, params, batches) };
    }
    case 'vkdnw': {
      const r = vkdnw(net, params, inputsFor(s, o, net), s.batch);
      return { vkdnw: r.vkdnw, vkdnw_dim: r.vkdnw_dim };
    }
  }
}
