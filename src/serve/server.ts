import { isSwapError, SwapError } from '../util/errors.js';
import { canonicalJson } from '../util/json.js';
import { listBackends, listProxies, scoreArchProxies, scoreOnnx } from './adapter.js';
import { scoreCoalesced } from './coalesce.js';
import {
  parseRequest,
  salvageId,
  type ErrorBody,
  type Request,
  type RequestId,
  type RequestLimits,
  type Response,
} from './protocol.js';
import { WarmState } from './warm.js';

/** Limits and sizes of a {@link ScoreServer}. */
export interface ServerOptions extends Partial<RequestLimits> {
  /** Scoring requests waiting behind the running one; more get `E_BUSY` (default 64). */
  readonly maxQueue?: number;
  /** Bytes of one request (a stdio line or an HTTP body; default 64 MiB). */
  readonly maxRequestBytes?: number;
  /**
   * Architectures that queued `score` requests with equal settings may pool into one backend call (default 256;
   * 1 turns pooling off).
   */
  readonly coalesce?: number;
  readonly warm?: WarmState;
}

export const SERVER_DEFAULTS = Object.freeze({
  maxQueue: 64,
  maxRequestBytes: 64 * 1024 * 1024,
  maxArchs: 10_000,
  maxModelBytes: 48 * 1024 * 1024,
  coalesce: 256,
});

type ScoringRequest = Extract<Request, { method: 'score' | 'score_onnx' }>;

interface Job {
  readonly req: ScoringRequest;
  readonly key: string;
  /** Equal for `score` requests that may share a backend call (their settings); undefined otherwise. */
  readonly pool: string | undefined;
  readonly ac: AbortController;
  readonly done: (r: Response) => void;
}

const MAX_MESSAGE = 400;

/** A coded error body from anything thrown (internal errors keep their message, never a stack). */
export function errorBody(e: unknown): ErrorBody {
  const code =
    isSwapError(e) || (e instanceof Error && /^E_[A-Z_]+$/.test(String((e as { code?: unknown }).code)))
      ? String((e as unknown as { code: string }).code)
      : 'E_INTERNAL';
  const msg = e instanceof Error ? e.message : String(e);
  return { code, message: msg.length > MAX_MESSAGE ? `${msg.slice(0, MAX_MESSAGE - 3)}...` : msg };
}

/**
 * A warm scoring server, independent of its transport: requests are validated, cheap ones answered at once,
 * scoring requests queued (bounded: a full queue answers `E_BUSY`) and run one at a time on the kept backends.
 * Requests can be cancelled by id; {@link ScoreServer.close} refuses new work, lets queued and running requests
 * finish, then releases the backends.
 */
export class ScoreServer {
  readonly limits: RequestLimits & { maxQueue: number; maxRequestBytes: number };
  readonly warm: WarmState;
  private readonly queue: Job[] = [];
  private readonly active = new Map<string, Job>();
  private running: Job[] | undefined;
  private readonly coalesce: number;
  private closing = false;
  private served = 0;
  private pooled = 0;
  private readonly started = Date.now();
  private idle: (() => void)[] = [];

  constructor(opts: ServerOptions = {}) {
    this.limits = {
      maxQueue: opts.maxQueue ?? SERVER_DEFAULTS.maxQueue,
      maxRequestBytes: opts.maxRequestBytes ?? SERVER_DEFAULTS.maxRequestBytes,
      maxArchs: opts.maxArchs ?? SERVER_DEFAULTS.maxArchs,
      maxModelBytes: opts.maxModelBytes ?? SERVER_DEFAULTS.maxModelBytes,
    };
    this.warm = opts.warm ?? new WarmState();
    this.coalesce = opts.coalesce ?? SERVER_DEFAULTS.coalesce;
  }

