import { existsSync, readFileSync } from 'node:fs';
import type { NetworkScore } from '../score/swap.js';
import { AppendFile, readCompleteLines, writeFileAtomic } from '../io/atomic.js';
import { outputTarget } from '../io/output-path.js';
import { SwapError } from '../util/errors.js';
import { quote } from '../util/quote.js';
import { csvField, firstCsvField } from './csv.js';

/** Columns of `score --format csv` with `--fitness reg-swap`, before the truth columns (see {@link csvHeader}). */
export const CSV_HEAD = 'arch,swap,reg_swap,params,reg_factor,recorded,per_repeat';

/**
 * One row of `score` output (also what `swapnas serve` answers): the architecture, the ensemble's fitness and member
 * values when the fitness is an ensemble, the SWAP pass's scores, and the benchmark's accuracies with `--truth`.
 */
export function scoreRow(
  arch: string,
  s: NetworkScore,
  ensemble: { readonly fitness: number; readonly values: Readonly<Record<string, number | null>> } | undefined,
  truth: Record<string, number | null> | undefined,
): ScoreRow {
  return {
    arch,
    ...(ensemble ? { ensemble: { fitness: ensemble.fitness, members: ensemble.values } } : {}),
    ...s,
    ...(truth ? { truth } : {}),
  };
}

/** What `score --output` and `--format` say about where rows go. */
export interface OutputFlags {
  format: string;
  output?: string;
  resume?: boolean;
}

/**
 * What an existing output holds for `--resume`: how many rows each scored architecture has (an architecture listed
 * twice is scored twice) and the settings they were scored with.
 */
export interface ResumeState {
  readonly done: Map<string, number>;
  readonly sawHeader: boolean;
  readonly rowSettings: Record<string, unknown>[];
  readonly csvSettings: string[];
}

/** JSON with object keys sorted at every level (undefined members dropped, as JSON.stringify does). */
function sortedJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );
}

/**
 * The side file of a csv output that holds its settings (csv rows carry none); none for an output written in place
 * (/dev/stdout, a pipe: no file sits beside it).
 */
export function settingsSidecar(f: OutputFlags): string | undefined {
  return f.output && f.format === 'csv' && !outputTarget(f.output).inPlace ? `${f.output}.settings.json` : undefined;
}

/**
 * Read back what `--resume` skips: the architectures already in the output (a partial last line, left by a killed
 * process, is cut off and re-scored) and the settings of its rows.
 */
export function readResumeState(f: OutputFlags, csvHead: string): ResumeState {
  const state: ResumeState = { done: new Map(), sawHeader: false, rowSettings: [], csvSettings: [] };
  if (!f.resume) return state;
  if (!f.output || f.format === 'json')
    throw new SwapError('E_OPTION', '--resume needs --output with --format jsonl or csv');
  const sidecar = settingsSidecar(f);
  if (sidecar && existsSync(sidecar)) state.csvSettings.push(readFileSync(sidecar, 'utf8'));
  if (!existsSync(f.output)) return state;
  const text = readCompleteLines(f.output);
  if (f.format === 'csv') checkCsvHead(text, csvHead, f.output);
  let sawHeader = false;
  const add = (arch: string) => state.done.set(arch, (state.done.get(arch) ?? 0) + 1);
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (f.format === 'jsonl') {
      const row = parseRow(line, f.output);
      state.rowSettings.push(row.settings ?? {});
      add(row.arch);
    } else if (line === csvHead) sawHeader = true;
    else add(firstCsvField(line));
  }
  return { ...state, sawHeader };
}

/**
 * The items a resumed run still scores: for each architecture, those beyond the rows the output already holds for
 * it (rows are written in item order, so the first ones are the scored ones; a duplicate is not skipped twice).
 * Rows of architectures the run does not list are `E_JOURNAL` (the output of another request).
 */
export function notDone<T>(items: readonly T[], id: (item: T) => string, done: ReadonlyMap<string, number>): T[] {
  const left = new Map(done);
  const todo = items.filter((it) => {
    const k = id(it);
    const n = left.get(k) ?? 0;
    if (n > 0) left.set(k, n - 1);
    return n === 0;
  });
  // rows of architectures this request does not list would end up in its result: another run's file
  const extra = [...left].filter(([, n]) => n > 0);
  if (extra.length > 0)
    throw new SwapError(
      'E_JOURNAL',
      `the output being resumed holds ${extra.reduce((a, [, n]) => a + n, 0)} row(s) of architectures this run does not list (first: ${quote(extra[0]![0].slice(0, 80))}); --resume continues the same list: rerun without --resume, or write a new file`,
    );
  return todo;
}

/**
 * A csv output is resumed only when its first line is this run's header: rows of another format (a jsonl or json
 * output), or of other columns, would otherwise be read as architectures and appended to.
 */
function checkCsvHead(text: string, csvHead: string, file: string): void {
  const first = text.split('\n', 1)[0] ?? '';
  if (first.trim() === '' || first === csvHead) return;
  throw new SwapError(
    'E_JOURNAL',
    `${file}: first line ${quote(first.slice(0, 60))} is not this run's csv header; --resume continues a csv output written with the same options (or a jsonl one with --format jsonl); write a new file`,
  );
}

