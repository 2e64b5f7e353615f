import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScoreServer } from '../src/serve/server.js';
import { formatNb201, sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { Rng } from '../src/util/rng.js';
import { CLI, StdioServer } from './serve-helpers.js';
import { WarmState } from '../src/serve/warm.js';
import { fitnessNames, REG_SWAP_FITNESS } from '../src/score/ensemble.js';
import { pinRegSwap } from './pin-fitness.js';
import { LABEL_FREE_ENSEMBLE } from '../src/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../src/proxies/fitted-rule.js';

const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const B = '|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
/**
 * Tests of the server's mechanics pin the single-proxy fitness (as test/pin-fitness.ts does for the CLI): the
 * default ensemble would score a reference set for each of these non-default settings. The ensemble in serve is
 * tested on its own below.
 */
const TINY = {
  channels: 4,
  cells: 1,
  gaussian: true,
  inputSize: 8,
  batch: 8,
  repeats: 2,
  backend: 'reference',
  fitness: 'reg-swap',
};
const TINY_FLAGS = '--channels 4 --cells 1 --gaussian --input-size 8 --batch 8 --repeats 2 --backend reference'.split(
  ' ',
);
/** Tiny on the native backend, default fitness: its reference set (256 networks) is scored in about a second. */
const TINY_NATIVE = { channels: 4, cells: 1, gaussian: true, inputSize: 8, batch: 8, repeats: 2, backend: 'native' };
const TINY_NATIVE_FLAGS =
  '--channels 4 --cells 1 --gaussian --input-size 8 --batch 8 --repeats 2 --backend native'.split(' ');
/** Slow on the reference backend (full-size NB201 network, many repeats): long enough to cancel or signal. */
const SLOW = { channels: 16, cells: 5, repeats: 64, backend: 'reference', mu: 1, sigma: 1, fitness: 'reg-swap' };
/** About 1 s on the native backend: still running when a signal arrives. */
const ONE_SECOND = { channels: 16, cells: 5, repeats: 4, backend: 'native', mu: 1, sigma: 1, fitness: 'reg-swap' };
const ONNX = join(__dirname, 'fixtures', 'onnx', 'headnet.onnx');
/** The ensemble fitnesses a request may name (besides reg-swap). */
const ENSEMBLES = fitnessNames().filter((n) => n !== REG_SWAP_FITNESS);

/** `swapnas score … --format json`; `pin`: with `--fitness reg-swap` unless the call names a fitness. */
const cli = (args: string[], pin = true) => {
  const argv = pin ? pinRegSwap(args) : args;
  const r = spawnSync(process.execPath, [CLI, ...argv, '--no-progress'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { settings: unknown; results: Record<string, unknown>[] };
};

describe('ScoreServer (in process)', () => {
  it('answers malformed requests with coded errors and keeps serving', async () => {
    const s = new ScoreServer({ maxArchs: 2, maxModelBytes: 100 });
    const code = async (p: Promise<unknown>) => ((await p) as { error?: { code: string } }).error?.code;
    expect(await code(s.handleText('{"id": 1, "method": '))).toBe('E_REQUEST');
    expect(await code(s.handle([1, 2]))).toBe('E_REQUEST');
    expect(await code(s.handle({ id: 1, method: 'launch' }))).toBe('E_REQUEST');
    expect(await code(s.handle({ id: 1, method: 'score', params: { archs: [] } }))).toBe('E_REQUEST');
    expect(await code(s.handle({ id: 1, method: 'score', params: { archs: [A], colour: 'red' } }))).toBe('E_REQUEST');
    expect(await code(s.handle({ id: 1, method: 'score', params: { archs: [A], repeats: true } }))).toBe('E_REQUEST');
    expect(await code(s.handle({ id: 1, method: 'score', params: { archs: [A, A, A] } }))).toBe('E_REQUEST_TOO_LARGE');
    expect(await code(s.handle({ id: 1, method: 'score_onnx', params: { bytes: 'A'.repeat(400) } }))).toBe(
      'E_REQUEST_TOO_LARGE',
    );
    expect(await code(s.handle({ id: 1, method: 'score_onnx', params: { path: ONNX, bytes: 'AA==' } }))).toBe(
      'E_REQUEST',
    );
    const badArch = await s.handle({ id: 'x', method: 'score', params: { archs: [A, '|bad~0|'], ...TINY } });
    expect(badArch).toMatchObject({
      id: 'x',
      error: { code: 'E_ARCH_SYNTAX', message: expect.stringMatching(/^archs\[1\]/) },
    });
    const badOpt = await s.handle({ id: 2, method: 'score', params: { archs: [A], ...TINY, repeats: 0 } });
    expect(badOpt).toMatchObject({ id: 2, error: { code: 'E_OPTION', message: expect.stringContaining('--repeats') } });
    const ok = await s.handle({ id: 3, method: 'score', params: { archs: [A], ...TINY } });
    expect(ok).toMatchObject({ id: 3, result: { results: [{ arch: A }] } });
    expect((await s.handle({ id: 4, method: 'health' })) as unknown).toMatchObject({ result: { status: 'ok' } });
    const proxies = (await s.handle({ id: 5, method: 'proxies' })) as { result: { name: string; served: boolean }[] };
    expect(proxies.result.filter((p) => p.served).map((p) => p.name)).toEqual(['swap', 'reg-swap', ...ENSEMBLES]);
    // the default needs labels; the label-free ensemble stands in for it on unlabelled images
    expect(proxies.result.find((p) => p.name === 'ensemble')).toMatchObject({
      fitness: true,
      default: false,
      labels: false,
    });
    expect(proxies.result.find((p) => p.name === 'ensemble-fit')).toMatchObject({
      fitness: true,
      default: true,
      labels: true,
    });
    expect(proxies.result.find((p) => p.name === 'synflow')).toMatchObject({ served: false, backward: true });
    await s.close();
  });

  it('score_onnx with proxies computes the zero-cost proxies on the model as `score model.onnx --proxies` does', async () => {
    const fx = (f: string) => join(__dirname, 'fixtures', 'proxies', f);
    const [model, x, y] = [fx('resnetish.onnx'), fx('resnetish-x.npy'), fx('resnetish-y.npy')];
    const flags = ['--proxies', 'grad_norm,jacov,nwot,params', '--input', x, '--labels', y, '--proxy-batch', '8'];
    const want = cli(['score', model, ...flags], false);
    const s = new ScoreServer();
    const params = { proxies: 'grad_norm,jacov,nwot,params', input: x, labels: y, proxyBatch: 8 };
    const byPath = (await s.handle({ id: 1, method: 'score_onnx', params: { path: model, ...params } })) as {
      result: typeof want;
    };
    expect(byPath.result).toEqual(want);
    const bytes = readFileSync(model).toString('base64');
    const byBytes = (await s.handle({ id: 2, method: 'score_onnx', params: { bytes, ...params } })) as {
      result: typeof want;
    };
    expect(byBytes.result.results[0]!['proxies']).toEqual(want.results[0]!['proxies']);
    // the precision setting, as --precision (the model's default: float64)
    expect(byPath.result.settings).toMatchObject({ precision: 'float64' });
    const f32 = (await s.handle({
      id: 5,
      method: 'score_onnx',
      params: { path: model, ...params, precision: 'float32' },
    })) as { result: typeof want };
    expect(f32.result).toEqual(cli(['score', model, ...flags, '--precision', 'float32'], false));
    expect(f32.result.settings).toMatchObject({ precision: 'float32' });
    // what the command line refuses with --proxies, the server refuses too
    const code = async (p: Promise<unknown>) => ((await p) as { error?: { code: string; message: string } }).error;
    expect(
      await code(s.handle({ id: 3, method: 'score_onnx', params: { path: model, ...params, repeats: 2 } })),
    ).toEqual({ code: 'E_OPTION', message: expect.stringMatching(/--repeats applies to SWAP scoring/) });
    const proxies = (await s.handle({ id: 4, method: 'proxies' })) as { result: Record<string, unknown>[] };
    expect(proxies.result.find((p) => p['name'] === 'jacov')).toMatchObject({ served: false, setting: 'proxies' });
  });

  it('score with proxies computes them on the space networks as `score <archs> --proxies` does (truth included)', async () => {
    const archs = [A, '|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|none~2|'];
    const flags = ['--proxies', 'synflow,jacov,params', '--proxy-batch', '8', '--truth', '--dataset', 'cifar100'];
    const want = cli(['score', ...archs, ...flags], false);
    const s = new ScoreServer();
    const params = { archs, proxies: 'synflow,jacov,params', proxyBatch: 8, truth: true, dataset: 'cifar100' };
    expect(s.warm.suiteEngines.size).toBe(0);
    const got = (await s.handle({ id: 1, method: 'score', params })) as { result: typeof want };
    expect(got.result).toEqual(want);
    expect(got.result.results[1]!['truth']).toMatchObject({ cifar100: expect.any(Number) });
    // its runner stays warm for the next request (one per engine and thread count), and answers the same
    expect(s.warm.suiteEngines.size).toBe(1);
    const engine = await [...s.warm.suiteEngines.values()][0]!;
    const again = (await s.handle({ id: 6, method: 'score', params })) as { result: typeof want };
    expect(again.result).toEqual(want);
    expect(await [...s.warm.suiteEngines.values()][0]!).toBe(engine);
    const err = (await s.handle({ id: 2, method: 'score', params: { ...params, repeats: 4 } })) as {
      error: { code: string; message: string };
    };
    expect(err.error).toEqual({
      code: 'E_OPTION',
      message: expect.stringMatching(/--repeats applies to SWAP scoring/),
    });
    // a cancelled proxies request answers E_CANCELLED (its runner stops before its next network)
    const many = Array.from({ length: 24 }, () => formatNb201(sampleNb201(new Rng(3))));
    const running = s.handle({ id: 'pc', method: 'score', params: { archs: many, proxies: 'all', proxyBatch: 8 } });
    expect(await s.handle({ id: 'c', method: 'cancel', params: { id: 'pc' } })).toMatchObject({
      result: { cancelled: true },
    });
    expect(await running).toMatchObject({ id: 'pc', error: { code: 'E_CANCELLED' } });
    // on the reference engine too, whose runs are synchronous: a cancel sent while it runs is read between networks
    const ref = { archs: many, proxies: 'synflow', backend: 'reference' };
    const slow = s.handle({ id: 'pr', method: 'score', params: ref });
    while (s.health().running === 0) await new Promise((r) => setTimeout(r, 5));
    expect(await s.handle({ id: 'c2', method: 'cancel', params: { id: 'pr' } })).toMatchObject({
      result: { cancelled: true },
    });
    expect(await slow).toMatchObject({ id: 'pr', error: { code: 'E_CANCELLED' } });
    // the proxies' own settings mean nothing without proxies
    const stray = (await s.handle({ id: 5, method: 'score', params: { archs: [A], proxyBatch: 8 } })) as {
      error: { code: string; message: string };
    };
    expect(stray.error).toEqual({
      code: 'E_REQUEST',
      message: expect.stringMatching(/proxyBatch applies with proxies/),
    });
  });

  it('resolves equal settings once (in any key order); the rows equal a fresh server’s; bad settings are not kept', async () => {
    const s = new ScoreServer();
    const ask = (srv: ScoreServer, id: number, arch: string, settings: Record<string, unknown>) =>
      srv.handle({ id, method: 'score', params: { archs: [arch], ...settings } });
    const reordered = Object.fromEntries(Object.entries(TINY).reverse());
    await ask(s, 1, A, TINY);
    const again = await ask(s, 2, B, reordered);
    expect(s.warm.settings.size).toBe(1);
    const fresh = new ScoreServer();
    expect(again).toEqual(await ask(fresh, 2, B, TINY));
    await ask(s, 3, B, { ...TINY, seed: 3 });
    expect(s.warm.settings.size).toBe(2);
    expect(await ask(s, 4, B, { ...TINY, repeats: 0 })).toMatchObject({ error: { code: 'E_OPTION' } });
    expect(s.warm.settings.size).toBe(2);
    await Promise.all([s.close(), fresh.close()]);
  });

  it('pools queued requests with equal settings into one backend call: the same rows, a bad one fails alone', async () => {
    const archs = [A, B, A, '|bad~0|', B, A];
    const alone = new ScoreServer({ coalesce: 1 });
    const pooled = new ScoreServer();
    const ask = (s: ScoreServer, i: number, a: string) =>
      s.handle({ id: i, method: 'score', params: { archs: [a], ...TINY } });
    const want = await Promise.all(archs.map((a, i) => ask(alone, i, a)));
    const got = await Promise.all(archs.map((a, i) => ask(pooled, i, a)));
    expect(got).toEqual(want);
    expect(got[3]).toMatchObject({ error: { code: 'E_ARCH_SYNTAX' } });
    expect(got[1]).toMatchObject({ result: { results: [{ arch: B }] } });
    expect(pooled.health()).toMatchObject({ pooled: 4, served: 6 }); // the first ran alone, then 1 + 4 pooled
    expect(alone.health()).toMatchObject({ pooled: 0 });
    // A request cancelled inside a pool: the shared call goes on for the others, and stops when nobody waits
    // (on the native backend, which looks at the cancel flag between layers).
    const slow = { ...SLOW, backend: 'native' };
    const first = pooled.handle({ id: 'x', method: 'score', params: { archs: [A], ...slow } });
    const p1 = pooled.handle({ id: 'p1', method: 'score', params: { archs: [A], ...slow } });
    const p2 = pooled.handle({ id: 'p2', method: 'score', params: { archs: [B], ...slow } });
    pooled.cancel('x');
    expect(await first).toMatchObject({ error: { code: 'E_CANCELLED' } });
    await new Promise((r) => setTimeout(r, 50));
    expect(pooled.health()).toMatchObject({ running: 2, queued: 0 });
    pooled.cancel('p1');
    await new Promise((r) => setTimeout(r, 300));
    expect(pooled.health()).toMatchObject({ running: 2 });
    pooled.cancel('p2');
    expect(await Promise.all([p1, p2])).toMatchObject([
      { id: 'p1', error: { code: 'E_CANCELLED' } },
      { id: 'p2', error: { code: 'E_CANCELLED' } },
    ]);
    await Promise.all([alone.close(), pooled.close()]);
  });

  it('keeps the ensemble warm per settings: its reference set is scored once, pooled rows equal lone ones', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'swapnas-serve-ens-'));
    const server = (coalesce?: number) =>
      new ScoreServer({ warm: new WarmState(undefined, { cacheDir }), ...(coalesce ? { coalesce } : {}) });
    const pooled = server();
    const archs = [A, B, A, '|bad~0|', B];
    const ask = (s: ScoreServer, i: number, a: string, extra: Record<string, unknown> = {}) =>
      s.handle({ id: i, method: 'score', params: { archs: [a], ...TINY_NATIVE, ...extra } });
    const got = await Promise.all(archs.map((a, i) => ask(pooled, i, a)));
    expect(pooled.health()).toMatchObject({ pooled: 3 });
    const refs = () => readdirSync(cacheDir).filter((f) => f.startsWith('reference-'));
    expect(refs()).toHaveLength(1); // scored once, cached on disk
    const [ens] = [...pooled.warm.settings.values()];
    const loaded = await (await ens!).ensemble!.loadReference();
    expect([loaded.source, loaded.size]).toEqual(['built', 256]);
    // a second server reads the cached set; lone requests give the pooled rows
    const alone = server(1);
    const want = await Promise.all(archs.map((a, i) => ask(alone, i, a)));
    expect(got).toEqual(want);
    const [cached] = [...alone.warm.settings.values()];
    expect((await (await cached!).ensemble!.loadReference()).source).toBe('cache');
    expect(got[3]).toMatchObject({ error: { code: 'E_ARCH_SYNTAX' } });
    const row = (r: unknown) => (r as { result: { results: Record<string, unknown>[] } }).result.results[0]!;
    expect(row(got[0])).toEqual(row(got[2])); // the same cell, pooled with others or not
    expect(row(got[0])['ensemble']).toMatchObject({ fitness: expect.any(Number) });
    // fitness is part of the pooling key: reg-swap requests with otherwise equal settings get no ensemble column
    const mixed = await Promise.all([ask(pooled, 10, A), ask(pooled, 11, A, { fitness: 'reg-swap' })]);
    expect(row(mixed[0])).toEqual(row(got[0]));
    expect(row(mixed[1])).not.toHaveProperty('ensemble');
    expect(row(mixed[1])['regSwap']).toBe(row(got[0])['regSwap']);
    // another seed: its own settings entry, the same reference set (its identity has no seed) and suite engine
    const seeded = await ask(pooled, 13, A, { seed: 5 });
    expect(row(seeded)['ensemble']).toMatchObject({ fitness: expect.any(Number) });
    expect(row(seeded)['perRepeat']).not.toEqual(row(got[0])['perRepeat']);
    expect(pooled.warm.settings.size).toBe(3); // default fitness, reg-swap, seed 5
    expect(pooled.warm.suiteEngines.size).toBe(1);
    // the shared engine keeps nothing of one setting that changes another's values: each equals its own CLI run
    const again = await ask(pooled, 14, B);
    const seed5 = cli(['score', A, ...TINY_NATIVE_FLAGS, '--seed', '5', '--cache-dir', cacheDir], false);
    expect((seeded as { result: unknown }).result).toEqual(seed5);
    expect(row(again)).toEqual(row(got[1]));
    expect(await ask(pooled, 12, A, { fitness: 'nope' })).toMatchObject({
      error: { code: 'E_OPTION', message: expect.stringContaining('fitness') },
    });
    expect(refs()).toHaveLength(1);
    await Promise.all([pooled.close(), alone.close()]);
  });

  it('says in settings.fitnessNote why unlabelled images rank by the label-free ensemble; a labels file keeps the default', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'swapnas-serve-labels-'));
    const server = new ScoreServer({ warm: new WarmState(undefined, { cacheDir }) });
    const ask = (i: number, extra: Record<string, unknown> = {}) =>
      server.handle({ id: i, method: 'score', params: { archs: [A], ...TINY_NATIVE, ...extra } }) as Promise<{
        result: {
          settings: Record<string, unknown> & { ensemble?: Record<string, unknown> };
          results: { ensemble: { fitness: number } }[];
        };
      }>;
    const labels = join(cacheDir, 'labels.txt');
    writeFileSync(labels, '3\n1\n4\n1\n5\n9\n2\n6\n');
    const [plain, given] = await Promise.all([ask(1), ask(2, { labels })]);
    expect(plain.result.settings.fitnessNote).toMatch(
      /^ranking by ensemble, not the default ensemble-fit: the input images carry no class labels/,
    );
    expect(plain.result.settings.ensemble!['rule']).toBe(LABEL_FREE_ENSEMBLE.name);
    expect(given.result.settings).not.toHaveProperty('fitnessNote');
    expect(given.result.settings.ensemble!['rule']).toBe(FITTED_ENSEMBLE.name);
    expect(given.result.settings.ensemble!['labels']).toMatch(/^[0-9a-f]{16}$/);
    // what `swapnas score --labels` gives for the same request
    expect(given.result).toEqual(
      cli(['score', A, ...TINY_NATIVE_FLAGS, '--labels', labels, '--cache-dir', cacheDir], false),
    );
    // other labels with otherwise equal settings: pooled apart, their own key and values
    const other = join(cacheDir, 'other.txt');
    writeFileSync(other, '0\n0\n0\n0\n0\n0\n0\n0\n');
    const [a, b] = await Promise.all([ask(3, { labels }), ask(4, { labels: other })]);
    expect(a.result).toEqual(given.result);
    expect(b.result.settings.ensemble!['labels']).not.toBe(given.result.settings.ensemble!['labels']);
    expect(b.result.results[0]!.ensemble.fitness).not.toBe(a.result.results[0]!.ensemble.fitness);
    // a labels file rewritten in place is read again (warm settings are keyed by the stamps of their files)
    writeFileSync(labels, '0\n0\n0\n0\n0\n0\n0\n0\n1\n');
    const rewritten = await ask(7, { labels });
    expect(rewritten.result.settings.ensemble!['labels']).toBe(b.result.settings.ensemble!['labels']);
    expect(rewritten.result.results).toEqual(b.result.results);
    const short = join(cacheDir, 'short.txt');
    writeFileSync(short, '1\n2\n');
    expect(await ask(5, { labels: short })).toMatchObject({ error: { code: 'E_LABELS' } });
    expect(await ask(6, { labels: 7 })).toMatchObject({ error: { code: 'E_REQUEST' } });
    await server.close();
  });

  it('bounds the queue (E_BUSY), cancels queued and running requests, and keeps warm state per settings', async () => {
    const s = new ScoreServer({ maxQueue: 1 });
    const running = s.handle({ id: 'run', method: 'score', params: { archs: [A], ...SLOW } });
    const queued = s.handle({ id: 'q', method: 'score', params: { archs: [A], ...TINY } });
    const busy = await s.handle({ id: 'b', method: 'score', params: { archs: [A], ...TINY } });
    expect(busy).toMatchObject({ id: 'b', error: { code: 'E_BUSY' } });
    expect(await s.handle({ id: 'q', method: 'score', params: { archs: [A], ...TINY } })).toMatchObject({
      error: { code: 'E_REQUEST' }, // the id is taken
    });
    expect(await s.handle({ id: 'c1', method: 'cancel', params: { id: 'q' } })).toEqual({
      id: 'c1',
      result: { cancelled: true },
    });
    expect(await queued).toMatchObject({ id: 'q', error: { code: 'E_CANCELLED' } });
    expect(s.health()).toMatchObject({ running: 1, queued: 0 });
    expect(await s.handle({ id: 'c2', method: 'cancel', params: { id: 'run' } })).toMatchObject({
      result: { cancelled: true },
    });
    expect(await running).toMatchObject({ id: 'run', error: { code: 'E_CANCELLED' } });
    expect(await s.handle({ id: 'c3', method: 'cancel', params: { id: 'nobody' } })).toMatchObject({
      result: { cancelled: false },
    });
    // an aborted signal (an HTTP client that went away) cancels too
    const ac = new AbortController();
    const viaSignal = s.handle({ id: 'sig', method: 'score', params: { archs: [A], ...SLOW } }, ac.signal);
    ac.abort();
    expect(await viaSignal).toMatchObject({ error: { code: 'E_CANCELLED' } });
    const one = await s.handle({ id: 1, method: 'score', params: { archs: [A], ...TINY } });
    const two = await s.handle({ id: 2, method: 'score', params: { archs: [B], ...TINY } });
    expect(one).toHaveProperty('result');
    expect(two).toHaveProperty('result');
    expect(s.warm.regularisers.size).toBe(1); // the data-free μ/σ of these settings was computed once
    expect(s.warm.inputs.size).toBe(2); // SLOW (CIFAR batch) and TINY (Gaussian)
    await s.close();
  });

  it('close() lets running and queued requests finish and refuses new ones', async () => {
    const s = new ScoreServer();
    const first = s.handle({ id: 1, method: 'score', params: { archs: [A], ...TINY, repeats: 8 } });
    const second = s.handle({ id: 2, method: 'score', params: { archs: [B], ...TINY } });
    const closed = s.close();
    expect(await s.handle({ id: 3, method: 'score', params: { archs: [A], ...TINY } })).toMatchObject({
      error: { code: 'E_SHUTTING_DOWN' },
    });
    expect(await s.handle({ id: 4, method: 'health' })).toMatchObject({ result: { status: 'closing' } });
    await closed;
    expect(await first).toHaveProperty('result');
    expect(await second).toHaveProperty('result');
  });
});

