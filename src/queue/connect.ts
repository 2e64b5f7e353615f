import { Redis } from 'ioredis';
import { SwapError } from '../util/errors.js';

/** A Redis URL with its password (if any) masked, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const lastErrors = new WeakMap<Redis, string>();

/** Check a `--redis` URL: `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
export function checkRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SwapError(
      'E_OPTION',
      `--redis must be a URL like redis://host:6379, got ${JSON.stringify(url.slice(0, 200))}`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new SwapError('E_OPTION', `--redis must start with redis:// or rediss:// (TLS), got ${redactUrl(url)}`);
  if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname))
    throw new SwapError('E_OPTION', `--redis database must be a number (redis://host:6379/2), got ${redactUrl(url)}`);
  return u;
}

/**
 * One ioredis connection for BullMQ and our own keys. It reconnects forever with a capped backoff (a restarted
 * Redis is picked up again) and never fails a command for lack of a connection (`maxRetriesPerRequest: null`,
 * which BullMQ workers require). `rediss://` turns on TLS; extra CAs come from Node's `NODE_EXTRA_CA_CERTS`.
 */
export function connectRedis(url: string, name?: string): Redis {
  checkRedisUrl(url);
  const r = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    ...(name ? { connectionName: name } : {}),
  });
  // Connection errors are retried by ioredis; without a listener Node would print each one as unhandled.
  r.on('error', (e: Error) => lastErrors.set(r, e.message));
  return r;
}

/**
 * A second connection like `r` for BullMQ alone. BullMQ defines its Lua scripts (dozens) on the client it is
 * given, and ioredis then copies every defined script into each MULTI or pipeline built on that client: our own
 * per-job transactions on a plain connection cost a fraction of that (measured in bench/queue.mjs).
 */
export function bullConnection(r: Redis): Redis {
  const b = r.duplicate();
  b.on('error', (e: Error) => lastErrors.set(b, e.message));
  return b;
}

/** Wait until `r` answers PING, or fail with a coded error naming the (password-masked) URL. */
export async function waitReady(r: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => {
      const last = lastErrors.get(r);
      const why = last ? `: ${last.slice(0, 200)}` : '';
      rej(new SwapError('E_QUEUE', `cannot reach Redis at ${redactUrl(url)} within ${timeoutMs / 1000} s${why}`));
    }, timeoutMs);
  });
  try {
    await Promise.race([r.ping(), timeout]);
  } catch (e) {
    if (e instanceof SwapError) throw e;
    // The connection's own error (WRONGPASS, a refused certificate) says more than the command's NOAUTH.
    const why = lastErrors.get(r) ?? String((e as Error).message);
    throw new SwapError('E_QUEUE', `Redis at ${redactUrl(url)}: ${why.slice(0, 200)}`);
  } finally {
    clearTimeout(timer);
  }
}
