import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as init from '../src/proxies/init.js';
import { inOrderWindow } from '../src/proxies/runner.js';
import { groupNeedsWeights, PROXY_NAMES, proxySpec } from '../src/proxies/registry.js';
import { runProxies } from '../src/proxies/run.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { loadAddon } from '../src/native/loader.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { defaultBatch } from '../src/data/cifar.js';

/**
 * `score --proxies` streams and checkpoints its rows (issue 13): rows reach stdout or `FILE.partial.jsonl` as they
 * are computed, a killed run leaves its checkpoint, and `--resume` finishes it into the same file an uninterrupted
 * run writes.
 */
// initParams behind a spy, to see which proxies initialise weights
vi.mock('../src/proxies/init.js', async (original) => {
  const m = await original<typeof import('../src/proxies/init.js')>();
  return { ...m, initParams: vi.fn(m.initParams) };
});

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'swapnas-pstream-'));
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);
const NET = ['--channels', '4', '--cells', '1', '--input-size', '16', '--proxy-batch', '16', '--threads', '1'];

/** A list of `count` distinct NB201 cells (the first of the space's enumeration order is not needed: any will do). */
function cellList(count: number): string {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'score',
      '--sample',
      String(count),
      '--seed',
      '7',
      '--proxies',
      'params',
      '--format',
      'jsonl',
      '--no-progress',
    ],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  const f = tmp('cells.txt');
  writeFileSync(
    f,
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => `${JSON.parse(l).arch}\n`)
      .join(''),
  );
  return f;
}

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
}

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').length - 1 : 0);

/** Start a run and SIGKILL it once `ready()` holds (polled every 5 ms); whether it was killed while still running. */
async function killWhen(args: string[], ready: () => boolean): Promise<boolean> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  let killed = false;
  const timer = setInterval(() => {
    if (ready()) {
      clearInterval(timer);
      killed = child.kill('SIGKILL');
    }
  }, 5);
  await closed;
  clearInterval(timer);
  return killed;
}

describe('inOrderWindow', () => {
  it('emits in item order however the items finish, with at most the window in flight', async () => {
    const started: number[] = [];
    const release: (() => void)[] = [];
    let active = 0;
    let most = 0;
    const emitted: number[] = [];
    const done = inOrderWindow(
      6,
      3,
      (i) =>
        new Promise<number>((res) => {
          started.push(i);
          most = Math.max(most, ++active);
          release[i] = () => {
            active--;
            res(i * 10);
          };
        }),
      (r, i) => {
        expect(r).toBe(i * 10);
        emitted.push(i);
      },
    );
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    expect(started).toEqual([0, 1, 2]); // the window, not all six
    release[2]!();
    await settle();
    expect(emitted).toEqual([]); // 2 waits for 0 and 1
    expect(started).toEqual([0, 1, 2, 3]);
    for (const i of [1, 0, 5, 3, 4]) {
      await settle();
      release[i]!();
    }
    await done;
    expect(emitted).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(3);
  });

  it('an emit error fails the whole window', async () => {
    await expect(
      inOrderWindow(
        4,
        2,
        async (i) => i,
        (_r, i) => {
          if (i === 1) throw new Error('disk full');
        },
      ),
    ).rejects.toThrow('disk full');
  });

  it('after a failed item no other item starts and nothing more is emitted', async () => {
    const started: number[] = [];
    const emitted: number[] = [];
    let release = () => {};
    const slow = new Promise<void>((r) => {
      release = r;
    });
    const run = inOrderWindow(
      50,
      3,
      async (i) => {
        started.push(i);
        if (i === 0) await slow; // in flight when item 1 fails
        if (i === 1) throw new Error('E_BACKEND: out of memory');
        return i;
      },
      (_r, i) => {
        emitted.push(i);
      },
    );
    await expect(run).rejects.toThrow('out of memory');
    release();
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]); // the window when 1 failed; the other 47 never start
    expect(emitted).toEqual([]); // 0 finished after the failure: not emitted
  });
});

