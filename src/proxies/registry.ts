/**
 * The zero-cost suite's names and their official protocols, read from the proxy plug-ins (src/proxies/builtin/,
 * one registry: {@link ProxyRegistry}); `swap` protocol runs them on SWAP's network, inputs and Gaussian weights
 * instead. Definitions and sources: docs/zero-cost-proxies.md.
 */
import { SwapError } from '../util/errors.js';
import { defaultProxies } from './plugins.js';
import type { ProxyGroup, SuiteForm, SuiteProtocol } from './suite-protocol.js';

export type { InputKind, ProxyGroup } from './suite-protocol.js';

/** The proxies `--proxies all` computes, in report order (each a plug-in with a `suite` form). */
export const PROXY_NAMES = [
  'params',
  'flops',
  'path_depth',
  'path_min',
  'path_count',
  'pool_path_share',
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
  'grasp',
  'jacov',
  'epe_nas',
  'synflow',
  'synflow_bn',
  'zico',
  'vkdnw',
  'vkdnw_dim',
] as const;
export type ProxyName = (typeof PROXY_NAMES)[number];

/** The official protocol of a suite proxy. */
export type ProxyProtocol = SuiteProtocol;

/** A suite proxy's name with how the suite computes it (its plug-in's `suite` form). */
export interface ProxySpec extends SuiteForm {
  readonly name: ProxyName;
}

/** The suite form of a proxy of {@link PROXY_NAMES} (from the built-in plug-ins). */
export function proxySpec(name: ProxyName): ProxySpec {
  const p = defaultProxies().find((d) => d.name === name);
  if (!p?.suite) throw new SwapError('E_PROXY_UNKNOWN', `proxy ${name} has no suite form`);
  return { name, ...p.suite };
}

/**
 * Whether a group's values depend on the weights: every group but one whose proxies read only the architecture
 * (params, flops), which is computed without initialising any weight.
 */
export function groupNeedsWeights(group: ProxyGroup): boolean {
  return PROXY_NAMES.some((n) => {
    const s = proxySpec(n);
    return s.group === group && s.consumes.some((c) => c !== 'architecture');
  });
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