function parseRow(line: string, file: string): { arch: string; settings?: Record<string, unknown> } {
  try {
    return JSON.parse(line) as { arch: string; settings?: Record<string, unknown> };
  } catch {
    throw new SwapError(
      'E_JOURNAL',
      `${file}: line ${quote(line.slice(0, 60))} is not a result row; refusing to resume into a corrupt file`,
    );
  }
}

/** Refuse to resume into an output scored with other settings (key order and the backend that ran do not count). */
export function checkResumeSettings(state: ResumeState, settings: Record<string, unknown>, output?: string): void {
  const comparable = (x: Record<string, unknown>) =>
    sortedJson({ ...x, backend: undefined, skippedBackends: undefined });
  const mine = comparable(settings);
  if (
    state.rowSettings.some((r) => comparable(r) !== mine) ||
    state.csvSettings.some((c) => comparable(JSON.parse(c) as Record<string, unknown>) !== mine)
  )
    throw new SwapError(
      'E_JOURNAL',
      `${output} holds results scored with other settings; resume with the same options or write a new file`,
    );
}

/** An ensemble fitness on a `score` row (the default; not with `--fitness reg-swap`): the fitness and each member's value. */
export interface RowEnsemble {
  readonly fitness: number;
  readonly members: Readonly<Record<string, number | null>>;
}

/**
 * One row of `score` output: the architecture, its ensemble fitness (the headline, unless `--fitness reg-swap`),
 * its SWAP scores and (with `--truth`) its benchmark accuracies.
 */
export type ScoreRow = { arch: string; ensemble?: RowEnsemble; truth?: Record<string, number | null> } & NetworkScore;

/** The csv columns of an ensemble (its fitness, then its members), empty without one. */
export function ensembleColumns(members: readonly string[] | undefined): string {
  return members ? `,ensemble${members.map((m) => `,ensemble_${m.replace(/-/g, '_')}`).join('')}` : '';
}

/** The csv header before the truth columns: `arch`, the ensemble's columns first (the headline), then SWAP's. */
export function csvHeader(members: readonly string[] | undefined): string {
  return `arch${ensembleColumns(members)}${CSV_HEAD.slice('arch'.length)}`;
}

/**
 * Where `score` rows go: jsonl/csv rows are appended as they finish (to `--output`, resumable, or stdout); a json
 * document is written whole at the end (atomically to `--output`).
 */
export class ScoreSink {
  private readonly file: AppendFile | undefined;
  private readonly rows: ScoreRow[] = [];

  constructor(
    private readonly f: OutputFlags,
    private readonly settings: Record<string, unknown>,
    private readonly truthCols: readonly string[],
    private readonly ensembleMembers?: readonly string[],
  ) {
    this.file = f.output && f.format !== 'json' ? AppendFile.open(f.output, !f.resume) : undefined;
  }

  /** Write the csv header (unless the resumed file has it) and the settings side file. */
  async begin(csvHead: string, sawHeader: boolean): Promise<void> {
    if (this.f.format === 'csv' && !sawHeader) await this.write(`${csvHead}\n`);
    const sidecar = settingsSidecar(this.f);
    if (sidecar) writeFileAtomic(sidecar, `${JSON.stringify(this.settings, null, 1)}\n`);
  }

  async row(row: ScoreRow): Promise<void> {
    if (this.f.format === 'json') this.rows.push(row);
    else if (this.f.format === 'jsonl') await this.write(`${JSON.stringify({ ...row, settings: this.settings })}\n`);
    else {
      const t = row.truth;
      const truth = this.truthCols.map((c) => `,${t?.[c] ?? ''}`).join('');
      const e = row.ensemble;
      const ens = this.ensembleMembers
        ? `,${e?.fitness ?? ''}${this.ensembleMembers.map((m) => `,${e?.members[m] ?? ''}`).join('')}`
        : '';
      await this.write(
        `${csvField(row.arch)}${ens},${row.swap},${row.regSwap},${row.params},${row.regFactor},${row.recorded},${row.perRepeat.join(' ')}${truth}\n`,
      );
    }
  }

  /** The json document (settings, warnings when any, results), written once every row is in. */
  async end(warnings: readonly string[]): Promise<void> {
    if (this.f.format !== 'json') return;
    const body =
      warnings.length > 0
        ? { settings: this.settings, warnings, results: this.rows }
        : { settings: this.settings, results: this.rows };
    const text = `${JSON.stringify(body, null, 2)}\n`;
    if (this.f.output) writeFileAtomic(this.f.output, text);
    else await this.write(text);
  }

  close(): void {
    this.file?.close();
  }

  private write(s: string): Promise<void> {
    return writeText(this.file, s);
  }
}

/** Append text to `file`, or write it to stdout (resolved once stdout has taken it) without one. */
export function writeText(file: AppendFile | undefined, s: string): Promise<void> {
  return file
    ? Promise.resolve(file.write(s))
    : new Promise<void>((res, rej) => process.stdout.write(s, (e) => (e ? rej(e) : res())));
}
