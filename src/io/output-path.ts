import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SwapError } from '../util/errors.js';
import { clip } from '../util/quote.js';

/**
 * Output paths are checked before any work starts, by doing what the write will do (create a file in the folder,
 * or open the file for appending) rather than asking `access()`, which answers "writable" to root on read-only
 * folders such as /sys.
 */

function fail(flag: string, path: string, why: string, cause?: unknown): never {
  throw new SwapError('E_OUTPUT', `${flag} ${clip(path)}: ${why}`, cause === undefined ? undefined : { cause });
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Create and remove a probe file in `dir` (the temp file of an atomic write lands there). */
function probeDir(dir: string, flag: string, path: string): void {
  const probe = join(dir, `.swapnas-probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    fail(flag, path, `cannot create files in ${clip(dir)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, e);
  }
  rmSync(probe, { force: true });
}

/**
 * Check an output file: its folder exists and takes new files; an existing target is not a folder and (for
 * devices and pipes, which are written in place) opens for writing. Coded `E_OUTPUT` otherwise.
 */
export function checkOutputFile(path: string, flag: string): void {
  if (typeof path !== 'string' || path.length === 0) fail(flag, String(path), 'empty path');
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statOrUndefined(path);
  } catch (e) {
    fail(flag, path, `cannot be reached (${(e as NodeJS.ErrnoException).code ?? 'error'})`, e);
  }
  if (st?.isDirectory()) fail(flag, path, 'is a folder, not a file');
  if (st && !st.isFile()) {
    try {
      closeSync(openSync(path, 'a'));
    } catch (e) {
      fail(flag, path, `cannot be opened for writing (${(e as NodeJS.ErrnoException).code ?? 'error'})`, e);
    }
    return;
  }
  const dir = dirname(resolve(path));
  const d = statOrUndefinedSafe(dir);
  if (!d) fail(flag, path, `folder ${clip(dir)} does not exist`);
  if (!d.isDirectory()) fail(flag, path, `${clip(dir)} is not a folder`);
  probeDir(dir, flag, path);
}

function statOrUndefinedSafe(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statOrUndefined(path);
  } catch {
    return undefined;
  }
}

/**
 * Check an output folder that will be created if missing: its nearest existing ancestor must be a folder that
 * takes new entries; an existing target must be a folder that takes new files.
 */
export function checkOutputDir(dir: string, flag: string): void {
  if (typeof dir !== 'string' || dir.length === 0) fail(flag, String(dir), 'empty path');
  let at = resolve(dir);
  for (;;) {
    const st = statOrUndefinedSafe(at);
    if (st) {
      if (!st.isDirectory()) fail(flag, dir, `${clip(at)} is not a folder`);
      probeDir(at, flag, dir);
      return;
    }
    const up = dirname(at);
    if (up === at) fail(flag, dir, 'no existing folder above it');
    at = up;
  }
}
