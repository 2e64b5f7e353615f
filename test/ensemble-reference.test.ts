import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianBatch } from '../src/data/gaussian.js';
import {
  LABEL_FREE_ENSEMBLE,
  logCdf,
  memberValueTerm,
  referenceColumn,
  UPPER_PLAIN_ENSEMBLE,
} from '../src/proxies/ensemble.js';
import { defaultLabels } from '../src/data/labels.js';
import { FITTED_ENSEMBLE } from '../src/proxies/fitted-rule.js';
import { ensembleProxies } from '../src/proxies/plugins.js';
import { runProxies } from '../src/proxies/run.js';
import { EnsembleScorer, type EnsembleOptions, type SuiteEngine, type SuiteEngineName } from '../src/score/ensemble.js';
import { SwapError } from '../src/util/errors.js';
import { cacheDirectory, referenceGenotypes } from '../src/score/reference-set.js';
import { scoreNetworks } from '../src/score/swap.js';
import { nb201Space } from '../src/spaces/nb201/index.js';
import { runSearch } from '../src/search/run.js';
import { EnsembleSource } from '../src/search/ensemble-source.js';
import { resolveScoringRequest } from '../src/request/resolve.js';
import { Nb201Table } from '../src/tables/nb201.js';
import { nb201Benchmark } from '../src/tables/nb201-benchmark.js';

const INPUTS = gaussianBatch(4, 3, 8, 8, 11);
const NETWORK = { channels: 4, cells: 1, inputSize: 8 };

function options(cacheDir: string, extra: Partial<EnsembleOptions<object>> = {}): EnsembleOptions<object> {
  const regulariser = { mu: 2, sigma: 4, source: 'test' };
  return {
    rule: LABEL_FREE_ENSEMBLE,
    network: NETWORK,
    inputs: INPUTS,
    batch: 4,
    repeats: 2,
    seed: 0,
    regulariser,
    settings: { network: NETWORK, batch: 4, repeats: 2, seed: 0, regulariser, inputs: INPUTS.source },
    backend: 'reference',
    cacheDir,
    referenceSize: 12,
    ...extra,
  };
}

const archs = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|none~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
  '|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
].map((a) => nb201Space.parse(a));

