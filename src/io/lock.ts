import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { SwapError } from '../util/errors.js';
import { clip } from '../util/quote.js';
import { outputTarget } from './output-path.js';

/**
 * Single-writer locks for append-only outputs (score --resume files, search journals, correlate caches): a lock
 * file `<path>.lock` created exclusively (`O_EXCL`), holding the owner's PID, host and start time. A second
 * writer gets a coded `E_LOCKED` naming the owner, and the output stays intact.
 *
 * Stale locks: on the same host a lock whose PID no longer runs (kill -9, power loss) is taken over at once; a
 * lock from another host (a shared folder) is stale once its mtime, refreshed every {@link HEARTBEAT_MS} while
 * held, is older than {@link STALE_MS}. A takeover renames the stale file aside first, so of two processes
 * taking over at once only one creates the new lock.
 */

export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 60_000;

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** A held lock; {@link release} is idempotent. */
export interface FileLock {
  readonly path: string;
  readonly lockPath: string;
  release(): void;
}

function readOwner(lockPath: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? (o as Owner) : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock at `lockPath` belongs to nobody any more (see the module comment). */
function isStale(lockPath: string, owner: Owner | undefined): boolean {
  let age: number;
  try {
    age = Date.now() - statSync(lockPath).mtimeMs;
  } catch {
    return true; // gone meanwhile
  }
  // An unreadable owner is a lock being written this instant, unless it is old.
  if (!owner) return age > STALE_MS;
  if (owner.host === hostname()) return owner.pid !== process.pid && !alive(owner.pid);
  return age > STALE_MS;
}

function tryCreate(lockPath: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    const owner: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    writeSync(fd, `${JSON.stringify(owner)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Move a stale lock aside and delete it; true when this process did so (or it was gone already). */
function takeOver(lockPath: string, seen: Owner | undefined): boolean {
  const aside = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return true; // someone else moved it: retry the create
  }
  const moved = readOwner(aside);
  if (seen && moved && (moved.pid !== seen.pid || moved.host !== seen.host || moved.since !== seen.since)) {
    // Another process replaced the stale lock between our check and the rename: put its live lock back.
    renameSync(aside, lockPath);
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

/**
 * Take the exclusive lock of output `path` (`what` names it in messages, e.g. "search journal"). Throws
 * `E_LOCKED` when another live process holds it; `E_OUTPUT` when the lock file cannot be created.
 */
export function lockOutput(path: string, what: string): FileLock {
  const target = outputTarget(path);
  // a device, a pipe or /dev/stdout has no folder of its own to hold a lock file (and nothing to replace)
  if (target.inPlace) return { path, lockPath: '', release() {} };
  const lockPath = `${target.path}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let created: boolean;
    try {
      created = tryCreate(lockPath);
    } catch (e) {
      throw new SwapError('E_OUTPUT', `cannot create lock ${clip(lockPath)}: ${(e as Error).message}`, { cause: e });
    }
    if (created) return held(path, lockPath);
    const owner = readOwner(lockPath);
    if (!isStale(lockPath, owner) || !takeOver(lockPath, owner)) {
      const who = owner ? `process ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process';
      throw new SwapError(
        'E_LOCKED',
        `${what} ${clip(path)} is being written by ${who}; wait for it to finish (or, if it is gone, remove ${clip(lockPath)})`,
      );
    }
  }
  throw new SwapError('E_LOCKED', `${what} ${clip(path)}: could not take its lock ${clip(lockPath)}`);
}

function held(path: string, lockPath: string): FileLock {
  const since = readOwner(lockPath)?.since;
  // Heartbeat for hosts that cannot check our PID; unref'd, so it never keeps the process alive.
  const timer = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(lockPath, now, now);
    } catch {
      /* lock removed by hand: nothing to refresh */
    }
  }, HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    path,
    lockPath,
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const o = readOwner(lockPath);
      if (o && o.pid === process.pid && o.host === hostname() && o.since === since) rmSync(lockPath, { force: true });
    },
  };
}
