import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spaceEntry } from '../src/catalog/registry.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { ensembleScore, referenceColumn } from '../src/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../src/proxies/fitted-rule.js';
import { regFactor } from '../src/proxies/regularise.js';
import { ScoreServer } from '../src/serve/server.js';
import { WarmState } from '../src/serve/warm.js';
import type { SuiteEngine, SuiteEngineName } from '../src/score/ensemble.js';
import { formatNb201, sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { Rng } from '../src/util/rng.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const TINY = { channels: 4, cells: 1, inputSize: 32, classes: 10 };
const FLAGS = ['--batch', '8', '--no-progress'];

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

function json(args: string[]) {
  const r = run(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** Tiny NB201 scoring networks of distinct seeded cells, written as ONNX files with their initial weights. */
function writeModels(dir: string, count: number, seed: number, extra: Partial<typeof TINY> = {}): string[] {
  const entry = spaceEntry('nb201');
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const files: string[] = [];
  while (files.length < count) {
    const g = sampleNb201(rng);
    if (seen.has(formatNb201(g))) continue;
    seen.add(formatNb201(g));
    const net = entry.space.build(g, { ...TINY, ...extra });
    const file = join(dir, `m${String(files.length).padStart(2, '0')}.onnx`);
    writeFileSync(file, exportNetworkOnnx(net, { seed: files.length }));
    files.push(file);
  }
  return files;
}

describe('score model.onnx --reference-models (built dist/)', () => {
  const root = mkdtempSync(join(tmpdir(), 'swapnas-onnx-ens-'));
  const refs = join(root, 'refs');
  const cache = join(root, 'cache');
  let files: string[] = [];
  let target = '';
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
    mkdirSync(refs);
    files = writeModels(refs, 8, 5);
    target = writeModels(mkdtempSync(join(root, 't-')), 1, 77)[0]!;
  });

  it('equals the rule applied to the members that score and score --proxies give for each model', () => {
    const out = json(['score', target, '--reference-models', refs, '--cache-dir', cache, ...FLAGS]);
    const rule = FITTED_ENSEMBLE;
    expect(out.settings.ensemble.rule).toBe(rule.name);
    expect(out.settings.reference).toMatchObject({ models: 8, source: 'built' });
    const suite = [...new Set(rule.members)].filter((m) => !['swap', 'reg-swap', 'params'].includes(m));
    // each model's members by the two commands a user would run by hand (SWAP with the model's own weights; the
    // suite under the SWAP protocol on the same 8 images)
    const byHand = (file: string) => {
      const s = json(['score', file, ...FLAGS]).results[0];
      const p = json(['score', file, '--proxies', suite.join(','), '--proxy-protocol', 'swap', '--proxy-batch', '8'])
        .results[0].proxies;
      return { swap: s.swap as number, params: s.params as number, suite: p as Record<string, number> };
    };
    const rows = files.map(byHand);
    const theta = rows.map((r) => r.params / 1000);
    const mu = Math.max(...theta);
    const sigma = (mu - Math.min(...theta)) ** 2;
    expect(out.settings.reference.regulariser).toMatchObject({ mu, sigma });
    const values = (r: (typeof rows)[number]) => {
      const engine = { swap: r.swap, 'reg-swap': r.swap * regFactor(r.params / 1000, mu, sigma), params: r.params };
      return Object.fromEntries(
        rule.members.map((m) => [m, m in engine ? engine[m as keyof typeof engine] : r.suite[m]!]),
      );
    };
    const ref = rows.map(values);
    const columns = Object.fromEntries(rule.members.map((m) => [m, referenceColumn(ref.map((v) => v[m]!))]));
    const mine = values(byHand(target));
    const got = out.results[0];
    for (const m of rule.members) expect(got.members[m], m).toBeCloseTo(mine[m]!, 9);
    expect(got.fitness).toBeCloseTo(ensembleScore(rule, mine, columns), 9);
  });

  it('reads the cached set, reads a reference model from it, and rebuilds when the folder changes', () => {
    json(['score', target, '--reference-models', refs, '--cache-dir', cache, ...FLAGS]); // built here or before
    const first = json(['score', target, '--reference-models', refs, '--cache-dir', cache, ...FLAGS]);
    expect(first.settings.reference.source).toBe('cache');
    const again = json(['score', files[3]!, '--reference-models', refs, '--cache-dir', cache, ...FLAGS]);
    expect(again.settings.reference).toMatchObject({ source: 'cache', scoredModelIs: 'm03.onnx' });
    const direct = json(['score', files[3]!, ...FLAGS]).results[0];
    expect(again.results[0].swap).toBe(direct.swap);
    copyFileSync(target, join(refs, 'zz-added.onnx'));
    const grown = json(['score', target, '--reference-models', refs, '--cache-dir', cache, ...FLAGS]);
    expect(grown.settings.reference).toMatchObject({ source: 'built', models: 9, scoredModelIs: 'zz-added.onnx' });
    // its members are read back from the set; every member but reg-SWAP (μ/σ follow the grown set's sizes) unchanged
    const { 'reg-swap': _was, ...before } = first.results[0].members;
    const { 'reg-swap': _now, ...after } = grown.results[0].members;
    expect(after).toEqual(before);
  });

  it("the server's score_onnx takes referenceModels (path or bytes) and answers as the command does", async () => {
    const want = json(['score', target, '--reference-models', refs, '--cache-dir', cache, ...FLAGS]);
    const server = new ScoreServer({ warm: new WarmState(undefined, { cacheDir: cache }) });
    const byPath = await server.handle({
      id: 1,
      method: 'score_onnx',
      params: { path: target, referenceModels: refs, batch: 8 },
    });
    expect(byPath).toEqual({ id: 1, result: want });
    const bytes = readFileSync(target).toString('base64');
    const byBytes = (await server.handle({
      id: 2,
      method: 'score_onnx',
      params: { bytes, referenceModels: refs, batch: 8 },
    })) as { result: { results: Record<string, unknown>[] } };
    expect({ ...byBytes.result.results[0], model: target }).toEqual(want.results[0]);
    const unranked = (await server.handle({
      id: 3,
      method: 'score_onnx',
      params: { path: target, fitness: 'ensemble' },
    })) as {
      error?: { code: string; message: string };
    };
    expect(unranked.error?.code).toBe('E_OPTION');
    expect(unranked.error?.message).toMatch(/referenceModels/);
  });

  it('scores a new reference set once for concurrent server requests', async () => {
    const dir = mkdtempSync(join(root, 'shared-'));
    writeModels(dir, 8, 21);
    let passes = 0;
    class CountingWarm extends WarmState {
      override async suiteEngine(engine: SuiteEngineName, threads: number | undefined): Promise<SuiteEngine> {
        const run = await super.suiteEngine(engine, threads);
        return (net, names, o) => {
          passes++;
          return run(net, names, o);
        };
      }
    }
    const server = new ScoreServer({ warm: new CountingWarm(undefined, { cacheDir: mkdtempSync(join(root, 'c-')) }) });
    const ask = (id: number) =>
      server.handle({ id, method: 'score_onnx', params: { path: target, referenceModels: dir, batch: 8 } });
    // the server runs one request at a time: the first builds the set, the second reads it from the cache
    const [a, b] = (await Promise.all([ask(1), ask(2)])) as {
      result: { settings: { reference: { source: string } } };
    }[];
    expect([a!.result.settings.reference.source, b!.result.settings.reference.source]).toEqual(['built', 'cache']);
    expect(passes).toBe(8 + 2); // the 8 reference models once, the scored model once per request
  });

  it('refuses what it cannot rank, with stable codes', () => {
    const few = mkdtempSync(join(root, 'few-'));
    writeModels(few, 7, 9);
    const r1 = run(['score', target, '--reference-models', few, ...FLAGS]);
    expect(r1.status).not.toBe(0);
    expect(r1.stderr).toMatch(/E_OPTION.*7 \.onnx models.*at least 8/);
    const r2 = run(['score', target, '--reference-models', refs, '--fitness', 'reg-swap', ...FLAGS]);
    expect(r2.stderr).toMatch(/E_OPTION.*reg-swap needs no reference set/);
    const r3 = run(['score', target, '--reference-models', refs, '--proxies', 'snip', ...FLAGS]);
    expect(r3.stderr).toMatch(/E_OPTION.*--reference-models ranks one ONNX model/);
    const r4 = run(['score', '--sample', '2', '--reference-models', refs, ...FLAGS]);
    expect(r4.stderr).toMatch(/E_OPTION.*--reference-models/);
    const mixed = mkdtempSync(join(root, 'mixed-'));
    writeModels(mixed, 7, 5);
    writeModels(mkdtempSync(join(root, 'big-')), 1, 3, { inputSize: 16 }).forEach((f) =>
      copyFileSync(f, join(mixed, 'zz.onnx')),
    );
    const r5 = run(['score', target, '--reference-models', mixed, '--cache-dir', cache, ...FLAGS]);
    expect(r5.status).not.toBe(0);
    expect(r5.stderr).toMatch(/E_INPUT_SHAPE.*reference model zz\.onnx takes 3x16x16 inputs/);
  });
});