  /** Answer one request given as JSON text (a stdio line). */
  handleText(text: string): Promise<Response> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
      return Promise.resolve({
        id: null,
        error: { code: 'E_REQUEST', message: `not a JSON request: ${JSON.stringify(shown)}` },
      });
    }
    return this.handle(raw);
  }

  /**
   * Answer one request given as a parsed JSON value. Never rejects. `signal` (e.g. the HTTP client went away)
   * cancels the request like a `cancel` by id.
   */
  async handle(raw: unknown, signal?: AbortSignal): Promise<Response> {
    let req: Request;
    try {
      req = parseRequest(raw, this.limits);
    } catch (e) {
      return { id: salvageId(raw), error: errorBody(e) };
    }
    try {
      switch (req.method) {
        case 'health':
          return { id: req.id, result: this.health() };
        case 'proxies':
          return { id: req.id, result: listProxies() };
        case 'backends':
          return { id: req.id, result: await listBackends(this.warm) };
        case 'cancel':
          return { id: req.id, result: { cancelled: this.cancel(req.target) } };
        default:
          return await this.enqueue(req, signal);
      }
    } catch (e) {
      return { id: req.id, error: errorBody(e) };
    }
  }

  /**
   * State for `health`: queue length, the running requests, requests served, and requests pooled into the
   * backend call of an earlier one.
   */
  health(): Record<string, unknown> {
    return {
      status: this.closing ? 'closing' : 'ok',
      queued: this.queue.length,
      running: this.running?.length ?? 0,
      served: this.served,
      pooled: this.pooled,
      maxQueue: this.limits.maxQueue,
      uptimeSec: Math.round((Date.now() - this.started) / 100) / 10,
      pid: process.pid,
    };
  }

  /** Cancel a queued or running request by id; false when no such request is active. */
  cancel(id: RequestId): boolean {
    const job = this.active.get(JSON.stringify(id));
    if (!job) return false;
    this.cancelJob(job);
    return true;
  }

  private cancelJob(job: Job): void {
    job.ac.abort();
    const i = this.queue.indexOf(job);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.finish(job, { id: job.req.id, error: { code: 'E_CANCELLED', message: 'request cancelled' } });
    }
  }

  private enqueue(req: ScoringRequest, signal?: AbortSignal): Promise<Response> {
    if (this.closing) throw new SwapError('E_SHUTTING_DOWN', 'the server is shutting down');
    const key = JSON.stringify(req.id);
    if (req.id !== null && this.active.has(key))
      throw new SwapError('E_REQUEST', `request id ${key.slice(0, 80)} is already queued or running`);
    if (this.queue.length >= this.limits.maxQueue)
      throw new SwapError('E_BUSY', `queue full (${this.limits.maxQueue} waiting); retry later`);
    return new Promise<Response>((done) => {
      // a proxies request runs alone (its rows are the proxy runner's, not a pooled SWAP pass)
      const pool =
        req.method === 'score' && req.settings['proxies'] === undefined ? canonicalJson(req.settings) : undefined;
      const job: Job = { req, key, pool, ac: new AbortController(), done };
      if (req.id !== null) this.active.set(key, job);
      this.queue.push(job);
      signal?.addEventListener('abort', () => this.cancelJob(job), { once: true });
      this.pump();
    });
  }

  private finish(job: Job, r: Response): void {
    if (this.active.get(job.key) === job) this.active.delete(job.key);
    this.served++;
    job.done(r);
  }

  private pump(): void {
    if (this.running) return;
    const job = this.queue.shift();
    if (!job) {
      for (const f of this.idle.splice(0)) f();
      return;
    }
    const group = [job, ...this.takeAlike(job)];
    this.pooled += group.length - 1;
    this.running = group;
    void this.run(group).then((rs) => {
      this.running = undefined;
      group.forEach((j, k) => this.finish(j, rs[k]!));
      this.pump();
    });
  }

  /** Queued `score` requests with the settings of `job`, up to {@link ServerOptions.coalesce} architectures in all. */
  private takeAlike(job: Job): Job[] {
    if (job.pool === undefined || job.req.method !== 'score') return [];
    let archs = job.req.archs.length;
    const alike: Job[] = [];
    for (let i = 0; i < this.queue.length; ) {
      const q = this.queue[i]!;
      if (q.pool === job.pool && q.req.method === 'score' && archs + q.req.archs.length <= this.coalesce) {
        archs += q.req.archs.length;
        alike.push(q);
        this.queue.splice(i, 1);
      } else i++;
    }
    return alike;
  }

  private async run(group: readonly Job[]): Promise<Response[]> {
    const first = group[0]!.req;
    if (first.method === 'score_onnx' || first.settings['proxies'] !== undefined)
      return [await this.runAlone(group[0]!, first)];
    const items = group.map((j) => ({
      archs: (j.req as Extract<ScoringRequest, { method: 'score' }>).archs,
      settings: j.req.settings,
      signal: j.ac.signal,
    }));
    const outs = await scoreCoalesced(items, this.warm);
    return group.map((j, k) => {
      const o = outs[k]!;
      if (j.ac.signal.aborted) return { id: j.req.id, error: { code: 'E_CANCELLED', message: 'request cancelled' } };
      return 'error' in o ? { id: j.req.id, error: errorBody(o.error) } : { id: j.req.id, result: o };
    });
  }

  /** A request that is not pooled: an ONNX model, or architectures with `proxies`. */
  private async runAlone(job: Job, req: ScoringRequest): Promise<Response> {
    const { ac } = job;
    try {
      const result =
        req.method === 'score_onnx'
          ? await scoreOnnx(req.model, req.settings, this.warm, ac.signal)
          : await scoreArchProxies(req.archs, req.settings, this.warm, ac.signal);
      if (ac.signal.aborted) throw new SwapError('E_CANCELLED', 'request cancelled');
      return { id: req.id, result };
    } catch (e) {
      if (ac.signal.aborted) return { id: req.id, error: { code: 'E_CANCELLED', message: 'request cancelled' } };
      return { id: req.id, error: errorBody(e) };
    }
  }

  /** True once {@link beginShutdown} (or close) was called. */
  get shuttingDown(): boolean {
    return this.closing;
  }

  /** Refuse new scoring requests from now on (`E_SHUTTING_DOWN`); queued and running ones still finish. */
  beginShutdown(): void {
    this.closing = true;
  }

  /** Resolves when nothing is queued or running. */
  drained(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Graceful close: refuse new work, finish what was accepted, release the backends. */
  async close(): Promise<void> {
    this.beginShutdown();
    await this.drained();
    await this.warm.close();
  }
}
