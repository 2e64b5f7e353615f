import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDir } from '../src/data/paths.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { countParams, recordedValues } from '../src/ir/analysis.js';
import {
  TNB101_SIZE,
  TNB101_TASKS,
  TNB101_TASK_NETWORK,
  buildTnb101Network,
  crossoverTnb101,
  encodeTnb101,
  enumerateTnb101,
  formatTnb101,
  mutateTnb101,
  parseTnb101,
  sampleTnb101,
  tnb101CanonicalKey,
  tnb101CellOps,
  tnb101DecoderParams,
  tnb101FromOrdinal,
  tnb101IsDegenerate,
  tnb101LiveEdges,
  tnb101Ordinal,
  tnb101Space,
  tnb101Topology,
} from '../src/spaces/tnb101/index.js';
import { Tnb101Table, loadTnb101Table } from '../src/tables/tnb101.js';
import { SwapError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

const ALL_CONV3 = '64-41414-3_33_333';
const ALL_NONE = '64-41414-0_00_000';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SwapError ? e.code : 'not-a-SwapError';
  }
  return undefined;
}

/** `arch` and `cell_ops` columns of the shipped table, in file order. */
function tableArchs(): { arch: string; ops: string }[] {
  const lines = readFileSync(join(dataDir(), 'tnb101_micro.csv'), 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  const a = head.indexOf('arch');
  const o = head.indexOf('cell_ops');
  return lines.slice(1).map((l) => {
    const c = l.split(',');
    return { arch: c[a]!, ops: c[o]! };
  });
}

describe('TNB101 micro arch strings', () => {
  it('round-trips every row of the table (arch and cell_ops) and follows its row order', () => {
    const rows = tableArchs();
    expect(rows.length).toBe(TNB101_SIZE);
    rows.forEach(({ arch, ops }, i) => {
      const g = parseTnb101(arch);
      expect(formatTnb101(g)).toBe(arch);
      expect(tnb101CellOps(g)).toBe(ops);
      expect(parseTnb101(ops)).toEqual(g);
      expect(tnb101Ordinal(g)).toBe(i);
    });
  });

  it('parses the README example and the cell part alone', () => {
    expect(parseTnb101('64-41414-1_02_333')).toEqual([1, 0, 2, 3, 3, 3]);
    expect(parseTnb101(' 1_02_333 ')).toEqual([1, 0, 2, 3, 3, 3]);
    expect(parseTnb101('102333')).toEqual([1, 0, 2, 3, 3, 3]);
    expect(Object.isFrozen(parseTnb101('102333'))).toBe(true);
  });

  it.each([
    ['', 'E_ARCH_SYNTAX'],
    ['64-41414', 'E_ARCH_SYNTAX'],
    ['32-41414-1_02_333', 'E_ARCH_SYNTAX'],
    ['64-4111-basic', 'E_ARCH_SYNTAX'],
    ['64-41414-1_02', 'E_ARCH_SYNTAX'],
    ['64-41414-10_2_333', 'E_ARCH_SYNTAX'],
    ['64-41414-1_0x_333', 'E_ARCH_SYNTAX'],
    ['2333', 'E_ARCH_SYNTAX'],
    ['1023334', 'E_ARCH_SYNTAX'],
    ['64-41414-1_02_343', 'E_ARCH_OP'],
    ['102393', 'E_ARCH_OP'],
  ])('rejects %j with %s', (text, code) => {
    expect(codeOf(() => parseTnb101(text))).toBe(code);
  });

  it('error messages say where the problem is', () => {
    expect(() => parseTnb101('64-41414-1_02_343')).toThrow(/edge 5 \(node 3 ← node 1\).*unknown op 4/);
    expect(() => parseTnb101('1_0x_333')).toThrow(/edge 3 \(node 2 ← node 1\)/);
    expect(() => parseTnb101('1_02_33')).toThrow(/node 3 group "33"/);
  });
});

describe('TNB101 micro enumeration, sampling, mutation', () => {
  it('enumerates 4,096 distinct cells with a bijective ordinal', () => {
    const all = enumerateTnb101();
    expect(all.length).toBe(TNB101_SIZE);
    expect(new Set(all.map(formatTnb101)).size).toBe(TNB101_SIZE);
    for (let i = 0; i < TNB101_SIZE; i += 37) expect(tnb101Ordinal(tnb101FromOrdinal(i))).toBe(i);
    expect(codeOf(() => tnb101FromOrdinal(TNB101_SIZE))).toBe('E_OPTION');
  });

  it('samples reproducibly from a seed and roughly uniformly over ops', () => {
    const draw = (seed: number) =>
      ((r) => Array.from({ length: 50 }, () => formatTnb101(sampleTnb101(r))))(new Rng(seed));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) for (const op of sampleTnb101(rng)) counts[op]!++;
    for (const c of counts) expect(Math.abs(c / 24000 - 0.25)).toBeLessThan(0.02);
  });

  it('mutation changes exactly one edge, crossover takes each edge from a parent; both are seeded', () => {
    const run = (seed: number) => {
      const rng = new Rng(seed);
      const out: string[] = [];
      for (let i = 0; i < 200; i++) {
        const g = sampleTnb101(rng);
        const m = mutateTnb101(g, rng);
        expect(g.filter((op, e) => op !== m[e]).length).toBe(1);
        expect(Object.isFrozen(m)).toBe(true);
        const h = sampleTnb101(rng);
        const c = crossoverTnb101(g, h, rng);
        c.forEach((op, e) => expect([g[e], h[e]]).toContain(op));
        expect(Object.isFrozen(c)).toBe(true);
        out.push(formatTnb101(m), formatTnb101(c));
      }
      return out;
    };
    expect(run(3)).toEqual(run(3));
  });

  it('topology operators keep the set of non-none edges', () => {
    const rng = new Rng(9);
    expect(tnb101Topology.mutateOps(parseTnb101(ALL_NONE), rng)).toBeUndefined();
    for (let i = 0; i < 200; i++) {
      const g = sampleTnb101(rng);
      const m = tnb101Topology.mutateOps(g, rng);
      if (!m) continue;
      expect(tnb101Topology.topologyKey(m)).toBe(tnb101Topology.topologyKey(g));
      expect(g.filter((op, e) => op !== m[e]).length).toBe(1);
    }
  });

  it('encodes 24 one-hot features', () => {
    const f = encodeTnb101(parseTnb101('102333'));
    expect(f.length).toBe(24);
    expect(f.slice(0, 8)).toEqual([0, 1, 0, 0, 1, 0, 0, 0]);
    expect(f.reduce((a, b) => a + b, 0)).toBe(6);
  });
});

