/**
 * The zero-cost proxies swapnas computes besides SWAP, with what each needs and its official protocol (the
 * defaults; `swap` protocol runs them on SWAP's network, inputs and Gaussian weights instead). Definitions and
 * sources: docs/proxies.md.
 */
import type { BnMode } from '../grad/types.js';
import { SwapError } from '../util/errors.js';
import type { InitScheme } from './init.js';

export const PROXY_NAMES = [
  'params',
  'flops',
  'l2_norm',
  'nwot',
  'meco',
  'zen',
  'az_expressivity',
  'az_progressivity',
  'az_trainability',
  'grad_norm',
  'snip',
  'plain',
  'fisher',
  'jacov',
  'epe_nas',
  'synflow',
  'synflow_bn',
  'zico',
  'vkdnw',
  'vkdnw_dim',
] as const;
export type ProxyName = (typeof PROXY_NAMES)[number];

/** Which input a proxy's official protocol feeds. */
export type InputKind = 'none' | 'real' | 'gaussian' | 'ones';

/** The computation a proxy belongs to: proxies of one group share one engine pass. */
export type ProxyGroup =
  | 'count'
  | 'l2_norm'
  | 'nwot'
  | 'meco'
  | 'zen'
  | 'az'
  | 'saliency'
  | 'jacobian'
  | 'synflow'
  | 'synflow_bn'
  | 'zico'
  | 'vkdnw';

export interface ProxyProtocol {
  readonly init: InitScheme;
  readonly input: InputKind;
  /** Samples per batch (per batch for zico). */
  readonly batch: number;
  /** Number of batches (zico: 2). */
  readonly batches: number;
  readonly bn: BnMode;
  readonly dtype: 'float64';
  /** Where the protocol comes from (official repository and file). */
  readonly source: string;
}

export interface ProxySpec {
  readonly name: ProxyName;
  readonly group: ProxyGroup;
  /** Needs reverse mode (gradients), i.e. a backend with gradient support. */
  readonly backward: boolean;
  /** Needs integer class labels (cross-entropy or per-class grouping). */
  readonly labels: boolean;
  /** Needs a classifier head: flat logits (loss, class probabilities) or a global pool (zen). */
  readonly head: boolean;
  readonly protocol: ProxyProtocol;
}

const ZC = 'SamsungLabs/zero-cost-nas foresight/pruners/measures';
const real = (batch: number, source: string, bn: BnMode = 'train'): ProxyProtocol => ({
  init: 'pytorch',
  input: 'real',
  batch,
  batches: 1,
  bn,
  dtype: 'float64',
  source,
});
const gauss = (init: InitScheme, bn: BnMode, source: string): ProxyProtocol => ({
  init,
  input: 'gaussian',
  batch: 64,
  batches: 1,
  bn,
  dtype: 'float64',
  source,
});
const none: ProxyProtocol = {
  init: 'pytorch',
  input: 'none',
  batch: 0,
  batches: 0,
  bn: 'train',
  dtype: 'float64',
  source: '',
};
const AZ = 'cvlab-yonsei/AZ-NAS NB201/ZeroShotProxy/compute_az_nas_score.py';
const VK = 'ondratybl/VKDNW NB201/ZeroShotProxy/compute_vkdnw_score.py';
const ones = (bn: BnMode): ProxyProtocol => ({ ...real(1, `${ZC}/synflow.py`, bn), input: 'ones' });

