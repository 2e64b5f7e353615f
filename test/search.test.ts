import { existsSync, mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { gaussianBatch } from '../src/data/gaussian.js';
import { Nb201Table, type Nb201Dataset } from '../src/tables/nb201.js';
import { nb201Benchmark } from '../src/tables/nb201-benchmark.js';
import { runSearch, type SearchOptions, type SearchReport } from '../src/search/run.js';
import { formatSummary, renderPlotSvg } from '../src/search/report.js';
import { registerSearch } from '../src/cli/search.js';
import { pinRegSwap } from './pin-fitness.js';

// A tiny proxy keeps every search fast on the reference backend: 8×8 Gaussian inputs, C=4, one cell per stage,
// S=16, one repeat, explicit μ/σ (the data-free rule is exercised once, in the swap-nas CLI-free run below).
const inputs = gaussianBatch(16, 3, 8, 8, 0);
const TINY = { proxy: { channels: 4, cells: 1, batch: 16, repeats: 1 }, mu: 5, sigma: 50 } as const;
const SMALL_SWAP = { population: 8, cycles: 6, sampleSize: 3, mutations: 3 } as const;
const SMALL_PRE = { initial: 5, perGeneration: 3, parents: 2, offspring: 8, trees: 20 } as const;
// The evolved warm start at 2 cycles (38 networks): journals and resume cover it; the random pool is tested beside it.
const SMALL_HYBRID = { ...SMALL_PRE, warmStart: 3, warmStartCycles: 2 } as const;

let table: Nb201Table;
const dir = mkdtempSync(join(tmpdir(), 'swapnas-search-'));
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);

beforeAll(() => {
  table = Nb201Table.load();
});

// SEARCH_TEST_BACKEND=reference checks the suite without the native addon ('auto' uses the best available).
const testBackend = process.env['SEARCH_TEST_BACKEND'] as SearchOptions['backend'] | undefined;
// These tests are about the strategies, journals and reports, not the fitness: they pin the cheap reg-SWAP
// (the default ensemble is tested in test/ensemble-reference.test.ts and test/fitness-default.test.ts).
const search = (o: SearchOptions) =>
  runSearch(
    { fitness: 'reg-swap', ...(testBackend ? { backend: testBackend } : {}), ...o },
    { table: nb201Benchmark(table), inputs },
  );
const swapOpts = (seed: number, extra: Partial<SearchOptions> = {}): SearchOptions => ({
  strategy: 'swap-nas',
  seed,
  ...TINY,
  swapNas: SMALL_SWAP,
  ...extra,
});
const hybridOpts = (seed: number, extra: Partial<SearchOptions> = {}): SearchOptions => ({
  strategy: 'hybrid',
  seed,
  budget: 14,
  ...TINY,
  preNas: SMALL_HYBRID,
  ...extra,
});

function expectInTable(r: SearchReport) {
  expect(r.chosen).not.toBeNull();
  const rec = table.get(r.chosen!.arch);
  expect(rec).toBeDefined();
  expect(r.chosen!.test).toBe(rec!.test[r.dataset as Nb201Dataset]);
  expect(r.chosen!.valid).toBe(rec!.valid[r.dataset as Nb201Dataset]);
  expect(r.regret).toBeGreaterThanOrEqual(0);
  expect(r.trajectory.length).toBeGreaterThan(0);
  expect(r.trajectory[r.trajectory.length - 1]!.arch).toBe(r.chosen!.arch);
}

const journalLines = (p: string) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as { type: string; arch?: string; result?: { ok: boolean } });

/** Cut the journal in the middle of the line that starts at the given fraction of its records. */
function cutMidLine(p: string, fraction: number): { kept: ReturnType<typeof journalLines> } {
  const text = readFileSync(p, 'utf8');
  const lines = text.split('\n').filter((l) => l);
  const k = Math.max(2, Math.floor(lines.length * fraction));
  const bytes = Buffer.byteLength(lines.slice(0, k).join('\n')) + 1 + Math.floor(Buffer.byteLength(lines[k]!) / 2);
  truncateSync(p, bytes);
  return { kept: lines.slice(0, k).map((l) => JSON.parse(l)) };
}