describe('TNB101 micro canonical keys', () => {
  const key = (s: string) => tnb101CanonicalKey(parseTnb101(s));

  it('merges dead edges, skip chains and node relabelling', () => {
    // one conv3x3 of the input, four ways (plus a dead conv on the zero node 1)
    const one = key('0_00_300');
    for (const s of ['3_00_010', '3_01_001', '0_30_001', '0_03_300', '0_00_330']) expect(key(s)).toBe(one);
    // conv3(x) + conv1(x) in either node order
    expect(key('2_00_310')).toBe(key('0_20_301'));
    expect(key('3_00_210')).toBe(key('2_00_310'));
  });

  it('keeps distinct functions apart', () => {
    expect(key('0_00_300')).not.toBe(key('0_00_200'));
    // the same conv vertex reached twice (2·conv(x)) vs two independent convs
    expect(key('3_01_011')).not.toBe(key('3_00_311'));
    // a skip from the input is a FactorizedReduce in the stride-2 cells: FR(x) + FR'(x) ≠ 2·FR(x)
    expect(key('1_00_110')).not.toBe(key('1_01_011'));
    expect(key('0_00_100')).not.toBe(key('0_00_200'));
    expect(key(ALL_CONV3)).not.toBe(key('3_33_332'));
  });

  it('gives every identically-zero cell the key "zero": exactly the 169 rows whose Zen score is the sentinel', () => {
    const table = loadTnb101Table();
    const zen = table.external('class_scene').get('zen (NASLib)')!;
    let zero = 0;
    const classes = new Set<string>();
    for (const g of enumerateTnb101()) {
      const k = tnb101CanonicalKey(g);
      classes.add(k);
      expect(k === 'zero').toBe(tnb101IsDegenerate(g));
      expect(zen.has(formatTnb101(g))).toBe(k !== 'zero');
      if (k === 'zero') zero++;
    }
    expect(zero).toBe(169);
    expect(classes.size).toBe(1376);
  });

  it('live edges: dead conv on a zero node, dead node feeding nothing', () => {
    expect(tnb101LiveEdges(parseTnb101('0_03_300'))).toEqual([false, false, false, true, false, false]);
    expect(tnb101LiveEdges(parseTnb101('3_30_300'))).toEqual([false, false, false, true, false, false]);
  });
});

