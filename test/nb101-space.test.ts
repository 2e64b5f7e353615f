import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceCount } from '../src/backends/reference/forward.js';
import { dataDir } from '../src/data/paths.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { countParams, recordedValues } from '../src/ir/analysis.js';
import {
  NB101_ENCODING_LENGTH,
  NB101_MAX_EDGES,
  NB101_MAX_VERTICES,
  buildNb101Network,
  crossoverNb101,
  encodeNb101,
  formatNb101,
  makeNb101,
  mutateNb101,
  nb101Hash,
  nb101Space,
  nb101VertexChannels,
  parseNb101,
  pruneNb101,
  sampleNb101,
  type Nb101Genotype,
} from '../src/spaces/nb101/index.js';
import { NB101_NASLIB_PROXIES, loadNb101Sample, loadNb101Table } from '../src/tables/nb101.js';
import { SwapError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

const C3 = 'conv3x3-bn-relu';
const C1 = 'conv1x1-bn-relu';
const MP = 'maxpool3x3';

/** nasbench's README example: an Inception-like cell (2,694,282 trainable parameters in NASBench.ipynb). */
const INCEPTION = {
  matrix: [
    [0, 1, 1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
  ],
  ops: ['input', C1, C3, C3, C3, MP, 'output'],
};

/** The same cell under a random topological relabelling of its interior vertices (input first, output last). */
function relabel(g: Nb101Genotype, rng: Rng): Nb101Genotype {
  const n = g.ops.length;
  const order = [0];
  const placed = new Set(order);
  while (order.length < n - 1) {
    const ready = Array.from({ length: n - 2 }, (_, k) => k + 1).filter(
      (v) => !placed.has(v) && g.matrix.every((row, u) => !row[v] || placed.has(u)),
    );
    const v = rng.pick(ready);
    order.push(v);
    placed.add(v);
  }
  order.push(n - 1);
  return makeNb101(
    order.map((i) => order.map((j) => g.matrix[i]![j]!)),
    order.map((i) => g.ops[i]!),
  );
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SwapError ? e.code : 'not-a-SwapError';
  }
  return undefined;
}

/** A valid cell: ≤ 7 vertices, ≤ 9 edges, pruned (every vertex on an input→output path), round-trips. */
function expectValid(g: Nb101Genotype): void {
  expect(g.ops.length).toBeLessThanOrEqual(NB101_MAX_VERTICES);
  expect(g.matrix.flat().reduce((s: number, x) => s + x, 0)).toBeLessThanOrEqual(NB101_MAX_EDGES);
  expect(pruneNb101(g.matrix, g.ops)!.kept.length).toBe(g.ops.length);
  expect(parseNb101(formatNb101(g))).toEqual(g);
}

describe('NB101 hashes and parameter counts (30 genuine records)', () => {
  const sample = loadNb101Sample();

  it('loads the 30 records', () => {
    expect(sample.length).toBe(30);
    expect(sample.every((r) => r.runs === 3)).toBe(true);
  });

  it('reproduces the benchmark hash of every record', () => {
    let ok = 0;
    for (const r of sample) if (nb101Hash(r.spec) === r.hash) ok++;
    expect(ok).toBe(30);
  });

  it('reproduces the trainable parameter count of every record', () => {
    let ok = 0;
    for (const r of sample) if (countParams(buildNb101Network(r.spec)) === r.params) ok++;
    expect(ok).toBe(30);
  });

  it('matches the parameter count that NASBench.ipynb prints for the Inception-like cell', () => {
    expect(countParams(nb101Space.build(makeNb101(INCEPTION.matrix, INCEPTION.ops)))).toBe(2694282);
  });

  it('hash is invariant under a vertex permutation and changes with an op', () => {
    // swap interior vertices 1 and 2 of the Inception cell (both feed only the output)
    const perm = [0, 2, 1, 3, 4, 5, 6];
    const m = perm.map((i) => perm.map((j) => INCEPTION.matrix[i]![j]!));
    const ops = perm.map((i) => INCEPTION.ops[i]!);
    const a = makeNb101(INCEPTION.matrix, INCEPTION.ops);
    const b = makeNb101(m, ops);
    expect(formatNb101(a)).not.toBe(formatNb101(b));
    expect(nb101Hash(a)).toBe(nb101Hash(b));
    expect(nb101Space.canonicalKey(a)).toBe(nb101Hash(a));
    const c = makeNb101(INCEPTION.matrix, ['input', C1, C3, C3, C3, C1, 'output']);
    expect(nb101Hash(c)).not.toBe(nb101Hash(a));
  });
});

describe('NB101 cell specs', () => {
  it('prunes vertices off every input→output path, as ModelSpec', () => {
    // vertex 2 has no path to the output, vertex 3 none from the input
    const g = makeNb101(
      [
        [0, 1, 1, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
      ],
      ['input', C3, C1, MP, 'output'],
    );
    expect(g.ops).toEqual(['input', C3, 'output']);
    expect(g.matrix).toEqual([
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    expect(formatNb101(g)).toBe('i3o:10.1');
    expect(
      Object.isFrozen(g) && Object.isFrozen(g.matrix) && Object.isFrozen(g.matrix[0]) && Object.isFrozen(g.ops),
    ).toBe(true);
    // equal cells with different dead vertices format alike
    expect(
      formatNb101(
        parseNb101(
          '{"matrix": [[0,1,0,0],[0,0,0,1],[0,0,0,0],[0,0,0,0]], "ops": ["input","conv3x3-bn-relu","maxpool3x3","output"]}',
        ),
      ),
    ).toBe('i3o:10.1');
    // only input→output
    expect(
      formatNb101(
        makeNb101(
          [
            [0, 0, 1],
            [0, 0, 0],
            [0, 0, 0],
          ],
          ['input', MP, 'output'],
        ),
      ),
    ).toBe('io:1');
    // the edge limit applies after pruning: 10 edges of which 1 is dead (3→5)
    const ten = [
      [0, 1, 1, 1, 0, 0, 0],
      [0, 0, 1, 1, 0, 0, 1],
      [0, 0, 0, 1, 0, 0, 1],
      [0, 0, 0, 0, 0, 1, 1],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0],
    ];
    expect(makeNb101(ten, ['input', C3, C3, C3, C3, C3, 'output']).ops.length).toBe(5);
  });

  it.each([
    [
      'not upper triangular',
      {
        matrix: [
          [0, 1, 0],
          [1, 0, 1],
          [0, 0, 0],
        ],
        ops: ['input', C3, 'output'],
      },
      'E_ARCH_EDGE',
      /upper triangular.*\[1\]\[0\]/,
    ],
    [
      'diagonal entry',
      {
        matrix: [
          [0, 1, 0],
          [0, 1, 1],
          [0, 0, 0],
        ],
        ops: ['input', C3, 'output'],
      },
      'E_ARCH_EDGE',
      /upper triangular/,
    ],
    [
      'no path input→output',
      {
        matrix: [
          [0, 1, 0],
          [0, 0, 0],
          [0, 0, 0],
        ],
        ops: ['input', C3, 'output'],
      },
      'E_ARCH_EDGE',
      /no path from input to output/,
    ],
    [
      'too many edges',
      {
        matrix: [
          [0, 1, 1, 1, 1, 0, 1],
          [0, 0, 1, 1, 0, 0, 1],
          [0, 0, 0, 1, 0, 0, 1],
          [0, 0, 0, 0, 1, 0, 1],
          [0, 0, 0, 0, 0, 0, 1],
          [0, 0, 0, 0, 0, 0, 0],
          [0, 0, 0, 0, 0, 0, 0],
        ],
        ops: ['input', C3, C3, C3, C3, C3, 'output'],
      },
      'E_ARCH_EDGE',
      /too many edges: 13 after pruning/,
    ],
    [
      'too many vertices',
      {
        matrix: Array.from({ length: 8 }, (_, i) => Array.from({ length: 8 }, (_, j) => (j === i + 1 ? 1 : 0))),
        ops: ['input', C3, C3, C3, C3, C3, C3, 'output'],
      },
      'E_ARCH_EDGE',
      /too many vertices: 8/,
    ],
    [
      'first op not input',
      {
        matrix: [
          [0, 1],
          [0, 0],
        ],
        ops: [C3, 'output'],
      },
      'E_ARCH_OP',
      /first vertex must be 'input'/,
    ],
    [
      'last op not output',
      {
        matrix: [
          [0, 1],
          [0, 0],
        ],
        ops: ['input', MP],
      },
      'E_ARCH_OP',
      /last vertex must be 'output'/,
    ],
    [
      'unknown op',
      {
        matrix: [
          [0, 1, 0],
          [0, 0, 1],
          [0, 0, 0],
        ],
        ops: ['input', 'conv5x5', 'output'],
      },
      'E_ARCH_OP',
      /vertex 1: unknown op "conv5x5"/,
    ],
    [
      'interior input',
      {
        matrix: [
          [0, 1, 0],
          [0, 0, 1],
          [0, 0, 0],
        ],
        ops: ['input', 'input', 'output'],
      },
      'E_ARCH_OP',
      /interior vertex 1/,
    ],
    [
      'not square',
      {
        matrix: [
          [0, 1, 0],
          [0, 0, 1],
        ],
        ops: ['input', C3, 'output'],
      },
      'E_ARCH_SYNTAX',
      /square/,
    ],
    [
      'ops length',
      {
        matrix: [
          [0, 1],
          [0, 0],
        ],
        ops: ['input', C3, 'output'],
      },
      'E_ARCH_SYNTAX',
      /one label per vertex/,
    ],
    [
      'entry not 0/1',
      {
        matrix: [
          [0, 2],
          [0, 0],
        ],
        ops: ['input', 'output'],
      },
      'E_ARCH_SYNTAX',
      /\[0\]\[1\] is 2/,
    ],
  ])('rejects a spec with %s', (_what, spec, code, msg) => {
    expect(codeOf(() => makeNb101(spec.matrix, spec.ops))).toBe(code);
    expect(() => parseNb101(JSON.stringify(spec))).toThrow(msg);
  });

  it.each([
    ['', 'E_ARCH_SYNTAX'],
    ['{"matrix": [[0,1],[0,0]], "ops": ', 'E_ARCH_SYNTAX'],
    ['{"ops": ["input","output"]}', 'E_ARCH_SYNTAX'],
    ['i3o', 'E_ARCH_SYNTAX'],
    ['i3o:10', 'E_ARCH_SYNTAX'],
    ['i3o:1.1.1', 'E_ARCH_SYNTAX'],
    ['i3o:12.1', 'E_ARCH_SYNTAX'],
    ['i5o:10.1', 'E_ARCH_OP'],
    ['33o:10.1', 'E_ARCH_OP'],
    ['i3o:10.0', 'E_ARCH_EDGE'],
    [`i${'3'.repeat(7)}o:${Array.from({ length: 8 }, (_, i) => `1${'0'.repeat(7 - i)}`).join('.')}`, 'E_ARCH_EDGE'],
  ])('rejects the text %j with %s', (text, code) => {
    expect(codeOf(() => parseNb101(text))).toBe(code);
  });

  it('parses the compact and the JSON form alike', () => {
    const a = parseNb101('i31mo:1100.011.01.1');
    expect(a.ops).toEqual(['input', C3, C1, MP, 'output']);
    expect(parseNb101(JSON.stringify(a))).toEqual(a);
    expect(parseNb101('  io:1 ')).toEqual({
      matrix: [
        [0, 1],
        [0, 0],
      ],
      ops: ['input', 'output'],
    });
  });
});

describe('NB101 benchmark table (NASLib subset)', () => {
  const table = loadNb101Table();
  const rows = readFileSync(join(dataDir(), 'nb101_zc_naslib_subset.csv'), 'utf8').trim().split('\n').slice(1);

  it('round-trips all 500 table cells through parse/format and finds each in the table', () => {
    expect(rows.length).toBe(500);
    for (const line of rows) {
      const m = /^"(\[\[.*?\]\])","(\[.*?\])"/.exec(line)!;
      const g = parseNb101(JSON.stringify({ matrix: JSON.parse(m[1]!), ops: JSON.parse(m[2]!.replace(/""/g, '"')) }));
      const text = formatNb101(g);
      const back = parseNb101(text);
      expect(back).toEqual(g);
      expect(formatNb101(back)).toBe(text);
      expect(nb101Hash(back)).toBe(nb101Hash(g));
      expect(table.get(nb101Space.format(g))).toBeDefined();
    }
  });

  it('merges the 500 rows into 292 distinct cells with truth and 11 proxies', () => {
    expect(table.name).toBe('nb101');
    expect(table.space).toBe('nb101');
    expect(table.targets).toEqual(['cifar10']);
    expect(table.records.length).toBe(292);
    expect(new Set(table.records.map((r) => nb101Hash(parseNb101(r.arch)))).size).toBe(292);
    for (const r of table.records) {
      expect(table.get(r.arch)).toBe(r);
      expect(r.truth['cifar10']).toBeGreaterThan(0);
      expect(r.truth['cifar10']).toBeLessThan(100);
    }
    // 55 rows prune to the input→output cell; NASLib reports one of its 3 runs per row
    expect(table.get('io:1')!.truth['cifar10']).toBeCloseTo(83.4, 0);
    const ext = table.external!('cifar10');
    expect([...ext.keys()].sort()).toEqual(NB101_NASLIB_PROXIES.map((p) => `${p} (NASLib)`).sort());
    for (const m of ext.values()) {
      expect(m.size).toBeGreaterThan(250);
      for (const [arch, v] of m) {
        expect(Number.isFinite(v) && v !== -1e8).toBe(true);
        expect(table.get(arch)).toBeDefined();
      }
    }
    const own = table.baselines!('cifar10');
    expect([...own.keys()]).toEqual(['params', 'FLOPs']);
    for (const r of table.records) {
      // the record's params are the benchmark network's exact count for the record's own spec
      expect(r.params!['cifar10']).toBe(countParams(buildNb101Network(parseNb101(r.arch))));
      expect(own.get('params')!.get(r.arch)).toBe(r.params!['cifar10']);
      expect(own.get('FLOPs')!.get(r.arch)).toBeGreaterThan(0);
    }
    expect(table.describe('cifar10')).toMatch(/validation accuracy/);
    expect(codeOf(() => table.describe('cifar100'))).toBe('E_DATASET');
    expect(table.get('not a cell')).toBeUndefined();
  });

  it('finds an isomorphic cell written in another vertex order', () => {
    const rng = new Rng(3);
    let relabelled = 0;
    for (const r of table.records) {
      const g = parseNb101(r.arch);
      const h = relabel(g, rng);
      if (formatNb101(h) !== r.arch) relabelled++;
      expect(table.get(formatNb101(h))).toBe(r);
    }
    expect(relabelled).toBeGreaterThan(50);
    // two rows of the shipped data are isomorphic: either vertex order finds the one merged record
    expect(table.get('i311o:1100.001.11.1')).toBe(table.get('i131o:1100.011.01.1'));
  });

  it('the NASLib params proxy (M) of every row equals this builder’s exact count for the row’s spec', () => {
    const head = readFileSync(join(dataDir(), 'nb101_zc_naslib_subset.csv'), 'utf8').split('\n')[0]!.split(',');
    const col = head.indexOf('params');
    for (const line of rows) {
      const m = /^"(\[\[.*?\]\])","(\[.*?\])","\(.*?\)",(.*)$/.exec(line)!;
      const g = makeNb101(JSON.parse(m[1]!), JSON.parse(m[2]!.replace(/""/g, '"')));
      const naslib = Number(m[3]!.split(',')[col - 3]);
      expect(Math.abs(countParams(buildNb101Network(g)) / 1e6 - naslib)).toBeLessThan(1e-5);
    }
  });

  describe('malformed files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nb101-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const head = readFileSync(join(dataDir(), 'nb101_zc_naslib_subset.csv'), 'utf8').split('\n')[0]!;
    const write = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };

    it.each([
      [
        'a missing column',
        `${head.replace(',synflow', '')}\n${rows[0]!.replace(/,[^,]*$/, '')}\n`,
        /missing column synflow/,
      ],
      ['a short row', `${head}\n${rows[0]!.replace(/,[^,]*$/, '')}\n`, /line 2: 14 fields, header has 15/],
      [
        'a bad number',
        `${head}\n${rows[0]!.replace(/,92\.578125,/, ',abc,')}\n`,
        /line 2: val_accuracy is not a number/,
      ],
      ['an invalid cell', `${head}\n${rows[0]!.replace('""input""', '""conv5x5""')}\n`, /line 2: .*unknown op/],
      ['an unterminated quote', `${head}\n"[[0,1]\n`, /line 2: unterminated quoted field/],
      ['no data rows', `${head}\n`, /no data rows/],
    ])('rejects %s with E_TABLE', (_what, text, msg) => {
      const p = write(`${_what.replace(/\s/g, '_')}.csv`, text);
      expect(codeOf(() => loadNb101Table(p))).toBe('E_TABLE');
      expect(() => loadNb101Table(p)).toThrow(msg);
    });

    it('rejects a missing file with E_TABLE', () => {
      expect(codeOf(() => loadNb101Table(join(dir, 'absent.csv')))).toBe('E_TABLE');
      expect(codeOf(() => loadNb101Sample(join(dir, 'absent.csv')))).toBe('E_TABLE');
    });
  });
});

describe('NB101 sampling, mutation, crossover, encoding', () => {
  it('samples valid cells reproducibly from a seed', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 200 }, () => sampleNb101(rng));
    };
    const a = draw(11);
    expect(a.map(formatNb101)).toEqual(draw(11).map(formatNb101));
    expect(a.map(formatNb101)).not.toEqual(draw(12).map(formatNb101));
    a.forEach(expectValid);
    // varied: many distinct cells, several sizes, all three ops
    expect(new Set(a.map(nb101Hash)).size).toBeGreaterThan(100);
    expect(new Set(a.map((g) => g.ops.length)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(a.flatMap((g) => g.ops)).size).toBe(5);
  });

  it('mutates into a valid, different cell; crosses over into a valid cell', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 150; i++) {
      const g = nb101Space.sample(rng);
      const m = nb101Space.mutate(g, rng);
      expectValid(m);
      expect(nb101Hash(m)).not.toBe(nb101Hash(g));
      const h = nb101Space.sample(rng);
      const c = nb101Space.crossover(g, h, rng);
      expectValid(c);
    }
    // the smallest cell mutates too (dead vertices are padded back in)
    const io = parseNb101('io:1');
    expectValid(mutateNb101(io, rng));
    // crossover of a cell with itself gives the cell back
    const g = parseNb101(formatNb101(makeNb101(INCEPTION.matrix, INCEPTION.ops)));
    expect(nb101Hash(crossoverNb101(g, g, rng))).toBe(nb101Hash(g));
  });

  it('encodes to fixed-length 0/1 features, padding smaller cells', () => {
    const g = makeNb101(INCEPTION.matrix, INCEPTION.ops);
    const e = encodeNb101(g);
    expect(e.length).toBe(NB101_ENCODING_LENGTH);
    expect(e.slice(0, 6)).toEqual([1, 1, 1, 0, 1, 0]);
    // ops conv1x1, conv3x3 ×3, maxpool as one-hots over [conv3x3, conv1x1, maxpool]
    expect(e.slice(21)).toEqual([0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1]);
    const io = encodeNb101(parseNb101('io:1'));
    expect(io.length).toBe(NB101_ENCODING_LENGTH);
    expect(io.reduce((s, x) => s + x, 0)).toBe(1);
    expect(io[5]).toBe(1); // edge 0→6
    const small = encodeNb101(parseNb101('i1o:10.1'));
    expect(small.slice(0, 6)).toEqual([1, 0, 0, 0, 0, 0]);
    expect(small[10]).toBe(1); // edge 1→6 (row 1 starts at index 6: 1→2 … 1→6)
    expect(small.slice(21, 24)).toEqual([0, 1, 0]);
    expect(small.slice(24).every((x) => x === 0)).toBe(true);
  });
});

