/**
 * Where `score --proxies` rows go as they are computed. With `--output FILE` (a regular file) every row is appended
 * to the checkpoint `FILE.partial.jsonl` (one jsonl line with the run's settings, written before the next row is
 * scored), and only a finished run turns it into FILE: renamed into place for jsonl, rendered as json or csv and
 * written atomically otherwise. A killed run leaves its checkpoint; `--resume` continues from it (or from a finished
 * jsonl FILE) and refuses one made with other settings, or a finished json or csv FILE, which it cannot read back
 * (`E_JOURNAL`). Without `--output`, jsonl and csv rows stream to stdout and a json document is printed at the end.
 */
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppendFile, writeFileAtomic } from '../io/atomic.js';
import { outputTarget } from '../io/output-path.js';
import type { ProxyName } from '../proxies/registry.js';
import { SwapError } from '../util/errors.js';
import { clip } from '../util/quote.js';
import {
  checkProxyFormat,
  formatProxyRows,
  proxyCsvHeader,
  proxyCsvLine,
  proxyJsonLine,
  truthColumns,
} from './proxies.js';
import {
  checkResumeSettings,
  notDone,
  type OutputFlags,
  readResumeState,
  settingsSidecar,
  writeText,
} from './score-output.js';

/** The checkpoint of a `score --proxies --output FILE` run: FILE.partial.jsonl. */
export function proxyCheckpoint(output: string): string {
  return `${output}.partial.jsonl`;
}

/**
 * Open the checkpoint of `output` for appending: truncated for a fresh run; with `resume`, read back (a cut last
 * line dropped) and checked against `settings` and against `ids`, the run's architectures (`notDone`), before
 * anything is written. Returns the file and the architectures it already holds.
 */
function openCheckpoint(
  output: string,
  resume: boolean,
  settings: Record<string, unknown>,
  ids: readonly string[],
): { file: AppendFile; done: ReadonlyMap<string, number> } {
  const part = proxyCheckpoint(output);
  if (!resume) {
    if (existsSync(part) && statSync(part).size > 0)
      process.stderr.write(
        `swapnas: note: starting over; ${clip(part)} (an interrupted run's rows) is replaced (--resume continues it)\n`,
      );
    return { file: AppendFile.open(part, true), done: new Map() };
  }
  // a finished jsonl output is a checkpoint that was renamed into place: checked, then continued from a copy of it
  const finished = !existsSync(part) && existsSync(output) && statSync(output).size > 0;
  if (finished && !looksJsonl(output))
    throw new SwapError(
      'E_JOURNAL',
      `${clip(output)} is a finished output that --resume cannot continue: only a checkpoint (${clip(part)}) or a finished --format jsonl output can be; rerun without --resume to score everything again, or write a new file`,
    );
  const from = finished ? output : part;
  const state = readResumeState({ format: 'jsonl', output: from, resume: true }, '');
  checkResumeSettings(state, settings, from);
  // refused here, before a finished output is copied to a checkpoint that a refusal would leave behind
  notDone(ids, (id) => id, state.done);
  if (finished) copyFileSync(output, part);
  return { file: AppendFile.open(part), done: state.done };
}

/** Whether a finished output's first line is a jsonl proxy row (an object with an `arch`). */
function looksJsonl(output: string): boolean {
  const first = readFileSync(output, 'utf8').split('\n', 1)[0] ?? '';
  try {
    const row = JSON.parse(first) as unknown;
    return typeof row === 'object' && row !== null && typeof (row as { arch?: unknown }).arch === 'string';
  } catch {
    return false;
  }
}

/** Rows of a checkpoint, without their settings, in file order. */
function checkpointRows(part: string): Record<string, unknown>[] {
  return readFileSync(part, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const { settings: _s, ...row } = JSON.parse(l) as Record<string, unknown>;
      return row;
    });
}

/** The rows of a `score --proxies` run on their way to stdout, a device, or a checkpointed `--output` file. */
export class ProxyOutput {
  private readonly held: Record<string, unknown>[] = [];
  private wroteHeader = false;