describe('ensemble reference set and fitness', () => {
  it('the ensembles are registered proxy plug-ins: the default, its upper-tail plain variant and the fitted rule', () => {
    expect(ensembleProxies().map((p) => [p.name, p.ensemble?.members, p.ensemble?.weights, p.ensemble?.forms])).toEqual(
      [
        ['ensemble', ['reg-swap', 'meco', 'az_trainability'], [1, 1, 0.3], undefined],
        [
          'ensemble-top',
          ['reg-swap', 'meco', 'az_trainability', 'plain'],
          [1, 1, 0.3, 0.1],
          ['log', 'log', 'log', 'upper'],
        ],
        ['ensemble-fit', FITTED_ENSEMBLE.members, FITTED_ENSEMBLE.weights, FITTED_ENSEMBLE.forms],
      ],
    );
  });

  it('the reference set is a fixed seeded sample of distinct classes, the same on every call', () => {
    const a = referenceGenotypes(nb201Space, 50, 1).map((g) => nb201Space.format(g));
    expect(referenceGenotypes(nb201Space, 50, 1).map((g) => nb201Space.format(g))).toEqual(a);
    expect(new Set(referenceGenotypes(nb201Space, 50, 1).map((g) => nb201Space.canonicalKey(g))).size).toBe(50);
    expect(referenceGenotypes(nb201Space, 50, 2).map((g) => nb201Space.format(g))).not.toEqual(a);
  });

  it('a network gets the same fitness alone or in any batch, equal to Σ ln F̂ of its members over the reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-'));
    const progress: number[] = [];
    const scorer = new EnsembleScorer(nb201Space, options(dir, { onReference: (d) => progress.push(d) }));
    const alone = await scorer.score([archs[0]!]);
    const batch = await scorer.score([archs[1]!, archs[0]!, archs[2]!]);
    expect(batch[1]).toEqual(alone[0]);
    expect(progress).toEqual([12]);
    // The members are exactly reg-SWAP of the SWAP pass, MeCo and trainability of the suite (SWAP protocol).
    const net = nb201Space.build(archs[0]!, NETWORK);
    const swap = await scoreNetworks([net], {
      inputs: INPUTS,
      repeats: 2,
      seed: 0,
      regulariser: { mu: 2, sigma: 4, source: 'test' },
      backend: 'reference',
    });
    const suite = runProxies(net, ['meco', 'az_trainability'], { protocol: 'swap', seed: 0, images: INPUTS, batch: 4 });
    const meco = suite.values.meco!.value;
    const trainability = suite.values.az_trainability!.value;
    expect(alone[0]!.values).toEqual({ 'reg-swap': swap.scores[0]!.regSwap, meco, az_trainability: trainability });
    // Rebuild the reference from the cache file and recompute the sum by hand.
    const [file] = readdirSync(dir);
    const doc = JSON.parse(readFileSync(join(dir, file!), 'utf8'));
    expect(doc.reference.archs).toHaveLength(12);
    const col = (m: string) => referenceColumn(doc.reference.values[m]);
    const byHand =
      logCdf(col('reg-swap'), swap.scores[0]!.regSwap) +
      logCdf(col('meco'), meco) +
      0.3 * logCdf(col('az_trainability'), trainability);
    expect(alone[0]!.fitness).toBeCloseTo(byHand, 12);
  });

  it('members that need labels get the ones given with the inputs, and fail with E_LABELS without them', async () => {
    const rule = { name: 'test-epe', members: ['reg-swap', 'epe_nas'], description: 'test' };
    const labels = [0, 1, 0, 1];
    const without = new EnsembleScorer(nb201Space, options(mkdtempSync(join(tmpdir(), 'swapnas-ens-')), { rule }));
    await expect(without.score([archs[0]!])).rejects.toMatchObject({ code: 'E_LABELS' });
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-'));
    const scorer = new EnsembleScorer(nb201Space, options(dir, { rule, labels }));
    const [got] = await scorer.score([archs[0]!]);
    const net = nb201Space.build(archs[0]!, NETWORK);
    const want = runProxies(net, ['epe_nas'], { protocol: 'swap', seed: 0, images: INPUTS, labels, batch: 4 });
    expect(got!.values['epe_nas']).toBe(want.values.epe_nas!.value);
    expect(Number.isFinite(got!.fitness)).toBe(true);
  });

  it("a search's ensemble settings name the rule's forms where it has them (and only there)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-'));
    const meta = (rule: typeof LABEL_FREE_ENSEMBLE) =>
      new EnsembleSource(new EnsembleScorer(nb201Space, options(dir, { rule })), rule, 'x', {}).metadata['ensemble'];
    expect(meta(UPPER_PLAIN_ENSEMBLE)).toEqual({
      rule: 'reg-swap+meco+0.3t+0.1plain-upper',
      members: ['reg-swap', 'meco', 'az_trainability', 'plain'],
      weights: [1, 1, 0.3, 0.1],
      forms: ['log', 'log', 'log', 'upper'],
      reference: { size: 12, seed: 1 },
    });
    expect(meta(LABEL_FREE_ENSEMBLE)).not.toHaveProperty('forms');
  });

  it('ensemble-top: plain gets the resolved batch labels and enters as 0.1 × −ln(1 − F̂) beside the default members', async () => {
    const resolved = await resolveScoringRequest({ space: 'nb201' });
    expect(Array.from(resolved.labels!)).toEqual(Array.from(defaultLabels(resolved.inputs.n)));
    expect((await resolveScoringRequest({ space: 'nb201', inputs: { kind: 'gaussian', seed: 1 } })).labels).toBe(
      undefined,
    );
    const labels = [3, 8, 8, 0];
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-'));
    const scorer = new EnsembleScorer(nb201Space, options(dir, { rule: UPPER_PLAIN_ENSEMBLE, labels }));
    const [got] = await scorer.score([archs[2]!]);
    const net = nb201Space.build(archs[2]!, NETWORK);
    const plain = runProxies(net, ['plain'], { protocol: 'swap', seed: 0, images: INPUTS, labels, batch: 4 });
    expect(got!.values['plain']).toBe(plain.values.plain!.value);
    const doc = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8'));
    const term = (m: string, form: 'log' | 'upper') =>
      memberValueTerm(form, referenceColumn(doc.reference.values[m]), got!.values[m]!);
    const byHand =
      term('reg-swap', 'log') +
      term('meco', 'log') +
      0.3 * term('az_trainability', 'log') +
      0.1 * term('plain', 'upper');
    expect(got!.fitness).toBeCloseTo(byHand, 12);
  });

  it('a second scorer reads the cache (no scoring) and gives identical values; other settings get another file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-'));
    const first = new EnsembleScorer(nb201Space, options(dir));
    const a = await first.score(archs);
    expect((await first.loadReference()).fromCache).toBe(false);
    const progress: number[] = [];
    const second = new EnsembleScorer(nb201Space, options(dir, { onReference: (d) => progress.push(d) }));
    expect(await second.score(archs)).toEqual(a);
    const ref = await second.loadReference();
    expect(ref.fromCache).toBe(true);
    expect(progress).toEqual([]);
    // Another seed shares the reference set (scored at its own weight seed) but scores the networks with its seed.
    const seeded = new EnsembleScorer(nb201Space, {
      ...options(dir),
      seed: 6,
      settings: { ...options(dir).settings, seed: 6 },
    });
    expect((await seeded.loadReference()).file).toBe(ref.file);
    expect((await seeded.loadReference()).fromCache).toBe(true);
    expect((await seeded.score(archs)).map((r) => r.values)).not.toEqual(a.map((r) => r.values));
    const other = new EnsembleScorer(nb201Space, options(dir, { repeats: 1, settings: { repeats: 1 } }));
    expect((await other.loadReference()).file).not.toBe(ref.file);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(2);
    // A corrupt cache file is rebuilt, not trusted, and the values come back the same.
    writeFileSync(ref.file, '{"format": "swapnas-ensemble-reference/1", "reference": ');
    const third = new EnsembleScorer(nb201Space, options(dir));
    expect(await third.score(archs)).toEqual(a);
    expect((await third.loadReference()).fromCache).toBe(false);
    expect(JSON.parse(readFileSync(ref.file, 'utf8')).reference.archs).toHaveLength(12);
  });

  it('asks its suite-engine provider on every pass: an evicted engine is not kept, a failed make is retried', async () => {
    const used = { a: 0, b: 0 };
    const engine =
      (tag: 'a' | 'b'): SuiteEngine =>
      async (net, names, o) => {
        used[tag]++;
        return runProxies(net, names, o);
      };
    // the provider's current engine for the key: first its make fails, then a, then b (a evicted, made again)
    let current: Promise<SuiteEngine> | undefined;
    const asked: string[] = [];
    const provider = (name: SuiteEngineName) => {
      asked.push(name);
      return current ?? Promise.reject(new SwapError('E_NATIVE_LOAD', 'engine failed to load'));
    };
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-'));
    const scorer = new EnsembleScorer(nb201Space, options(dir, { suiteEngine: provider }));
    await expect(scorer.score(archs)).rejects.toMatchObject({ code: 'E_NATIVE_LOAD' });
    current = Promise.resolve(engine('a'));
    const first = await scorer.score(archs);
    expect(used.a).toBeGreaterThan(0);
    expect(asked.every((n) => n === 'reference')).toBe(true);
    const before = { ...used };
    current = Promise.resolve(engine('b'));
    const again = await scorer.score(archs);
    expect(used.a).toBe(before.a); // the evicted engine runs no further pass
    expect(used.b).toBe(archs.length);
    expect(again).toEqual(first);
  });

  it('the cache folder is the one given, else $SWAPNAS_CACHE_DIR, else under $XDG_CACHE_HOME', () => {
    const env = { ...process.env };
    try {
      process.env['SWAPNAS_CACHE_DIR'] = '/tmp/a';
      expect(cacheDirectory('/tmp/b')).toBe('/tmp/b');
      expect(cacheDirectory()).toBe('/tmp/a');
      delete process.env['SWAPNAS_CACHE_DIR'];
      process.env['XDG_CACHE_HOME'] = '/tmp/x';
      expect(cacheDirectory()).toBe(join('/tmp/x', 'swapnas'));
      expect(existsSync('/tmp/x/swapnas')).toBe(false); // only resolved, nothing created
    } finally {
      process.env = env;
    }
  });
});

