import { checkTarget, spaceEntry } from '../catalog/registry.js';
import { SwapError } from '../util/errors.js';
import { checkInt, checkSeed } from '../util/checks.js';
import { quote } from '../util/quote.js';
import type { ScoringRequest } from './types.js';

const FIELDS = [
  'space',
  'target',
  'official',
  'network',
  'batch',
  'repeats',
  'seed',
  'inputs',
  'regulariser',
  'backend',
] as const satisfies readonly (keyof ScoringRequest)[];

function bad(msg: string): never {
  throw new SwapError('E_PAYLOAD', msg);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Builder options: plain numbers, booleans, strings or null (no nested data). */
function checkNetwork(n: unknown): Record<string, unknown> {
  if (!isRecord(n)) bad('request.network must be an object');
  for (const [k, v] of Object.entries(n)) {
    if (typeof v === 'number' && !Number.isFinite(v)) bad(`request.network.${k.slice(0, 40)} must be finite`);
    if (v !== null && !['number', 'boolean', 'string'].includes(typeof v))
      bad(`request.network.${k.slice(0, 40)} must be a number, boolean, string or null`);
  }
  return n;
}

function checkReg(r: unknown): ScoringRequest['regulariser'] {
  if (r === null) return null;
  if (!isRecord(r) || !Number.isFinite(r['mu']) || !Number.isFinite(r['sigma']) || (r['sigma'] as number) <= 0)
    throw new SwapError('E_OPTION', 'request.regulariser needs a finite mu and a positive sigma');
  if (typeof r['source'] !== 'string' || r['source'].length > 200) bad('request.regulariser.source must be a string');
  return { mu: r['mu'] as number, sigma: r['sigma'] as number, source: r['source'] };
}

/**
 * A resolved {@link ScoringRequest} received as data (a queue job): exactly its fields, a known space and target,
 * numbers as the resolver checks them. Structural only: it does not re-derive the space's defaults.
 */
export function checkScoringRequest(raw: unknown): ScoringRequest {
  if (!isRecord(raw)) bad('request must be an object');
  const extra = Object.keys(raw).find((k) => !(FIELDS as readonly string[]).includes(k));
  if (extra !== undefined) bad(`unknown request field ${quote(extra)}`);
  const { space, target, official, inputs, backend } = raw;
  if (typeof space !== 'string') bad('request.space must be a string');
  const entry = spaceEntry(space); // unknown: E_SPACE
  if (typeof target !== 'string') bad('request.target must be a string');
  checkTarget(entry, target); // unknown: E_DATASET
  if (typeof official !== 'boolean') bad('request.official must be true or false');
  if (typeof inputs !== 'string' || inputs.length > 4096) bad('request.inputs must be a string');
  if (typeof backend !== 'string' || backend.length > 32) bad('request.backend must be a backend name');
  return {
    space,
    target,
    official,
    network: checkNetwork(raw['network']),
    batch: checkInt('batch', raw['batch'] as number, 1),
    repeats: checkInt('repeats', raw['repeats'] as number, 1),
    seed: checkSeed('seed', raw['seed'] as number),
    inputs,
    regulariser: checkReg(raw['regulariser']),
    backend: backend as ScoringRequest['backend'],
  };
}