  private constructor(
    private readonly f: OutputFlags,
    private readonly names: readonly ProxyName[],
    private readonly settings: Record<string, unknown>,
    private readonly file: AppendFile | undefined,
    private readonly checkpoint: string | undefined,
    /** Rows per architecture the resumed checkpoint already holds (skip that many: `notDone`, score-output.ts). */
    readonly done: ReadonlyMap<string, number>,
  ) {}

  /**
   * Open the output of a run with `settings` over the architectures `ids` (both checked against a resumed
   * checkpoint before any work). `--resume` needs `--output` naming a regular file.
   */
  static open(
    f: OutputFlags,
    names: readonly ProxyName[],
    settings: Record<string, unknown>,
    ids: readonly string[],
  ): ProxyOutput {
    checkProxyFormat(f.format);
    const out = f.output;
    if (f.resume && (out === undefined || outputTarget(out).inPlace))
      throw new SwapError('E_OPTION', '--resume needs --output naming a regular file (its checkpoint is resumed)');
    if (out === undefined) return new ProxyOutput(f, names, settings, undefined, undefined, new Map());
    if (outputTarget(out).inPlace)
      return new ProxyOutput(f, names, settings, AppendFile.open(out), undefined, new Map());
    const { file, done } = openCheckpoint(out, f.resume === true, settings, ids);
    return new ProxyOutput(f, names, settings, file, proxyCheckpoint(out), done);
  }

  /** Record one row: appended to the checkpoint, or streamed (jsonl, csv) or held (json) without one. */
  async row(row: Record<string, unknown>): Promise<void> {
    if (this.checkpoint) return this.file!.write(proxyJsonLine(row, this.settings));
    if (this.f.format === 'json') {
      this.held.push(row);
      return;
    }
    if (this.f.format === 'jsonl') return writeText(this.file, proxyJsonLine(row, this.settings));
    await this.csvHeader();
    return writeText(this.file, proxyCsvLine(row, this.names, 'arch', truthColumns(this.settings)));
  }

  /** Complete the output once every row is in: rename or render the checkpoint, or print what was held. */
  async finish(): Promise<void> {
    if (!this.checkpoint) {
      if (this.f.format === 'json')
        await writeText(this.file, formatProxyRows(this.held, this.names, this.settings, 'json', 'arch'));
      else if (this.f.format === 'csv') await this.csvHeader();
      return;
    }
    const out = this.f.output!;
    this.file!.write('', true);
    this.file!.close();
    const sidecar = settingsSidecar(this.f);
    if (sidecar) writeFileAtomic(sidecar, `${JSON.stringify(this.settings, null, 1)}\n`);
    if (this.f.format === 'jsonl') renameInto(this.checkpoint, out);
    else {
      const rows = checkpointRows(this.checkpoint);
      writeFileAtomic(out, formatProxyRows(rows, this.names, this.settings, this.f.format, 'arch'));
      rmSync(this.checkpoint, { force: true });
    }
  }

  /** Release the open file (idempotent; a checkpoint not yet finished stays on disk for `--resume`). */
  close(): void {
    this.file?.close();
  }

  private async csvHeader(): Promise<void> {
    if (this.wroteHeader) return;
    this.wroteHeader = true;
    await writeText(this.file, proxyCsvHeader(this.names, 'arch', truthColumns(this.settings)));
  }
}

/**
 * Rename a finished checkpoint over the output, or over its target when the output is a symbolic link (a target in
 * another folder, perhaps on another disk, gets a copy written atomically); coded `E_OUTPUT` on failure, and the
 * checkpoint stays.
 */
function renameInto(part: string, out: string): void {
  const to = outputTarget(out).path;
  if (dirname(resolve(to)) !== dirname(resolve(part))) {
    writeFileAtomic(out, readFileSync(part));
    rmSync(part, { force: true });
    return;
  }
  try {
    renameSync(part, to);
  } catch (e) {
    throw new SwapError('E_OUTPUT', `cannot move ${clip(part)} to ${clip(out)}: ${(e as Error).message}`, { cause: e });
  }
}
