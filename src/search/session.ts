import { existsSync, statSync } from 'node:fs';
import type { BenchmarkTable } from '../tables/types.js';
import type { SearchSpace } from '../spaces/types.js';
import { SwapError, isSwapError } from '../util/errors.js';
import {
  JournalWriter,
  readJournal,
  type BestRecord,
  type JournalContents,
  type JournalHeader,
  type ProxyRecord,
  type QueryRecord,
} from './journal.js';
import { type FileLock, lockOutput } from '../io/lock.js';
import type { CachedProxy } from './proxy.js';
import type { Evaluation, Evaluator, ProxyScore } from './types.js';

/** One point of the best-so-far trajectory. */
export interface TrajectoryPoint {
  /** Search wall time in seconds (summed over resumed sessions). */
  readonly t: number;
  /** Networks scored by the proxy so far (distinct isomorphism classes). */
  readonly scored: number;
  /** Ground-truth queries spent so far. */
  readonly queries: number;
  readonly arch: string;
  /** What the strategy ranks by: reg-SWAP (swap-nas) or evaluated accuracy. */
  readonly signal: number;
  /** Table test / validation accuracy of `arch` (reporting only; not a query). */
  readonly test: number | null;
  readonly valid: number | null;
}

/** The proxy score a journal record holds (its member values too, where the fitness has members). */
function proxyScoreOf(r: ProxyRecord): ProxyScore {
  const s = { fitness: r.fitness, swap: r.swap, params: r.params };
  return r.values ? { ...s, values: r.values } : s;
}

/**
 * The journaled, replayable side of one search session: the wall clock summed over sessions, the journal file,
 * counted ground-truth queries (served from the journal on resume, in order), the proxy records and the
 * best-so-far trajectory.
 */
export class SearchSession<G> {
  /** Ground-truth queries made (replayed + run), failed ones included. */
  queries = 0;
  failedQueries = 0;
  queriesRun = 0;
  queriesReplayed = 0;
  readonly trajectory: TrajectoryPoint[] = [];
  /** The journal read back on resume (undefined: a fresh search). */
  contents: JournalContents | undefined;
  private writer: JournalWriter | undefined;
  private lock: FileLock | undefined;
  private baseT = 0; // wall time (ms) already spent by the journal's earlier sessions
  private readonly replayQueries: QueryRecord[] = [];
  /** Architecture → the query count after its (latest) query. */
  private readonly queriedAt = new Map<string, number>();
  private readonly replayBest: BestRecord[] = [];
  private bestIdx = 0;
  private replayingBest = true;

  constructor(
    private readonly space: SearchSpace<G, object>,
    private readonly dataset: string,
    private readonly opts: { journal?: string; resume?: boolean; signal?: AbortSignal; table?: BenchmarkTable },
    private readonly sessionStart: number,
  ) {}

  /** Search wall time in ms, summed over the journal's sessions. */
  clock(): number {
    return this.baseT + (performance.now() - this.sessionStart);
  }

  /** Wall time of this process's session, in seconds. */
  sessionSeconds(): number {
    return (performance.now() - this.sessionStart) / 1000;
  }

  /** A proxy score was computed: journal it. */
  recordProxy(g: G, key: string, s: ProxyScore): void {
    this.writer?.write({ type: 'proxy', t: this.clock(), key, arch: this.space.format(g), ...s });
  }

  /**
   * Open the journal once the header is known: on resume read it back (replaying proxy scores into `cached`),
   * else refuse to overwrite a non-empty file and start a new one.
   */
  open(header: JournalHeader, cached: CachedProxy<G> | undefined): void {
    const path = this.opts.journal;
    if (!path) return;
    // One writer per journal: the lock is taken before reading it back and held until the search ends.
    this.lock = lockOutput(path, 'search journal');
    try {
      this.openLocked(path, header, cached);
    } catch (e) {
      this.lock.release();
      this.lock = undefined;
      throw e;
    }
  }

  private openLocked(path: string, header: JournalHeader, cached: CachedProxy<G> | undefined): void {
    if (this.opts.resume) this.contents = readJournal(path, header);
    else if (existsSync(path) && statSync(path).size > 0)
      throw new SwapError(
        'E_JOURNAL',
        `journal ${path} already exists; pass --resume to continue that search, or remove the file`,
      );
    if (!this.contents) {
      this.writer = JournalWriter.create(path, header);
      return;
    }
    for (const r of this.contents.records) {
      this.baseT = Math.max(this.baseT, r.t);
      if (r.type === 'proxy') cached?.preload(r.key, proxyScoreOf(r));
      else if (r.type === 'query') this.replayQueries.push(r);
      else if (r.type === 'best') this.replayBest.push(r);
    }
    this.replayQueries.forEach((r, i) => {
      if (r.q !== i)
        throw new SwapError('E_JOURNAL', `journal ${path} is corrupt: query records out of order at query ${i}`);
    });
    this.writer = JournalWriter.append(path, this.contents);
  }

