import { BackendRegistry, type BackendChoice } from '../backends/registry.js';
import type { Backend, BackendName, BackendProvider } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import type { Regulariser } from '../proxies/regularise.js';
import type { ResolveMemo } from '../request/resolve.js';
import type { ResolvedSettings } from './adapter.js';
import { diskRegulariserMemo } from '../score/auto-reg-cache.js';
import { makeSuiteEngine, type SuiteEngine, type SuiteEngineName } from '../score/ensemble.js';

/** Entries a {@link Memo} keeps before it forgets the oldest (bounds a server's memory under varied settings). */
export const MEMO_LIMIT = 64;

/** A small insertion-ordered cache of values (or promises) by string key, dropping the oldest beyond `limit`. */
export class Memo<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly limit = MEMO_LIMIT) {}

  /** The value for `key`, made by `make` on first use. A thrown error is not cached. */
  get(key: string, make: () => T): T {
    if (this.map.has(key)) return this.map.get(key)!;
    const v = make();
    if (v instanceof Promise) v.catch(() => this.map.delete(key));
    this.map.set(key, v);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!);
    return v;
  }

  get size(): number {
    return this.map.size;
  }

  values(): IterableIterator<T> {
    return this.map.values();
  }
}

/**
 * Everything a long-lived scoring process keeps between requests: one backend instance per backend name (its
 * addon and thread pool stay loaded), benchmark tables, input batches and data-free regularisers keyed by the
 * settings they depend on. Owned by the server object (no module state); {@link WarmState.close} releases the
 * backends.
 */
export class WarmState {
  /** Input batches by the settings that produce them. */
  readonly inputs = new Memo<Promise<InputBatch>>();
  /** Data-free regularisers by space + network options. */
  readonly regularisers = new Memo<Regulariser>();
  /** What `resolveScoringRequest` reuses between requests (the two memos above; μ/σ also from the disk cache). */
  readonly resolveMemo: ResolveMemo;
  /** Benchmark tables by space. */
  readonly tables = new Memo<unknown>();
  /**
   * What `score` request settings resolve to, by their canonical JSON (a lone request then only builds its
   * networks); with an ensemble fitness this holds its scorer, whose reference set stays loaded.
   */
  readonly settings = new Memo<Promise<ResolvedSettings>>();
  /**
   * Suite engines of ensemble members by engine and threads, shared by every setting's scorer (requests run one
   * at a time): a native engine's activation buffers are kept once, not once per setting. Scorers ask for theirs
   * on every pass and keep no reference, so an evicted engine is dropped once its pass ends, never kept beside
   * the one made for its key again; a failed make is not kept (the next pass tries again).
   */
  readonly suiteEngines = new Memo<Promise<SuiteEngine>>(8);
  private readonly choices = new Memo<Promise<BackendChoice>>(16);
  readonly registry: BackendRegistry;
  /** Where data-free μ/σ and ensemble reference sets are cached on disk (undefined: the default folder). */
  readonly cacheDir: string | undefined;

  /**
   * `cacheDir`: where data-free μ/σ and ensemble reference sets are cached on disk (default: `$SWAPNAS_CACHE_DIR`,
   * else the user's cache), as `swapnas score --cache-dir`.
   */
  constructor(base: BackendRegistry = new BackendRegistry(), opts: { readonly cacheDir?: string | undefined } = {}) {
    this.cacheDir = opts.cacheDir;
    const disk = diskRegulariserMemo(opts.cacheDir);
    this.resolveMemo = {
      inputs: (key, make) => this.inputs.get(key, make),
      regulariser: (key, make) => this.regularisers.get(key, () => disk(key, make)),
    };
    // Scoring code closes the backend it chose after each call; a warm provider hands out the kept instance
    // with a no-op close, so the pool survives until the server closes.
    this.registry = new BackendRegistry(base.list().map((p) => this.warmProvider(p)));
  }

  /** The shared suite engine for `engine` with `threads` (see {@link WarmState.suiteEngines}). */
  suiteEngine(engine: SuiteEngineName, threads: number | undefined): Promise<SuiteEngine> {
    return this.suiteEngines.get(`${engine}:${threads ?? 'default'}`, () => makeSuiteEngine(engine, threads));
  }

  /** The kept backend for `name` (`auto`: the best available), created on first use. */
  choose(name: BackendName | 'auto'): Promise<BackendChoice> {
    return this.choices.get(name, () => this.registry.choose(name));
  }

  private readonly created: Backend[] = [];

  private warmProvider(p: BackendProvider): BackendProvider {
    const kept = new Memo<Promise<Backend>>(1);
    const probe = new Memo<ReturnType<BackendProvider['probe']>>(1);
    return {
      name: p.name,
      priority: p.priority,
      description: p.description,
      capabilities: p.capabilities,
      probe: () => probe.get('probe', () => p.probe()),
      create: () =>
        kept.get('backend', async () => {
          const b = await p.create();
          this.created.push(b);
          return sharedBackend(b);
        }),
    };
  }

  /** Release every backend that was created (their own close()). */
  async close(): Promise<void> {
    const all = this.created.splice(0);
    for (const b of all) await b.close?.();
  }
}

/**
 * A view of `b` whose close() does nothing (the owner closes `b` itself); every other member is `b`'s, by
 * prototype, so the view follows the Backend interface as it grows.
 */
function sharedBackend(b: Backend): Backend {
  return Object.create(b, { close: { value: () => undefined } }) as Backend;
}