describe('strategies end to end on NB201', () => {
  it('swap-nas: zero queries, every network scored once per isomorphism class, deterministic', async () => {
    const a = await search(swapOpts(3));
    expectInTable(a);
    expect(a.queries).toBe(0);
    expect(a.chosen!.signalName).toBe('reg-swap');
    expect(a.networksScored).toBeGreaterThan(8);
    expect(a.networksScored).toBeLessThanOrEqual(8 + 6 * 4);
    expect(a.proxy!.regulariser).toMatchObject({ mu: 5, sigma: 50, source: 'user' });
    const b = await search(swapOpts(3));
    expect(b.chosen).toEqual(a.chosen);
    expect(b.trajectory.map((p) => p.arch)).toEqual(a.trajectory.map((p) => p.arch));
    expect(b.networksScored).toBe(a.networksScored);
    const c = await search(swapOpts(4));
    expect(c.trajectory.map((p) => p.arch)).not.toEqual(a.trajectory.map((p) => p.arch));
  });

  it('swap-nas: data-free μ/σ by default, and --target-params gives μ = σ = K', async () => {
    const { mu: _m, sigma: _s, ...noReg } = TINY;
    const auto = await search({
      strategy: 'swap-nas',
      seed: 1,
      ...noReg,
      swapNas: { population: 4, cycles: 1, sampleSize: 2, mutations: 1 },
    });
    expect(auto.proxy!.regulariser!.source).toMatch(/data-free/);
    const tgt = await search({
      strategy: 'swap-nas',
      seed: 1,
      ...noReg,
      targetParams: 3,
      swapNas: { population: 4, cycles: 1, sampleSize: 2, mutations: 1 },
    });
    expect(tgt.proxy!.regulariser).toMatchObject({ mu: 3, sigma: 3 });
  });

  it('pre-nas: spends exactly the budget, deterministic, beats its initial sample', async () => {
    const a = await search({ strategy: 'pre-nas', seed: 5, budget: 30, preNas: SMALL_PRE });
    expectInTable(a);
    expect(a.queries).toBe(30);
    expect(a.networksScored).toBe(0);
    expect(a.chosen!.signalName).toBe('accuracy');
    expect(a.chosen!.signal).toBe(a.chosen!.valid);
    const b = await search({ strategy: 'pre-nas', seed: 5, budget: 30, preNas: SMALL_PRE });
    expect(b.trajectory).toHaveLength(a.trajectory.length);
    expect(b.trajectory.map((p) => [p.arch, p.queries])).toEqual(a.trajectory.map((p) => [p.arch, p.queries]));
    expect(a.trajectory[0]!.queries).toBeLessThanOrEqual(5);
  });

  it('pre-nas with the default budget of 100 finds a strong CIFAR-10 cell', async () => {
    const r = await search({ strategy: 'pre-nas', seed: 0 });
    expect(r.queries).toBe(100);
    expect(r.chosen!.test).toBeGreaterThan(93);
  });

  it('hybrid: uses the proxy and the budget, deterministic', async () => {
    const a = await search(hybridOpts(2));
    expectInTable(a);
    expect(a.queries).toBe(14);
    expect(a.networksScored).toBeGreaterThan(14);
    const b = await search(hybridOpts(2));
    expect(b.chosen).toEqual(a.chosen);
    expect(b.networksScored).toBe(a.networksScored);
  });

  it('random: the same budget, distinct architectures, deterministic', async () => {
    const a = await search({ strategy: 'random', seed: 9, budget: 25, dataset: 'imagenet16' });
    expectInTable(a);
    expect(a.queries).toBe(25);
    const b = await search({ strategy: 'random', seed: 9, budget: 25, dataset: 'imagenet16' });
    expect(b.chosen).toEqual(a.chosen);
  });

  it('report: summary and SVG plot', async () => {
    const r = await search({ strategy: 'random', seed: 1, budget: 10, dataset: 'cifar100' });
    expect(formatSummary(r)).toMatch(/queries spent:\s+10/);
    const svg = await renderPlotSvg(r);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ground-truth queries');
    expect(svg).toContain('wall time');
  });
});

