#!/usr/bin/env node
// The `swapnas` command's entry point (CommonJS on purpose): it sizes libuv's thread pool, then runs the CLI
// (main.js). The native proxy passes run on that pool, one pass per pool thread, and Node sizes the pool once, at
// its first use: 4 threads unless UV_THREADPOOL_SIZE says otherwise. Loading an ES module is such a first use, so
// main.js itself is too late to size it; a CommonJS entry runs before anything has touched the pool.
import { availableParallelism } from 'node:os';

/**
 * The pool size this process should start with: UV_THREADPOOL_SIZE as given when it is set (even empty: the user's
 * choice), otherwise `--threads` (or every core, the flag's default) + 2 — one pass per thread, one thread queued
 * beyond them, one for file I/O — and never below Node's 4. Undefined: leave the environment as it is.
 */
export function poolSizeFor(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cores: number = availableParallelism(),
): number | undefined {
  if (env['UV_THREADPOOL_SIZE'] !== undefined) return undefined;
  let threads = cores;
  argv.forEach((a, i) => {
    const v = a === '--threads' ? argv[i + 1] : a.startsWith('--threads=') ? a.slice('--threads='.length) : undefined;
    // a bad value is main.js's to report; here it only leaves the default
    const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (n >= 1) threads = n;
  });
  // libuv's maximum is 1024
  return Math.min(1024, Math.max(4, threads + 2));
}

if (require.main === module) {
  const size = poolSizeFor(process.argv.slice(2), process.env);
  if (size !== undefined) process.env['UV_THREADPOOL_SIZE'] = String(size);
  // main.js runs the command line on import and reports its own errors
  void import('./main.js');
}
