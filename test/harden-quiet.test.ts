import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { BackendRegistry } from '../src/backends/registry.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, EGL_PLATFORM: 'surfaceless', ...env },
  });
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const TINY = ['--channels', '4', '--cells', '1', '--gaussian', '--input-size', '8', '--batch', '8', '--repeats', '2'];

describe('quiet by default, truthful always (issue 16, item 11)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }, 600_000);

  it('score: skipped backends only with --verbose; the settings record them either way', () => {
    const quiet = run(['score', ARCH, ...TINY, '--no-progress']);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    const skipped = (JSON.parse(quiet.stdout) as { settings: { skippedBackends: { name: string }[] } }).settings
      .skippedBackends;
    const loud = run(['score', ARCH, ...TINY, '--no-progress', '--verbose']);
    expect(loud.stderr.trim().split('\n').filter(Boolean)).toEqual(
      skipped.map((s) => expect.stringMatching(new RegExp(`^swapnas: backend ${s.name} skipped: `))),
    );
  });

  it("backends: Dawn's driver warnings are captured, shown only with --verbose and listed in --json", () => {
    const quiet = run(['backends']);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    const rows = JSON.parse(run(['backends', '--json']).stdout) as { name: string; driverMessages?: string[] }[];
    const messages = rows.find((r) => r.name === 'webgpu')!.driverMessages!;
    expect(Array.isArray(messages)).toBe(true);
    const loud = run(['backends', '--verbose']);
    const lines = loud.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(messages.length);
    for (const l of lines) expect(l).toMatch(/^swapnas: webgpu driver: /);
  });

  it('progress says what it counts: network × repeat evaluations, with both factors', () => {
    const r = run(['score', '--sample', '3', ...TINY]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/score: 6\/6 network × repeat evaluations \(3 networks × 2 repeats\)/);
  });

  it('the README backend table lists exactly the registry, with its priorities', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Backends'), readme.indexOf('## Library'));
    const rows = [...section.matchAll(/^\| `([a-z]+)` \| .* \| (\d+) \|$/gm)].map((m) => [m[1], Number(m[2])]);
    const registry = new BackendRegistry().list().map((p) => [p.name, p.priority]);
    expect(rows).toEqual(registry);
  });

  it('the README library example prints what its comment says, and what swapnas score prints', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /```ts\n(import \{ dataFreeRegulariser[\s\S]*?)```/.exec(readme)![1]!;
    const claimed = /\/\/ ([\d.]+) (\d+), as `swapnas score` prints/.exec(block)!;
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-readme-'));
    const file = join(dir, 'example.mjs');
    writeFileSync(file, block.replace("from 'swapnas'", `from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))}`));
    const lib = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
    expect(lib.stdout.trim()).toBe(`${claimed[1]} ${claimed[2]}`);
    const cli = JSON.parse(run(['score', ARCH, '--no-progress']).stdout) as {
      results: { swap: number; regSwap: number }[];
    };
    expect(`${cli.results[0]!.swap} ${Math.round(cli.results[0]!.regSwap)}`).toBe(lib.stdout.trim());
  });

  it("npm reads the project's .npmrc without warnings, and its scripts see ONNXRUNTIME_NODE_INSTALL=skip", () => {
    const env = { ...process.env };
    delete env['ONNXRUNTIME_NODE_INSTALL'];
    const r = spawnSync('npm', ['exec', '-c', 'node -e "console.log(process.env.ONNXRUNTIME_NODE_INSTALL)"'], {
      cwd: ROOT,
      encoding: 'utf8',
      env,
      timeout: 120_000,
    });
    expect(r.stderr).not.toMatch(/Unknown (project|env) config/);
    expect(r.stdout.trim()).toBe('skip');
  });
});
