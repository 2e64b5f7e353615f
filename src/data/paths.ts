import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's embedded data folder (`<package>/data`), from both `src/` and `dist/`. */
export function dataDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data');
}