describe('swapnas serve over stdio (built dist/)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });

  it('gives the CLI results for architectures of any space and for ONNX models (path and bytes)', async () => {
    const srv = new StdioServer();
    try {
      // [serve's params, the CLI's flags, archs, whether the CLI call is pinned to reg-swap]
      const cases: [Record<string, unknown>, string[], string[], boolean][] = [
        [{ ...TINY, truth: true, seed: 3 }, [...TINY_FLAGS, '--truth', '--seed', '3'], [A, B], true],
        // the defaults, fitness included: the ensemble (its shipped reference set), auto backend, CIFAR-10 images,
        // data-free regulariser — as `swapnas score ARCH` with no options at all
        [{}, [], [A], false],
        // the ensemble at tiny settings (its reference set scored once, then cached), and reg-SWAP asked for
        [TINY_NATIVE, TINY_NATIVE_FLAGS, [A, B], false],
        [{ ...TINY_NATIVE, fitness: 'reg-swap' }, [...TINY_NATIVE_FLAGS, '--fitness', 'reg-swap'], [B], false],
        [
          { space: 'darts', channels: 2, cells: 1, gaussian: true, batch: 4, repeats: 1, fitness: 'reg-swap' },
          '--space darts --channels 2 --cells 1 --gaussian --batch 4 --repeats 1'.split(' '),
          [
            "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
          ],
          true,
        ],
      ];
      const rows: Record<string, unknown>[] = [];
      for (const [i, [params, flags, archs, pin]] of cases.entries()) {
        const r = await srv.send(i, 'score', { archs, ...params });
        expect(r.error, JSON.stringify(r.error)).toBeUndefined();
        expect(r.result).toEqual(cli(['score', ...archs, ...flags], pin));
        rows.push((r.result as { results: Record<string, unknown>[] }).results[0]!);
      }
      // the default is the ensemble (fitness and members before SWAP's columns); reg-swap has no ensemble column
      for (const i of [1, 2]) expect(Object.keys(rows[i]!).slice(0, 3)).toEqual(['arch', 'ensemble', 'swap']);
      expect(rows[2]!['ensemble']).toMatchObject({
        fitness: expect.any(Number),
        members: { meco: expect.any(Number) },
      });
      expect(rows[3]).not.toHaveProperty('ensemble');
      expect(rows[3]!['regSwap']).toBeTypeOf('number');
      const bytes = readFileSync(ONNX).toString('base64');
      for (const [params, flags] of [
        [{ batch: 8 }, ['--batch', '8']],
        [{ reinit: true, repeats: 3, seed: 2 }, '--reinit --repeats 3 --seed 2'.split(' ')],
      ] as const) {
        const want = cli(['score', ONNX, ...flags]);
        const byPath = await srv.send('p', 'score_onnx', { path: ONNX, ...params });
        expect(byPath.result).toEqual(want);
        const byBytes = (await srv.send('b', 'score_onnx', { bytes, ...params })) as {
          result: { settings: unknown; results: Record<string, unknown>[] };
        };
        expect(byBytes.result.settings).toEqual(want.settings);
        expect({ ...byBytes.result.results[0], model: ONNX }).toEqual(want.results[0]);
      }
      const backends = (await srv.send('be', 'backends')).result as { name: string; available: boolean }[];
      expect(backends.map((b) => b.name)).toContain('reference');
      expect(backends.find((b) => b.name === 'reference')!.available).toBe(true);
      expect(((await srv.send('pr', 'proxies')).result as { name: string }[]).map((p) => p.name)).toContain('swap');
    } finally {
      expect(await srv.close()).toEqual({ code: 0, signal: null });
    }
  });

  it('lone native requests (weights, reference set kept) interleaved over two settings and fitnesses equal batched CLI runs', async () => {
    const rng = new Rng(11);
    const archs = Array.from({ length: 5 }, () => formatNb201(sampleNb201(rng)));
    const settings: [Record<string, unknown>, string[]][] = [
      // the default fitness (the ensemble) and reg-SWAP
      [
        { backend: 'native', channels: 4, cells: 1, batch: 8, repeats: 3, seed: 1 },
        '--backend native --channels 4 --cells 1 --batch 8 --repeats 3 --seed 1'.split(' '),
      ],
      [
        { backend: 'native', channels: 6, cells: 1, batch: 8, repeats: 2, seed: 2, fitness: 'reg-swap' },
        '--backend native --channels 6 --cells 1 --batch 8 --repeats 2 --seed 2 --fitness reg-swap'.split(' '),
      ],
    ];
    const wants = settings.map(([, flags]) => cli(['score', ...archs, ...flags], false));
    expect(wants[0]!.results[0]).toHaveProperty('ensemble');
    const srv = new StdioServer();
    try {
      for (let round = 0; round < 2; round++) {
        for (const [k, arch] of archs.entries()) {
          for (const [s, [params]] of settings.entries()) {
            const r = (await srv.send(`${round}-${k}-${s}`, 'score', { archs: [arch], ...params })) as {
              result: { settings: unknown; results: unknown[] };
            };
            expect(r.result.settings).toEqual(wants[s]!.settings);
            expect(r.result.results).toEqual([wants[s]!.results[k]]);
          }
        }
      }
    } finally {
      expect(await srv.close()).toEqual({ code: 0, signal: null });
    }
  });

  it('survives oversized and malformed lines, writes only responses, finishes in-flight work on SIGTERM', async () => {
    const srv = new StdioServer(['--max-request-mb', '0.001']); // 1 KiB lines
    const big = await srv.sendRaw(`{"id": 1, "pad": "${'x'.repeat(4000)}"}`, null);
    expect(big.error?.code).toBe('E_REQUEST_TOO_LARGE');
    expect((await srv.sendRaw('{"id": 2, "method": "score", "params": {"archs": [}', null)).error?.code).toBe(
      'E_REQUEST',
    );
    expect((await srv.send(3, 'health')).result).toMatchObject({ status: 'ok' });
    // ~1 s on the native backend: still running when the signal arrives
    const slow = srv.send(4, 'score', {
      archs: [A],
      ...ONE_SECOND,
    });
    expect((await srv.send(5, 'health')).result).toMatchObject({ running: 1 });
    srv.child.kill('SIGTERM');
    const done = await slow;
    expect(done.error, JSON.stringify(done.error)).toBeUndefined();
    expect(done.result).toMatchObject({ results: [{ arch: A }] });
    expect(await srv.exited).toEqual({ code: 0, signal: null });
    expect(srv.lines).toHaveLength(5);
    for (const l of srv.lines) expect(JSON.parse(l)).toHaveProperty('id');
  });
});

