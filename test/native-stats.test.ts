import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../src/native/loader.js';

const ROOT = join(__dirname, '..');
const dist = (p: string) => JSON.stringify(pathToFileURL(join(ROOT, 'dist', p)).href);

/**
 * A fresh process (the addon's stage counters and their switch are process-wide): a count job, stats(), the same
 * job again, stats(true); prints both jobs' counts and both readings.
 */
const SCRIPT = `
import { loadAddon } from ${dist('native/loader.js')};
import { NativeBackend } from ${dist('backends/native/index.js')};
import { parseNb201 } from ${dist('spaces/nb201/genotype.js')};
import { buildNb201Network } from ${dist('spaces/nb201/network.js')};
import { gaussianBatch } from ${dist('data/gaussian.js')};
const addon = loadAddon().addon;
const backend = new NativeBackend(addon);
const cells = ['|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|'];
const req = {
  networks: cells.map((c) => buildNb201Network(parseNb201(c), { channels: 8, cells: 1 })),
  inputs: gaussianBatch(16, 3, 32, 32, 1),
  seeds: [3, 4],
  threads: 2,
};
const untimed = await backend.countPatterns(req);
const first = addon.stats();
const timed = await backend.countPatterns(req);
const second = addon.stats(true);
console.log(JSON.stringify({ untimed, timed, first, second }));
`;

describe.skipIf(!loadAddon().ok)('native per-stage timing (the stats export)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  });

  it('reads no clock until stats() is first called, then times every stage; counts are the same either way', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { untimed, timed, first, second } = JSON.parse(r.stdout) as {
      untimed: number[][];
      timed: number[][];
      first: Record<string, number>;
      second: Record<string, number>;
    };
    expect(timed).toEqual(untimed);
    expect(untimed.flat().every((c) => c > 1)).toBe(true);
    // before the first stats() call the items are counted, their stages not timed
    expect(first['items']).toBe(4);
    for (const k of ['prngMs', 'convMs', 'bnMs', 'packMs', 'countMs', 'itemMs']) expect(first[k], k).toBe(0);
    // after it, the second job's stages are timed (and the first reading's items are still in the totals)
    expect(second['items']).toBe(8);
    for (const k of ['convMs', 'bnMs', 'packMs', 'itemMs']) expect(second[k], k).toBeGreaterThan(0);
    expect(second['itemMs']).toBeGreaterThanOrEqual(second['convMs']!);
  });
});
