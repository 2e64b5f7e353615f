import type { RunProgress } from './producer.js';

/**
 * Producer progress on stderr: done/total, rate, ETA and the workers seen; redrawn on a TTY, one line every
 * 5 s otherwise. Returns the callback for {@link RunSpec.onProgress}.
 */
export function queueProgress(label: string, enabled: boolean, stream: NodeJS.WriteStream = process.stderr) {
  let last = 0;
  return (p: RunProgress): void => {
    const now = Date.now();
    const final = p.done >= p.total;
    if (!enabled || (!final && now - last < (stream.isTTY ? 200 : 5000))) return;
    last = now;
    const pct = p.total > 0 ? (100 * p.done) / p.total : 100;
    const eta = Number.isFinite(p.etaSec) ? `${p.etaSec.toFixed(0)}s` : '?';
    const line = `${label}: ${p.done}/${p.total} (${pct.toFixed(1)}%) ${p.rate.toFixed(1)}/s eta ${eta}, ${p.workers} worker(s) seen`;
    stream.write(stream.isTTY ? `\r${line}  ${final ? '\n' : ''}` : `${line}\n`);
  };
}