describe('weights only where a proxy reads them', () => {
  it('params and flops are computed without initialising weights; every other group needs them', async () => {
    for (const name of PROXY_NAMES) {
      const g = proxySpec(name).group;
      expect(groupNeedsWeights(g), name).toBe(g !== 'count');
    }
    const space = spaceEntry('nb201').space;
    const cell = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
    const net = space.build(space.parse(cell), { channels: 4, cells: 1 });
    const o = { protocol: 'official' as const, seed: 0, images: defaultBatch(1) };
    const spy = vi.mocked(init.initParams);
    spy.mockClear();
    const alone = runProxies(net, ['params', 'flops'], o).values;
    expect(spy).not.toHaveBeenCalled();
    const beside = runProxies(net, ['params', 'l2_norm'], o).values;
    expect(spy).toHaveBeenCalledTimes(1); // l2_norm reads the weights
    const load = loadAddon();
    if (!load.ok) throw new Error(load.reason);
    spy.mockClear();
    const native = nativeProxyRunner(load.addon, 1);
    expect((await native.run(net, ['params', 'flops'], o)).values.params).toEqual(alone.params);
    expect(spy).not.toHaveBeenCalled();
    await native.run(net, ['params', 'l2_norm'], o);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(alone.params!.value).toBeGreaterThan(0);
    expect(alone.params).toEqual(beside.params);
  });
});

describe('score --proxies --resume: duplicates and refusals (built dist/)', () => {
  const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  const B = '|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  const args = ['score', A, B, A, ...NET, '--proxies', 'params', '--format', 'jsonl', '--no-progress'];

  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });

  it('an architecture listed twice is skipped once per row the checkpoint holds: the uninterrupted output', () => {
    const ref = run(args);
    expect(ref.status, ref.stderr).toBe(0);
    expect(ref.stdout.split('\n').filter(Boolean)).toHaveLength(3);
    const f = tmp('dup.jsonl');
    writeFileSync(`${f}.partial.jsonl`, `${ref.stdout.split('\n')[0]}\n`); // killed after A's first row
    const r = run([...args, '-o', f, '--resume']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(ref.stdout);
  });

  it('a finished output made with other settings is refused (E_JOURNAL) and leaves no checkpoint behind', () => {
    const f = tmp('finished.jsonl');
    expect(run([...args, '-o', f]).status).toBe(0);
    const before = readFileSync(f, 'utf8');
    const other = run([...args, '-o', f, '--resume', '--seed', '3']);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain('E_JOURNAL');
    expect(existsSync(`${f}.partial.jsonl`)).toBe(false);
    expect(readFileSync(f, 'utf8')).toBe(before);
  });

  for (const format of ['json', 'csv'] as const)
    it(`a finished ${format} output (no checkpoint) is refused (E_JOURNAL), not silently scored again`, () => {
      const fmt = [...args.slice(0, -3), '--format', format, '--no-progress'];
      const f = tmp(`finished.${format}`);
      expect(run([...fmt, '-o', f]).status).toBe(0);
      const before = readFileSync(f, 'utf8');
      const r = run([...fmt, '-o', f, '--resume']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/E_JOURNAL.*finished output.*partial\.jsonl/);
      expect(existsSync(`${f}.partial.jsonl`)).toBe(false);
      expect(readFileSync(f, 'utf8')).toBe(before);
    });
});

describe("mapLargeAllocations (the CLI pins malloc's mmap threshold for native proxy runs)", () => {
  it('applies on glibc, and refuses sizes outside 64 KiB … 1 GiB with a coded error', () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(load.reason);
    const glibc = Boolean(
      (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime,
    );
    expect(load.addon.mapLargeAllocations(1 << 20)).toBe(glibc);
    expect(() => load.addon.mapLargeAllocations(1024)).toThrow(expect.objectContaining({ code: 'E_BACKEND' }));
  });
});

