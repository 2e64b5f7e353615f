import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nb201Space } from '../src/spaces/nb201/index.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { OrtBackend, workerScript } from '../src/backends/ort/index.js';

/**
 * The worker-thread path needs compiled JavaScript (vitest runs the TypeScript sources, where the pool runs
 * jobs inline). Compile the ort backend's module closure into node_modules/.cache (so that its imports
 * resolve to the project's node_modules) and run it in a child process.
 */
const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'node_modules', '.cache', 'swapnas-ort-worker-test');
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|none~2|',
  '|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
];
const NET = { channels: 8, cells: 1, classes: 10, inputSize: 16, inputChannels: 3 };

const CHILD = `
import { nb201Space } from './spaces/nb201/index.js';
import { gaussianBatch } from './data/gaussian.js';
import { OrtBackend, workerScript } from './backends/ort/index.js';
const archs = JSON.parse(process.argv[2]);
const nets = archs.map((a) => nb201Space.build(nb201Space.parse(a), ${JSON.stringify(NET)}));
const inputs = gaussianBatch(16, 3, 16, 16, 1);
let last = Date.now(), maxGap = 0;
const timer = setInterval(() => { const t = Date.now(); maxGap = Math.max(maxGap, t - last); last = t; }, 5);
const progress = [];
const counts = await new OrtBackend().countPatterns({ networks: nets, inputs, seeds: [11, 12], threads: 2, onProgress: (d, t) => progress.push([d, t]) });
const ac = new AbortController();
let cancelled = 'no';
try {
  await new OrtBackend().countPatterns({ networks: nets, inputs, seeds: [1, 2, 3, 4, 5, 6], threads: 2, signal: ac.signal, onProgress: () => ac.abort() });
} catch (e) { cancelled = e.code; }
clearInterval(timer);
console.log(JSON.stringify({ worker: String(workerScript() ?? ''), counts, progress, cancelled, maxGap }));
`;

describe('ort backend on worker threads (compiled)', () => {
  beforeAll(() => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        ...[
          '--outDir',
          OUT,
          '--rootDir',
          join(ROOT, 'src'),
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--target',
          'es2022',
        ],
        ...['--strict', '--skipLibCheck', '--esModuleInterop', '--resolveJsonModule', '--types', 'node'],
        join(ROOT, 'src', 'backends', 'ort', 'index.ts'),
        join(ROOT, 'src', 'backends', 'ort', 'worker.ts'),
        join(ROOT, 'src', 'spaces', 'nb201', 'index.ts'),
        join(ROOT, 'src', 'data', 'gaussian.ts'),
      ],
      { stdio: 'inherit' },
    );
    writeFileSync(join(OUT, 'package.json'), '{"type":"module"}');
    writeFileSync(join(OUT, 'child.mjs'), CHILD);
  });

  it('runs sessions off the main thread, equals the inline path, reports progress and cancels', async () => {
    expect(workerScript()).toBeUndefined(); // sources: inline
    const r = spawnSync(process.execPath, [join(OUT, 'child.mjs'), JSON.stringify(ARCHS)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      worker: string;
      counts: number[][];
      progress: number[][];
      cancelled: string;
      maxGap: number;
    };
    expect(out.worker).toMatch(/backends\/ort\/worker\.js$/);
    const nets = ARCHS.map((a) => nb201Space.build(nb201Space.parse(a), NET));
    const inline = await new OrtBackend().countPatterns({
      networks: nets,
      inputs: gaussianBatch(16, 3, 16, 16, 1),
      seeds: [11, 12],
      threads: 1,
    });
    expect(out.counts).toEqual(inline);
    expect(out.progress.at(-1)).toEqual([6, 6]);
    expect(out.cancelled).toBe('E_CANCELLED');
    expect(out.maxGap).toBeLessThan(2000);
  });
});