describe('TNB101 micro network', () => {
  it('parameter counts of the benchmark networks (all-conv3x3 and all-none cells)', () => {
    // Hand count from the benchmark code (net_macro.py, cell_micro.py, cell_ops.py, decoder.py); the same totals
    // are asserted for the all-conv3x3 cell by an independent PyTorch port of the official encoder and task heads
    // (a public test, `test_transnas_official_task_heads_have_distinct_output_contracts`): 41,435,727 class_scene,
    // 41,450,091 class_object, 41,416,233 room_layout, 46,020,616 jigsaw, 52,435,793 segmentsemantic,
    // 64,283,475 normal/autoencoder.
    const g = parseTnb101(ALL_CONV3);
    const backbone = 41_411_616;
    expect(countParams(buildTnb101Network(g, { classes: 0 }))).toBe(backbone);
    const expected: Record<string, number> = {
      class_scene: 41_435_727,
      class_object: 41_450_091,
      room_layout: 41_416_233,
      jigsaw: 46_020_616,
      segmentsemantic: 52_435_793,
      normal: 64_283_475,
      autoencoder: 64_283_475,
    };
    for (const task of TNB101_TASKS) {
      const net = buildTnb101Network(g, TNB101_TASK_NETWORK[task]);
      const decoder = net.meta!['classes'] === 0 ? tnb101DecoderParams(task as 'normal', 512, 8, 256) : 0;
      expect(countParams(net) + decoder).toBe(expected[task]);
    }
    // all-none: only the stem (conv 3→32, BN, conv 32→64, BN = 19,488) and the head carry weights
    expect(countParams(buildTnb101Network(parseTnb101(ALL_NONE), { classes: 0 }))).toBe(19_488);
    expect(countParams(buildTnb101Network(parseTnb101(ALL_NONE)))).toBe(19_488 + 512 * 47 + 47);
  });

  it('builds the documented shapes at 256×256', () => {
    const net = buildTnb101Network(parseTnb101(ALL_CONV3));
    expect(net.nodes[0]!.shape).toEqual([3, 256, 256]);
    const out = net.nodes[net.output]!;
    expect(out.op).toBe('linear');
    expect(out.shape).toEqual([47]);
    expect(net.meta).toMatchObject({ featureChannels: 512, featureSize: 8, space: 'tnb101-micro', arch: ALL_CONV3 });
    const convs = net.nodes.filter((n) => n.op === 'conv');
    expect(convs.length).toBe(2 + 10 * 6);
    // cell outputs: 2 cells per module of 41414 → 128@32, 128@32, 256@16, 256@16, 512@8
    const sums = net.nodes.filter((n) => n.op === 'add' && n.inputs.length === 3).map((n) => n.shape.join('x'));
    expect(sums).toEqual([
      '128x32x32',
      '128x32x32',
      '128x32x32',
      '128x32x32',
      '256x16x16',
      '256x16x16',
      '256x16x16',
      '256x16x16',
      '512x8x8',
      '512x8x8',
    ]);
    expect(net.nodes.filter((n) => n.op === 'relu').every((n) => n.shape.length === 3)).toBe(true);
  });

  it('skip from the input of a stride-2 cell is a FactorizedReduce; odd sizes build too', () => {
    const net = buildTnb101Network(parseTnb101('1_00_000'), { classes: 0 });
    // 3 stride-2 cells → 3 FactorizedReduce (2 convs, 1 concat, 1 BN each); stride-1 skips are identities
    expect(net.nodes.filter((n) => n.op === 'concat').length).toBe(3);
    expect(net.nodes.filter((n) => n.op === 'conv').length).toBe(2 + 6);
    expect(net.nodes[net.output]!.shape).toEqual([512, 8, 8]);
    // 36 → stem 9 → 5 → 3 → 2: the odd-size FactorizedReduce path
    const odd = buildTnb101Network(parseTnb101('1_00_100'), { inputSize: 36, channels: 8 });
    const feats = odd.nodes.filter((n) => n.op === 'gap')[0]!;
    expect(odd.nodes[feats.inputs[0]!]!.shape).toEqual([64, 2, 2]);
  });

  it('jigsaw head: one 64×64 tile, features concatenated 9 times into Linear(9·512, 1000)', () => {
    const net = buildTnb101Network(parseTnb101(ALL_CONV3), TNB101_TASK_NETWORK.jigsaw);
    const lin = net.nodes[net.output]!;
    expect(lin).toMatchObject({ op: 'linear', fin: 4608, fout: 1000 });
    expect(net.nodes[0]!.shape).toEqual([3, 64, 64]);
  });

  it('prune drops dead branches only', () => {
    const g = parseTnb101('0_33_300'); // node 2 = conv(x) + conv(zero node 1) feeds nothing
    const full = buildTnb101Network(g, { channels: 8, inputSize: 32 });
    const pruned = buildTnb101Network(g, { channels: 8, inputSize: 32, prune: true });
    expect(recordedValues(pruned)).toBeLessThan(recordedValues(full));
    expect(countParams(pruned)).toBe(
      countParams(buildTnb101Network(parseTnb101('0_00_300'), { channels: 8, inputSize: 32 })),
    );
  });

  it('rejects bad network options with a coded error', () => {
    const g = parseTnb101(ALL_CONV3);
    expect(codeOf(() => buildTnb101Network(g, { channels: 7 }))).toBe('E_OPTION');
    expect(codeOf(() => buildTnb101Network(g, { cells: 0 }))).toBe('E_OPTION');
    expect(codeOf(() => buildTnb101Network(g, { classes: -1 }))).toBe('E_OPTION');
    expect(codeOf(() => buildTnb101Network(g, { classes: 0, tiles: 9 }))).toBe('E_OPTION');
    expect(codeOf(() => tnb101DecoderParams('segmentsemantic', 512, 8, 16))).toBe('E_OPTION');
  });

  it('the space object wires everything together', () => {
    expect(tnb101Space.name).toBe('tnb101-micro');
    expect(tnb101Space.size).toBe(4096);
    expect([...tnb101Space.enumerate!()].length).toBe(4096);
    expect(tnb101Space.format(tnb101Space.parse('102333'))).toBe('64-41414-1_02_333');
    expect(tnb101Space.defaultNetwork).toMatchObject({ channels: 64, cells: 2, inputSize: 256, classes: 47 });
  });
});