describe('score --proxies streams, checkpoints and resumes (built dist/)', () => {
  let cells: string;
  const base = () => ['score', '--archs', cells, ...NET, '--proxies', 'params,nwot', '--no-progress'];
  let refJsonl: string;

  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
    cells = cellList(300);
    const r = run([...base(), '--format', 'jsonl']);
    expect(r.status, r.stderr).toBe(0);
    refJsonl = r.stdout;
  }, 600_000);

  it('-o FILE (jsonl) equals stdout; the checkpoint is renamed into place and the lock released', () => {
    expect(refJsonl.split('\n').filter(Boolean)).toHaveLength(300);
    const f = tmp('out.jsonl');
    expect(run([...base(), '--format', 'jsonl', '-o', f]).status).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(refJsonl);
    expect(existsSync(`${f}.partial.jsonl`)).toBe(false);
    expect(existsSync(`${f}.lock`)).toBe(false);
  });

  for (const format of ['jsonl', 'json', 'csv'] as const) {
    it(`killed, then --resume (${format}): the same output as an uninterrupted run`, async () => {
      const ref = tmp(`ref.${format}`);
      expect(run([...base(), '--format', format, '-o', ref]).status).toBe(0);
      const f = tmp(`crash.${format}`);
      const part = `${f}.partial.jsonl`;
      const killed = await killWhen([...base(), '--format', format, '-o', f], () => lines(part) >= 40);
      expect(killed).toBe(true);
      const kept = lines(part);
      expect(kept).toBeGreaterThanOrEqual(40); // computed rows survive the kill
      expect(kept).toBeLessThan(300);
      expect(existsSync(f)).toBe(false); // the output appears only when complete
      const r = run([...base(), '--format', format, '-o', f, '--resume']);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(f, 'utf8')).toBe(readFileSync(ref, 'utf8'));
      expect(existsSync(part)).toBe(false);
      if (format === 'csv')
        expect(readFileSync(`${f}.settings.json`, 'utf8')).toBe(readFileSync(`${ref}.settings.json`, 'utf8'));
    });
  }

  it('--resume skips what the checkpoint holds and refuses one made with other settings (E_JOURNAL)', () => {
    const f = tmp('mismatch.jsonl');
    const first40 = `${refJsonl.split('\n').slice(0, 40).join('\n')}\n`;
    writeFileSync(`${f}.partial.jsonl`, first40);
    const other = run([...base(), '--format', 'jsonl', '-o', f, '--resume', '--seed', '3']);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain('E_JOURNAL');
    expect(readFileSync(`${f}.partial.jsonl`, 'utf8')).toBe(first40); // left as it was
    const r = run([...base(), '--format', 'jsonl', '-o', f, '--resume']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(refJsonl);
    // a finished jsonl output resumes to itself with nothing to do
    expect(run([...base(), '--format', 'jsonl', '-o', f, '--resume']).status).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(refJsonl);
    // resumed by a run that lists other architectures: its rows would end up in that run's result
    const firstCell = tmp('first-cell.txt');
    writeFileSync(firstCell, `${readFileSync(cells, 'utf8').split('\n')[0]}\n`);
    const subset = base().map((a) => (a === cells ? firstCell : a));
    const one = run([...subset, '--format', 'jsonl', '-o', f, '--resume']);
    expect(one.status).toBe(2);
    expect(one.stderr).toMatch(/E_JOURNAL.*architectures this run does not list/);
    expect(readFileSync(f, 'utf8')).toBe(refJsonl);
    expect(existsSync(`${f}.partial.jsonl`)).toBe(false); // refused before the finished output was copied
    // without --resume a left checkpoint is replaced, and the run says so
    writeFileSync(`${f}.partial.jsonl`, first40);
    const over = run([...base(), '--format', 'jsonl', '-o', f]);
    expect(over.stderr).toContain('starting over');
    expect(readFileSync(f, 'utf8')).toBe(refJsonl);
  });

  it('--resume without --output is a coded error', () => {
    const r = run([...base(), '--format', 'jsonl', '--resume']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_OPTION');
  });

  it('jsonl rows reach stdout while the run is still going', async () => {
    const child = spawn(process.execPath, [CLI, ...base(), '--format', 'jsonl'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    let aliveWith = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const k = out.split('\n').length - 1;
      if (k >= 20 && aliveWith === 0 && child.kill('SIGKILL')) aliveWith = k;
    });
    await new Promise<void>((res) => child.on('close', () => res()));
    expect(aliveWith).toBeGreaterThanOrEqual(20);
    expect(refJsonl.startsWith(out.slice(0, out.lastIndexOf('\n') + 1))).toBe(true);
  });

  it('progress on stderr: n/N, rate and ETA; none with --no-progress', () => {
    const args = ['score', '--archs', cells, ...NET, '--proxies', 'params', '--format', 'jsonl'];
    const r = run(args);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/score --proxies: 300\/300 networks \(100\.0%\) [\d.]+\/s elapsed [\d.]+s eta 0s/);
    expect(run([...args, '--no-progress']).stderr).not.toContain('score --proxies');
  });
});
