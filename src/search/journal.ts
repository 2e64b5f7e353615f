import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SwapError } from '../util/errors.js';
import { canonicalJson } from '../util/json.js';
import type { Evaluation } from './types.js';
import { quote } from '../util/quote.js';

/** Journal format version (first field checked on `--resume`). */
export const JOURNAL_VERSION = 1;

/** First line: identifies the search; a resume must match every field but `created` and `options`. */
export interface JournalHeader {
  readonly type: 'header';
  readonly version: number;
  readonly tool: 'swapnas-search';
  readonly strategy: string;
  readonly space: string;
  readonly dataset: string;
  readonly seed: number;
  /** sha256 (hex, 16 chars) of the canonical JSON of every option that changes the trajectory. */
  readonly optionsHash: string;
  /** The hashed options, for humans. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly created: string;
}

/** A zero-cost score (one per isomorphism class). `t`: ms of search wall time (summed over sessions). */
export interface ProxyRecord {
  readonly type: 'proxy';
  readonly seq: number;
  readonly t: number;
  readonly key: string;
  readonly arch: string;
  readonly fitness: number;
  readonly swap: number;
  readonly params: number;
  /** The values the fitness was made of (an ensemble's members; null = failed), as in {@link ProxyScore}. */
  readonly values?: Readonly<Record<string, number | null>>;
}

/** A ground-truth query (counted), successful or failed. `q` is its 0-based number. */
export interface QueryRecord {
  readonly type: 'query';
  readonly seq: number;
  readonly t: number;
  readonly q: number;
  readonly key: string;
  readonly arch: string;
  readonly result: Evaluation;
}

/** The strategy's answer changed (the best-so-far trajectory). */
export interface BestRecord {
  readonly type: 'best';
  readonly seq: number;
  readonly t: number;
  readonly arch: string;
  readonly signal: number;
}

/** The search finished. */
export interface DoneRecord {
  readonly type: 'done';
  readonly seq: number;
  readonly t: number;
  readonly arch: string | null;
}

export type JournalRecord = ProxyRecord | QueryRecord | BestRecord | DoneRecord;
type NoSeq<R> = R extends JournalRecord ? Omit<R, 'seq'> : never;

/** Canonical JSON (object keys sorted) for hashing. */
export { canonicalJson };

export function optionsHash(options: unknown): string {
  return createHash('sha256').update(canonicalJson(options)).digest('hex').slice(0, 16);
}

/** What a journal read back holds. */
export interface JournalContents {
  readonly header: JournalHeader;
  readonly records: readonly JournalRecord[];
  /** Bytes of complete lines; a cut last line (killed mid-write) lies beyond and is dropped on append. */
  readonly validBytes: number;
  /** True when a partial last line was found (and ignored). */
  readonly truncatedTail: boolean;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isValues = (v: unknown): boolean =>
  v !== null && typeof v === 'object' && Object.values(v).every((x) => x === null || isNum(x));

function checkRecord(r: Record<string, unknown>): string | undefined {
  if (!Number.isInteger(r['seq']) || !isNum(r['t'])) return 'missing seq/t';
  switch (r['type']) {
    case 'proxy':
      return isStr(r['key']) &&
        isStr(r['arch']) &&
        isNum(r['fitness']) &&
        isNum(r['swap']) &&
        isNum(r['params']) &&
        (r['values'] === undefined || isValues(r['values']))
        ? undefined
        : 'bad proxy record';
    case 'query': {
      const res = r['result'] as Record<string, unknown> | undefined;
      const okRes =
        res !== null &&
        typeof res === 'object' &&
        (res['ok'] === true ? isNum(res['accuracy']) : res['ok'] === false && isStr(res['error']));
      return Number.isInteger(r['q']) && isStr(r['key']) && isStr(r['arch']) && okRes ? undefined : 'bad query record';
    }
    case 'best':
      return isStr(r['arch']) && isNum(r['signal']) ? undefined : 'bad best record';
    case 'done':
      return isStr(r['arch']) || r['arch'] === null ? undefined : 'bad done record';
    default:
      return `unknown record type ${quote(r['type'])}`;
  }
}

/**
 * Read a journal. Returns undefined for a missing or empty file, or one whose only content is a cut header line
 * (nothing was evaluated). A cut **last** line (SIGKILL mid-write) is ignored; any other unparsable or invalid
 * line, a wrong version, or a header that does not match `expect` is an `E_JOURNAL` error naming the line/field.
 */
export function readJournal(
  path: string,
  expect?: Pick<JournalHeader, 'strategy' | 'space' | 'dataset' | 'seed' | 'optionsHash'>,
): JournalContents | undefined {
  if (!existsSync(path)) return undefined;
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SwapError('E_JOURNAL', `cannot read journal ${path}: ${(e as Error).message}`, { cause: e });
  }
  const lastNl = buf.lastIndexOf(0x0a);
  const validBytes = lastNl + 1;
  const truncatedTail = validBytes < buf.length;
  if (validBytes === 0) return undefined;
  const lines = buf.subarray(0, lastNl).toString('utf8').split('\n');
  const parse = (i: number): Record<string, unknown> => {
    try {
      const v = JSON.parse(lines[i]!) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch (e) {
      throw new SwapError(
        'E_JOURNAL',
        `journal ${path} line ${i + 1} is corrupt (${(e as Error).message}); it is not a swapnas search journal or was edited`,
      );
    }
  };
  const h = parse(0);
  if (h['type'] !== 'header' || h['tool'] !== 'swapnas-search')
    throw new SwapError('E_JOURNAL', `journal ${path} has no swapnas search header on line 1`);
  if (h['version'] !== JOURNAL_VERSION)
    throw new SwapError(
      'E_JOURNAL',
      `journal ${path} is version ${String(h['version'])}; this swapnas reads version ${JOURNAL_VERSION}`,
    );
  const header = h as unknown as JournalHeader;
  if (expect) {
    for (const k of ['strategy', 'space', 'dataset', 'seed', 'optionsHash'] as const) {
      if (header[k] !== expect[k]) {
        throw new SwapError(
          'E_JOURNAL',
          `journal ${path} belongs to a different search: ${k} is ${quote(header[k])} there, ${quote(expect[k])} here (resume needs the same strategy, space, dataset, seed and options)`,
        );
      }
    }
  }
  const records: JournalRecord[] = [];
  for (let i = 1; i < lines.length; i++) {
    const r = parse(i);
    const bad = checkRecord(r);
    if (bad) throw new SwapError('E_JOURNAL', `journal ${path} line ${i + 1} is corrupt: ${bad}`);
    if (r['seq'] !== records.length + 1)
      throw new SwapError(
        'E_JOURNAL',
        `journal ${path} line ${i + 1} is corrupt: sequence ${String(r['seq'])}, expected ${records.length + 1}`,
      );
    records.push(r as unknown as JournalRecord);
  }
  return { header, records, validBytes, truncatedTail };
}

/**
 * Append-only JSONL writer: one `write` per line (a kill leaves at most one cut last line, which the reader
 * drops). Query records are fsync'd (they can be expensive to redo); proxy scores are not (cheap to recompute).
 */
export class JournalWriter {
  private seq: number;
  private constructor(
    private fd: number | undefined,
    readonly path: string,
    seq: number,
  ) {
    this.seq = seq;
  }

