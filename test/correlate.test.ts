import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../src/backends/reference/index.js';
import { runCorrelate, selectArchitectures, writeCorrelateReport } from '../src/study/correlate-run.js';
import { nb201Benchmark } from '../src/tables/nb201-benchmark.js';
import { Nb201Table, checkDataset } from '../src/tables/nb201.js';
import { nb201Space } from '../src/spaces/nb201/index.js';
import { loadAddon } from '../src/native/loader.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { measure } from '../src/study/measure.js';

describe('correlate', () => {
  const table = Nb201Table.load();

  it('selects stratified, disjoint and isomorphism-class samples', () => {
    const a = selectArchitectures(nb201Space, nb201Benchmark(table), {
      kind: 'sample',
      n: 100,
      seed: 1,
      stratified: true,
    });
    expect(a).toHaveLength(100);
    const accs = a.map((g) => table.require(nb201Space.format(g)).test.cifar10).sort((x, y) => x - y);
    const all = table.records.map((r) => r.test.cifar10).sort((x, y) => x - y);
    // every decile is represented: the sample reaches into both tails of the space
    expect(accs[0]!).toBeLessThan(all[Math.floor(all.length * 0.1)]!);
    expect(accs[99]!).toBeGreaterThan(all[Math.floor(all.length * 0.9)]!);
    const b = selectArchitectures(nb201Space, nb201Benchmark(table), {
      kind: 'sample',
      n: 100,
      seed: 2,
      stratified: true,
      exclude: new Set(a.map(nb201Space.format)),
    });
    expect(b.filter((g) => a.map(nb201Space.format).includes(nb201Space.format(g)))).toHaveLength(0);
    expect(selectArchitectures(nb201Space, nb201Benchmark(table), { kind: 'iso' })).toHaveLength(6466);
  });

  it('scores, correlates with CIs, resumes from its cache and writes JSON/markdown/SVG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-corr-'));
    const genotypes = selectArchitectures(nb201Space, nb201Benchmark(table), {
      kind: 'sample',
      n: 16,
      seed: 3,
      stratified: true,
    });
    const opts = {
      space: nb201Space,
      table: nb201Benchmark(table),
      dataset: 'cifar100' as const,
      genotypes,
      setting: { channels: 2, cells: 1, batch: 8, repeats: 1, images: 'cifar10' as const, seed: 0, nwot: true },
      backend: new ReferenceBackend(),
      cacheDir: join(dir, 'cache'),
      resamples: 50,
    };
    const r = await runCorrelate(opts);
    expect(r.architectures).toBe(16);
    const names = r.rows.map((x) => x.metric);
    expect(names).toEqual(expect.arrayContaining(['reg-SWAP', 'SWAP', 'NWOT', 'params', 'FLOPs', 'zen (NASLib)']));
    for (const row of r.rows.filter((x) => x.origin === 'in-house')) {
      expect(row.n + row.dropped).toBe(16);
      expect(row.spearman.low).toBeLessThanOrEqual(row.spearman.high);
      expect(Math.abs(row.spearman.estimate)).toBeLessThanOrEqual(1);
    }
    // params of the full network correlate positively with accuracy on any stratified sample
    expect(r.rows.find((x) => x.metric === 'params')!.spearman.estimate).toBeGreaterThan(0.3);
    // second run is served from the cache: identical measurements, no fresh timing
    const again = await runCorrelate(opts);
    expect(again.measurements).toEqual(r.measurements);
    expect(again.secondsPerArch).toBeNull();
    const files = await writeCorrelateReport(r, dir);
    expect(JSON.parse(readFileSync(files.json, 'utf8')).rows.length).toBe(r.rows.length);
    expect(readFileSync(files.md, 'utf8')).toMatch(/\| reg-SWAP \| in-house \| 16 \|/);
    expect(readFileSync(files.svg, 'utf8')).toMatch(/^<svg/);
    expect(existsSync(join(dir, 'cache'))).toBe(true);
  });

  it('bad input: unknown dataset, malformed table rows, architectures absent from the table', async () => {
    expect(() => checkDataset('mnist')).toThrowError(expect.objectContaining({ code: 'E_DATASET' }));
    const head = readFileSync(table.source, 'utf8').split('\n').slice(0, 3);
    const broken = [head[0], head[1], head[2]!.replace(/,[0-9.]+,/, ',abc,')].join('\n');
    expect(() => Nb201Table.parse(broken, 'broken.csv')).toThrowError(
      expect.objectContaining({ code: 'E_TABLE', message: expect.stringMatching(/line 3/) }),
    );
    const short = [head[0], head[1]!.split(',').slice(0, 5).join(',')].join('\n');
    expect(() => Nb201Table.parse(short, 'short.csv')).toThrowError(expect.objectContaining({ code: 'E_TABLE' }));
    const small = Nb201Table.parse(head.join('\n'), 'two-rows.csv');
    await expect(
      runCorrelate({
        space: nb201Space,
        table: nb201Benchmark(small),
        dataset: 'cifar10',
        genotypes: [nb201Space.parse('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|')],
        setting: { channels: 2, cells: 1, batch: 4, repeats: 1, images: 'gaussian', seed: 0 },
        backend: new ReferenceBackend(),
      }),
    ).rejects.toMatchObject({ code: 'E_TABLE' });
  });
});

const addonLoad = loadAddon();
if (!addonLoad.ok) console.warn(`[measure] native addon unavailable, NWOT comparison skipped: ${addonLoad.reason}`);

describe('measure with NWOT', () => {
  it.skipIf(!addonLoad.ok)('the native one-pass path gives the same counts and NWOT as the reference', async () => {
    if (!addonLoad.ok) return;
    const load = addonLoad;
    const table = Nb201Table.load();
    const genotypes = selectArchitectures(nb201Space, nb201Benchmark(table), {
      kind: 'sample',
      n: 6,
      seed: 5,
      stratified: false,
    });
    const setting = { channels: 2, cells: 1, batch: 8, repeats: 2, images: 'gaussian' as const, seed: 3, nwot: true };
    const a = await measure(nb201Space, genotypes, setting, { backend: new NativeBackend(load.addon) });
    const b = await measure(nb201Space, genotypes, setting, { backend: new ReferenceBackend() });
    for (const [arch, m] of a) {
      const r = b.get(arch)!;
      expect(m.perRepeat).toEqual(r.perRepeat);
      if (Number.isFinite(r.nwot!)) expect(m.nwot!).toBeCloseTo(r.nwot!, 6);
      else expect(m.nwot).toBe(r.nwot);
    }
  });
});
