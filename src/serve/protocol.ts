/**
 * The server's request and response shapes (one JSON object per stdio line, or per HTTP body) and their
 * validation. A request is `{"id": …, "method": …, "params": {…}}`; a response echoes the id with either
 * `result` or `error: {code, message}` (stable `E_*` codes, as the CLI's).
 */
import { SwapError } from '../util/errors.js';

/** A request id: echoed verbatim; used to cancel. */
export type RequestId = string | number | null;

export const METHODS = ['score', 'score_onnx', 'backends', 'proxies', 'health', 'cancel'] as const;
export type Method = (typeof METHODS)[number];

/** A validated request; `settings` are flag texts and booleans ready for the adapter. */
export type Request =
  | { id: RequestId; method: 'score'; archs: string[]; settings: Record<string, string | boolean> }
  | { id: RequestId; method: 'score_onnx'; model: string | Uint8Array; settings: Record<string, string | boolean> }
  | { id: RequestId; method: 'backends' | 'proxies' | 'health' }
  | { id: RequestId; method: 'cancel'; target: RequestId };

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

export type Response = { id: RequestId; result: unknown } | { id: RequestId; error: ErrorBody };

type Kind = 'int' | 'num' | 'bool' | 'str' | 'list';

/** Settings of `score` (the CLI's option names, camel-cased) and their types. */
export const ARCH_SETTINGS: Readonly<Record<string, Kind>> = {
  space: 'str',
  dataset: 'str',
  seed: 'int',
  batch: 'int',
  repeats: 'int',
  channels: 'int',
  cells: 'int',
  prune: 'bool',
  official: 'bool',
  reg: 'bool',
  classes: 'int',
  inputSize: 'int',
  mu: 'num',
  sigma: 'num',
  targetParams: 'num',
  backend: 'str',
  threads: 'int',
  images: 'str',
  imageDir: 'str',
  npy: 'str',
  norm: 'str',
  gaussian: 'bool',
  gaussianSeed: 'int',
  truth: 'bool',
  fitness: 'str',
  labels: 'str',
  proxies: 'str',
  proxyProtocol: 'str',
  proxyBatch: 'int',
  precision: 'str',
};

/** Settings of `score_onnx` (`swapnas score model.onnx` options, camel-cased). */
export const ONNX_SETTINGS: Readonly<Record<string, Kind>> = {
  input: 'str',
  npy: 'str',
  images: 'str',
  gaussian: 'bool',
  gaussianSeed: 'int',
  batch: 'int',
  reinit: 'bool',
  repeats: 'int',
  seed: 'int',
  mean: 'list',
  std: 'list',
  norm: 'str',
  inputShape: 'list',
  maxModelSize: 'num',
  bn: 'str',
  engine: 'str',
  backend: 'str',
  threads: 'int',
  mu: 'num',
  sigma: 'num',
  referenceModels: 'str',
  learned: 'str',
  fitness: 'str',
  labels: 'str',
  proxies: 'str',
  proxyProtocol: 'str',
  proxyBatch: 'int',
  precision: 'str',
};

/** Limits a server enforces on one request. */
export interface RequestLimits {
  /** Architectures in one `score` request. */
  readonly maxArchs: number;
  /** Decoded ONNX model bytes. */
  readonly maxModelBytes: number;
}

const clip = (v: unknown) => {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

const bad = (message: string) => new SwapError('E_REQUEST', message);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function setting(name: string, kind: Kind, v: unknown): string | boolean {
  if (kind === 'bool') {
    if (typeof v !== 'boolean') throw bad(`setting ${name} must be true or false, got ${clip(v)}`);
    return v;
  }
  if (kind === 'str') {
    if (typeof v !== 'string') throw bad(`setting ${name} must be a string, got ${clip(v)}`);
    return v;
  }
  if (kind === 'list') {
    if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v.join(',');
    if (typeof v === 'string') return v;
    throw bad(`setting ${name} must be a list of numbers, got ${clip(v)}`);
  }
  // Numbers go to the CLI's own parsers as text, so their checks and messages are the CLI's.
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  throw bad(`setting ${name} must be a number, got ${clip(v)}`);
}

/** Validate a request's settings against a table of known names and types. */
export function parseSettings(
  params: Record<string, unknown>,
  known: Readonly<Record<string, Kind>>,
  skip: readonly string[],
): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(params)) {
    if (skip.includes(k) || v === undefined || v === null) continue;
    const kind = Object.hasOwn(known, k) ? known[k] : undefined;
    if (!kind) throw bad(`unknown setting ${clip(k)} (known: ${Object.keys(known).join(', ')})`);
    out[k] = setting(k, kind, v);
  }
  // as on the command line: the proxies' own options mean nothing without proxies
  for (const k of ['proxyProtocol', 'proxyBatch', 'precision'])
    if (out[k] !== undefined && out['proxies'] === undefined) throw bad(`setting ${k} applies with proxies`);
  return out;
}

