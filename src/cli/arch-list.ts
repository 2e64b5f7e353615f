import { readFileSync } from 'node:fs';
import type { SearchSpace } from '../spaces/types.js';
import { isSwapError, SwapError } from '../util/errors.js';

/** One architecture of a list, with the 1-based line it came from (for error messages). */
export interface ArchLine {
  readonly line: number;
  readonly text: string;
}

const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}...` : s);

/**
 * Parse an architecture list: one architecture per line in its space's text form, or JSON lines with an
 * `arch` field (a line starting with `{`). Blank lines and lines starting with `#` are skipped. `source` names
 * the list in errors (`E_ARCH_LIST`, with the line number).
 */
export function parseArchList(text: string, source: string): ArchLine[] {
  const out: ArchLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (!t.startsWith('{')) {
      out.push({ line: i + 1, text: t });
      continue;
    }
    let row: unknown;
    try {
      row = JSON.parse(t);
    } catch (e) {
      throw new SwapError('E_ARCH_LIST', `${source} line ${i + 1}: not valid JSON: ${clip(t)}`, { cause: e });
    }
    const arch = (row as { arch?: unknown }).arch;
    if (typeof arch !== 'string' || arch.trim() === '')
      throw new SwapError('E_ARCH_LIST', `${source} line ${i + 1}: JSON line has no string "arch" field: ${clip(t)}`);
    out.push({ line: i + 1, text: arch.trim() });
  }
  if (out.length === 0) throw new SwapError('E_ARCH_LIST', `${source} holds no architectures`);
  return out;
}

/** Read all of a stream as UTF-8 text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Read `--archs FILE` (or `-`: standard input) and parse it with {@link parseArchList}. */
export async function readArchList(file: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<ArchLine[]> {
  if (file === '-') return parseArchList(await readAll(stdin), 'stdin');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read architecture list ${clip(file)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseArchList(text, file);
}

/** Parse each listed architecture with the space; a parse error keeps its code and names the list line. */
export function parseArchLines<G>(space: SearchSpace<G, object>, lines: readonly ArchLine[], source: string): G[] {
  return lines.map(({ line, text }) => {
    try {
      return space.parse(text);
    } catch (e) {
      if (isSwapError(e)) throw new SwapError(e.code, `${source} line ${line}: ${e.message}`, { cause: e });
      throw e;
    }
  });
}
