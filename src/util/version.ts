import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * This package's version, read once from package.json (two folders above both `src/util/` and `dist/util/`).
 * Queue workers compare it with the producer's so a mixed deployment fails jobs instead of mixing results.
 */
export function packageVersion(): string {
  if (cached === undefined) {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    cached = (JSON.parse(text) as { version: string }).version;
  }
  return cached;
}