describe('the ensemble as search fitness', () => {
  it("swap-nas ranks by the ensemble: the chosen cell's fitness equals a standalone scorer's, and the journal resumes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-search-'));
    const inputs = gaussianBatch(8, 3, 8, 8, 3);
    const proxy = { channels: 4, cells: 1, batch: 8, repeats: 1 };
    const o = {
      strategy: 'swap-nas',
      seed: 4,
      proxy,
      mu: 5,
      sigma: 50,
      fitness: 'ensemble',
      cacheDir: dir,
      backend: 'auto' as const,
      swapNas: { population: 6, cycles: 3, sampleSize: 3, mutations: 2 },
      journal: join(dir, 'journal.jsonl'),
    };
    const deps = { table: nb201Benchmark(Nb201Table.load()), inputs };
    const built: number[] = [];
    const r = await runSearch({ ...o, onReference: (d) => built.push(d) }, deps);
    expect(built[built.length - 1]).toBe(256);
    expect(r.chosen!.signalName).toBe('ensemble');
    expect(r.proxy!.settings['ensemble']).toMatchObject({
      rule: 'reg-swap+meco+0.3t',
      members: ['reg-swap', 'meco', 'az_trainability'],
      weights: [1, 1, 0.3],
    });
    const { request } = await resolveScoringRequest({
      space: 'nb201',
      target: 'cifar10',
      ...proxy,
      seed: 4,
      mu: 5,
      sigma: 50,
      inputs: { kind: 'batch', batch: inputs },
    });
    const scorer = new EnsembleScorer(nb201Space, {
      ...options(dir),
      network: request.network,
      inputs,
      batch: 8,
      repeats: 1,
      seed: 4,
      regulariser: request.regulariser!,
      settings: { ...request },
      backend: 'auto',
      referenceSize: undefined,
    });
    const [alone] = await scorer.score([nb201Space.parse(r.chosen!.arch)]);
    expect((await scorer.loadReference()).fromCache).toBe(true);
    expect(alone!.fitness).toBe(r.chosen!.signal);
    // Resuming replays the journal's fitness values and reaches the same choice without scoring again.
    const again = await runSearch({ ...o, resume: true }, deps);
    expect(again.chosen).toEqual(r.chosen);
    expect(again.session.proxyComputed).toBe(0);
  }, 120_000);

  it('refuses --fitness with a strategy that ranks by accuracy and an unknown fitness name', async () => {
    const deps = { table: nb201Benchmark(Nb201Table.load()) };
    await expect(runSearch({ strategy: 'random', fitness: 'ensemble' }, deps)).rejects.toMatchObject({
      code: 'E_OPTION',
    });
    await expect(runSearch({ strategy: 'swap-nas', fitness: 'ensembel' }, deps)).rejects.toMatchObject({
      code: 'E_OPTION',
    });
  });
});

