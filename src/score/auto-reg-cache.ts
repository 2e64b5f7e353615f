/**
 * Data-free μ/σ kept on disk between processes: the rule builds ~500 sample networks (~0.2 s of CPU on NB201), which
 * a one-architecture CLI call would otherwise pay every time. The value is a pure function of the space, the
 * network options and the rule's constants, so a file keyed by them (and by this package's version, its code
 * identity and a format tag) can stand in for the computation; its numbers are the computed ones, written and read back exactly (JSON
 * keeps every double).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { Regulariser } from '../proxies/regularise.js';
import { codeIdentity } from '../util/code-id.js';
import { canonicalJson } from '../util/json.js';
import { packageVersion } from '../util/version.js';
import { AUTO_REG_KAPPA, AUTO_REG_SAMPLES, AUTO_REG_SEED } from './auto-reg.js';
import { cacheDirectory } from './reference-set.js';

/** Format tag of a cache file (a changed layout gets another tag, so old files are rebuilt, never misread). */
const FORMAT = 'swapnas-data-free-reg/1';

/** Everything a cached value depends on besides the caller's key (space + network options). */
function identity(key: string): Record<string, unknown> {
  const rule = { samples: AUTO_REG_SAMPLES, seed: AUTO_REG_SEED, kappa: AUTO_REG_KAPPA };
  return { format: FORMAT, version: packageVersion(), code: codeIdentity(), rule, key };
}

/** The cache file of a data-free μ/σ under `dir` (else the default cache folder, {@link cacheDirectory}). */
export function dataFreeRegFile(key: string, dir?: string): string {
  const hash = createHash('sha256')
    .update(canonicalJson(identity(key)))
    .digest('hex')
    .slice(0, 16);
  return join(cacheDirectory(dir), `data-free-reg-${hash}.json`);
}

/** A cached μ/σ, or undefined when the file is missing, unreadable, malformed or written for another identity. */
export function readDataFreeReg(file: string, key: string): Regulariser | undefined {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (canonicalJson(doc['identity']) !== canonicalJson(identity(key))) return undefined;
    const r = doc['regulariser'] as Record<string, unknown> | null;
    const { mu, sigma, source } = r ?? {};
    const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
    if (!positive(mu) || !positive(sigma) || typeof source !== 'string') return undefined;
    return { mu: mu as number, sigma: sigma as number, source };
  } catch {
    return undefined;
  }
}

/**
 * Write a μ/σ to its cache file atomically (a killed process leaves the old file or none). A cache that cannot be
 * written (read-only or missing home, full disk) only costs the next call the computation, so the failure is
 * not raised.
 */
export function writeDataFreeReg(file: string, key: string, reg: Regulariser): void {
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    const doc = { identity: identity(key), regulariser: { mu: reg.mu, sigma: reg.sigma, source: reg.source } };
    writeFileAtomic(file, `${JSON.stringify(doc)}\n`);
  } catch {
    /* an unwritable cache is not an error of the scoring call */
  }
}

/**
 * The `regulariser` member of a resolve memo (`resolveScoringRequest`) backed by the disk cache under `dir`
 * (default: `$SWAPNAS_CACHE_DIR`, else the user's cache folder): a cached value when there is a valid one, else
 * `make()`'s, written for the next process.
 */
export function diskRegulariserMemo(dir?: string): (key: string, make: () => Regulariser) => Regulariser {
  return (key, make) => {
    const file = dataFreeRegFile(key, dir);
    const cached = readDataFreeReg(file, key);
    if (cached) return cached;
    const reg = make();
    writeDataFreeReg(file, key, reg);
    return reg;
  };
}
