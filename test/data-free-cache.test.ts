import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { resolveScoringRequest } from '../src/request/resolve.js';
import { dataFreeRegulariser } from '../src/score/auto-reg.js';
import { dataFreeRegFile, diskRegulariserMemo, readDataFreeReg } from '../src/score/auto-reg-cache.js';
import type { Regulariser } from '../src/proxies/regularise.js';
import { WarmState } from '../src/serve/warm.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const NET = { channels: 4, cells: 1, classes: 10, inputSize: 8, prune: true };
const KEY = JSON.stringify(['nb201', NET]);
/** A small resolved-request setting (Gaussian inputs) for the memo and warm-server checks. */
const SMALL = {
  channels: 4,
  cells: 1,
  inputSize: 8,
  batch: 4,
  repeats: 1,
  inputs: { kind: 'gaussian' as const, seed: 1 },
};
const tmp = () => mkdtempSync(join(tmpdir(), 'swapnas-regcache-'));

/** The data-free rule on a small NB201 network, counting how often it really runs. */
function counted(): { make: () => Regulariser; calls: () => number } {
  let n = 0;
  return {
    make: () => {
      n++;
      return dataFreeRegulariser(spaceEntry('nb201').space, NET);
    },
    calls: () => n,
  };
}

describe('data-free μ/σ cached on disk', () => {
  it('computes once, then reads back exactly the computed values', () => {
    const dir = tmp();
    const memo = diskRegulariserMemo(dir);
    const c = counted();
    const first = memo(KEY, c.make);
    expect(existsSync(dataFreeRegFile(KEY, dir))).toBe(true);
    const second = diskRegulariserMemo(dir)(KEY, c.make);
    expect(c.calls()).toBe(1);
    expect(second).toStrictEqual(first);
    expect(second).toStrictEqual(dataFreeRegulariser(spaceEntry('nb201').space, NET));
  });

  it('keys files by setting: another network option is another file', () => {
    const dir = tmp();
    const other = JSON.stringify(['nb201', { ...NET, channels: 8 }]);
    expect(dataFreeRegFile(other, dir)).not.toBe(dataFreeRegFile(KEY, dir));
    diskRegulariserMemo(dir)(KEY, counted().make);
    expect(readDataFreeReg(dataFreeRegFile(KEY, dir), other)).toBeUndefined();
  });

  it('rebuilds a corrupt file, or one written for another version, code identity or format', () => {
    const dir = tmp();
    const file = dataFreeRegFile(KEY, dir);
    const good = diskRegulariserMemo(dir)(KEY, counted().make);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    for (const bad of [
      '{"identity": ',
      JSON.stringify({ ...doc, identity: { ...doc.identity, version: '0.0.0-other' } }),
      JSON.stringify({ ...doc, identity: { ...doc.identity, code: '0123456789abcdef' } }),
      JSON.stringify({ ...doc, identity: { ...doc.identity, format: 'swapnas-data-free-reg/0' } }),
      JSON.stringify({ ...doc, regulariser: { ...doc.regulariser, sigma: -1 } }),
    ]) {
      writeFileSync(file, bad);
      const c = counted();
      expect(diskRegulariserMemo(dir)(KEY, c.make)).toStrictEqual(good);
      expect(c.calls()).toBe(1);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toStrictEqual(doc);
    }
  });

  it('an unwritable cache folder costs the computation, not the call', () => {
    const blocker = join(tmp(), 'file');
    writeFileSync(blocker, 'not a folder');
    const c = counted();
    const memo = diskRegulariserMemo(join(blocker, 'cache'));
    expect(memo(KEY, c.make).mu).toBeGreaterThan(0);
    expect(memo(KEY, c.make).mu).toBeGreaterThan(0);
    expect(c.calls()).toBe(2);
  });

  it('a resolved request with the disk memo equals one without', async () => {
    const memo = { regulariser: diskRegulariserMemo(tmp()) };
    const plain = await resolveScoringRequest(SMALL);
    expect((await resolveScoringRequest(SMALL, {}, memo)).request).toStrictEqual(plain.request);
    expect((await resolveScoringRequest(SMALL, {}, memo)).request).toStrictEqual(plain.request);
  });
});

describe('score reads the cache from --cache-dir, else $SWAPNAS_CACHE_DIR', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });
  const small = '--channels 4 --cells 1 --input-size 8 --batch 4 --repeats 1 --gaussian --no-progress'.split(' ');
  const score = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [CLI, ...pinRegSwap(['score', A, ...small, ...args])], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { settings: { regulariser: Regulariser }; results: Record<string, unknown>[] };
  };

  it('the first call writes the file, later calls read it, and every output is the same', () => {
    const dir = tmp();
    const first = score(['--cache-dir', dir]);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(score(['--cache-dir', dir])).toStrictEqual(first);
    const env = tmp();
    expect(score([], { SWAPNAS_CACHE_DIR: env })).toStrictEqual(first);
    expect(readdirSync(env)).toStrictEqual(files);
    // The file is what the call uses: an edited μ shows in the output (and in reg-SWAP).
    const file = join(dir, files[0]!);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...doc, regulariser: { ...doc.regulariser, mu: 1 } }));
    const edited = score(['--cache-dir', dir]);
    expect(edited.settings.regulariser.mu).toBe(1);
    expect(edited.results[0]!['regSwap']).not.toBe(first.results[0]!['regSwap']);
  });
});

describe('the warm server reads and writes the same cache', () => {
  it('its first resolution of a setting leaves the file a later CLI call reads', async () => {
    const dir = tmp();
    const warm = new WarmState(undefined, { cacheDir: dir });
    const r = await resolveScoringRequest(SMALL, {}, warm.resolveMemo);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')).regulariser).toStrictEqual(r.request.regulariser);
    await warm.close();
  });
});