const SPECS: Record<ProxyName, Omit<ProxySpec, 'name'>> = {
  params: { group: 'count', backward: false, labels: false, head: false, protocol: { ...none, source: 'NB201 API' } },
  flops: { group: 'count', backward: false, labels: false, head: false, protocol: { ...none, source: 'NB201 API' } },
  l2_norm: {
    group: 'l2_norm',
    backward: false,
    labels: false,
    head: false,
    protocol: { ...none, source: `${ZC}/l2_norm.py` },
  },
  nwot: {
    group: 'nwot',
    backward: false,
    labels: false,
    head: false,
    protocol: real(32, 'automl/NASLib measures/nwot.py'),
  },
  meco: {
    group: 'meco',
    backward: false,
    labels: false,
    head: false,
    protocol: real(1, 'HamsterMimi/MeCo correlation/NAS_Bench_201.py'),
  },
  zen: {
    group: 'zen',
    backward: false,
    labels: false,
    head: true,
    protocol: gauss('gaussian', 'train', 'idstcv/ZenNAS ZeroShotProxy/compute_zen_score.py'),
  },
  az_expressivity: {
    group: 'az',
    backward: false,
    labels: false,
    head: false,
    protocol: gauss('kaiming', 'train', AZ),
  },
  az_progressivity: {
    group: 'az',
    backward: false,
    labels: false,
    head: false,
    protocol: gauss('kaiming', 'train', AZ),
  },
  az_trainability: { group: 'az', backward: true, labels: false, head: false, protocol: gauss('kaiming', 'train', AZ) },
  grad_norm: { group: 'saliency', backward: true, labels: true, head: true, protocol: real(64, `${ZC}/grad_norm.py`) },
  snip: { group: 'saliency', backward: true, labels: true, head: true, protocol: real(64, `${ZC}/snip.py`) },
  plain: { group: 'saliency', backward: true, labels: true, head: true, protocol: real(64, `${ZC}/plain.py`) },
  fisher: { group: 'saliency', backward: true, labels: true, head: true, protocol: real(64, `${ZC}/fisher.py`) },
  jacov: { group: 'jacobian', backward: true, labels: false, head: false, protocol: real(64, `${ZC}/jacob_cov.py`) },
  epe_nas: {
    group: 'jacobian',
    backward: true,
    labels: true,
    head: true,
    protocol: real(32, 'automl/NASLib measures/epe_nas.py'),
  },
  synflow: { group: 'synflow', backward: true, labels: false, head: false, protocol: ones('identity') },
  synflow_bn: { group: 'synflow_bn', backward: true, labels: false, head: false, protocol: ones('train') },
  zico: {
    group: 'zico',
    backward: true,
    labels: true,
    head: true,
    protocol: { ...real(64, 'SLDGroup/ZiCo ZeroShotProxy/compute_zico.py'), batches: 2 },
  },
  vkdnw: { group: 'vkdnw', backward: true, labels: false, head: true, protocol: gauss('kaiming', 'eval', VK) },
  vkdnw_dim: { group: 'vkdnw', backward: false, labels: false, head: false, protocol: gauss('kaiming', 'eval', VK) },
};

export function proxySpec(name: ProxyName): ProxySpec {
  return { name, ...SPECS[name] };
}

/**
 * Parse `a,b,…` or `all` into proxy names (order kept, duplicates dropped). Unknown names are a coded error that
 * lists the known ones.
 */
export function parseProxyList(text: string): ProxyName[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new SwapError('E_PROXY_UNKNOWN', '--proxies is empty; give names or "all"');
  if (items.length === 1 && items[0] === 'all') return [...PROXY_NAMES];
  const out: ProxyName[] = [];
  for (const it of items) {
    if (!(PROXY_NAMES as readonly string[]).includes(it))
      throw new SwapError(
        'E_PROXY_UNKNOWN',
        `unknown proxy ${JSON.stringify(it.slice(0, 40))}; known: ${PROXY_NAMES.join(', ')} (or all)`,
      );
    if (!out.includes(it as ProxyName)) out.push(it as ProxyName);
  }
  return out;
}

/**
 * grasp is left out: its official form backpropagates through a gradient (a Hessian-vector product), which the
 * reverse mode does not provide; a finite-difference Hg would not equal the official value.
 */
export const LEFT_OUT = { grasp: 'needs a Hessian-vector product (double backward), not available in the engine' };
