import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { SwapError } from '../util/errors.js';
import type { Response } from './protocol.js';
import type { ScoreServer } from './server.js';

/** Options of the HTTP transport. */
export interface HttpOptions {
  /** Address to bind (default 127.0.0.1). Any non-loopback address needs a token. */
  readonly host?: string;
  /** Port (0: any free port). */
  readonly port: number;
  /** Bearer token every request must carry (`Authorization: Bearer <token>`); required off loopback. */
  readonly token?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** HTTP status of an error code (bad input 400; the rest as named). */
export function httpStatus(code: string): number {
  switch (code) {
    case 'E_REQUEST_TOO_LARGE':
      return 413;
    case 'E_UNAUTHORIZED':
      return 401;
    case 'E_NOT_FOUND':
      return 404;
    case 'E_BUSY':
    case 'E_SHUTTING_DOWN':
      return 503;
    case 'E_CANCELLED':
      return 409;
    case 'E_INTERNAL':
    case 'E_BACKEND':
    case 'E_NATIVE_LOAD':
      return 500;
    default:
      return 400;
  }
}

function send(reply: FastifyReply, r: Response): FastifyReply {
  if ('error' in r) {
    if (r.error.code === 'E_BUSY') reply.header('retry-after', '1');
    return reply.code(httpStatus(r.error.code)).send(r);
  }
  return reply.code(200).send(r);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Routes (every answer is the JSON-lines envelope `{id, result}` or `{id, error: {code, message}}`):
 * `POST /rpc` (a request envelope, as on stdio), `POST /score` and `POST /score-onnx` (the params, optional
 * `?id=`), `POST /cancel` (`{"id": …}`), `GET /health`, `GET /backends`, `GET /proxies`. A client that
 * disconnects cancels its request.
 */
export function buildHttp(server: ScoreServer, token?: string): FastifyInstance {
  const app = Fastify({ bodyLimit: server.limits.maxRequestBytes, logger: false, forceCloseConnections: 'idle' });
  if (token !== undefined)
    app.addHook('onRequest', async (req, reply) => {
      if (!tokenMatches(req.headers.authorization, token))
        return send(reply, { id: null, error: { code: 'E_UNAUTHORIZED', message: 'missing or wrong bearer token' } });
    });
  const call = async (reply: FastifyReply, envelope: unknown) => {
    const ac = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) ac.abort();
    });
    const r = await server.handle(envelope, ac.signal);
    // Once shutdown began, a finished request's keep-alive connection is closed after its answer: close() would
    // otherwise wait for the client's idle connection to time out (fastify's keepAliveTimeout, 72 s).
    if (server.shuttingDown) reply.header('connection', 'close');
    return send(reply, r);
  };
  const idOf = (req: FastifyRequest) => (req.query as Record<string, string | undefined>)['id'] ?? null;
  app.post('/rpc', (req, reply) => call(reply, req.body));
  app.post('/score', (req, reply) => call(reply, { id: idOf(req), method: 'score', params: req.body }));
  app.post('/score-onnx', (req, reply) => call(reply, { id: idOf(req), method: 'score_onnx', params: req.body }));
  app.post('/cancel', (req, reply) => call(reply, { id: null, method: 'cancel', params: req.body }));
  for (const m of ['health', 'backends', 'proxies'] as const)
    app.get(`/${m}`, (_req, reply) => call(reply, { id: null, method: m }));
  app.setNotFoundHandler((req, reply) =>
    send(reply, {
      id: null,
      error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${req.url.slice(0, 100)}` },
    }),
  );
  app.setErrorHandler((err: { code?: string; message: string; statusCode?: number }, _req, reply) => {
    const code =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'E_REQUEST_TOO_LARGE'
        : (err.statusCode ?? 500) < 500
          ? 'E_REQUEST'
          : 'E_INTERNAL';
    return send(reply, { id: null, error: { code, message: err.message.slice(0, 400) } });
  });
  return app;
}

/** Start the HTTP transport; refuses a non-loopback address without a token. Resolves to the bound address. */
export async function listenHttp(server: ScoreServer, o: HttpOptions): Promise<{ app: FastifyInstance; url: string }> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && (o.token === undefined || o.token.length < 16))
    throw new SwapError(
      'E_OPTION',
      `binding ${host} (not loopback) needs --token (or SWAPNAS_SERVE_TOKEN) of at least 16 characters`,
    );
  const app = buildHttp(server, o.token);
  const url = await app.listen({ host, port: o.port });
  return { app, url };
}