describe('TNB101 micro reference scoring (small network)', () => {
  it('1 ≤ Ψ ≤ min(V, 2^S), deterministic per seed', () => {
    const S = 4;
    const x = gaussianBatch(S, 3, 32, 32, 11);
    for (const arch of ['1_02_333', ALL_NONE, '2_31_023']) {
      const net = buildTnb101Network(parseTnb101(arch), { channels: 8, inputSize: 32, classes: 10 });
      const V = recordedValues(net);
      const a = referenceCount(net, x, 5);
      expect(a).toBeGreaterThanOrEqual(1);
      expect(a).toBeLessThanOrEqual(Math.min(V, 2 ** S));
      expect(referenceCount(net, x, 5)).toBe(a);
    }
  });
});

describe('TNB101 micro table', () => {
  it('loads 4,096 rows and 7 targets; the first row is the all-none cell', () => {
    const t = loadTnb101Table();
    expect(t.name).toBe('tnb101-micro');
    expect(t.space).toBe('tnb101-micro');
    expect(t.records.length).toBe(4096);
    expect([...t.targets]).toEqual([...TNB101_TASKS]);
    const first = t.records[0]!;
    expect(first.arch).toBe(ALL_NONE);
    expect(first.truth['class_scene']).toBeCloseTo(7.4840765, 6);
    expect(first.truth['room_layout']).toBeCloseTo(-1.0942842, 6);
    expect(t.get('000000')).toBe(first);
    expect(t.get('nonsense')).toBeUndefined();
    for (const r of t.records) {
      expect(tnb101Space.format(tnb101Space.parse(r.arch))).toBe(r.arch);
      expect(r.truth['room_layout']).toBeLessThan(0);
    }
    for (const task of TNB101_TASKS) expect(t.describe(task)).toContain(task);
    expect(codeOf(() => t.describe('cifar10'))).toBe('E_DATASET');
  });

  it('external proxies per task, sentinels dropped', () => {
    const t = loadTnb101Table();
    expect([...t.external('class_object').keys()].sort()).toEqual([
      'epe_nas (NASLib)',
      'fisher (NASLib)',
      'synflow (NASLib)',
      'zen (NASLib)',
    ]);
    expect([...t.external('normal').keys()]).toEqual(['zen (NASLib)']);
    expect(t.external('class_scene').get('zen (NASLib)')!.size).toBe(4096 - 169);
    expect(t.external('jigsaw').get('epe_nas (NASLib)')!.size).toBe(4096 - 108);
    for (const m of t.external('room_layout').values())
      for (const v of m.values()) expect(Number.isFinite(v) && v !== -1e8).toBe(true);
  });

  it('malformed CSV is an E_TABLE error naming the line', () => {
    const text = readFileSync(join(dataDir(), 'tnb101_micro.csv'), 'utf8').split('\n').slice(0, 4);
    const parse = (lines: string[]) => () => Tnb101Table.parse(lines.join('\n'), 'x.csv');
    expect(parse(text)().records.length).toBe(3);
    const head = text[0]!;
    const row = (i: number, f: (c: string[]) => void) => {
      const lines = text.slice();
      const c = lines[i]!.split(',');
      f(c);
      lines[i] = c.join(',');
      return lines;
    };
    const col = (name: string) => head.split(',').indexOf(name);
    expect(codeOf(parse([head]))).toBe('E_TABLE');
    expect(codeOf(parse([head.replace('val_jigsaw', 'val_jig'), ...text.slice(1)]))).toBe('E_TABLE');
    expect(parse(row(2, (c) => (c[col('val_normal')] = 'abc')))).toThrow(/x\.csv line 3: val_normal/);
    expect(parse(row(2, (c) => c.pop()))).toThrow(/line 3: 25 fields/);
    expect(parse(row(3, (c) => (c[0] = '64-41414-0_00_004')))).toThrow(/line 4: .*unknown op 4/);
    expect(parse(row(3, (c) => (c[1] = '000001')))).toThrow(/line 4: cell_ops/);
    expect(parse(row(3, (c) => ((c[0] = ALL_NONE), (c[1] = '000000'))))).toThrow(/line 4: duplicate/);
    expect(parse(row(2, (c) => (c[col('zen_jigsaw')] = '')))).toThrow(/line 3: zen_jigsaw/);
    expect(codeOf(() => loadTnb101Table(join(dataDir(), 'no-such-file.csv')))).toBe('E_TABLE');
  });
});
