// Setup shared by the benchmark scripts: the repository root, imports from the built dist/, `--name value` flags and
// the native addon (exiting with the loader's reason when it is not built).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Import a module of the built library, e.g. `dist('ir/serialize.js')` (needs `npm run build:ts`). */
export const dist = (p) => import(join(root, 'dist', p));

/** The command-line flags: `opt(name, default)` reads `--name <number>`, `has(name)` a bare `--name`. */
export function benchArgs(argv = process.argv.slice(2)) {
  return {
    argv,
    opt: (name, def) => {
      const i = argv.indexOf(`--${name}`);
      return i >= 0 ? Number(argv[i + 1]) : def;
    },
    has: (name) => argv.includes(`--${name}`),
  };
}

/** The native addon, or exit 1 with the loader's reason (needs `npm run build:native`). */
export async function nativeAddonOrExit() {
  const { loadAddon } = await dist('native/loader.js');
  const load = loadAddon();
  if (!load.ok) {
    console.error(load.reason);
    process.exit(1);
  }
  return load.addon;
}

/** Rows of a CSV file shipped in data/ (header names → text values), read with the package's CSV splitter. */
export async function readDataCsv(file) {
  const { readFileSync } = await import('node:fs');
  const { dataDir } = await dist('data/paths.js');
  const { splitCsvLine } = await dist('util/csv.js');
  const lines = readFileSync(join(dataDir(), file), 'utf8').trim().split('\n');
  const head = splitCsvLine(lines[0], file);
  return lines
    .slice(1)
    .map((l, i) => Object.fromEntries(splitCsvLine(l, `${file}:${i + 2}`).map((v, j) => [head[j], v])));
}
