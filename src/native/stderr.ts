import { loadAddon } from './loader.js';

/**
 * Run a synchronous call with file descriptor 2 captured (through the C++ addon): what native code prints to
 * stderr meanwhile (Dawn's driver warnings) is returned instead of shown. Without the addon the call runs as is
 * and `text` is empty.
 */
export function captureStderr<T>(call: () => T): { value: T; text: string } {
  const load = loadAddon();
  const addon = load.ok && typeof load.addon.captureStderrBegin === 'function' ? load.addon : undefined;
  const open = addon?.captureStderrBegin() ?? false;
  let text = '';
  let value: T;
  try {
    value = call();
  } finally {
    if (open) text = addon!.captureStderrEnd();
  }
  return { value, text };
}

/** Non-empty trimmed lines of captured text, for reports. */
export function messageLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
