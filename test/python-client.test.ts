import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/** Debian's interpreter (CI installs python3 with apt); the client must work with its standard library alone. */
const PYTHON = '/usr/bin/python3';
const hasTorch = () => spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('Python client (clients/python) against the built server', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  });

  it('passes its unittest suite (stdio and HTTP; the PyTorch test wherever torch is installed)', () => {
    const torch = hasTorch();
    const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', join(ROOT, 'clients', 'python', 'tests'), '-v'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        SWAPNAS_CMD: `${process.execPath} ${CLI}`,
        // where torch imports, its test must run (never a silent skip)
        ...(torch ? { SWAPNAS_REQUIRE_TORCH: '1' } : {}),
      },
      timeout: 600_000,
    });
    expect(r.status, r.stderr.slice(-4000)).toBe(0);
    const ran = Number(/Ran (\d+) tests?/.exec(r.stderr)?.[1]);
    expect(ran).toBeGreaterThanOrEqual(6);
    // the skippable tests are the PyTorch ones
    if (torch) expect(r.stderr).toMatch(/\nOK\s*$/);
    else expect(r.stderr).toMatch(/\nOK \(skipped=\d+\)\s*$/);
  });

  it('installs with pip from its folder (no dependencies, no network)', () => {
    const target = mkdtempSync(join(tmpdir(), 'swapnas-pip-'));
    const build = mkdtempSync(join(tmpdir(), 'swapnas-pip-src-'));
    cpSync(join(ROOT, 'clients', 'python'), build, { recursive: true }); // pip builds in place; keep the tree clean
    const r = spawnSync(
      PYTHON,
      ['-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-index', '--target', target, build],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const v = spawnSync(PYTHON, ['-c', 'import swapnas, sys; print(swapnas.__version__, swapnas.__file__)'], {
      encoding: 'utf8',
      cwd: tmpdir(),
      env: { ...process.env, PYTHONPATH: target },
    });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toContain('0.1.0');
    expect(v.stdout).toContain(target);
  });
});
