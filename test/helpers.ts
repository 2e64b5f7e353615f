import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../src/data/paths.js';

/** Rows of the shipped NB201 table (data/nb201.csv) as objects of strings. */
export function nb201Rows(): Record<string, string>[] {
  const lines = readFileSync(join(dataDir(), 'nb201.csv'), 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  return lines.slice(1).map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(head.map((h, i) => [h, cells[i]!]));
  });
}

/**
 * Whether a missing WebGPU adapter must fail the suite instead of skipping: CI installs Mesa's software driver,
 * so there (CI set, or SWAPNAS_REQUIRE_WEBGPU=1) the WebGPU parity tests have to run.
 */
export function webgpuRequired(): boolean {
  return process.env['SWAPNAS_REQUIRE_WEBGPU'] === '1' || (process.env['CI'] ?? '') !== '';
}
