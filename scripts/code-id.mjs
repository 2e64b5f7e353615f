// Writes dist/code-id.json: the code identity of this checkout (src/util/code-id.ts, run after tsc), which on-disk
// caches key their files by.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashCodeTree } from '../dist/util/code-id.js';

const root = join(import.meta.dirname, '..');
writeFileSync(join(root, 'dist', 'code-id.json'), `${JSON.stringify({ codeId: hashCodeTree(root) })}\n`);
