import { SwapError } from '../util/errors.js';
import { flopsProxy } from './builtin/flops.js';
import { nwotProxy } from './builtin/nwot.js';
import { paramsProxy } from './builtin/params.js';
import { regSwapProxy } from './builtin/reg-swap.js';
import { swapProxy } from './builtin/swap.js';
import type { AnyProxy } from './types.js';

/** The built-in proxies, in report order. */
export function defaultProxies(): AnyProxy[] {
  return [swapProxy, regSwapProxy, nwotProxy, paramsProxy, flopsProxy];
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
    if (!/^[a-z][a-z0-9-]*$/.test(p.name))
      throw new SwapError(
        'E_PROXY',
        `proxy name ${JSON.stringify(p.name.slice(0, 60))} must be lower-case-with-dashes`,
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
