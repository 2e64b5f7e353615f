// Which ES modules a Node process loads: runs a script under a module-loader hook (`node --import`) that records
// every file: URL it resolves. Used by bench/cli-startup.mjs and test/cli-startup.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Run `node script ...args` (options as spawnSync's, utf8) under the hook; returns its status, stdout and stderr
 * and the distinct file: URLs it resolved, in first-resolved order.
 */
export function loadedModules(script, args, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-modules-'));
  const log = join(dir, 'modules.txt');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(spec, context, next) {
  const r = await next(spec, context);
  if (r.url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    "import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);",
  );
  const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), script, ...args], {
    encoding: 'utf8',
    ...options,
  });
  let urls = [];
  try {
    urls = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, urls };
}