describe('NB101 network', () => {
  it('splits channels as compute_vertex_channels', () => {
    const g = makeNb101(INCEPTION.matrix, INCEPTION.ops);
    expect(nb101VertexChannels(128, 128, g.matrix)).toEqual([128, 32, 32, 32, 32, 32, 128]);
    // 3 vertices feed the output: 128 = 43 + 43 + 42 in vertex order
    const m = [
      [0, 1, 1, 0, 1],
      [0, 0, 1, 0, 1],
      [0, 0, 0, 1, 1],
      [0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0],
    ];
    expect(nb101VertexChannels(64, 128, m)).toEqual([64, 43, 43, 42, 128]);
  });

  it('builds the benchmark skeleton and truncates with slices', () => {
    const g = parseNb101('i333o:1100.011.01.1');
    const net = buildNb101Network(g);
    expect(net.nodes[0]!.shape).toEqual([3, 32, 32]);
    expect(net.nodes[net.output]!.shape).toEqual([10]);
    expect(net.nodes.filter((n) => n.op === 'maxpool').map((n) => n.shape)).toEqual([
      [128, 16, 16],
      [256, 8, 8],
    ]);
    // vertices 1, 2, 3 feed the output (43 + 43 + 42 = 128); the edge 1→3 keeps the first 42 of 43 channels
    expect(nb101VertexChannels(128, 128, g.matrix)).toEqual([128, 43, 43, 42, 128]);
    const slices = net.nodes.filter((n) => n.op === 'slice');
    expect(slices.length).toBe(9);
    expect(slices[0]!.shape).toEqual([42, 32, 32]);
    expect(net.nodes[slices[0]!.inputs[0]!]!.shape).toEqual([43, 32, 32]);
    // input→output is an edge of none of them: every stack's first cell has one projection per input edge
    const convs1 = net.nodes.filter((n) => n.op === 'conv' && n.k === 1);
    expect(convs1.length).toBe(9 * 2);
    expect(net.meta).toMatchObject({ space: 'nb101', arch: 'i333o:1100.011.01.1', channels: 128, cells: 3, stacks: 3 });
    expect(buildNb101Network(parseNb101('io:1')).nodes.filter((n) => n.op === 'conv').length).toBe(1 + 9);
    expect(codeOf(() => buildNb101Network(g, { channels: 0 }))).toBe('E_OPTION');
    expect(codeOf(() => buildNb101Network(g, { inputSize: 30 }))).toBe('E_OPTION');
    // generic callers may pass other spaces' options or undefined values: ignored / defaulted
    const loose = { channels: undefined, prune: false } as unknown as Parameters<typeof buildNb101Network>[1];
    expect(countParams(buildNb101Network(g, loose))).toBe(countParams(net));
  });

  it('scores a small network with the reference backend: 1 ≤ Ψ ≤ min(V, 2^S), deterministic', () => {
    const g = parseNb101('i31mo:1100.011.01.1');
    const net = nb101Space.build(g, { channels: 8, cells: 1 });
    const batch = gaussianBatch(4, 3, 32, 32, 7);
    const psi = referenceCount(net, batch, 1);
    expect(psi).toBeGreaterThanOrEqual(1);
    expect(psi).toBeLessThanOrEqual(Math.min(recordedValues(net), 2 ** 4));
    expect(referenceCount(net, batch, 1)).toBe(psi);
  });
});
