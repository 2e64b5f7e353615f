import { SwapError } from '../util/errors.js';

/** Version of the job payload layout (bumped when fields change meaning). */
export const PAYLOAD_VERSION = 1;

/**
 * What a job asks a worker to do: SWAP rows (`score`), study measurements (`measure`), zero-cost proxy rows
 * (`proxies`), an ensemble's member values (`ensemble`), training runs (`evaluate`).
 */
export type JobKind = 'score' | 'measure' | 'proxies' | 'ensemble' | 'evaluate';
export const JOB_KINDS: readonly JobKind[] = ['score', 'measure', 'proxies', 'ensemble', 'evaluate'];

/** Size limits a worker enforces before doing anything with a job (a malformed job fails alone). */
export const LIMITS = Object.freeze({
  /** Serialised job data. */
  payloadBytes: 1 << 20,
  archsPerJob: 10_000,
  archChars: 4096,
  /** An input batch stored beside the jobs. */
  blobBytes: 256 << 20,
});

/**
 * One chunk of a run: data only (architecture strings and the resolved settings), never a command line. The
 * worker recomputes `hash` from `settings` with its own code and refuses the job when it differs, or when `pkg`
 * is not its own package version.
 */
export interface JobPayload {
  readonly v: number;
  readonly pkg: string;
  readonly kind: JobKind;
  readonly run: string;
  readonly chunk: number;
  readonly hash: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly archs: readonly string[];
  /** Backend the producer asked for ("auto": the worker's best). */
  readonly backend: string;
  /** Bench only: the worker returns at once (its results are never real scores). */
  readonly dryRun?: boolean;
}

const FIELDS = new Set(['v', 'pkg', 'kind', 'run', 'chunk', 'hash', 'settings', 'archs', 'backend', 'dryRun']);

const quote = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);

function bad(msg: string): never {
  throw new SwapError('E_PAYLOAD', msg);
}

function str(o: Record<string, unknown>, k: string, max = 200): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    bad(`job field ${k} must be a string of 1..${max} characters`);
  return v;
}

/** Check the shape and size of job data; every problem is an `E_PAYLOAD` error quoting at most 200 characters. */
export function checkPayload(data: unknown): JobPayload {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) bad('job data must be an object');
  const o = data as Record<string, unknown>;
  // Only data fields: anything else (a "command", a script) is refused, never looked at.
  const extra = Object.keys(o).find((k) => !FIELDS.has(k));
  if (extra !== undefined) bad(`unknown job field ${quote(extra)}: jobs carry architectures and settings only`);
  const bytes = Buffer.byteLength(JSON.stringify(o));
  if (bytes > LIMITS.payloadBytes) bad(`job data is ${bytes} bytes, over the ${LIMITS.payloadBytes}-byte limit`);
  if (o['v'] !== PAYLOAD_VERSION) bad(`job payload version ${quote(String(o['v']))} is not ${PAYLOAD_VERSION}`);
  const kind = str(o, 'kind');
  if (!(JOB_KINDS as readonly string[]).includes(kind))
    bad(`unknown job kind ${quote(kind)} (${JOB_KINDS.join(', ')})`);
  const chunk = o['chunk'];
  if (!Number.isSafeInteger(chunk) || (chunk as number) < 0) bad('job field chunk must be a non-negative integer');
  const s = o['settings'];
  if (s === null || typeof s !== 'object' || Array.isArray(s)) bad('job field settings must be an object');
  const archs = o['archs'];
  if (!Array.isArray(archs) || archs.length === 0 || archs.length > LIMITS.archsPerJob)
    bad(`job field archs must be a list of 1..${LIMITS.archsPerJob} architecture strings`);
  for (const a of archs)
    if (typeof a !== 'string' || a.length === 0 || a.length > LIMITS.archChars)
      bad(`architecture ${quote(String(a))} must be a string of 1..${LIMITS.archChars} characters`);
  if (o['dryRun'] !== undefined && typeof o['dryRun'] !== 'boolean') bad('job field dryRun must be a boolean');
  return {
    v: PAYLOAD_VERSION,
    pkg: str(o, 'pkg', 64),
    kind: kind as JobKind,
    run: str(o, 'run', 64),
    chunk: chunk as number,
    hash: str(o, 'hash', 128),
    settings: s as Record<string, unknown>,
    archs: archs as string[],
    backend: str(o, 'backend', 32),
    ...(o['dryRun'] ? { dryRun: true } : {}),
  };
}