function parseId(v: unknown): RequestId {
  if (v === undefined || v === null) return null;
  if ((typeof v === 'string' && v.length <= 200) || (typeof v === 'number' && Number.isFinite(v))) return v;
  throw bad(`id must be a string (≤ 200 chars), a number or null, got ${clip(v)}`);
}

/** The id of a request that may be malformed (for echoing in its error response). */
export function salvageId(raw: unknown): RequestId {
  try {
    return isRecord(raw) ? parseId(raw['id']) : null;
  } catch {
    return null;
  }
}

function decodeModel(params: Record<string, unknown>, limits: RequestLimits): string | Uint8Array {
  const { path, bytes } = params;
  if ((path === undefined) === (bytes === undefined)) throw bad('score_onnx needs exactly one of path or bytes');
  if (path !== undefined) {
    if (typeof path !== 'string' || path === '') throw bad(`path must be a file name, got ${clip(path)}`);
    return path;
  }
  if (typeof bytes !== 'string' || !/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(bytes))
    throw bad('bytes must be the model file in base64');
  if (bytes.length * 0.75 > limits.maxModelBytes + 3)
    throw new SwapError(
      'E_REQUEST_TOO_LARGE',
      `model bytes exceed the server's limit of ${limits.maxModelBytes} bytes`,
    );
  return new Uint8Array(Buffer.from(bytes, 'base64'));
}

function parseArchList(v: unknown, limits: RequestLimits): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string'))
    throw bad('archs must be a non-empty list of architecture strings');
  if (list.length > limits.maxArchs)
    throw new SwapError(
      'E_REQUEST_TOO_LARGE',
      `${list.length} architectures in one request exceed the server's limit of ${limits.maxArchs}`,
    );
  return list as string[];
}

/** Validate a parsed JSON value as a request (`E_REQUEST`, `E_REQUEST_TOO_LARGE`). */
export function parseRequest(raw: unknown, limits: RequestLimits): Request {
  if (!isRecord(raw)) throw bad(`a request must be a JSON object, got ${clip(raw)}`);
  const id = parseId(raw['id']);
  const method = raw['method'];
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method))
    throw bad(`unknown method ${clip(method)} (known: ${METHODS.join(', ')})`);
  const params = raw['params'] ?? {};
  if (!isRecord(params)) throw bad('params must be a JSON object');
  for (const k of Object.keys(raw))
    if (!['id', 'method', 'params'].includes(k)) throw bad(`unknown request field ${clip(k)}`);
  switch (method as Method) {
    case 'score':
      return {
        id,
        method: 'score',
        archs: parseArchList(params['archs'], limits),
        settings: parseSettings(params, ARCH_SETTINGS, ['archs']),
      };
    case 'score_onnx':
      return {
        id,
        method: 'score_onnx',
        model: decodeModel(params, limits),
        settings: parseSettings(params, ONNX_SETTINGS, ['path', 'bytes']),
      };
    case 'cancel':
      if (!Object.hasOwn(params, 'id')) throw bad('cancel needs params.id, the id of the request to cancel');
      return { id, method: 'cancel', target: parseId(params['id']) };
    default:
      if (Object.keys(params).length > 0) throw bad(`${method} takes no params`);
      return { id, method: method as 'backends' | 'proxies' | 'health' };
  }
}
