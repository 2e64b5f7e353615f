import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: the suite's CLI calls and scorers cache data-free μ/σ and ensemble reference sets in a
 * fresh folder of their own ($SWAPNAS_CACHE_DIR), removed afterwards, never in the user's cache: a run then
 * never reads values cached by other code, and leaves nothing behind.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-test-cache-'));
  const before = process.env['SWAPNAS_CACHE_DIR'];
  process.env['SWAPNAS_CACHE_DIR'] = dir;
  return () => {
    rmSync(dir, { recursive: true, force: true });
    if (before === undefined) delete process.env['SWAPNAS_CACHE_DIR'];
    else process.env['SWAPNAS_CACHE_DIR'] = before;
  };
}
