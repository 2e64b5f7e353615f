// Minimal clients of `swapnas serve` for the serve benchmarks: one over JSON lines on stdin/stdout, one over HTTP
// (POST /rpc with the same envelopes). Both start their own server process and expose ask(method, params) → the
// response envelope, and close() → waits for the process to exit.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

/** A `swapnas serve` process over stdio (`nodeArgs`: options for its `node`, e.g. `--import` of a bench hook). */
export function stdioClient(cli, env, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, cli, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const waiting = new Map();
  let next = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const r = JSON.parse(line);
    waiting.get(r.id)?.(r);
    waiting.delete(r.id);
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    ask: (method, params) =>
      new Promise((resolve) => {
        const id = ++next;
        waiting.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ id, method, ...(params ? { params } : {}) })}\n`);
      }),
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** The first stdout line of `child` (serve --http prints its URL there). */
function firstLine(child) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`serve --http exited (${code}) before printing its URL`)));
  });
}

/**
 * A `swapnas serve --http 0` process and a keep-alive client of it (one agent with up to `sockets` connections;
 * Node's client sockets have Nagle's algorithm off).
 */
export async function httpClient(cli, env, sockets = 1) {
  const child = spawn(process.execPath, [cli, 'serve', '--http', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const exited = new Promise((r) => child.once('exit', r));
  const url = new URL(JSON.parse(await firstLine(child)).url);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  let next = 0;
  const post = (body) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/rpc',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          const parts = [];
          res.on('data', (d) => parts.push(d));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(parts).toString('utf8'))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    ask: (method, params) => post(JSON.stringify({ id: ++next, method, ...(params ? { params } : {}) })),
    close: async () => {
      agent.destroy();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
