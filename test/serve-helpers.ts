import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');

export interface Reply {
  id: unknown;
  result?: unknown;
  error?: { code: string; message: string };
}

/** A `swapnas serve` child speaking JSON lines; replies are matched by id; every stdout line is kept. */
export class StdioServer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  private readonly waiting = new Map<string, (r: Reply) => void>();
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(args: string[] = []) {
    this.child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      const r = JSON.parse(line) as Reply; // a non-JSON stdout line fails the test here
      const k = JSON.stringify(r.id);
      const w = this.waiting.get(k);
      if (w) {
        this.waiting.delete(k);
        w(r);
      }
    });
    this.exited = new Promise((res) => this.child.once('exit', (code, signal) => res({ code, signal })));
  }

  /** Write a raw line; the reply with `id` resolves the promise. */
  sendRaw(line: string, id: unknown): Promise<Reply> {
    const p = new Promise<Reply>((res) => this.waiting.set(JSON.stringify(id), res));
    this.child.stdin.write(`${line}\n`);
    return p;
  }

  send(id: unknown, method: string, params?: Record<string, unknown>): Promise<Reply> {
    return this.sendRaw(JSON.stringify({ id, method, ...(params ? { params } : {}) }), id);
  }

  async close(): Promise<{ code: number | null; signal: string | null }> {
    this.child.stdin.end();
    return this.exited;
  }
}
