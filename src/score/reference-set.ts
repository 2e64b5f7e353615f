/**
 * The reference set of a data-free ensemble: a fixed seeded sample of the search space (no accuracy, no data), whose
 * member values, scored once per settings, are cached on disk so that every later network is placed in the same
 * distributions — a network's fitness then depends on the network and the settings alone, never on the population
 * it is scored in.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic.js';
import type { SearchSpace } from '../spaces/types.js';
import { SwapError } from '../util/errors.js';
import { canonicalJson } from '../util/json.js';
import { Rng } from '../util/rng.js';
import { dataDir } from '../data/paths.js';
import { codeIdentity } from '../util/code-id.js';
import { packageVersion } from '../util/version.js';

/**
 * Architectures in a reference set. On NB201 the ensemble's Spearman ρ on sample B with a reference of 256 cells
 * is within ±0.0002 of the population-wide aggregation, against ±0.002 at 128 (docs/ensemble-study.md); scoring
 * 256 networks once costs about as much as one zero-query search.
 */
export const REFERENCE_SIZE = 256;

/** Seed of the reference sample (fixed, so that the reference set is the same on every machine). */
export const REFERENCE_SEED = 1;

/**
 * Weight seed the reference set is scored with, whatever the run's seed: the reference distribution of a member
 * over 256 architectures does not depend on the seed (only each network's value does), so runs that differ only in
 * their seed share one reference set. 0 is the CLI's default seed, so a default run's reference is scored exactly
 * as its networks are.
 */
export const REFERENCE_WEIGHT_SEED = 0;

/** Format tag of a cache file (a changed layout gets another tag, so old files are rebuilt, never misread). */
const FORMAT = 'swapnas-ensemble-reference/2';

/**
 * `size` distinct architectures (by isomorphism class) drawn with the space's own sampler from a fixed seed: no
 * data, no accuracy. Fewer when the space has fewer classes than asked for.
 */
export function referenceGenotypes<G>(
  space: SearchSpace<G, object>,
  size = REFERENCE_SIZE,
  seed = REFERENCE_SEED,
): G[] {
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const out: G[] = [];
  for (let tries = 0; out.length < size && tries < 50 * size; tries++) {
    const g = space.sample(rng);
    const key = space.canonicalKey(g);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(g);
  }
  return out;
}

/**
 * Where reference sets are cached: `dir` when given, else `$SWAPNAS_CACHE_DIR`, else `$XDG_CACHE_HOME/swapnas`,
 * else `~/.cache/swapnas`.
 */
export function cacheDirectory(dir?: string): string {
  if (dir !== undefined && dir !== '') return dir;
  const env = process.env['SWAPNAS_CACHE_DIR'];
  if (env) return env;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? xdg : join(homedir(), '.cache'), 'swapnas');
}

/** What a reference set is keyed by: the ensemble, the scoring settings and the sample. */
export interface ReferenceIdentity {
  readonly rule: string;
  readonly members: readonly string[];
  readonly space: string;
  readonly size: number;
  readonly seed: number;
  /** Everything the member values depend on (the resolved scoring request, the engines that ran). */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** A scored reference set: the architectures and each member's value on each (null: failed). */
export interface ReferenceSet {
  readonly archs: readonly string[];
  readonly values: Readonly<Record<string, readonly (number | null)[]>>;
}

/** How the package's data folder is written in a portable identity (its absolute path differs per install). */
const DATA_MARK = '<package-data>';

/**
 * `id` with the package's data folder in its strings (the embedded input batch's source) written as
 * `<package-data>`, so an identity means the same on every install (shipped sets and cache file names are keyed by
 * it); everything else is unchanged.
 */
export function portableIdentity(id: ReferenceIdentity): ReferenceIdentity {
  const dir = dataDir();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split(dir).join(DATA_MARK);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(id) as ReferenceIdentity;
}

/**
 * What a cache file is written by besides its identity: the file layout, this package's version and the identity
 * of its code (src/util/code-id.ts), so a change of code within one version scores the set again rather than
 * serving member values the old code computed.
 */
function provenance(): { format: string; version: string; code: string } {
  return { format: FORMAT, version: packageVersion(), code: codeIdentity() };
}

/** The cache file of a reference set: its portable identity plus {@link provenance}, hashed (16 hex digits). */
export function referenceFile(id: ReferenceIdentity, dir?: string): string {
  const key = createHash('sha256')
    .update(canonicalJson({ ...provenance(), ...portableIdentity(id) }))
    .digest('hex')
    .slice(0, 16);
  return join(cacheDirectory(dir), `reference-${id.rule}-${id.space}-${key}.json`);
}

/**
 * A cached reference set, or undefined when there is none, or it is unreadable, or it was written for another key
 * or by another layout, version or code.
 */
export function readReference(file: string, id: ReferenceIdentity): ReferenceSet | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const { format, version, code } = doc;
    if (canonicalJson({ format, version, code }) !== canonicalJson(provenance())) return undefined;
    if (canonicalJson(doc['identity']) !== canonicalJson(id)) return undefined;
    const set = doc['reference'] as ReferenceSet;
    const ok = id.members.every((m) => set.values[m]?.length === set.archs.length);
    return ok && set.archs.length > 0 ? set : undefined;
  } catch {
    return undefined;
  }
}

/** Write a reference set to its cache file atomically (a killed run leaves the old file or none). */
export function writeReference(file: string, id: ReferenceIdentity, set: ReferenceSet): void {
  const dir = join(file, '..');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new SwapError('E_OUTPUT', `cannot create the cache folder ${dir.slice(0, 160)}: ${(e as Error).message}`);
  }
  const doc = { ...provenance(), identity: id, reference: set };
  writeFileAtomic(file, `${JSON.stringify(doc)}\n`);
}
