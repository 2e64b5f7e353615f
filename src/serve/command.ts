import type { Command } from 'commander';
import { listenHttp } from './http.js';
import { SERVER_DEFAULTS, ScoreServer } from './server.js';
import { serveStdio } from './stdio.js';
import { WarmState } from './warm.js';
import { int, num } from '../cli/parse.js';

interface ServeFlags {
  http?: string;
  host: string;
  token?: string;
  maxQueue: string;
  maxRequestMb: string;
  maxArchs: string;
  coalesce: string;
  cacheDir?: string;
}

/** `swapnas serve`: a warm scoring server over JSON lines on stdin/stdout, or HTTP on loopback. */
export function registerServe(program: Command): void {
  const d = SERVER_DEFAULTS;
  program
    .command('serve')
    .description(
      'warm scoring server: JSON lines on stdin/stdout (default) or HTTP (--http PORT); methods score, score_onnx, backends, proxies, health, cancel',
    )
    .option('--http <port>', 'serve HTTP on this port instead of stdio (0: any free port; the URL goes to stdout)')
    .option('--host <addr>', 'HTTP address; anything but loopback needs --token', '127.0.0.1')
    .option('--token <secret>', 'bearer token HTTP requests must carry (default: $SWAPNAS_SERVE_TOKEN)')
    .option('--max-queue <n>', 'scoring requests waiting; more are answered E_BUSY', String(d.maxQueue))
    .option('--max-request-mb <MiB>', 'largest request (stdio line or HTTP body)', String(d.maxRequestBytes / 2 ** 20))
    .option('--max-archs <n>', 'architectures in one score request', String(d.maxArchs))
    .option(
      '--coalesce <n>',
      'architectures that queued score requests with equal settings may pool into one backend call (1: off)',
      String(d.coalesce),
    )
    .option(
      '--cache-dir <dir>',
      "where ensemble reference sets and data-free μ/σ are cached (as score's --cache-dir; default $SWAPNAS_CACHE_DIR, else the user's cache)",
    )
    .action(async (f: ServeFlags) => {
      const mb = num('--max-request-mb', f.maxRequestMb);
      const server = new ScoreServer({
        maxQueue: int('--max-queue', f.maxQueue, 0),
        maxRequestBytes: Math.max(1024, Math.floor(mb * 2 ** 20)),
        maxArchs: int('--max-archs', f.maxArchs, 1),
        coalesce: int('--coalesce', f.coalesce, 1),
        maxModelBytes: Math.floor(mb * 0.74 * 2 ** 20), // base64 inflates by 4/3
        warm: new WarmState(undefined, { cacheDir: f.cacheDir }),
      });
      if (f.http !== undefined) await runHttp(server, f);
      else await runStdio(server);
    });
}

/** Graceful stop on SIGTERM/SIGINT: `stop` runs once; a second signal exits at once. */
function onStopSignal(stop: () => void): () => void {
  let seen = false;
  const h = () => {
    if (seen) process.exit(130);
    seen = true;
    stop();
  };
  process.on('SIGTERM', h);
  process.on('SIGINT', h);
  return () => {
    process.off('SIGTERM', h);
    process.off('SIGINT', h);
  };
}

async function runStdio(server: ScoreServer): Promise<void> {
  // stdout carries responses only: anything a library logs goes to stderr.
  console.log = console.error;
  console.info = console.error;
  const io = serveStdio(server, process.stdin, process.stdout);
  const off = onStopSignal(io.stop);
  try {
    await io.done;
    await server.close();
  } finally {
    off();
  }
  // stdin may still be open (a signal stopped us): do not wait for it.
  process.stdin.destroy();
}

async function runHttp(server: ScoreServer, f: ServeFlags): Promise<void> {
  const token = f.token ?? process.env['SWAPNAS_SERVE_TOKEN'];
  const { app, url } = await listenHttp(server, {
    host: f.host,
    port: int('--http', f.http!, 0),
    ...(token ? { token } : {}),
  });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.stderr.write(`swapnas serve: listening on ${url}\n`);
  await new Promise<void>((resolve) => {
    const off = onStopSignal(() => {
      off();
      server.beginShutdown();
      // close() stops accepting connections and waits for in-flight requests.
      void app
        .close()
        .then(() => server.close())
        .then(resolve);
    });
  });
}