  /** Start a new journal (replacing any file) with its header. */
  static create(path: string, header: JournalHeader): JournalWriter {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new SwapError('E_JOURNAL', `cannot create journal ${path}: ${(e as Error).message}`, { cause: e });
    }
    const w = new JournalWriter(fd, path, 0);
    w.line(header, true);
    return w;
  }

  /** Continue a journal that was read back: cut a partial last line, then append after `records`. */
  static append(path: string, contents: JournalContents): JournalWriter {
    let fd: number;
    try {
      fd = openSync(path, 'r+');
      ftruncateSync(fd, contents.validBytes);
      closeSync(fd);
      fd = openSync(path, 'a');
    } catch (e) {
      throw new SwapError('E_JOURNAL', `cannot append to journal ${path}: ${(e as Error).message}`, { cause: e });
    }
    return new JournalWriter(fd, path, contents.records.length);
  }

  write(rec: NoSeq<JournalRecord>, sync = rec.type === 'query' || rec.type === 'done'): void {
    this.seq++;
    this.line({ ...rec, seq: this.seq }, sync);
  }

  private line(obj: object, sync: boolean): void {
    if (this.fd === undefined) throw new SwapError('E_JOURNAL', `journal ${this.path} is closed`);
    try {
      writeSync(this.fd, `${JSON.stringify(obj)}\n`);
      if (sync) fsyncSync(this.fd);
    } catch (e) {
      throw new SwapError('E_JOURNAL', `cannot write journal ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