  /** The counted, journaled, replayable ground-truth query strategies see. */
  async query(g: G, evaluator: Evaluator<G>): Promise<Evaluation> {
    if (this.opts.signal?.aborted) throw new SwapError('E_CANCELLED', 'search cancelled');
    const q = this.queries;
    const replayed = this.replayed(g, q);
    return this.count(g, q, replayed ?? (await this.evaluate(g, q, evaluator)), replayed === undefined);
  }

  /**
   * Consecutive queries of `gs`: the same results, counts and journal records as {@link query} on each in turn. An
   * evaluator with `evaluateMany` (queue workers) gets the ones the journal does not replay at once.
   */
  async queryMany(gs: readonly G[], evaluator: Evaluator<G>): Promise<Evaluation[]> {
    if (!evaluator.evaluateMany || gs.length < 2) {
      const out: Evaluation[] = [];
      for (const g of gs) out.push(await this.query(g, evaluator));
      return out;
    }
    if (this.opts.signal?.aborted) throw new SwapError('E_CANCELLED', 'search cancelled');
    const first = this.queries;
    const replays = gs.map((g, k) => this.replayed(g, first + k));
    const fresh = gs.flatMap((_, k) => (replays[k] ? [] : [k]));
    const got = await this.evaluateMany(
      fresh.map((k) => gs[k]!),
      fresh.map((k) => first + k),
      evaluator,
    );
    return gs.map((g, k) => {
      const rep = replays[k];
      return this.count(g, first + k, rep ?? got[fresh.indexOf(k)]!, rep === undefined);
    });
  }

  /** The journal's result of query `q`, if it has one (it must be of the same architecture). */
  private replayed(g: G, q: number): Evaluation | undefined {
    const rep = this.replayQueries[q];
    if (!rep) return undefined;
    const arch = this.space.format(g);
    if (rep.arch !== arch)
      throw new SwapError(
        'E_JOURNAL',
        `journal ${this.opts.journal} diverges from this search at query ${q}: it evaluated ${rep.arch}, the search now asks for ${arch}`,
      );
    return rep.result;
  }

  /** Count query `q` (journaled when it ran in this session). */
  private count(g: G, q: number, result: Evaluation, ran: boolean): Evaluation {
    const arch = this.space.format(g);
    this.queriedAt.set(arch, q + 1);
    if (ran) {
      this.queriesRun++;
      this.writer?.write({ type: 'query', t: this.clock(), q, key: this.space.canonicalKey(g), arch, result });
    } else this.queriesReplayed++;
    this.queries++;
    if (!result.ok) this.failedQueries++;
    return result;
  }

  private async evaluate(g: G, index: number, evaluator: Evaluator<G>): Promise<Evaluation> {
    try {
      return await evaluator.evaluate(g, { index, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
    } catch (e) {
      if (isSwapError(e) && e.code === 'E_CANCELLED') throw e;
      return { ok: false, error: `evaluator threw: ${(e as Error).message ?? String(e)}` };
    }
  }

  private async evaluateMany(gs: readonly G[], indices: readonly number[], evaluator: Evaluator<G>) {
    if (gs.length === 0) return [];
    const signal = this.opts.signal ? { signal: this.opts.signal } : {};
    try {
      return await evaluator.evaluateMany!(
        gs,
        indices.map((index) => ({ index, ...signal })),
      );
    } catch (e) {
      if (isSwapError(e) && e.code === 'E_CANCELLED') throw e;
      const error = `evaluator threw: ${(e as Error).message ?? String(e)}`;
      return gs.map((): Evaluation => ({ ok: false, error }));
    }
  }

  /** The strategy's answer changed: a trajectory point (its time replayed from the journal while it agrees). */
  incumbent(g: G, signal: number, scored: number): void {
    const arch = this.space.format(g);
    const rep = this.replayingBest ? this.replayBest[this.bestIdx] : undefined;
    let t: number;
    if (rep && rep.arch === arch) t = rep.t;
    else {
      this.replayingBest = false;
      t = this.clock();
      this.writer?.write({ type: 'best', t, arch, signal });
    }
    this.bestIdx++;
    const r = this.opts.table?.get(arch);
    const d = this.dataset;
    this.trajectory.push({
      t: t / 1000,
      scored,
      // The queries up to the one that evaluated it (queries asked together are all counted before it is taken).
      queries: this.queriedAt.get(arch) ?? this.queries,
      arch,
      signal,
      test: r?.truth[d] ?? null,
      valid: r ? (r.valid?.[d] ?? r.truth[d] ?? null) : null,
    });
  }

  /** After the strategy ran: check the journal was fully replayed, and record `done` unless nothing changed. */
  finish(chosenArch: string | null, proxyComputed: number): void {
    if (this.queries < this.replayQueries.length)
      throw new SwapError(
        'E_JOURNAL',
        `journal ${this.opts.journal} holds ${this.replayQueries.length} queries but this search made only ${this.queries}: it belongs to a different version of the search`,
      );
    const last = this.contents?.records[this.contents.records.length - 1];
    if (!(last?.type === 'done' && this.queriesRun === 0 && proxyComputed === 0))
      this.writer?.write({ type: 'done', t: this.clock(), arch: chosenArch });
  }

  close(): void {
    this.writer?.close();
    this.lock?.release();
    this.lock = undefined;
  }
}
