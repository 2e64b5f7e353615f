import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './addon.js';

/**
 * The one place that loads the C++ addon. Nothing happens at import time: the first {@link loadAddon} call loads
 * it, and its result (the addon, or the reason it could not load) is cached for the rest of the process.
 */
export type AddonLoad =
  | { readonly ok: true; readonly addon: NativeAddon; readonly path: string }
  | { readonly ok: false; readonly reason: string };

const here = dirname(fileURLToPath(import.meta.url));

/** Package root: `src/native` (tests via vitest) and `dist/native` (built) are both two levels down. */
export function packageRoot(): string {
  return join(here, '..', '..');
}

/** Candidate addon locations, in order: SWAPNAS_ADDON env override, cmake-js output, node-gyp output. */
export function addonCandidates(): string[] {
  const root = packageRoot();
  const env = process.env['SWAPNAS_ADDON'];
  return [
    ...(env ? [env] : []),
    join(root, 'build', 'Release', 'swapnas.node'),
    join(root, 'build', 'Debug', 'swapnas.node'),
  ];
}

// Lazy process-wide cache of the load result (a Node addon cannot be unloaded, so there is nothing to refresh).
let cached: AddonLoad | undefined;

/** Load the addon once per process; never throws. */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const req = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const p of addonCandidates()) {
    if (!existsSync(p)) {
      tried.push(`${p} (missing)`);
      continue;
    }
    try {
      const addon = req(p) as NativeAddon;
      cached = { ok: true, addon, path: p };
      return cached;
    } catch (e) {
      tried.push(`${p} (${(e as Error).message.split('\n')[0]})`);
    }
  }
  cached = {
    ok: false,
    reason: `the native addon is not built; run \`npm run build:native\` (needs cmake and a C++17 compiler). Tried: ${tried.join('; ')}`,
  };
  return cached;
}
