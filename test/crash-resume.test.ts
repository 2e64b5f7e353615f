import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { Rng } from '../src/util/rng.js';

/**
 * kill -9 at random moments, then resume: the final output equals an uninterrupted run's (issue 16). Kill moments
 * are drawn from a seeded generator (logged on failure) among "during start-up" and "after k rows/records are on
 * disk, plus a few ms", so every kill lands while the process is working.
 */
const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'swapnas-crash-'));
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);
const rng = new Rng(0xc0ffee);
const TINY = ['--channels', '4', '--cells', '1', '--gaussian', '--input-size', '8', '--batch', '8', '--repeats', '2'];
const REF = ['--backend', 'reference', '--no-progress'];

function runToEnd(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], { encoding: 'utf8', timeout: 180_000 });
  expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').length - 1 : 0);

/**
 * Start a run and SIGKILL it once `ready()` holds (polled every 5 ms) and a further random 0–30 ms have passed;
 * resolves when the process is gone. Returns whether the kill happened before the run finished by itself.
 */
async function killWhen(args: string[], ready: () => boolean): Promise<{ killed: boolean; plan: string }> {
  const child = spawn(process.execPath, [CLI, ...pinRegSwap(args)], { stdio: 'ignore' });
  const extra = rng.int(30);
  const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  let killed = false;
  const timer = setInterval(() => {
    if (!ready()) return;
    clearInterval(timer);
    setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, extra);
  }, 5);
  await closed;
  clearInterval(timer);
  return { killed, plan: `+${extra} ms` };
}

/** Kill a run twice at random moments (k rows on disk, k drawn in [0, most)), then let it finish. */
async function crashTwiceThenFinish(args: string[], progress: () => number, most: number): Promise<string[]> {
  const plans: string[] = [];
  for (let i = 0; i < 2; i++) {
    const k = rng.int(most);
    const r = await killWhen(args, () => progress() >= k);
    plans.push(`kill after ${k} ${r.plan}${r.killed ? '' : ' (finished first)'}`);
  }
  runToEnd(args);
  return plans;
}

describe('crash safety: kill -9 at random moments, then resume (built dist/)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  }, 600_000);

  for (const format of ['jsonl', 'csv'] as const) {
    it(`score --format ${format} --resume: same file as an uninterrupted run`, async () => {
      const base = ['score', '--sample', '30', ...TINY, ...REF, '--chunk', '2', '--format', format];
      const ref = tmp(`ref.${format}`);
      runToEnd([...base, '-o', ref]);
      const f = tmp(`crash.${format}`);
      const plans = await crashTwiceThenFinish([...base, '-o', f, '--resume'], () => lines(f), 25);
      expect(readFileSync(f, 'utf8'), plans.join('; ')).toBe(readFileSync(ref, 'utf8'));
      if (format === 'csv')
        expect(readFileSync(`${f}.settings.json`, 'utf8')).toBe(readFileSync(`${ref}.settings.json`, 'utf8'));
      expect(existsSync(`${f}.lock`)).toBe(false);
    });
  }

  it('score --format json -o existing: a kill leaves the old file or the new one, never a torn one', async () => {
    const base = ['score', '--sample', '30', ...TINY, ...REF, '--chunk', '2'];
    const ref = tmp('ref.json');
    runToEnd([...base, '-o', ref]);
    const f = tmp('crash.json');
    writeFileSync(f, 'OLD\n');
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const after = rng.int(4000);
      const r = await killWhen([...base, '-o', f], () => Date.now() - started >= after);
      const now = readFileSync(f, 'utf8');
      expect(now === 'OLD\n' || now === readFileSync(ref, 'utf8'), `kill at ${after} ms ${r.plan}`).toBe(true);
    }
    runToEnd([...base, '-o', f]);
    expect(readFileSync(f, 'utf8')).toBe(readFileSync(ref, 'utf8'));
  });

  it('correlate: its measurement cache survives kills; the report equals an uninterrupted run', async () => {
    const small = ['--channels', '4', '--cells', '1', '--images', 'gaussian', '--input-size', '8', '--batch', '8'];
    const base = ['correlate', '--sample', '40', ...small, '--repeats', '2', ...REF, '--resamples', '20', '--no-nwot'];
    const refDir = tmp('corr-ref');
    runToEnd([...base, '--out', refDir]);
    const out = tmp('corr');
    const cacheLines = () => {
      const d = join(out, 'cache');
      if (!existsSync(d)) return 0;
      const files = readdirSync(d).filter((x) => x.endsWith('.jsonl'));
      return files.reduce((a, x) => a + lines(join(d, x)), 0);
    };
    const plans = await crashTwiceThenFinish([...base, '--out', out], cacheLines, 35);
    const strip = (p: string) => {
      const r = JSON.parse(readFileSync(join(p, 'correlate.json'), 'utf8')) as Record<string, unknown>;
      // wall-clock fields differ between runs by nature
      delete r['secondsPerArch'];
      delete r['fresh'];
      return r;
    };
    expect(strip(out), plans.join('; ')).toEqual(strip(refDir));
  });

  it('search --journal: resumed after kills, the same report as an uninterrupted run', async () => {
    const base = [
      'search',
      '--seed',
      '5',
      '--population',
      '10',
      '--cycles',
      '12',
      '--sample-size',
      '3',
      '--mutations',
      '3',
      ...TINY,
      ...REF,
      '--mu',
      '5',
      '--sigma',
      '50',
      '--json',
    ];
    const ref = JSON.parse(runToEnd(base).stdout) as Record<string, unknown>;
    const j = tmp('search.jsonl');
    const records = () => lines(j);
    const first = rng.int(40);
    const a = await killWhen([...base, '--journal', j, '--resume'], () => records() >= first);
    const second = rng.int(50);
    const b = await killWhen([...base, '--journal', j, '--resume'], () => records() >= second);
    const plan = `kill after ${first} ${a.plan}, then after ${second} ${b.plan}`;
    const fin = JSON.parse(runToEnd([...base, '--journal', j, '--resume']).stdout) as Record<string, unknown>;
    const same = (r: Record<string, unknown>) => ({
      chosen: r['chosen'],
      trajectory: (r['trajectory'] as { arch: string; signal: number }[]).map((p) => [p.arch, p.signal]),
    });
    expect(same(fin), plan).toEqual(same(ref));
    expect(statSync(j).size).toBeGreaterThan(0);
  });
});