/** Start `swapnas serve --http 0 …`; resolves with the child and the URL it printed. */
async function startHttp(args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const first = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout }).once('line', res);
    child.once('exit', () => rej(new Error(`serve exited: ${err}`)));
  });
  return { child, exited, url: (JSON.parse(first) as { url: string }).url, stderr: () => err };
}

describe('swapnas serve --http (built dist/)', () => {
  it('serves score, health and lists on loopback with coded HTTP errors; SIGTERM lets the request finish', async () => {
    const { child, exited, url } = await startHttp(['--max-request-mb', '0.002']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ result: { status: 'ok' } });
    const score = await post('/score?id=7', { archs: [A], ...TINY, truth: true });
    expect(score.status).toBe(200);
    const body = (await score.json()) as { id: unknown; result: unknown };
    expect(body.id).toBe('7');
    expect(body.result).toEqual(cli(['score', A, ...TINY_FLAGS, '--truth']));
    const rpc = await post('/rpc', { id: 8, method: 'proxies' });
    expect(((await rpc.json()) as { id: number }).id).toBe(8);
    const checks: [Promise<globalThis.Response>, number, string][] = [
      [post('/rpc', '{"id": 1, "method"'), 400, 'E_REQUEST'],
      [post('/score', { archs: ['|bad~0|'] }), 400, 'E_ARCH_SYNTAX'],
      [post('/score', { archs: [A], pad: 'x'.repeat(5000) }), 413, 'E_REQUEST_TOO_LARGE'],
      [fetch(`${url}/nowhere`), 404, 'E_NOT_FOUND'],
    ];
    for (const [p, status, code] of checks) {
      const r = await p;
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const slow = post('/score', { archs: [A], ...ONE_SECOND });
    for (let i = 0; i < 100; i++) {
      const h = (await (await fetch(`${url}/health`)).json()) as { result: { running: number } };
      if (h.result.running === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    const done = await slow;
    expect(done.status).toBe(200);
    expect(done.headers.get('connection')).toBe('close'); // the server does not wait for the idle connection
    expect(await done.json()).toMatchObject({ result: { results: [{ arch: A }] } });
    expect(await exited).toBe(0);
  });

  it('refuses a non-loopback address without a token, and checks the token when given', async () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--http', '0', '--host', '0.0.0.0'], {
      encoding: 'utf8',
      env: { ...process.env, SWAPNAS_SERVE_TOKEN: '' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/E_OPTION.*--token/);
    const token = 'a-long-enough-test-token';
    const { child, exited, url } = await startHttp(['--host', '0.0.0.0'], { SWAPNAS_SERVE_TOKEN: token });
    const port = new URL(url).port;
    const at = `http://127.0.0.1:${port}/health`;
    const none = await fetch(at);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('E_UNAUTHORIZED');
    expect((await fetch(at, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    expect((await fetch(at, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
