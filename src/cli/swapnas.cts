#!/usr/bin/env node
// The `swapnas` command's entry point (CommonJS on purpose): it sizes libuv's thread pool, then runs the CLI
// (main.js). The native proxy passes run on that pool, one pass per pool thread, and Node sizes the pool once, at
// its first use: 4 threads unless UV_THREADPOOL_SIZE says otherwise. Loading an ES module is such a first use, so
// main.js itself is too late to size it; a CommonJS entry runs before anything has touched the pool.
import { availableParallelism } from 'node:os';

/** Node options that load ES modules before this file runs, and so start the pool before it can be sized. */
const EARLY_ESM = /(^|\s)--(import|loader|experimental-loader)(=|\s|$)/;

/**
 * The pool size this process should start with: UV_THREADPOOL_SIZE as given when it is set and not empty (the
 * Python client reads an empty one as unset too), otherwise `--threads` (or every core, the flag's default) + 2 —
 * one pass per thread, one thread queued beyond them, one for file I/O — and never below Node's 4. Undefined: leave
 * the environment as it is, also when `nodeOptions` (execArgv and NODE_OPTIONS) preload an ES module: the pool has
 * then started at its default already, and a variable claiming another size would mislead the runner.
 */
export function poolSizeFor(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cores: number = availableParallelism(),
  nodeOptions = '',
): number | undefined {
  if (env['UV_THREADPOOL_SIZE'] || EARLY_ESM.test(nodeOptions)) return undefined;
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
  const nodeOptions = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].join(' ');
  const size = poolSizeFor(process.argv.slice(2), process.env, availableParallelism(), nodeOptions);
  if (size !== undefined) process.env['UV_THREADPOOL_SIZE'] = String(size);
  // main.js runs the command line on import and reports its own errors; this catches only a failed load
  import('./main.js').catch((e: unknown) => {
    process.stderr.write(`swapnas: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
