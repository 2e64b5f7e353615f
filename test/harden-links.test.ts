/**
 * Outputs named through links: a symbolic link stays a link and its target gets the new contents; a descriptor path
 * (/proc/self/fd/1, as /dev/stdout resolves) is written in place, appended to, with no lock or settings file beside it.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputTarget } from '../src/io/output-path.js';
import { pinRegSwap } from './pin-fitness.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const TINY_NET = ['--channels', '4', '--cells', '1', '--gaussian', '--input-size', '8'];
const TINY = [...TINY_NET, '--batch', '8', '--repeats', '1'];
const dir = mkdtempSync(join(tmpdir(), 'swapnas-links-'));
const run = (args: string[], stdout: 'pipe' | number = 'pipe') =>
  spawnSync(process.execPath, [CLI, ...pinRegSwap(args), '--no-progress'], {
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', stdout, 'pipe'],
  });

/** A link named `name` to a target file holding `old`, in a subfolder of its own (another folder than the link). */
function linked(name: string, old: string): { link: string; target: string } {
  const sub = mkdtempSync(join(dir, 'target-'));
  const target = join(sub, `${name}.target`);
  writeFileSync(target, old);
  const link = join(dir, name);
  symlinkSync(target, link);
  return { link, target };
}

describe('outputs through links', () => {
  it('outputTarget follows links (dangling ones too) and writes descriptor paths and devices in place', () => {
    const { link, target } = linked('a.json', 'x');
    expect(outputTarget(link)).toEqual({ path: target, inPlace: false });
    const dangling = join(dir, 'dangling.json');
    symlinkSync(join(dir, 'not-yet.json'), dangling);
    expect(outputTarget(dangling)).toEqual({ path: join(dir, 'not-yet.json'), inPlace: false });
    for (const p of ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1', '/dev/null'])
      expect(outputTarget(p).inPlace, p).toBe(true);
    // a link to a descriptor path is written in place too (not renamed over the file a shell redirected it to)
    const toStdout = join(dir, 'to-stdout');
    symlinkSync('/proc/self/fd/1', toStdout);
    expect(outputTarget(toStdout).inPlace).toBe(true);
    // a relative target is resolved from the link's real folder, as the system does (.. is the real parent)
    const real = mkdtempSync(join(dir, 'real-'));
    mkdirSync(join(real, 'deep'));
    symlinkSync('../x.json', join(real, 'deep', 'rel'));
    symlinkSync(join(real, 'deep'), join(dir, 'dirlink'));
    expect(outputTarget(join(dir, 'dirlink', 'rel')).path).toBe(join(realpathSync(real), 'x.json'));
    // a loop of links is a coded error
    symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
    symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
    expect(() => outputTarget(join(dir, 'loop-a'))).toThrow(expect.objectContaining({ code: 'E_OUTPUT' }));
  });

  it.each([
    ['json', []],
    ['csv', []],
    ['jsonl', ['--proxies', 'nwot', '--proxy-batch', '8']],
  ])('score -o link (%s %s): the link stays a link, its target holds the result', (format, extra) => {
    const { link, target } = linked(`out.${format}`, 'OLD\n');
    // --proxies refuses SWAP's --batch and --repeats (it would ignore them)
    const net = extra.length > 0 ? TINY_NET : TINY;
    const r = run(['score', ARCH, ...net, '--backend', 'reference', '--format', format, ...extra, '-o', link]);
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const text = readFileSync(target, 'utf8');
    expect(text).not.toContain('OLD');
    expect(text).toContain(format === 'csv' ? 'arch' : ARCH);
    expect(existsSync(`${target}.lock`) || existsSync(`${link}.lock`)).toBe(false);
  });

  it.each(['json', 'csv', 'jsonl'])(
    'score -o /proc/self/fd/1 (%s) into a file opened for appending: appended, nothing created beside it',
    (format) => {
      const file = join(dir, `appended.${format}`);
      writeFileSync(file, 'PRIOR LINE\n');
      const fd = openSync(file, 'a');
      const r = run(
        ['score', ARCH, ...TINY, '--backend', 'reference', '--format', format, '-o', '/proc/self/fd/1'],
        fd,
      );
      closeSync(fd);
      expect(r.status, r.stderr).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith('PRIOR LINE\n')).toBe(true);
      expect(text.length).toBeGreaterThan('PRIOR LINE\n'.length + 20);
      expect(lstatSync('/proc/self/fd/1').isSymbolicLink()).toBe(true);
    },
  );
});
