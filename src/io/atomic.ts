import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SwapError } from '../util/errors.js';
import { outputTarget } from './output-path.js';
import { clip } from '../util/quote.js';

function writeAll(fd: number, data: Uint8Array | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    /* already failing */
  }
}

/**
 * Write a whole file crash-safely: the bytes go to a temporary file in the same folder, flushed to disk, which is
 * renamed over the target only once complete; a kill at any moment leaves either the old file or the new one.
 * On error the temporary file is removed and the target is untouched (coded `E_OUTPUT`). A device, a pipe or a
 * descriptor path such as /dev/stdout is written in place; a symbolic link's target is replaced, not the link.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const target = outputTarget(path);
  if (target.inPlace) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'a');
      writeAll(fd, data);
    } catch (e) {
      throw new SwapError('E_OUTPUT', `cannot write ${clip(path)}: ${(e as Error).message}`, { cause: e });
    } finally {
      closeQuietly(fd);
    }
    return;
  }
  const file = target.path;
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    writeAll(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    closeQuietly(fd);
    rmSync(tmp, { force: true });
    throw new SwapError('E_OUTPUT', `cannot write ${clip(path)}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * An append-only output written line by line with synchronous writes (a kill leaves at most one cut last line,
 * which readers drop); write errors (a full disk, /dev/full) are coded `E_OUTPUT`, never an unhandled stream
 * event.
 */
export class AppendFile {
  private fd: number | undefined;
  private constructor(
    fd: number,
    readonly path: string,
  ) {
    this.fd = fd;
  }

  /** Open for appending (`truncate`: start empty). */
  static open(path: string, truncate = false): AppendFile {
    try {
      // a device or descriptor path (/dev/stdout redirected with >>) is appended to, never truncated
      return new AppendFile(openSync(path, truncate && !outputTarget(path).inPlace ? 'w' : 'a'), path);
    } catch (e) {
      throw new SwapError('E_OUTPUT', `cannot open ${clip(path)} for writing: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Append text (whole lines); `sync` flushes it to disk. */
  write(text: string, sync = false): void {
    if (this.fd === undefined) throw new SwapError('E_OUTPUT', `${clip(this.path)} is closed`);
    try {
      writeAll(this.fd, text);
      if (sync) fsyncSync(this.fd);
    } catch (e) {
      throw new SwapError('E_OUTPUT', `cannot write ${clip(this.path)}: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): void {
    closeQuietly(this.fd);
    this.fd = undefined;
  }
}

/**
 * The complete lines of an append-only file (a JSONL/CSV output or cache) as text ending in a newline. A process
 * killed mid-append leaves a partial last line: it is cut from the file, so the next append starts on a fresh line
 * and that record is redone.
 */
export function readCompleteLines(file: string): string {
  const text = readFileSync(file, 'utf8');
  if (text.length === 0 || text.endsWith('\n')) return text;
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  truncateSync(file, Buffer.byteLength(whole));
  return whole;
}
