import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadedModules } from '../bench/module-log.mjs';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

/** Runs the CLI with a preload that prints, at exit, every npm package the process loaded (CommonJS cache). */
function loadedPackages(args: string[]): { status: number | null; stdout: string; packages: Set<string> } {
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-startup-'));
  const probe = join(dir, 'probe.cjs');
  const out = join(dir, 'packages.json');
  writeFileSync(
    probe,
    `process.on('exit', () => {
       const names = Object.keys(require.cache).map((k) => (k.match(/node_modules\\/((@[^/]+\\/)?[^/]+)/) || [])[1]).filter(Boolean);
       require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify([...new Set(names)]));
     });`,
  );
  const r = spawnSync(process.execPath, ['--require', probe, CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, packages: new Set(JSON.parse(readFileSync(out, 'utf8')) as string[]) };
}

/** Runs the CLI under a module-loader hook; the ES modules of dist/ it resolved, relative to dist/. */
function loadedDistModules(args: string[]): { status: number | null; stdout: string; modules: string[] } {
  const r = loadedModules(CLI, args);
  const dist = `${pathToFileURL(join(__dirname, '..', 'dist')).href}/`;
  const modules = r.urls.filter((u) => u.startsWith(dist)).map((u) => u.slice(dist.length));
  return { status: r.status, stdout: r.stdout, modules };
}

describe('CLI start-up loads only the command it runs', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });

  it('a plain score call loads neither the queue client, the HTTP server nor ONNX; worker, serve and ONNX paths do', () => {
    // The plain call of the README: default settings, so the default ensemble fitness and its shipped reference set.
    const score = loadedPackages(['score', A, '--no-progress']);
    expect(score.status).toBe(0);
    expect(JSON.parse(score.stdout).results[0].arch).toBe(A);
    expect(JSON.parse(score.stdout).results[0].ensemble.fitness).toEqual(expect.any(Number));
    for (const heavy of ['bullmq', 'ioredis', 'fastify']) expect(score.packages.has(heavy), heavy).toBe(false);
    expect(score.packages.has('commander')).toBe(true); // the probe sees what was loaded
    // Nor the ONNX schema or runtime: only an ONNX path loads them.
    for (const onnx of ['onnx-proto', 'protobufjs', 'onnxruntime-node'])
      expect(score.packages.has(onnx), onnx).toBe(false);
    const model = join(__dirname, 'fixtures', 'onnx', 'nb201_b_opset13.onnx');
    const fromOnnx = loadedPackages([
      'score',
      model,
      '--backend',
      'reference',
      '--gaussian',
      '--batch',
      '4',
      '--repeats',
      '1',
    ]);
    expect(fromOnnx.status).toBe(0);
    expect(fromOnnx.packages.has('onnx-proto')).toBe(true);
    expect(loadedPackages(['worker', '--help']).packages.has('bullmq')).toBe(true);
    expect(loadedPackages(['serve', '--help']).packages.has('fastify')).toBe(true);
  });

  it('a reg-swap score call loads the backend it runs and no other, and neither the proxies, ONNX nor gradients', () => {
    const run = (args: string[]) => loadedDistModules(args);
    const plain = run(['score', A, '--fitness', 'reg-swap', '--backend', 'native', '--no-progress']);
    expect(plain.status).toBe(0);
    expect(plain.modules).toContain('backends/native/index.js');
    expect(plain.modules).toContain('spaces/nb201/index.js');
    for (const m of plain.modules)
      expect(m, m).not.toMatch(
        /^(backends\/(webgpu|reference|ort|cuda)\/|onnx\/|grad\/|proxies\/(run|native-run)\.js)/,
      );
    // the reference backend is loaded when named, and the registry's metadata needs no backend at all
    const ref = run(['score', A, '--fitness', 'reg-swap', '--backend', 'reference', '--repeats', '1', '--no-progress']);
    expect(ref.modules).toContain('backends/reference/index.js');
    expect(ref.modules.filter((m) => /^backends\/(native|webgpu|ort|cuda)\//.test(m))).toEqual([]);
    const help = run(['score', '--help']);
    expect(help.modules.filter((m) => /^backends\/.+\//.test(m))).toEqual([]);
    expect(help.stdout).toContain('auto | cuda | native | webgpu | ort | reference');
  });

  it('help without a command still lists every command', () => {
    const help = loadedPackages(['--help']);
    expect(help.status).toBe(0);
    for (const c of ['score', 'backends', 'correlate', 'export', 'search', 'serve', 'worker', 'queue'])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });
});
