import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { checkOutputDir, checkOutputFile } from '../src/io/output-path.js';
import { AppendFile, writeFileAtomic } from '../src/io/atomic.js';
import { lockOutput, STALE_MS } from '../src/io/lock.js';
import { isSwapError } from '../src/util/errors.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], { encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'swapnas-outputs-'));
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const TINY = ['--channels', '4', '--cells', '1', '--gaussian', '--input-size', '8', '--batch', '8', '--repeats', '1'];

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return isSwapError(e) ? e.code : `uncoded: ${String(e)}`;
  }
  return 'no error';
}

/** Start a CLI run and resolve once its stderr matches `ready` or `file` exists (its lock is held by then). */
function startUntil(args: string[], ready: RegExp, file?: string) {
  const child = spawn(process.execPath, [CLI, ...pinRegSwap(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const done = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  const started = new Promise<void>((res, rej) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) res();
    });
    if (file) {
      const t = setInterval(() => {
        if (existsSync(file)) {
          clearInterval(t);
          res();
        }
      }, 20);
      child.on('close', () => clearInterval(t));
    }
    child.on('close', () => rej(new Error(`exited before ready: ${err}`)));
  });
  return { child, started, done, stderr: () => err };
}

describe('io: paths, atomic writes, locks (unit)', () => {
  it('checkOutputFile refuses missing folders, folders, read-only places; accepts new and device files', () => {
    expect(code(() => checkOutputFile('/nonexistent/x.json', '-o'))).toBe('E_OUTPUT');
    expect(code(() => checkOutputFile(dir, '-o'))).toBe('E_OUTPUT');
    const file = tmp('plain');
    writeFileSync(file, 'x');
    expect(code(() => checkOutputFile(join(file, 'below.json'), '-o'))).toBe('E_OUTPUT');
    // /sys refuses new files even to root (access(W_OK) would say yes there)
    expect(code(() => checkOutputFile('/sys/swapnas-test.json', '-o'))).toBe('E_OUTPUT');
    expect(code(() => checkOutputFile(tmp('new.json'), '-o'))).toBe('no error');
    expect(code(() => checkOutputFile('/dev/null', '-o'))).toBe('no error');
    expect(code(() => checkOutputDir(join(dir, 'a', 'b', 'c'), '--out'))).toBe('no error');
    expect(code(() => checkOutputDir(join(file, 'c'), '--out'))).toBe('E_OUTPUT');
    expect(code(() => checkOutputDir('/sys/swapnas-c', '--out'))).toBe('E_OUTPUT');
  });

  it('writeFileAtomic replaces whole files, writes devices in place, and codes a full disk', () => {
    const f = tmp('atomic.json');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(code(() => writeFileAtomic('/dev/full', 'x'.repeat(10_000)))).toBe('E_OUTPUT');
    expect(code(() => writeFileAtomic('/dev/null', 'x'))).toBe('no error');
    const a = AppendFile.open('/dev/full');
    expect(code(() => a.write('x'.repeat(10_000)))).toBe('E_OUTPUT');
    a.close();
  });

  it('a second lock on the same output is E_LOCKED naming the owner; release frees it', () => {
    const f = tmp('locked.jsonl');
    const l = lockOutput(f, 'test output');
    let msg = '';
    try {
      lockOutput(f, 'test output');
    } catch (e) {
      expect(isSwapError(e) && e.code).toBe('E_LOCKED');
      msg = (e as Error).message;
    }
    expect(msg).toContain(`process ${process.pid} on ${hostname()}`);
    const owner = JSON.parse(readFileSync(`${f}.lock`, 'utf8')) as { pid: number; host: string };
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    l.release();
    l.release();
    expect(existsSync(`${f}.lock`)).toBe(false);
    lockOutput(f, 'test output').release();
  });

  it('stale locks: a dead PID on this host is taken over at once; another host only after STALE_MS', () => {
    const f = tmp('stale.jsonl');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const since = new Date().toISOString();
    writeFileSync(`${f}.lock`, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), since }));
    lockOutput(f, 'test output').release();
    writeFileSync(`${f}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere.example', since }));
    expect(code(() => lockOutput(f, 'test output'))).toBe('E_LOCKED');
    const old = new Date(Date.now() - 2 * STALE_MS);
    utimesSync(`${f}.lock`, old, old);
    lockOutput(f, 'test output').release();
  });
});

describe('CLI outputs (built dist/)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  }, 600_000);

  it('unwritable or missing output paths are coded errors before any work, never a stack', () => {
    const cases: string[][] = [
      ['score', ARCH, ...TINY, '-o', '/nonexistent/x.json'],
      ['score', ARCH, ...TINY, '-o', '/sys/x.json'],
      ['score', ARCH, ...TINY, '--backend', 'reference', '-o', '/dev/full', '--format', 'jsonl'],
      ['score', ARCH, ...TINY, '--backend', 'reference', '-o', '/dev/full'],
      ['score', ARCH, ...TINY, '--backend', 'reference', '-o', '/dev/full', '--format', 'csv'],
      ['correlate', '--sample', '2', '--out', '/sys/c'],
      ['search', '--strategy', 'random', '--budget', '3', '--out', '/nonexistent/r.json'],
      ['search', '--strategy', 'random', '--budget', '3', '--plot', '/sys/p.svg'],
      ['export', ARCH, '-o', '/nonexistent/m.onnx'],
    ];
    for (const args of cases) {
      const r = run([...args, '--no-progress'].filter((a) => !(args[0] === 'export' && a === '--no-progress')));
      expect(r.stderr, args.join(' ')).toMatch(/^swapnas: error E_OUTPUT: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.status).toBe(2);
    }
  });

  it('score -o existing.json keeps the old file until the new one is complete', async () => {
    const f = tmp('existing.json');
    writeFileSync(f, 'OLD RESULTS\n');
    const p = startUntil(['score', '--sample', '40', ...TINY, '--backend', 'reference', '-o', f], /score/);
    await p.started;
    expect(readFileSync(f, 'utf8')).toBe('OLD RESULTS\n');
    expect(await p.done).toBe(0);
    expect((JSON.parse(readFileSync(f, 'utf8')) as { results: unknown[] }).results).toHaveLength(40);
  });

  it('two score --resume writers: the second gets E_LOCKED, the file holds each arch once', async () => {
    const f = tmp('two.jsonl');
    // enough work that the first writer is still running when the second starts (~2 s of node start-up)
    const args = ['score', '--sample', '600', ...TINY, '--backend', 'reference', '-o', f, '--format', 'jsonl'];
    const a = startUntil([...args, '--resume'], /score/);
    await a.started;
    const b = run([...args, '--resume', '--no-progress']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/^swapnas: error E_LOCKED: score output .* is being written by process \d+/);
    expect(await a.done).toBe(0);
    const archs = readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { arch: string }).arch);
    expect(archs).toHaveLength(600);
    expect(new Set(archs).size).toBe(600);
    expect(existsSync(`${f}.lock`)).toBe(false);
  });

  it('two search --journal --resume writers: the second gets E_LOCKED, the journal stays readable', async () => {
    const j = tmp('two-journal.jsonl');
    // the evaluator waits for a STOP file, which keeps the first search (and its lock) alive while the second starts
    const stop = tmp('STOP');
    const args = ['search', '--strategy', 'random', '--budget', '8', '--journal', j, '--seed', '3'];
    const slow = ['--evaluator', 'command', '--eval-cmd', `while [ ! -e ${stop} ]; do sleep 0.05; done; echo 50`];
    const a = startUntil([...args, ...slow, '--no-progress'], /$^/, j);
    await a.started;
    const b = run([...args, ...slow, '--resume', '--no-progress']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/^swapnas: error E_LOCKED: search journal /);
    writeFileSync(stop, '');
    expect(await a.done).toBe(0);
    const again = run([...args, ...slow, '--resume', '--no-progress', '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { queries: number }).queries).toBe(8);
  });
});
