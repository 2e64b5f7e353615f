import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SwapError } from '../util/errors.js';

/**
 * The files of folder `dir` (not its subfolders) whose names end in one of `extensions` (case-insensitive), sorted
 * by name, as paths; a missing or unreadable folder is `E_INPUT_FILE`, naming it as `what`.
 */
export function folderFiles(dir: string, extensions: readonly string[], what: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir);
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read ${what} ${dir.slice(0, 160)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return names
    .filter((n) => extensions.some((ext) => n.toLowerCase().endsWith(ext)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => join(dir, n));
}