describe('score --fitness ensemble (built dist/, as npm test builds it)', () => {
  const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-ens-cli-'));
  const tiny = ['--channels', '4', '--cells', '1', '--batch', '8', '--repeats', '1', '--mu', '5', '--sigma', '50'];
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [CLI, 'score', ...tiny, '--fitness', 'ensemble', '--cache-dir', dir, ...args], {
      encoding: 'utf8',
    });
  const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  const B = '|none~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|';

  it('adds the fitness and its members to every row, the same whichever networks share the run', () => {
    const first = cli([A, B, '--format', 'csv']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/ensemble reference set: 256\/256 networks/);
    const [head, rowA] = first.stdout.trim().split('\n');
    expect(head).toBe(
      'arch,ensemble,ensemble_reg_swap,ensemble_meco,ensemble_az_trainability,swap,reg_swap,params,reg_factor,recorded,per_repeat',
    );
    const alone = cli([A, '--format', 'json']);
    expect(alone.stderr).not.toMatch(/reference set/); // served from the cache
    const doc = JSON.parse(alone.stdout);
    expect(doc.settings.ensemble).toMatchObject({ rule: 'reg-swap+meco+0.3t', reference: { size: 256, seed: 1 } });
    const e = doc.results[0].ensemble;
    expect(Object.keys(doc.results[0]).slice(0, 3)).toEqual(['arch', 'ensemble', 'swap']); // the headline first
    expect(rowA!.split(',').slice(1, 5).map(Number)).toEqual([
      e.fitness,
      e.members['reg-swap'],
      e.members.meco,
      e.members.az_trainability,
    ]);
  }, 120_000);

  it('--fitness ensemble-top adds plain (embedded batch labels) with its upper form to the row and the settings', () => {
    const top = spawnSync(
      process.execPath,
      [CLI, 'score', ...tiny, '--fitness', 'ensemble-top', '--cache-dir', dir, A, '--format', 'json'],
      { encoding: 'utf8' },
    );
    expect(top.status, top.stderr).toBe(0);
    const doc = JSON.parse(top.stdout);
    expect(doc.settings.ensemble).toMatchObject({
      rule: 'reg-swap+meco+0.3t+0.1plain-upper',
      weights: [1, 1, 0.3, 0.1],
      forms: ['log', 'log', 'log', 'upper'],
    });
    const members = doc.results[0].ensemble.members;
    // The same value as the suite's plain on the same network, images and (embedded) labels.
    const suite = spawnSync(
      process.execPath,
      [CLI, 'score', A, ...tiny.slice(0, 6), '--proxies', 'plain', '--proxy-protocol', 'swap', '--format', 'json'],
      { encoding: 'utf8' },
    );
    expect(suite.status, suite.stderr).toBe(0);
    expect(members.plain).toBe(JSON.parse(suite.stdout).results[0].proxies.plain);
    expect(Object.keys(members)).toEqual(['reg-swap', 'meco', 'az_trainability', 'plain']);
  }, 120_000);

  it('--fitness ensemble-top on unlabelled inputs takes --labels, and its reference set is keyed by them', () => {
    const run = (labels: number[]) => {
      const file = join(dir, `labels-${labels.join('')}.txt`);
      writeFileSync(file, labels.join('\n'));
      const args = [CLI, 'score', ...tiny, '--input-size', '8', '--gaussian', '--fitness', 'ensemble-top'];
      return spawnSync(process.execPath, [...args, '--labels', file, '--cache-dir', dir, A, '--format', 'json'], {
        encoding: 'utf8',
      });
    };
    const a = run([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(a.status, a.stderr).toBe(0);
    const b = run([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(b.status, b.stderr).toBe(0);
    const [da, db] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    expect(da.results[0].ensemble.members.plain).not.toBe(db.results[0].ensemble.members.plain);
    expect(b.stderr).toMatch(/ensemble reference set: 256\/256/); // other labels: not the first run's cached set
    expect(da.settings.ensemble.labels).not.toBe(db.settings.ensemble.labels);
    expect(run([0, 1]).stderr).toContain('E_LABELS'); // fewer labels than input images
    // a rule whose members take no labels keeps its reference set (shipped or cached) whatever --labels says
    const plain = spawnSync(process.execPath, [CLI, 'score', ...tiny, '--fitness', 'ensemble', A, '--cache-dir', dir], {
      encoding: 'utf8',
    });
    const file = join(dir, 'labels-ens.txt');
    writeFileSync(file, '0\n0\n0\n0\n0\n0\n0\n0\n');
    const given = spawnSync(
      process.execPath,
      [CLI, 'score', ...tiny, '--fitness', 'ensemble', A, '--cache-dir', dir, '--labels', file],
      { encoding: 'utf8' },
    );
    expect(given.status, given.stderr).toBe(0);
    expect(given.stderr).not.toMatch(/reference set: 256/);
    expect(given.stdout).toBe(plain.stdout);
  }, 120_000);

  it('correlate --fitness ensemble reports the ensemble first, then its suite members, then SWAP and reg-SWAP', () => {
    const out = join(dir, 'corr');
    const r = spawnSync(
      process.execPath,
      [CLI, 'correlate', '--sample', '24', ...tiny, '--fitness', 'ensemble', '--cache-dir', dir, '--out', out],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'correlate.json'), 'utf8'));
    const metrics = report.rows.map((x: { metric: string }) => x.metric);
    expect(metrics.slice(0, 3)).toEqual([
      'ensemble',
      'meco (member, SWAP protocol)',
      'az_trainability (member, SWAP protocol)',
    ]);
    expect(metrics).toContain('reg-SWAP');
    expect(report.rows[0].n).toBe(24);
    expect(Math.abs(report.rows[0].spearman.estimate)).toBeLessThanOrEqual(1);
  }, 120_000);

  it('correlate --fitness ensemble-top gives --labels to its members too (their own reference set)', () => {
    const cache = join(dir, 'corr-labels-cache');
    const file = join(dir, 'corr-labels.txt');
    writeFileSync(file, '0\n0\n0\n0\n1\n1\n1\n1\n');
    const args = [CLI, 'correlate', '--sample', '6', ...tiny, '--fitness', 'ensemble-top', '--cache-dir', cache];
    const run = (more: string[], out: string) =>
      spawnSync(process.execPath, [...args, '--no-external', '--no-nwot', '--out', join(dir, out), ...more], {
        encoding: 'utf8',
      });
    const refs = () => readdirSync(cache).filter((f) => f.startsWith('reference-'));
    const plain = (out: string) =>
      JSON.parse(readFileSync(join(dir, out, 'correlate.json'), 'utf8')).rows.find(
        (x: { metric: string }) => x.metric === 'plain (member, SWAP protocol)',
      );
    const a = run([], 'corr-embedded');
    expect(a.status, a.stderr).toBe(0);
    expect(refs()).toHaveLength(1);
    const b = run(['--labels', file], 'corr-given');
    expect(b.status, b.stderr).toBe(0);
    expect(refs()).toHaveLength(2);
    expect(plain('corr-given')).not.toEqual(plain('corr-embedded'));
  }, 120_000);

  it('refuses an unknown fitness and an ONNX model with coded errors', () => {
    const bad = spawnSync(process.execPath, [CLI, 'score', A, '--fitness', 'ensembel'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/E_OPTION.*reg-swap, ensemble/);
    const onnx = cli(['model.onnx']);
    expect(onnx.stderr).toMatch(/E_OPTION/);
  });
});
