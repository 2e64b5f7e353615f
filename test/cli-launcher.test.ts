import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// The `swapnas` bin (dist/cli/swapnas.cjs) sizes libuv's pool before the ES modules load (test: npm test builds dist
// first). A CommonJS file: loaded here with require, which does not run the command line (require.main differs).
const ROOT = join(__dirname, '..');
const LAUNCHER = join(ROOT, 'dist', 'cli', 'swapnas.cjs');
const { poolSizeFor } = createRequire(import.meta.url)(LAUNCHER) as {
  poolSizeFor: (argv: string[], env: NodeJS.ProcessEnv, cores?: number, nodeOptions?: string) => number | undefined;
};

function backendsJson(entry: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, entry, 'backends', '--json'], { env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { name: string; threadPool?: number }[];
}

describe('the swapnas launcher sizes libuv’s pool', () => {
  it('threads + 2 (default: every core), at least Node’s 4, at most libuv’s 1024; a set variable is left alone', () => {
    expect(poolSizeFor(['score', '--all'], {}, 16)).toBe(18);
    expect(poolSizeFor(['score'], {}, 1)).toBe(4);
    expect(poolSizeFor(['score', '--threads', '10'], {}, 2)).toBe(12);
    expect(poolSizeFor(['score', '--threads=30'], {}, 2)).toBe(32);
    expect(poolSizeFor(['score', '--threads', 'lots'], {}, 6)).toBe(8);
    expect(poolSizeFor(['score', '--threads', '0'], {}, 6)).toBe(8);
    expect(poolSizeFor(['score', '--threads', '5000'], {}, 2)).toBe(1024);
    expect(poolSizeFor(['score', '--threads', '10'], { UV_THREADPOOL_SIZE: '6' }, 2)).toBeUndefined();
    expect(poolSizeFor(['score'], { UV_THREADPOOL_SIZE: '' }, 2)).toBe(4); // empty = unset, as the Python client reads it
    // an ES module preloaded by Node options has started the pool already: the variable is left alone
    expect(poolSizeFor(['score'], {}, 8, '--import tsx')).toBeUndefined();
    expect(poolSizeFor(['score'], {}, 8, '--max-old-space-size=4096 --experimental-loader=x.mjs')).toBeUndefined();
    expect(poolSizeFor(['score'], {}, 8, '--require ./hook.cjs --max-old-space-size=4096')).toBe(10);
  });

  it('the bin reports the pool it set; the ES module entry cannot set it; a given size is kept', () => {
    const env = { ...process.env };
    delete env['UV_THREADPOOL_SIZE'];
    const pool = (rows: { name: string; threadPool?: number }[]) => rows.find((r) => r.name === 'native')?.threadPool;
    expect(pool(backendsJson(LAUNCHER, env))).toBe(Math.max(4, availableParallelism() + 2));
    expect(pool(backendsJson(join(ROOT, 'dist', 'cli', 'main.js'), env))).toBe(4);
    expect(pool(backendsJson(LAUNCHER, { ...env, UV_THREADPOOL_SIZE: '7' }))).toBe(7);
    // an ES module preloaded with --import started the pool at 4 first: the launcher leaves it, and says 4
    const pre = join(mkdtempSync(join(tmpdir(), 'swapnas-launch-')), 'pre.mjs');
    writeFileSync(pre, 'export {};\n');
    expect(pool(backendsJson(LAUNCHER, env, ['--import', pathToFileURL(pre).href]))).toBe(4);
  });

  it('exit codes and errors are main.js’s', () => {
    const r = spawnSync(process.execPath, [LAUNCHER, 'score', '--proxies', 'nope', '--sample', '1'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^swapnas: error E_/m);
  });
});
