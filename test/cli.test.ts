import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const TINY = [
  '--channels',
  '4',
  '--cells',
  '1',
  '--gaussian',
  '--input-size',
  '8',
  '--batch',
  '8',
  '--repeats',
  '2',
  '--backend',
  'reference',
  '--no-progress',
];
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], { encoding: 'utf8' });
}

describe('swapnas CLI (built dist/)', () => {
  beforeAll(() => {
    // `npm test` builds dist/ first; build here too when the file runs alone.
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });

  it('score prints JSON with scores and reproducible settings', () => {
    const r = run(['score', ARCH, ...TINY, '--seed', '3', '--mu', '10', '--sigma', '100']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      settings: Record<string, unknown>;
      results: { arch: string; swap: number; perRepeat: number[]; params: number; regSwap: number }[];
    };
    expect(out.results).toHaveLength(1);
    expect(out.results[0]!.arch).toBe(ARCH);
    expect(out.results[0]!.perRepeat).toHaveLength(2);
    expect(out.settings).toMatchObject({
      batch: 8,
      repeats: 2,
      seed: 3,
      backend: 'reference',
      regulariser: { mu: 10, sigma: 100 },
    });
    // same command, same numbers
    const again = JSON.parse(run(['score', ARCH, ...TINY, '--seed', '3', '--mu', '10', '--sigma', '100']).stdout);
    expect(again.results).toEqual(out.results);
  });

  it('bad input exits 2 with a coded message', () => {
    const r = run(['score', '|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|', ...TINY]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error E_ARCH_SYNTAX|error E_ARCH_OP/);
    const r2 = run(['score', ARCH, ...TINY, '--repeats', 'many']);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/E_OPTION.*--repeats/);
    const r3 = run(['score', ARCH, '--images', '/nonexistent.bin', '--backend', 'reference']);
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/E_INPUT_FILE/);
  });

  it('csv output and --resume continue a partial jsonl file without redoing rows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-cli-'));
    const csv = run(['score', '--sample', '3', '--seed', '1', ...TINY, '--format', 'csv']);
    expect(csv.status).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('arch,swap,reg_swap,params,reg_factor,recorded,per_repeat');
    expect(lines).toHaveLength(4);

    const file = join(dir, 'out.jsonl');
    expect(run(['score', '--sample', '2', '--seed', '1', ...TINY, '--format', 'jsonl', '-o', file]).status).toBe(0);
    const first = readFileSync(file, 'utf8');
    appendFileSync(file, '{"arch":"|nor_conv');
    // a partially written last line (killed process) is tolerated and re-scored
    const r = run(['score', '--sample', '4', '--seed', '1', ...TINY, '--format', 'jsonl', '-o', file, '--resume']);
    expect(r.status).toBe(0);
    const rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { arch: string; swap: number });
    expect(readFileSync(file, 'utf8').startsWith(first)).toBe(true);
    expect(new Set(rows.map((x) => x.arch)).size).toBe(4);
    expect(rows).toHaveLength(4);
  });

  it('--resume with an architecture listed twice: the file an uninterrupted run writes (each listed row once)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-cli-'));
    const B = '|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
    const args = ['score', ARCH, B, ARCH, ...TINY, '--format', 'jsonl'];
    const whole = join(dir, 'whole.jsonl');
    expect(run([...args, '-o', whole]).status).toBe(0);
    const ref = readFileSync(whole, 'utf8');
    expect(ref.trim().split('\n')).toHaveLength(3);
    const file = join(dir, 'resumed.jsonl');
    writeFileSync(file, `${ref.split('\n')[0]}\n`); // killed after the first row: ARCH is done once, not twice
    const r = run([...args, '-o', file, '--resume']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(ref);
  });

  it('a reader that stops early (| head) ends the run quietly: exit 0, no EPIPE crash', async () => {
    // ~250 KB of rows: more than a pipe holds, so rows are still being written when the reader goes away
    const args = ['score', '--sample', '1000', '--seed', '1', '--proxies', 'params', '--format', 'jsonl'];
    const child = spawn(process.execPath, [CLI, ...args, '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('backends lists every backend with availability', () => {
    const r = run(['backends', '--json']);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; available: boolean; reason?: string }[];
    expect(rows.find((x) => x.name === 'reference')?.available).toBe(true);
    for (const x of rows) if (!x.available) expect(x.reason).toBeTruthy();
  });
});

describe('CLI guards', () => {
  it('usage errors exit 2 with E_OPTION; bad options never truncate an existing output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-cli2-'));
    const r = run(['score', '--bogus', ARCH]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/E_OPTION/);
    const keep = join(dir, 'keep.csv');
    appendFileSync(keep, 'keep\n');
    expect(run(['score', '--sample', '2', ...TINY, '--chunk', '0', '-o', keep]).status).toBe(2);
    expect(readFileSync(keep, 'utf8')).toBe('keep\n');
    expect(run(['score', '--sample', '20000', ...TINY]).stderr).toMatch(/E_OPTION.*exceeds/);
    expect(run(['score', ARCH, ...TINY, '--gaussian-seed', 'abc']).stderr).toMatch(/E_OPTION.*--gaussian-seed/);
  });

  it('--resume refuses a file scored with other settings, and writes one csv header', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-cli3-'));
    const file = join(dir, 'a.jsonl');
    expect(run(['score', '--sample', '2', '--seed', '1', ...TINY, '--format', 'jsonl', '-o', file]).status).toBe(0);
    const other = run([
      'score',
      '--sample',
      '2',
      '--seed',
      '1',
      ...TINY,
      '--repeats',
      '3',
      '--format',
      'jsonl',
      '-o',
      file,
      '--resume',
    ]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/E_JOURNAL.*other settings/);
    const csv = join(dir, 'a.csv');
    expect(run(['score', '--sample', '2', '--seed', '1', ...TINY, '--format', 'csv', '-o', csv]).status).toBe(0);
    expect(
      run(['score', '--sample', '3', '--seed', '1', ...TINY, '--format', 'csv', '-o', csv, '--resume']).status,
    ).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.startsWith('arch,'))).toHaveLength(1);
    expect(lines).toHaveLength(4);
    expect(
      run([
        'score',
        '--sample',
        '3',
        '--seed',
        '1',
        ...TINY,
        '--repeats',
        '1',
        '--format',
        'csv',
        '-o',
        csv,
        '--resume',
      ]).status,
    ).toBe(2);
  });

  it('--resume of a csv output refuses a file in another format (E_JOURNAL) and leaves it as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-cli4-'));
    const args = ['score', '--sample', '2', '--seed', '1', ...TINY];
    for (const format of ['jsonl', 'json']) {
      const file = join(dir, `a.${format}`);
      expect(run([...args, '--format', format, '-o', file]).status).toBe(0);
      const before = readFileSync(file, 'utf8');
      const r = run([...args, '--format', 'csv', '-o', file, '--resume']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/E_JOURNAL.*not this run's csv header/);
      expect(readFileSync(file, 'utf8')).toBe(before);
    }
    // json itself is never resumed (it is written whole at the end)
    const r = run([...args, '--format', 'json', '-o', join(dir, 'a.json'), '--resume']);
    expect(r.stderr).toMatch(/E_OPTION.*--resume needs --output with --format jsonl or csv/);
  });
});
