import { SwapError } from '../util/errors.js';
import { flopsProxy } from './builtin/flops.js';
import { nwotProxy } from './builtin/nwot.js';
import { paramsProxy } from './builtin/params.js';
import { pathCountProxy, pathDepthProxy, pathMinProxy, poolPathShareProxy } from './builtin/paths.js';
import { regSwapProxy } from './builtin/reg-swap.js';
import { swapProxy } from './builtin/swap.js';
import { azExpressivityProxy, azProgressivityProxy, azTrainabilityProxy } from './builtin/az.js';
import { epeNasProxy, jacovProxy } from './builtin/jacobian.js';
import { ensembleProxy } from './builtin/ensemble.js';
import { ensembleFitProxy } from './builtin/ensemble-fit.js';
import { ensembleTopProxy } from './builtin/ensemble-top.js';
import { l2NormProxy } from './builtin/l2-norm.js';
import { mecoProxy } from './builtin/meco.js';
import { fisherProxy, gradNormProxy, plainProxy, snipProxy } from './builtin/saliency.js';
import { graspProxy } from './builtin/grasp.js';
import { synflowBnProxy, synflowProxy } from './builtin/synflow.js';
import { vkdnwDimProxy, vkdnwProxy } from './builtin/vkdnw.js';
import { zenProxy } from './builtin/zen.js';
import { zicoProxy } from './builtin/zico.js';
import type { AnyProxy } from './types.js';

/**
 * The built-in proxies, in report order: the engine-measured ones (SWAP, reg-SWAP, NWOT, params, FLOPs), then
 * the rest of the zero-cost suite in the order of `--proxies all`, then the ensemble.
 */
export function defaultProxies(): AnyProxy[] {
  return [
    swapProxy,
    regSwapProxy,
    nwotProxy,
    paramsProxy,
    flopsProxy,
    pathDepthProxy,
    pathMinProxy,
    pathCountProxy,
    poolPathShareProxy,
    l2NormProxy,
    mecoProxy,
    zenProxy,
    azExpressivityProxy,
    azProgressivityProxy,
    azTrainabilityProxy,
    gradNormProxy,
    snipProxy,
    plainProxy,
    fisherProxy,
    graspProxy,
    jacovProxy,
    epeNasProxy,
    synflowProxy,
    synflowBnProxy,
    zicoProxy,
    vkdnwProxy,
    vkdnwDimProxy,
    ensembleProxy,
    ensembleTopProxy,
    ensembleFitProxy,
  ];
}

/** The ensemble proxies of a registry (those with an `ensemble` form): what `--fitness` may name besides reg-SWAP. */
export function ensembleProxies(registry = new ProxyRegistry()): AnyProxy[] {
  return registry.list().filter((p) => p.ensemble !== undefined);
}

/** The engine-measured proxies (those with a `reduce`): what a backend's measurement pass can give. */
export function engineProxies(registry = new ProxyRegistry()): AnyProxy[] {
  return registry.list().filter((p) => p.reduce !== undefined);
}

/**
 * Proxies by name (NASLib's `@measure` registry, typed). A plain object owned by the caller: tests and plug-ins
 * register their own without touching globals.
 */
export class ProxyRegistry {
  private readonly byName = new Map<string, AnyProxy>();

  constructor(proxies: readonly AnyProxy[] = defaultProxies()) {
    for (const p of proxies) this.register(p);
  }

  /** Add a proxy; `E_PROXY` when the name is taken or malformed. */
  register(p: AnyProxy): void {
    if (!/^[a-z][a-z0-9_-]*$/.test(p.name))
      throw new SwapError(
        'E_PROXY',
        `proxy name ${JSON.stringify(p.name.slice(0, 60))} must be lower-case letters, digits, dashes or underscores`,
      );
    if (this.byName.has(p.name)) throw new SwapError('E_PROXY', `proxy ${p.name} is already registered`);
    this.byName.set(p.name, p);
  }

  /** Registered proxies in registration order. */
  list(): readonly AnyProxy[] {
    return [...this.byName.values()];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The proxy called `name`; `E_PROXY` listing the known names when there is none. */
  get(name: string): AnyProxy {
    const p = this.byName.get(name);
    if (!p)
      throw new SwapError(
        'E_PROXY',
        `unknown proxy ${JSON.stringify(name.slice(0, 60))} (known: ${this.names().join(', ')})`,
      );
    return p;
  }
}
