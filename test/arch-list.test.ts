import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { parseArchLines, parseArchList } from '../src/cli/arch-list.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { nb201Space } from '../src/spaces/nb201/index.js';
import { Rng } from '../src/util/rng.js';
import { nb201Rows } from './helpers.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const TINY =
  '--channels 4 --cells 1 --gaussian --input-size 8 --batch 8 --repeats 2 --backend reference --no-progress'.split(' ');
const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const B = '|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });

describe('architecture lists', () => {
  it('reads plain lines and JSON lines, skipping blanks and comments, keeping line numbers', () => {
    const list = parseArchList(`# header\n${A}\n\n{"arch": "${B}", "note": 1}\r\n`, 'l.txt');
    expect(list).toEqual([
      { line: 2, text: A },
      { line: 4, text: B },
    ]);
  });

  it('names the line of a bad entry', () => {
    expect(() => parseArchList(`${A}\n{"arch": 3}\n`, 'l.txt')).toThrowError(
      expect.objectContaining({ code: 'E_ARCH_LIST', message: expect.stringContaining('l.txt line 2') }),
    );
    expect(() => parseArchList(`${A}\n{oops\n`, 'l.txt')).toThrowError(
      expect.objectContaining({ code: 'E_ARCH_LIST', message: expect.stringContaining('line 2') }),
    );
    expect(() => parseArchList('\n# only comments\n', 'l.txt')).toThrowError(
      expect.objectContaining({ code: 'E_ARCH_LIST' }),
    );
    const lines = parseArchList(`${A}\n\n|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|\n`, 'l.txt');
    expect(() => parseArchLines(nb201Space, lines, 'l.txt')).toThrowError(
      expect.objectContaining({ code: 'E_ARCH_OP', message: expect.stringMatching(/^l\.txt line 3: /) }),
    );
  });
});

describe('score/correlate --archs and score --truth (built dist/)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });

  it('score --archs FILE and --archs - (stdin) give the same results as the arch arguments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-archs-'));
    const file = join(dir, 'archs.txt');
    writeFileSync(file, `${A}\n{"arch":"${B}"}\n`);
    const argv = run(['score', A, B, ...TINY]);
    expect(argv.status, argv.stderr).toBe(0);
    const fromFile = run(['score', '--archs', file, ...TINY]);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    const fromStdin = run(['score', '--archs', '-', ...TINY], `${A}\n${B}\n`);
    expect(fromStdin.status, fromStdin.stderr).toBe(0);
    const results = (s: string) => (JSON.parse(s) as { results: { arch: string }[] }).results;
    expect(results(fromFile.stdout)).toEqual(results(argv.stdout));
    expect(results(fromStdin.stdout)).toEqual(results(argv.stdout));
    expect(results(argv.stdout).map((r) => r.arch)).toEqual([A, B]);

    const bad = run(['score', '--archs', '-', ...TINY], `${A}\n|bad~0|\n`);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/E_ARCH_SYNTAX: stdin line 2:/);
    const both = run(['score', A, '--archs', file, ...TINY]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/E_OPTION/);
  });

  it('score --truth adds every dataset of the table, as in the shipped CSV', () => {
    const row = nb201Rows().find((r) => r['arch'] === A)!;
    const json = run(['score', A, B, ...TINY, '--truth']);
    expect(json.status, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as {
      settings: { truth: { table: string; columns: Record<string, string> } };
      results: { arch: string; truth: Record<string, number | null> }[];
    };
    expect(Object.keys(out.settings.truth.columns)).toEqual(['cifar10', 'cifar100', 'imagenet16']);
    expect(out.settings.truth.columns['cifar100']).toMatch(/cifar100 test accuracy/);
    const table = spaceEntry('nb201').loadTable!();
    for (const r of out.results) {
      expect(r.truth).toEqual(table.get(r.arch)!.truth);
      for (const v of Object.values(r.truth)) expect(v).toBeGreaterThan(10);
    }
    // the shipped file's raw columns, independent of the table loader
    expect(out.results[0]!.truth['cifar10']).toBeCloseTo(Number(row['cifar10_test']), 3);
    expect(out.results[0]!.truth['imagenet16']).toBeCloseTo(Number(row['imagenet16_test']), 3);
    const csv = run(['score', A, ...TINY, '--truth', '--format', 'csv']);
    const [head, line] = csv.stdout.trim().split('\n');
    expect(head).toMatch(/,truth_cifar10,truth_cifar100,truth_imagenet16$/);
    expect(Number(line!.split(',').at(-3))).toBe(out.results[0]!.truth['cifar10']);
  });

  it('score --truth on a partial table leaves unknown architectures null; correlate --archs scores the list', () => {
    const darts = spaceEntry('darts');
    const dartsTable = darts.loadTable!();
    const known = dartsTable.records[0]!.arch;
    const rng = new Rng(5);
    let unknown = darts.space.format(darts.space.sample(rng));
    while (dartsTable.get(unknown)) unknown = darts.space.format(darts.space.sample(rng));
    const r = run(
      [
        'score',
        '--space',
        'darts',
        '--archs',
        '-',
        '--truth',
        '--channels',
        '2',
        '--cells',
        '1',
        '--gaussian',
        '--batch',
        '4',
        '--repeats',
        '1',
        '--backend',
        'reference',
        '--no-progress',
        '--mu',
        '1',
        '--sigma',
        '1',
      ],
      `{"arch": ${JSON.stringify(known)}}\n${unknown}\n`,
    );
    expect(r.status, r.stderr).toBe(0);
    const res = (JSON.parse(r.stdout) as { results: { truth: Record<string, number | null> }[] }).results;
    expect(res[0]!.truth['cifar10']).toBe(dartsTable.get(known)!.truth['cifar10']);
    expect(res[0]!.truth['cifar10']).toEqual(expect.any(Number));
    expect(res[1]!.truth).toEqual({ cifar10: null });

    const rows = nb201Rows().slice(0, 12);
    const out = mkdtempSync(join(tmpdir(), 'swapnas-corr-archs-'));
    const c = run(
      [
        'correlate',
        '--archs',
        '-',
        '--channels',
        '4',
        '--cells',
        '1',
        '--batch',
        '8',
        '--repeats',
        '1',
        '--no-nwot',
        '--resamples',
        '20',
        '--backend',
        'reference',
        '--out',
        out,
        '--no-progress',
      ],
      rows.map((x) => x['arch']).join('\n'),
    );
    expect(c.status, c.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(join(out, 'correlate.json'), 'utf8')) as {
      architectures: number;
      measurements: { arch: string }[];
    };
    expect(rep.architectures).toBe(12);
    expect(rep.measurements.map((m) => m.arch)).toEqual(rows.map((x) => x['arch']));
  });
});
