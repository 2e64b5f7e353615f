import type { Readable, Writable } from 'node:stream';
import type { Response } from './protocol.js';
import type { ScoreServer } from './server.js';

/**
 * Split a byte stream into lines of at most `limit` bytes. A longer line is not buffered: `onLine` gets
 * `undefined` for it once its end arrives (the caller answers it with an error).
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overflow = false;

  constructor(
    private readonly limit: number,
    private readonly onLine: (line: string | undefined) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
    this.take(chunk.subarray(start));
  }

  /** End of input: a last line without a newline still counts. */
  end(): void {
    if (this.size > 0 || this.overflow) this.emit();
  }

  private take(b: Buffer): void {
    if (this.overflow || b.length === 0) return;
    if (this.size + b.length > this.limit) {
      this.overflow = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(b);
    this.size += b.length;
  }

  private emit(): void {
    const line = this.overflow ? undefined : Buffer.concat(this.parts, this.size).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.overflow = false;
    if (line === undefined || line.trim() !== '') this.onLine(line);
  }
}

/**
 * Serve JSON lines: one request per input line, one response per output line (in completion order; ids tell
 * them apart). Nothing but responses goes to `output`. Resolves when the input ends (or `stop` is called) and
 * every accepted request has been answered.
 */
export function serveStdio(
  server: ScoreServer,
  input: Readable,
  output: Writable,
): { done: Promise<void>; stop: () => void } {
  const pending = new Set<Promise<void>>();
  const write = (r: Response) => {
    output.write(`${JSON.stringify(r)}\n`);
  };
  const splitter = new LineSplitter(server.limits.maxRequestBytes, (line) => {
    const p = (
      line === undefined
        ? Promise.resolve<Response>({
            id: null,
            error: {
              code: 'E_REQUEST_TOO_LARGE',
              message: `request line exceeds the server's limit of ${server.limits.maxRequestBytes} bytes`,
            },
          })
        : server.handleText(line)
    ).then(write);
    pending.add(p);
    void p.finally(() => pending.delete(p));
  });
  let stopped!: () => void;
  const ended = new Promise<void>((res) => {
    stopped = res;
  });
  const onData = (c: Buffer) => splitter.push(c);
  const onEnd = () => {
    splitter.end();
    stopped();
  };
  input.on('data', onData);
  input.once('end', onEnd);
  const stop = () => {
    input.off('data', onData);
    input.off('end', onEnd);
    input.pause();
    stopped();
  };
  const done = ended.then(async () => {
    server.beginShutdown();
    while (pending.size > 0) await Promise.all([...pending]);
  });
  return { done, stop };
}