describe('journal and resume', () => {
  it('swap-nas: resume after a cut mid-line reproduces the result without rescoring journaled networks', async () => {
    const p = tmp('swap.jsonl');
    const full = await search(swapOpts(7, { journal: p }));
    const all = journalLines(p);
    expect(all[0]!.type).toBe('header');
    const proxyTotal = all.filter((r) => r.type === 'proxy').length;
    expect(proxyTotal).toBe(full.networksScored);
    const { kept } = cutMidLine(p, 0.5);
    const keptProxy = kept.filter((r) => r.type === 'proxy').length;
    expect(keptProxy).toBeGreaterThan(0);
    expect(keptProxy).toBeLessThan(proxyTotal);
    const resumed = await search(swapOpts(7, { journal: p, resume: true }));
    expect(resumed.resumed).toBe(true);
    expect(resumed.chosen).toEqual(full.chosen);
    expect(resumed.trajectory.map((t) => t.arch)).toEqual(full.trajectory.map((t) => t.arch));
    expect(resumed.session.proxyReplayed).toBe(keptProxy);
    expect(resumed.session.proxyComputed).toBe(proxyTotal - keptProxy);
    expect(resumed.networksScored).toBe(full.networksScored);
    // Every class is journaled exactly once across the two sessions.
    const after = journalLines(p).filter((r) => r.type === 'proxy');
    expect(after).toHaveLength(proxyTotal);
    // Resuming a finished search replays everything and computes nothing.
    const again = await search(swapOpts(7, { journal: p, resume: true }));
    expect(again.session.proxyComputed).toBe(0);
    expect(again.chosen).toEqual(full.chosen);
  });

  it('pre-nas: resume after an interruption and after a cut line repeats no query', async () => {
    const ref = await search({ strategy: 'pre-nas', seed: 11, budget: 20, preNas: SMALL_PRE });
    const p = tmp('pre.jsonl');
    const ac = new AbortController();
    await expect(
      search({
        strategy: 'pre-nas',
        seed: 11,
        budget: 20,
        preNas: SMALL_PRE,
        journal: p,
        signal: ac.signal,
        onProgress: (d) => d >= 12 && ac.abort(),
      }),
    ).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const firstQueries = journalLines(p).filter((r) => r.type === 'query').length;
    expect(firstQueries).toBe(12);
    const { kept } = cutMidLine(p, 0.6);
    const keptQueries = kept.filter((r) => r.type === 'query').length;
    const r = await search({ strategy: 'pre-nas', seed: 11, budget: 20, preNas: SMALL_PRE, journal: p, resume: true });
    expect(r.session.queriesReplayed).toBe(keptQueries);
    expect(r.session.queriesRun).toBe(20 - keptQueries);
    expect(r.queries).toBe(20);
    expect(r.chosen).toEqual(ref.chosen);
    const qs = journalLines(p).filter((x) => x.type === 'query');
    expect(qs).toHaveLength(20);
    expect(new Set(qs.map((q) => q.arch)).size).toBe(20);
  });

  it('hybrid: resume replays both proxy scores and queries', async () => {
    const p = tmp('hybrid.jsonl');
    const full = await search(hybridOpts(4, { journal: p }));
    const { kept } = cutMidLine(p, 0.7);
    const r = await search(hybridOpts(4, { journal: p, resume: true }));
    expect(r.chosen).toEqual(full.chosen);
    expect(r.session.queriesReplayed).toBe(kept.filter((x) => x.type === 'query').length);
    expect(r.session.proxyReplayed).toBe(kept.filter((x) => x.type === 'proxy').length);
    expect(r.session.proxyReplayed + r.session.proxyComputed).toBe(full.networksScored);
  });

  it('rejects a foreign, corrupt or existing journal with E_JOURNAL', async () => {
    const p = tmp('foreign.jsonl');
    await search({ strategy: 'random', seed: 1, budget: 5, journal: p });
    const code = { code: 'E_JOURNAL' };
    await expect(search({ strategy: 'random', seed: 2, budget: 5, journal: p, resume: true })).rejects.toMatchObject(
      code,
    );
    await expect(search({ strategy: 'random', seed: 1, budget: 6, journal: p, resume: true })).rejects.toMatchObject(
      code,
    );
    await expect(search({ strategy: 'pre-nas', seed: 1, budget: 10, journal: p, resume: true })).rejects.toMatchObject(
      code,
    );
    await expect(
      search({ strategy: 'random', seed: 1, budget: 5, dataset: 'cifar100', journal: p, resume: true }),
    ).rejects.toMatchObject(code);
    await expect(search({ strategy: 'random', seed: 1, budget: 5, journal: p })).rejects.toMatchObject(code);
    const lines = readFileSync(p, 'utf8').split('\n');
    lines[2] = '{"type":"query","seq":2,"t":1,"q":1';
    writeFileSync(p, lines.join('\n'));
    await expect(search({ strategy: 'random', seed: 1, budget: 5, journal: p, resume: true })).rejects.toMatchObject(
      code,
    );
    const q = tmp('notjournal.jsonl');
    writeFileSync(q, 'hello\n');
    await expect(search({ strategy: 'random', seed: 1, budget: 5, journal: q, resume: true })).rejects.toMatchObject(
      code,
    );
    // A journal whose queries disagree with this search (edited arch) is rejected, not silently reused.
    const d = tmp('diverge.jsonl');
    await search({ strategy: 'random', seed: 1, budget: 5, journal: d });
    const dl = readFileSync(d, 'utf8').split('\n');
    const rec = JSON.parse(dl[1]!) as { arch: string };
    dl[1] = JSON.stringify({ ...rec, arch: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|' });
    writeFileSync(d, dl.join('\n'));
    await expect(search({ strategy: 'random', seed: 1, budget: 5, journal: d, resume: true })).rejects.toThrow(
      /diverges/,
    );
  });
});

describe('command evaluator', () => {
  // Query 0 exits non-zero, 1 prints garbage, 2 hangs past the timeout, 3 prints nothing; the rest print an accuracy.
  const cmd = [
    'case "$SWAPNAS_QUERY" in',
    '0) echo boom >&2; exit 3;;',
    '1) echo "loss: nan, accuracy unknown";;',
    '2) sleep 20;;',
    '3) ;;',
    '*) echo "training {arch} in {dir}" >/dev/null; echo "accuracy: $((50 + SWAPNAS_QUERY))";;',
    'esac',
  ].join('\n');

  it('records failures and garbage as failed evaluations and keeps searching', async () => {
    const p = tmp('cmd.jsonl');
    const r = await search({
      strategy: 'random',
      seed: 3,
      budget: 7,
      journal: p,
      evaluator: { kind: 'command', command: cmd, timeoutSec: 1 },
    });
    expect(r.queries).toBe(7);
    expect(r.failedQueries).toBe(4);
    expect(r.chosen).not.toBeNull();
    expect(r.chosen!.signal).toBe(56);
    const qs = journalLines(p).filter((x) => x.type === 'query') as unknown as {
      result: { ok: boolean; error?: string };
    }[];
    expect(qs.map((q) => q.result.ok)).toEqual([false, false, false, false, true, true, true]);
    expect(qs[0]!.result.error).toMatch(/exit code 3.*boom/s);
    expect(qs[1]!.result.error).toMatch(/no accuracy/);
    expect(qs[2]!.result.error).toMatch(/timed out/);
    expect(qs[3]!.result.error).toMatch(/printed nothing/);
    const runs = readdirSync(`${p}.runs`);
    expect(runs).toHaveLength(7);
    expect(existsSync(join(`${p}.runs`, runs[0]!, 'stderr.txt'))).toBe(true);
  });

  it('pre-nas survives failing evaluations; a search whose evaluations all fail chooses nothing', async () => {
    const flaky =
      'if [ $((SWAPNAS_QUERY % 3)) -eq 0 ]; then echo garbage; else echo "{\\"accuracy\\": $((SWAPNAS_QUERY % 17 + 60))}"; fi';
    const r = await search({
      strategy: 'pre-nas',
      seed: 1,
      budget: 12,
      preNas: SMALL_PRE,
      evaluator: { kind: 'command', command: flaky },
    });
    expect(r.queries).toBe(12);
    expect(r.failedQueries).toBe(4);
    expect(r.chosen).not.toBeNull();
    const none = await search({
      strategy: 'random',
      seed: 1,
      budget: 3,
      evaluator: { kind: 'command', command: 'exit 1' },
    });
    expect(none.chosen).toBeNull();
    expect(none.failedQueries).toBe(3);
    expect(formatSummary(none)).toMatch(/every evaluation failed/);
  });
});

describe('bad input', () => {
  const code = (c: string) => expect.objectContaining({ code: c });
  it('gives coded errors', async () => {
    await expect(search({ strategy: 'bogus' })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'random', space: 'nb999' })).rejects.toEqual(code('E_SPACE'));
    await expect(search({ strategy: 'random', dataset: 'mnist' })).rejects.toEqual(code('E_DATASET'));
    await expect(search({ strategy: 'pre-nas', budget: 5 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'random', budget: 0 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'random', budget: 7000 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'swap-nas', budget: 50 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'random', resume: true })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'random', mu: 1, sigma: 1 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'swap-nas', mu: 1 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'swap-nas', mu: 1, sigma: 1, targetParams: 2 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'swap-nas', swapNas: { population: 3, sampleSize: 5 } })).rejects.toEqual(
      code('E_OPTION'),
    );
    await expect(search({ strategy: 'random', seed: -1 })).rejects.toEqual(code('E_OPTION'));
    await expect(search({ strategy: 'random', evaluator: { kind: 'command', command: ' ' } })).rejects.toEqual(
      code('E_OPTION'),
    );
  });
});

