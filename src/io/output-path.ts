import { closeSync, lstatSync, openSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
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
  const target = outputTarget(path);
  if (target.inPlace) {
    try {
      closeSync(openSync(path, 'a'));
    } catch (e) {
      fail(flag, path, `cannot be opened for writing (${(e as NodeJS.ErrnoException).code ?? 'error'})`, e);
    }
    return;
  }
  // the temporary file that replaces the output goes beside the file itself (a link's target)
  const dir = dirname(resolve(target.path));
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

/** Paths that name the process's own descriptors: a shell may have redirected them to a file it holds (or appends to). */
const DESCRIPTOR_PATH = /^\/(?:dev\/(?:stdout|stderr|fd\/\d+)|proc\/(?:self|thread-self|\d+)\/fd\/\d+)$/;

/** Where an output is written: the file itself, or the path in place (see {@link outputTarget}). */
export interface OutputTarget {
  /** The file to replace: `path` through its symbolic links, so a link stays a link and its target is rewritten. */
  readonly path: string;
  /** Written in place, never replaced: a device, a pipe, or a descriptor path such as /dev/stdout. */
  readonly inPlace: boolean;
}

/**
 * How an output named `path` is written. A descriptor path (/dev/stdout, /dev/fd/N, /proc/self/fd/N), a link to
 * one, and anything that is not a regular file (a device, a pipe) are written in place by appending: renaming over
 * /dev/stdout would replace the system's link, and truncating it would wipe a file the shell appends to. A symbolic
 * link is followed as the system follows it, so a rename replaces its target and the link stays a link; a link that
 * another user planted in a shared sticky folder (such as /tmp) is refused (`E_OUTPUT`), as the kernel's
 * protected_symlinks refuses to follow it.
 */
export function outputTarget(path: string): OutputTarget {
  const walked = linkTarget(path);
  if (walked === undefined) return { path, inPlace: true };
  const st = statOrUndefinedSafe(walked);
  return { path: walked, inPlace: st !== undefined && !st.isFile() && !st.isDirectory() };
}

/**
 * `path` through its symbolic links, each resolved from the real folder of the link (as the system does, so `..`
 * means the real parent); a dangling link's eventual target too; undefined when the chain reaches a descriptor path.
 */
function linkTarget(path: string): string | undefined {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    if (DESCRIPTOR_PATH.test(p)) return undefined;
    let st: NonNullable<ReturnType<typeof lstatSync>>;
    try {
      st = lstatSync(p);
    } catch {
      return p;
    }
    if (!st.isSymbolicLink()) return p;
    const dir = realFolder(dirname(p));
    refusePlantedLink(p, st, dir);
    p = resolve(dir, readlinkSync(p));
  }
  throw new SwapError('E_OUTPUT', `${clip(path)}: too many levels of symbolic links (a loop?)`);
}

function realFolder(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/** A link owned by neither us nor the folder's owner, in a sticky world-writable folder, is not followed. */
function refusePlantedLink(link: string, st: NonNullable<ReturnType<typeof lstatSync>>, dir: string): void {
  const d = statOrUndefinedSafe(dir);
  const uid = process.getuid?.();
  if (!d || uid === undefined || (Number(d.mode) & 0o1002) !== 0o1002) return;
  if (Number(st.uid) !== uid && Number(st.uid) !== Number(d.uid))
    throw new SwapError(
      'E_OUTPUT',
      `${clip(link)} is a symbolic link owned by another user in a shared folder; it is not followed (write to a path of your own)`,
    );
}
