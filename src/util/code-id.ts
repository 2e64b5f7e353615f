/**
 * Identity of the code a process runs: a hash of the sources it was built from. On-disk caches of computed values
 * (data-free μ/σ, reference sets) key their files by it besides the package version and their format tag, so a
 * change of code within one version rebuilds them instead of serving values the old code computed.
 *
 * `npm run build` (and `build:ts`, `prepare`) writes it to dist/code-id.json (scripts/code-id.mjs); where that file
 * is missing (tests running the TypeScript sources, a bare `tsc`), it is computed from the checkout on first use.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a checkout that make up its code (folders are read recursively; missing parts are skipped). */
export const CODE_PARTS: readonly string[] = [
  'src',
  'native',
  'shaders',
  'CMakeLists.txt',
  'binding.gyp',
  'package.json',
];

/** Files under `path` (itself when a file), in a stable order; none when it does not exist. */
function filesUnder(path: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return [];
  }
  if (!st.isDirectory()) return [path];
  const names = readdirSync(path).sort();
  return names.flatMap((n) => filesUnder(join(path, n)));
}

/**
 * 16 hex digits of sha256 over the relative paths and contents of the {@link CODE_PARTS} under `root`: any edit,
 * addition, removal or rename of a code file changes it.
 */
export function hashCodeTree(root: string): string {
  const h = createHash('sha256');
  for (const file of CODE_PARTS.flatMap((p) => filesUnder(join(root, p)))) {
    h.update(relative(root, file).split('\\').join('/'));
    h.update('\0');
    h.update(readFileSync(file));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** The identity written at build time next to the compiled modules, if it is there and well-formed. */
function builtIdentity(): string | undefined {
  try {
    const doc = JSON.parse(readFileSync(new URL('../code-id.json', import.meta.url), 'utf8')) as { codeId?: unknown };
    return typeof doc.codeId === 'string' && /^[0-9a-f]{16}$/.test(doc.codeId) ? doc.codeId : undefined;
  } catch {
    return undefined;
  }
}

let cached: string | undefined;

/** This process's code identity (read or computed once, then kept: the code of a running process does not change). */
export function codeIdentity(): string {
  cached ??= builtIdentity() ?? hashCodeTree(fileURLToPath(new URL('../../', import.meta.url)));
  return cached;
}
