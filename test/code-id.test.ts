import { cpSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeIdentity, hashCodeTree } from '../src/util/code-id.js';

/** A small checkout-like tree: sources, native code, a test and the manifest. */
function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'swapnas-codeid-'));
  mkdirSync(join(root, 'src', 'score'), { recursive: true });
  mkdirSync(join(root, 'native'));
  mkdirSync(join(root, 'test'));
  writeFileSync(join(root, 'src', 'score', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'src', 'b.ts'), 'export const b = 2;\n');
  writeFileSync(join(root, 'native', 'k.cpp'), 'int k() { return 3; }\n');
  writeFileSync(join(root, 'test', 't.test.ts'), '// not code of the package\n');
  writeFileSync(join(root, 'package.json'), '{"version":"1.0.0"}\n');
  return root;
}

describe('code identity (keys on-disk caches by the code that computed them)', () => {
  it('is stable for the same tree and changes with any edit, addition or rename of code', () => {
    const root = tree();
    const base = hashCodeTree(root);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    const copy = mkdtempSync(join(tmpdir(), 'swapnas-codeid-'));
    cpSync(root, copy, { recursive: true });
    expect(hashCodeTree(copy)).toBe(base);

    writeFileSync(join(copy, 'native', 'k.cpp'), 'int k() { return 4; }\n');
    const edited = hashCodeTree(copy);
    expect(edited).not.toBe(base);
    writeFileSync(join(copy, 'src', 'c.ts'), 'export const c = 3;\n');
    const added = hashCodeTree(copy);
    expect(added).not.toBe(edited);
    renameSync(join(copy, 'src', 'c.ts'), join(copy, 'src', 'd.ts'));
    expect(hashCodeTree(copy)).not.toBe(added);
  });

  it('ignores files outside the code (tests, data)', () => {
    const root = tree();
    const base = hashCodeTree(root);
    writeFileSync(join(root, 'test', 't.test.ts'), '// edited\n');
    writeFileSync(join(root, 'notes.md'), 'text\n');
    expect(hashCodeTree(root)).toBe(base);
  });

  it('run from the sources, is the hash of this checkout', () => {
    expect(codeIdentity()).toBe(hashCodeTree(join(__dirname, '..')));
  });
});
