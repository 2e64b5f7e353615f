import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { parseDarts } from '../src/spaces/darts/genotype.js';
import { parseNb101 } from '../src/spaces/nb101/genotype.js';
import { parseNb201 } from '../src/spaces/nb201/genotype.js';
import { parseTnb101 } from '../src/spaces/tnb101/genotype.js';
import { isSwapError, MESSAGE_MAX, SwapError } from '../src/util/errors.js';
import { ARCH_TEXT_MAX, checkMemory, estimateScoreBytes, parseBytes } from '../src/util/limits.js';
import { QUOTE_MAX, quote } from '../src/util/quote.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], { encoding: 'utf8', timeout: 60_000 });

const DARTS_V2 = (concat: string) =>
  `Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=${concat}, reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))`;

/** The error a call throws (fails the test when it returns). */
function thrown(f: () => unknown): SwapError {
  try {
    f();
  } catch (e) {
    if (isSwapError(e)) return e;
    throw new Error(`uncoded error: ${String(e)}`);
  }
  throw new Error('did not throw');
}

describe('bounds on input sizes (issue 16, items 1 and 8)', () => {
  it('DARTS concat ranges are checked before they are expanded', () => {
    for (const r of [
      'range(2, 4294967295)',
      'range(2, 99999999999)',
      'range(2, 10000000)',
      'range(0, 6)',
      'range(5, 3)',
    ]) {
      const e = thrown(() => parseDarts(DARTS_V2(r)));
      expect(e.code).toBe('E_ARCH_EDGE');
      expect(e.message.length).toBeLessThan(400);
    }
    expect(parseDarts(DARTS_V2('range(2, 6)')).normalConcat).toEqual([2, 3, 4, 5]);
    expect(parseDarts(DARTS_V2('range(3, 5)')).normalConcat).toEqual([3, 4]);
  });

  it('an arch string longer than the bound is refused by every space, quoting at most ~200 characters', () => {
    const huge = 'x'.repeat(128 * 1024);
    for (const parse of [parseNb201, parseNb101, parseDarts, parseTnb101]) {
      const e = thrown(() => parse(huge));
      expect(e.code).toBe('E_ARCH_SYNTAX');
      expect(e.message.length).toBeLessThan(300);
      expect(e.message).toContain('131,072 characters');
    }
    // Just below the bound: parsed (and refused for what it is), still with a short message.
    for (const parse of [parseNb201, parseNb101, parseDarts, parseTnb101]) {
      const e = thrown(() => parse(`|${'a'.repeat(ARCH_TEXT_MAX - 2)}|`));
      expect(e.message.length).toBeLessThan(QUOTE_MAX + 400);
    }
  });

  it('quote() cuts long input and names its length; SwapError caps any message', () => {
    expect(quote('abc')).toBe('"abc"');
    expect(quote(42)).toBe('42');
    const q = quote('y'.repeat(1000));
    expect(q).toBe(`"${'y'.repeat(QUOTE_MAX)}…" (1,000 chars)`);
    // a surrogate pair is never cut in half
    expect(quote(`${'a'.repeat(QUOTE_MAX - 1)}😀😀`)).toBe(`"${'a'.repeat(QUOTE_MAX - 1)}…" (203 chars)`);
    expect(new SwapError('E_OPTION', 'z'.repeat(10 * MESSAGE_MAX)).message.length).toBeLessThan(MESSAGE_MAX + 20);
  });

  it('sizes and the memory guard: parseBytes, the estimate and its coded refusal', () => {
    expect(parseBytes('512M')).toBe(512 * 2 ** 20);
    expect(parseBytes('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('4096')).toBe(4096);
    expect(thrown(() => parseBytes('lots')).code).toBe('E_OPTION');
    const small = estimateScoreBytes({ batch: 16, input: [3, 32, 32] });
    const big = estimateScoreBytes({
      batch: 20000,
      input: [3, 32, 32],
      network: { activations: 100_000, weights: 1e6 },
      concurrent: 4,
    });
    expect(big).toBeGreaterThan(small);
    // 4 items × 20,000 samples × 100,000 float32 activations alone are 32 GB
    expect(big).toBeGreaterThan(32e9);
    const e = thrown(() => checkMemory(big, 2 ** 30, 'scoring'));
    expect(e.code).toBe('E_MEMORY');
    expect(e.message).toMatch(/estimated \d+(\.\d)? GiB.*limit of 1\.0 GiB/);
    expect(() => checkMemory(small, 2 ** 30, 'scoring')).not.toThrow();
  });
});

describe('CLI bounds (built dist/)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  }, 600_000);

  it('a 400-character DARTS genotype with a huge range is a coded error, not an abort', () => {
    const r = run(['score', '--space', 'darts', DARTS_V2('range(2, 4294967295)'), '--no-progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^swapnas: error E_ARCH_EDGE: .*normal_concat "range\(2, 4294967295\)"/);
    expect(r.stderr.length).toBeLessThan(400);
  });

  it('a 128 KB arch string gives a short coded message', () => {
    // 120 KB: one argv string may not exceed 128 KiB on Linux.
    const r = run(['score', 'q'.repeat(120 * 1024), '--no-progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^swapnas: error E_ARCH_SYNTAX: /);
    expect(r.stderr.length).toBeLessThan(400);
  });

  it('integer options have upper bounds', () => {
    for (const [flag, v] of [
      ['--batch', '99999999999'],
      ['--repeats', '1000000000'],
      ['--seed', '4294967296'],
    ] as const) {
      const r = run(['score', '--sample', '1', flag, v, '--no-progress']);
      expect(r.status, flag).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`E_OPTION: ${flag} must be an integer between`));
    }
  });
});

describe('quote() with escapes', () => {
  it('control characters and lone surrogates (6 characters each when escaped) still quote to ~200 characters', () => {
    for (const ch of ['\u0000', '\ude00', '"', '\\']) {
      const q = quote(ch.repeat(5000));
      expect(q.length).toBeLessThan(QUOTE_MAX + 30);
      expect(q).toMatch(/…" \(5,000 chars\)$/);
    }
  });
});
