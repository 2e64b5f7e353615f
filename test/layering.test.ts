import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The folders of src/ form layers (README "Layout"): a module may import its own folder, a folder of its own
 * layer, or a lower layer — never a higher one — and the folder graph has no cycle. A new folder goes into LAYERS.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['init', 'ir', 'native', 'report', 'stats', 'io'],
  ['data', 'grad'],
  ['onnx'], // the ONNX format: export, import, load (next to the IR, below the backends that run it)
  ['backends'],
  ['proxies', 'spaces'],
  ['tables'], // benchmark tables import spaces, never the reverse
  ['catalog', 'score'], // catalog: spaces + their tables and defaults; score: scoring entry points
  ['request'],
  ['search', 'study'],
  ['cli', 'queue'],
  ['serve'], // the warm server reuses the CLI's option parsing
];

/** Entry points that wire every layer together (exempt: nothing imports them). */
const ENTRY_POINTS = new Set(['index.ts', 'cli/main.ts']);

const SRC = resolve(__dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Top-level folder of a path under src/ ('.' for src/index.ts and other root files). */
function folderOf(path: string): string {
  const rel = relative(SRC, path).split(/[\\/]/);
  return rel.length > 1 ? rel[0]! : '.';
}

/** Relative module specifiers of static imports/exports and dynamic imports. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]!);
  return out;
}

/** Folder → folders it imports, with one example import per edge. */
function folderEdges(): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (ENTRY_POINTS.has(relative(SRC, file).split(/[\\/]/).join('/'))) continue;
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const to = folderOf(resolve(dirname(file), spec));
      if (to === from || from === '.') continue;
      if (!edges.has(from)) edges.set(from, new Map());
      edges.get(from)!.set(to, `${relative(SRC, file)} → ${spec}`);
    }
  }
  return edges;
}

function layerOf(folder: string): number {
  return LAYERS.findIndex((l) => l.includes(folder));
}

describe('src/ layering', () => {
  const edges = folderEdges();

  it('finds the imports it checks', () => {
    expect(edges.get('cli')?.has('backends')).toBe(true);
    expect(
      relativeImports("import a from './x.js';\nexport { b } from '../y/z.js';\nawait import('../w.js');"),
    ).toEqual(['./x.js', '../y/z.js', '../w.js']);
  });

  it('every folder of src/ has a layer', () => {
    const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
    expect(folders.filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('no folder imports a higher layer', () => {
    const bad: string[] = [];
    for (const [from, tos] of edges)
      for (const [to, example] of tos)
        if (layerOf(to) > layerOf(from))
          bad.push(`${from} (layer ${layerOf(from)}) → ${to} (layer ${layerOf(to)}): ${example}`);
    expect(bad).toEqual([]);
  });

  it('the folder graph has no cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const to of edges.get(f)?.keys() ?? []) visit(to, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of edges.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
