import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/native/loader.js';

/** binding.gyp (the node-gyp fallback) must build exactly what CMakeLists.txt builds, with the same exact-arithmetic flags. */
const root = packageRoot();

interface GypTarget {
  target_name: string;
  sources?: string[];
  cflags_cc?: string[];
}

function gyp(): { targets: GypTarget[] } {
  // gyp files are Python literals; ours is kept to the JSON subset (minus '#' comment lines).
  const text = readFileSync(join(root, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join('\n');
  return JSON.parse(text) as { targets: GypTarget[] };
}

function cmake(): string {
  return readFileSync(join(root, 'CMakeLists.txt'), 'utf8').replace(/#.*$/gm, '');
}

/** Arguments of `set(NAME ...)` in CMakeLists.txt. */
function cmakeSet(text: string, name: string): string[] {
  const m = new RegExp(`set\\(\\s*${name}\\s+([^)]*)\\)`).exec(text);
  if (!m) throw new Error(`CMakeLists.txt has no set(${name} ...)`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

describe('native build files', () => {
  it('binding.gyp and CMakeLists.txt list the same C++ sources, and every native/*.cpp', () => {
    const fromCmake = cmakeSet(cmake(), 'SWAPNAS_SOURCES')
      .filter((s) => s.endsWith('.cpp'))
      .sort();
    const fromGyp = gyp()
      .targets.flatMap((t) => t.sources ?? [])
      .filter((s) => s.endsWith('.cpp'))
      .sort();
    expect(fromGyp).toEqual(fromCmake);
    const onDisk = readdirSync(join(root, 'native'))
      .filter((f) => f.endsWith('.cpp'))
      .map((f) => `native/${f}`)
      .sort();
    expect(fromCmake).toEqual(onDisk);
  });

  it('both compile the PRNG and the double-precision reductions without FMA contraction or fast-math', () => {
    // the weights equal src/init/prng.ts bit for bit, and MeCo / AZ-NAS reductions do not depend on the CPU the
    // addon was tuned for (-march=native decides where multiplies and adds fuse)
    const exact = [
      'native/prng.cpp',
      'native/linalg.cpp',
      'native/proxy_reduce.cpp',
      'native/f64_conv.cpp',
      'native/f64_hvp.cpp',
      'native/f64_pass.cpp',
    ];
    const text = cmake();
    expect(cmakeSet(text, 'SWAPNAS_EXACT_FLAGS')).toContain('-ffp-contract=off');
    expect(cmakeSet(text, 'SWAPNAS_EXACT_SOURCES')).toEqual(exact);
    expect(text).toMatch(
      /set_source_files_properties\(\s*\$\{SWAPNAS_EXACT_SOURCES\}\s+PROPERTIES\s+COMPILE_OPTIONS\s+"\$\{SWAPNAS_EXACT_FLAGS\}"\s*\)/,
    );
    expect(text).not.toMatch(/-ffast-math|-Ofast/);
    const exactTargets = gyp().targets.filter((t) => (t.sources ?? []).some((f) => exact.includes(f)));
    expect(exactTargets).toHaveLength(1);
    expect(exactTargets[0]!.sources).toEqual(exact);
    expect(exactTargets[0]!.cflags_cc).toContain('-ffp-contract=off');
    expect(readFileSync(join(root, 'binding.gyp'), 'utf8')).not.toMatch(/-ffast-math|-Ofast/);
  });

  it('both turn a non-exhaustive switch into an error (-Werror=switch), the CUDA host code too', () => {
    const text = cmake();
    expect(cmakeSet(text, 'SWAPNAS_WARNING_FLAGS')).toContain('-Werror=switch');
    expect(cmakeSet(text, 'SWAPNAS_CXX_FLAGS').join(' ')).toMatch(/\$\{SWAPNAS_WARNING_FLAGS\}/);
    expect(text).toMatch(/COMPILE_LANGUAGE:CUDA>:[^>]*-Xcompiler=-Werror=switch/);
    const g = JSON.parse(
      readFileSync(join(root, 'binding.gyp'), 'utf8')
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n'),
    ) as { target_defaults: { cflags_cc: string[]; xcode_settings: { OTHER_CPLUSPLUSFLAGS: string[] } } };
    expect(g.target_defaults.cflags_cc).toContain('-Werror=switch');
    expect(g.target_defaults.xcode_settings.OTHER_CPLUSPLUSFLAGS).toContain('-Werror=switch');
  });
});