describe('swapnas search CLI', () => {
  async function cli(args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerSearch(program);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    try {
      await program.parseAsync(['node', 'swapnas', ...pinRegSwap(['search', '--no-progress', ...args])]);
    } finally {
      spy.mockRestore();
    }
    return out;
  }

  it('runs a search, prints the summary, writes the JSON report and the plot', async () => {
    const out = tmp('report.json');
    const plot = tmp('plot.svg');
    const text = await cli([
      '--strategy',
      'random',
      '--dataset',
      'cifar100',
      '--seed',
      '2',
      '--budget',
      '12',
      '--out',
      out,
      '--plot',
      plot,
    ]);
    expect(text).toMatch(/search random on nb201\/cifar100, seed 2/);
    expect(text).toMatch(/table value: .*test accuracy \(200 epochs/);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as SearchReport;
    expect(rep.queries).toBe(12);
    expect(table.get(rep.chosen!.arch)).toBeDefined();
    expect(readFileSync(plot, 'utf8')).toMatch(/^<svg/);
  });

  it('runs swap-nas with proxy flags and resumes from a journal', async () => {
    const j = tmp('cli.jsonl');
    const args = [
      '--seed',
      '1',
      '--population',
      '4',
      '--cycles',
      '2',
      '--sample-size',
      '2',
      '--mutations',
      '2',
      '--channels',
      '4',
      '--cells',
      '1',
      '--batch',
      '8',
      '--repeats',
      '1',
      '--gaussian',
      '--input-size',
      '8',
      '--mu',
      '5',
      '--sigma',
      '50',
      '--journal',
      j,
      '--json',
    ];
    const a = JSON.parse(await cli(args)) as SearchReport;
    const b = JSON.parse(await cli([...args, '--resume'])) as SearchReport;
    expect(b.chosen).toEqual(a.chosen);
    expect(b.session.proxyComputed).toBe(0);
  });

  it('hybrid: --warm-start alone asks for the random pool; --warm-start-cycles sets the evolved start', async () => {
    const tiny = ['--strategy', 'hybrid', '--seed', '1', '--budget', '6', '--initial', '4', '--offspring', '3'];
    const proxyFlags = ['--channels', '4', '--cells', '1', '--batch', '8', '--repeats', '1', '--gaussian'];
    const header = async (extra: string[]) => {
      const j = tmp('warm.jsonl');
      await cli([...tiny, ...proxyFlags, '--input-size', '8', '--mu', '5', '--sigma', '50', '--journal', j, ...extra]);
      const h = JSON.parse(readFileSync(j, 'utf8').split('\n')[0]!) as { options: { strategyOptions: object } };
      return h.options.strategyOptions;
    };
    const pool = await header(['--warm-start', '2']);
    expect(pool).toMatchObject({ warmStart: 2 });
    expect(pool).not.toHaveProperty('warmStartCycles');
    const evolved = await header(['--warm-start-cycles', '1']);
    expect(evolved).toMatchObject({ warmStartCycles: 1 });
    expect(evolved).not.toHaveProperty('warmStart');
    await expect(cli([...tiny, '--warm-start', '2', '--warm-start-cycles', '5'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION', message: expect.stringMatching(/--warm-start-cycles 0/) }),
    );
    expect(await header(['--warm-start', '2', '--warm-start-cycles', '0'])).toMatchObject({ warmStart: 2 });
    await expect(cli(['--strategy', 'pre-nas', '--warm-start-cycles', '3'])).rejects.toEqual(
      expect.objectContaining({
        code: 'E_OPTION',
        message: expect.stringMatching(/--warm-start-cycles applies to hybrid/),
      }),
    );
    await expect(cli([...tiny, '--warm-start-cycles', '-1'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
  });

  it('rejects misplaced and bad flags with coded errors', async () => {
    await expect(cli(['--strategy', 'pre-nas', '--population', '5'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
    await expect(cli(['--strategy', 'random', '--channels', '4'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
    await expect(cli(['--strategy', 'swap-nas', '--initial', '4'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
    await expect(cli(['--strategy', 'nope'])).rejects.toEqual(expect.objectContaining({ code: 'E_OPTION' }));
    await expect(cli(['--strategy', 'random', '--evaluator', 'command'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
    await expect(cli(['--strategy', 'random', '--evaluator', 'oracle'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
    await expect(cli(['--strategy', 'random', '--dataset', 'svhn'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_DATASET' }),
    );
    await expect(cli(['--strategy', 'random', '--space', 'nb999'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_SPACE' }),
    );
    await expect(cli(['--strategy', 'pre-nas', '--budget', '3'])).rejects.toEqual(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
  });
});
