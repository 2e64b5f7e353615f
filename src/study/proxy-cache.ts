/**
 * The resumable cache of `correlate --proxies`: one JSONL file per measurement setting (space, network options,
 * protocol, seed, inputs, labels, batch, engine), one line per architecture and run holding the proxy values it
 * computed. Lines are appended as each network finishes, so a killed run loses at most the networks in flight; a
 * rerun reads the file back and measures only the (architecture, proxy) pairs it lacks. One writer per file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppendFile, readCompleteLines } from '../io/atomic.js';
import { type FileLock, lockOutput } from '../io/lock.js';
import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';

/** Proxy name → value (null: the proxy failed on this network and says so). */
export type ProxyValues = Record<string, number | null>;

/** Stable JSON of plain data (object keys sorted at every depth), for hashing settings. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** The cache file's name for a setting: `proxies-<space>-<sha256 of the setting, 16 hex>.jsonl`. */
export function proxyCacheName(space: string, setting: Readonly<Record<string, unknown>>): string {
  const h = createHash('sha256').update(stable(setting)).digest('hex').slice(0, 16);
  return `proxies-${space.replace(/[^A-Za-z0-9_.-]/g, '_')}-${h}.jsonl`;
}

/** Values already measured, by architecture, and the appender for new ones. Close it (or let `using` do it). */
export class ProxyValueCache {
  private readonly known = new Map<string, ProxyValues>();
  private file: AppendFile | undefined;

  private constructor(
    readonly path: string,
    private readonly lock: FileLock,
  ) {}

  /** Open (creating the folder) and read back `dir/name`, holding its writer lock until {@link close}. */
  static open(dir: string, name: string): ProxyValueCache {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new SwapError('E_OUTPUT', `cannot create cache folder ${dir}: ${(e as Error).message}`, { cause: e });
    }
    const path = join(dir, name);
    const cache = new ProxyValueCache(path, lockOutput(path, 'proxy cache'));
    try {
      cache.load();
      cache.file = AppendFile.open(path);
    } catch (e) {
      cache.lock.release();
      throw e;
    }
    return cache;
  }

  private load(): void {
    if (!existsSync(this.path)) return;
    for (const line of readCompleteLines(this.path).split('\n')) {
      if (!line) continue;
      let row: { arch?: unknown; proxies?: unknown };
      try {
        row = JSON.parse(line) as typeof row;
      } catch {
        throw new SwapError('E_JOURNAL', `${this.path}: corrupt line ${quote(line.slice(0, 60))}`);
      }
      if (typeof row.arch !== 'string' || row.proxies === null || typeof row.proxies !== 'object')
        throw new SwapError('E_JOURNAL', `${this.path}: line without arch/proxies ${quote(line.slice(0, 60))}`);
      this.known.set(row.arch, { ...this.known.get(row.arch), ...(row.proxies as ProxyValues) });
    }
  }

  /** The cached values of `arch` (possibly for fewer proxies than asked). */
  get(arch: string): ProxyValues | undefined {
    return this.known.get(arch);
  }

  /** Of `names`, those `arch` has no cached value for. */
  missing<N extends string>(arch: string, names: readonly N[]): N[] {
    const have = this.known.get(arch);
    return have ? names.filter((n) => !(n in have)) : [...names];
  }

  /** Record newly measured values of `arch` (appended at once). */
  put(arch: string, values: ProxyValues): void {
    this.known.set(arch, { ...this.known.get(arch), ...values });
    this.file?.write(`${JSON.stringify({ arch, proxies: values })}\n`);
  }

  close(): void {
    this.file?.close();
    this.file = undefined;
    this.lock.release();
  }
}
