import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { defaultProviders } from '../src/backends/registry.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { requestKey, resolveScoringRequest } from '../src/request/resolve.js';
import { spaceEntry, spaceNames } from '../src/catalog/registry.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** A request without the data-free μ/σ search (fast), on a small Gaussian batch. */
const quick = { mu: 10, sigma: 100, inputs: { kind: 'gaussian', seed: 1 } } as const;

describe('the resolved scoring request', () => {
  it("fills every space's studied proxy defaults, and is plain JSON", async () => {
    for (const space of spaceNames()) {
      const entry = spaceEntry(space);
      const d = entry.proxyDefaults;
      const { request, inputs } = await resolveScoringRequest({ space, ...quick });
      expect(request.space).toBe(space);
      expect(request.target).toBe(entry.targets[0]);
      expect([request.batch, request.repeats, request.seed]).toEqual([d.batch, d.repeats, 0]);
      expect(request.network).toMatchObject({ channels: d.channels, cells: d.cells, prune: d.prune });
      expect(request.network['inputSize']).toBe(inputs.h);
      expect(inputs.n).toBe(d.batch);
      expect(JSON.parse(JSON.stringify(request))).toEqual(request);
    }
  });

  it('official protocol, then explicit options win; spaces without one refuse it', async () => {
    const off = await resolveScoringRequest({ official: true, ...quick });
    expect(off.request.network).toMatchObject({ channels: 16, cells: 5, prune: false });
    expect([off.request.batch, off.request.repeats]).toEqual([16, 32]);
    const mixed = await resolveScoringRequest({ official: true, repeats: 2, channels: 4, ...quick });
    expect([mixed.request.repeats, mixed.request.network['channels']]).toEqual([2, 4]);
    expect(mixed.request.network['cells']).toBe(5);
    const darts = await resolveScoringRequest({ space: 'darts', official: true, ...quick });
    expect(darts.request.network).toMatchObject({ kind: 'proxy', channels: 3, cells: 1 });
    await expect(resolveScoringRequest({ space: 'nb101', official: true, ...quick })).rejects.toMatchObject({
      code: 'E_OPTION',
      message: expect.stringContaining('no official SWAP protocol'),
    });
  });

  it('--network picks a proxy-network kind with its own size defaults; explicit sizes win; others refuse it', async () => {
    const pair = await resolveScoringRequest({ space: 'darts', network: 'pair', ...quick });
    expect(pair.request.network).toMatchObject({ kind: 'pair', channels: 3, cells: 2 });
    const wide = await resolveScoringRequest({ space: 'darts', network: 'pair', channels: 8, ...quick });
    expect(wide.request.network).toMatchObject({ kind: 'pair', channels: 8, cells: 2 });
    const cifar = await resolveScoringRequest({ space: 'darts', network: 'cifar', ...quick });
    const dflt = await resolveScoringRequest({ space: 'darts', ...quick });
    expect(cifar.request.network).toEqual(dflt.request.network);
    expect(requestKey(pair.request)).not.toBe(requestKey(dflt.request));
    await expect(resolveScoringRequest({ space: 'darts', network: 'toString', ...quick })).rejects.toMatchObject({
      code: 'E_OPTION',
      message: expect.stringContaining('pair'),
    });
    await expect(resolveScoringRequest({ network: 'pair', ...quick })).rejects.toMatchObject({ code: 'E_OPTION' });
  });

  it('the target sets the network options; an unknown target is E_DATASET', async () => {
    const r = await resolveScoringRequest({ target: 'cifar100', ...quick });
    expect(r.request.network['classes']).toBe(100);
    const t = await resolveScoringRequest({ space: 'tnb101-micro', target: 'autoencoder', inputSize: 32, ...quick });
    expect(t.request.network).toMatchObject({ inputSize: 32 });
    await expect(resolveScoringRequest({ target: 'mnist', ...quick })).rejects.toMatchObject({ code: 'E_DATASET' });
  });

  it('validates numbers in one place with one message per kind', async () => {
    await expect(resolveScoringRequest({ seed: 2 ** 32, ...quick })).rejects.toMatchObject({
      code: 'E_OPTION',
      message: 'seed must be an integer in [0, 2^32), got 4294967296',
    });
    await expect(resolveScoringRequest({ batch: 0, ...quick })).rejects.toMatchObject({
      code: 'E_OPTION',
      message: 'batch must be an integer ≥ 1, got 0',
    });
    await expect(resolveScoringRequest({ mu: 1, inputs: quick.inputs })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(resolveScoringRequest({ ...quick, targetParams: 5 })).rejects.toMatchObject({ code: 'E_OPTION' });
  });

  it('regulariser: explicit μ/σ, μ=σ=K, the data-free rule, or none', async () => {
    expect((await resolveScoringRequest({ ...quick })).request.regulariser).toEqual({
      mu: 10,
      sigma: 100,
      source: 'user',
    });
    const k = await resolveScoringRequest({ targetParams: 300, inputs: quick.inputs });
    expect(k.request.regulariser).toEqual({ mu: 300, sigma: 300, source: 'target-params (μ=σ=K)' });
    const none = await resolveScoringRequest({ reg: false, inputs: quick.inputs });
    expect(none.request.regulariser).toBeNull();
    const free = await resolveScoringRequest({ channels: 4, cells: 1, inputs: quick.inputs });
    expect(free.request.regulariser?.source).toMatch(/^data-free/);
    expect(free.request.regulariser!.mu).toBeGreaterThan(0);
  });

  it('requestKey: equal requests give equal keys whatever the key order; any change gives another', async () => {
    const a = (await resolveScoringRequest({ ...quick })).request;
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as typeof a;
    expect(requestKey(reordered)).toBe(requestKey(a));
    const b = (await resolveScoringRequest({ ...quick, seed: 1 })).request;
    expect(requestKey(b)).not.toBe(requestKey(a));
    expect(requestKey(a)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a caller-held batch is used as given (S samples of it), and its source recorded', async () => {
    const batch = gaussianBatch(20, 3, 32, 32, 9);
    const r = await resolveScoringRequest({ ...quick, inputs: { kind: 'batch', batch }, batch: 8 });
    expect(r.inputs.n).toBe(8);
    expect(r.request.inputs).toBe(batch.source);
  });
});

describe('CLI option groups', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  });

  it('score, search and correlate --help list every backend of the registry', () => {
    for (const cmd of ['score', 'search', 'correlate']) {
      const r = spawnSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const help = r.stdout.replace(/\s+/g, ' ');
      for (const p of defaultProviders()) expect(help, `${cmd} --help`).toContain(p.name);
      expect(help).toMatch(/--backend <name> auto \| cuda \| native \| webgpu \| ort \| reference/);
    }
  });

  it('every seed flag is checked with the same message', () => {
    const messages = new Set<string>();
    for (const args of [
      ['score', '--sample', '1', '--seed', '4294967296'],
      ['search', '--seed', '4294967296'],
      ['correlate', '--sample', '4', '--weight-seed', '4294967296'],
    ]) {
      const r = spawnSync(process.execPath, [CLI, ...pinRegSwap(args), '--no-progress'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/E_OPTION: --(weight-)?seed must be an integer .*4294967296/);
      messages.add(r.stderr.trim().split('\n').at(-1)!.replace('--weight-seed', '--seed'));
    }
    expect(messages.size).toBe(1);
  });
});
