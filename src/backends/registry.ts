import { SwapError } from '../util/errors.js';
import { BACKEND_INFO, type BackendInfo } from './info.js';
import type { Backend, BackendName, BackendProbe, BackendProvider, MeasurementKind } from './types.js';
import { quote } from '../util/quote.js';

/** A backend that was not chosen, and why. */
export interface SkippedBackend {
  readonly name: BackendName;
  readonly reason: string;
}

export interface BackendChoice {
  readonly backend: Backend;
  /** Higher-priority backends that could not be used, with the reason (for the result's report). */
  readonly skipped: readonly SkippedBackend[];
}

/**
 * Backends by priority (cuda > native > webgpu > reference). A registry is a plain object owned by the caller;
 * providers can be added (e.g. by tests or plug-ins) without touching globals.
 */
export class BackendRegistry {
  private readonly providers: BackendProvider[];

  constructor(providers: readonly BackendProvider[] = defaultProviders()) {
    this.providers = [...providers].sort((a, b) => b.priority - a.priority);
  }

  register(p: BackendProvider): void {
    this.providers.push(p);
    this.providers.sort((a, b) => b.priority - a.priority);
  }

  list(): readonly BackendProvider[] {
    return this.providers;
  }

  /** Probe every backend; for `swapnas backends` and reports. */
  async describe(): Promise<
    { name: BackendName; priority: number; available: boolean; reason?: string; description: string }[]
  > {
    const rows = [];
    for (const p of this.providers) {
      const r = await p.probe();
      rows.push({
        name: p.name,
        priority: p.priority,
        description: p.description,
        available: r.available,
        ...(r.available ? {} : { reason: r.reason }),
      });
    }
    return rows;
  }

  /**
   * Pick a backend: a named one (error `E_BACKEND_UNAVAILABLE` with the reason when it cannot run) or, for
   * `auto`, the highest-priority available one, reporting why each better one was skipped.
   */
  async choose(name: BackendName | 'auto' = 'auto'): Promise<BackendChoice> {
    if (name !== 'auto') {
      const p = this.providers.find((q) => q.name === name);
      if (!p) {
        throw new SwapError(
          'E_OPTION',
          `unknown backend ${quote(name)} (known: ${this.providers.map((q) => q.name).join(', ')}, auto)`,
        );
      }
      const r = await p.probe();
      if (!r.available) throw new SwapError('E_BACKEND_UNAVAILABLE', `backend ${name} is unavailable: ${r.reason}`);
      return { backend: await p.create(), skipped: [] };
    }
    const skipped: SkippedBackend[] = [];
    for (const p of this.providers) {
      const r = await p.probe();
      if (r.available) return { backend: await p.create(), skipped };
      skipped.push({ name: p.name, reason: r.reason });
    }
    throw new SwapError(
      'E_BACKEND_UNAVAILABLE',
      `no backend available: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
    );
  }

  /**
   * Backends for measurements the chosen backend (`except`) cannot make: for each kind the highest-priority
   * available provider that declares it, one created backend per provider (the caller closes them).
   * `E_BACKEND_UNAVAILABLE` naming the kind and each capable provider's reason when none can run.
   */
  async routeMeasurements(kinds: readonly MeasurementKind[], except: BackendName): Promise<MeasurementGroup[]> {
    const byProvider = new Map<BackendProvider, MeasurementKind[]>();
    for (const kind of kinds) {
      const why: string[] = [];
      let chosen: BackendProvider | undefined;
      for (const p of this.providers) {
        if (p.name === except || !p.capabilities.includes(kind)) continue;
        const r = await p.probe();
        if (r.available) {
          chosen = p;
          break;
        }
        why.push(`${p.name}: ${r.reason}`);
      }
      if (!chosen)
        throw new SwapError(
          'E_BACKEND_UNAVAILABLE',
          `backend ${except} does not compute ${kind} and no other backend can${why.length ? ` (${why.join('; ')})` : ''}`,
        );
      byProvider.set(chosen, [...(byProvider.get(chosen) ?? []), kind]);
    }
    const out: MeasurementGroup[] = [];
    for (const [p, ks] of byProvider) out.push({ backend: await p.create(), kinds: ks });
    return out;
  }
}

/** Measurements one routed backend computes (see {@link BackendRegistry.routeMeasurements}). */
export interface MeasurementGroup {
  readonly backend: Backend;
  readonly kinds: MeasurementKind[];
}

/**
 * A provider whose metadata is `info` and whose implementation is imported on its first probe or create (once per
 * provider object). An implementation that does not load makes the backend unavailable, with the reason.
 */
function lazyProvider(info: BackendInfo, load: () => Promise<BackendProvider>): BackendProvider {
  let impl: Promise<BackendProvider> | undefined;
  const loaded = () => (impl ??= load());
  return {
    ...info,
    probe: async (): Promise<BackendProbe> => {
      let p: BackendProvider;
      try {
        p = await loaded();
      } catch (e) {
        return { available: false, reason: `its module does not load: ${(e as Error).message.slice(0, 200)}` };
      }
      return p.probe();
    },
    create: async () => (await loaded()).create(),
  };
}

/**
 * The built-in backends by priority, as light providers: their metadata (src/backends/info.ts) is here at once,
 * each implementation is imported when the backend is first probed or created — `auto` loads the backends it
 * probes up to the first available one, a named backend only its own.
 */
export function defaultProviders(): BackendProvider[] {
  return [
    lazyProvider(BACKEND_INFO.cuda, async () => (await import('./cuda/index.js')).cudaProvider),
    lazyProvider(BACKEND_INFO.native, async () => (await import('./native/index.js')).nativeProvider),
    lazyProvider(BACKEND_INFO.webgpu, async () => (await import('./webgpu/index.js')).webgpuProvider),
    lazyProvider(BACKEND_INFO.ort, async () => (await import('./ort/provider.js')).ortProvider),
    lazyProvider(BACKEND_INFO.reference, async () => (await import('./reference/index.js')).referenceProvider),
  ];
}
