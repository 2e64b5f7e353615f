import { describe, expect, it } from 'vitest';
import {
  NB201_SIZE,
  buildNb201Network,
  countParams,
  enumerateNb201,
  formatNb201,
  mutateNb201,
  nb201CanonicalKey,
  nb201FromOrdinal,
  nb201Ordinal,
  parseNb201,
  sampleNb201,
  crossoverNb201,
  Rng,
  SwapError,
} from '../src/index.js';
import { nb201Rows } from './helpers.js';

const RESNET = '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SwapError ? e.code : 'not-a-SwapError';
  }
  return undefined;
}

describe('NB201 arch strings', () => {
  it('round-trips every cell', () => {
    for (const g of enumerateNb201()) expect(parseNb201(formatNb201(g))).toEqual(g);
  });

  it('parses the documented example', () => {
    expect(parseNb201(RESNET)).toEqual([
      'nor_conv_3x3',
      'none',
      'nor_conv_3x3',
      'skip_connect',
      'none',
      'skip_connect',
    ]);
  });

  it.each([
    ['', 'E_ARCH_SYNTAX'],
    ['|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|', 'E_ARCH_SYNTAX'],
    ['|conv_5x5~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|', 'E_ARCH_OP'],
    ['|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|', 'E_ARCH_EDGE'],
    ['|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|skip_connect~2|', 'E_ARCH_EDGE'],
    ['nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|', 'E_ARCH_SYNTAX'],
    ['|nor_conv_3x3|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|', 'E_ARCH_SYNTAX'],
  ])('rejects %j with %s', (text, code) => {
    expect(codeOf(() => parseNb201(text))).toBe(code);
  });

  it('error messages say where the problem is', () => {
    expect(() => parseNb201('|nor_conv_3x3~0|+|none~0|nor_conv_5x5~1|+|skip_connect~0|none~1|skip_connect~2|')).toThrow(
      /node 2 entry 2.*nor_conv_5x5/,
    );
  });
});

describe('NB201 enumeration, sampling, mutation', () => {
  it('enumerates 15,625 distinct cells with a bijective ordinal', () => {
    const all = enumerateNb201();
    expect(all.length).toBe(NB201_SIZE);
    expect(new Set(all.map(formatNb201)).size).toBe(NB201_SIZE);
    for (let i = 0; i < NB201_SIZE; i += 97) expect(nb201Ordinal(nb201FromOrdinal(i))).toBe(i);
  });

  it('covers exactly the benchmark table', () => {
    const table = new Set(nb201Rows().map((r) => r['arch']!));
    expect(table.size).toBe(NB201_SIZE);
    for (const g of enumerateNb201()) expect(table.has(formatNb201(g))).toBe(true);
  });

  it('samples reproducibly from a seed and roughly uniformly over ops', () => {
    const a = Array.from(
      { length: 50 },
      (
        (r) => () =>
          formatNb201(sampleNb201(r))
      )(new Rng(7)),
    );
    const b = Array.from(
      { length: 50 },
      (
        (r) => () =>
          formatNb201(sampleNb201(r))
      )(new Rng(7)),
    );
    expect(a).toEqual(b);
    const rng = new Rng(1);
    const counts = new Map<string, number>();
    for (let i = 0; i < 5000; i++) for (const op of sampleNb201(rng)) counts.set(op, (counts.get(op) ?? 0) + 1);
    for (const c of counts.values()) expect(Math.abs(c / 30000 - 0.2)).toBeLessThan(0.02);
  });

  it('mutation changes exactly one edge, crossover takes each edge from a parent', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const g = sampleNb201(rng);
      const m = mutateNb201(g, rng);
      expect(g.filter((op, e) => op !== m[e]).length).toBe(1);
      const h = sampleNb201(rng);
      const c = crossoverNb201(g, h, rng);
      c.forEach((op, e) => expect([g[e], h[e]]).toContain(op));
    }
  });
});

describe('NB201 isomorphism classes', () => {
  it('canonical keys reproduce the 6,466 classes of the benchmark (iso_rep column)', () => {
    const rows = nb201Rows();
    const keyOf = new Map<string, string>(); // iso_rep -> key
    const repOf = new Map<string, string>(); // key -> iso_rep
    for (const r of rows) {
      const k = nb201CanonicalKey(parseNb201(r['arch']!));
      const rep = r['iso_rep']!;
      if (keyOf.has(rep)) expect(keyOf.get(rep)).toBe(k);
      else keyOf.set(rep, k);
      if (repOf.has(k)) expect(repOf.get(k)).toBe(rep);
      else repOf.set(k, rep);
    }
    expect(keyOf.size).toBe(6466);
    expect(repOf.size).toBe(6466);
  });
});

describe('NB201 macro network', () => {
  it('parameter counts equal the benchmark for all 15,625 cells and three datasets', () => {
    let checked = 0;
    for (const r of nb201Rows()) {
      const g = parseNb201(r['arch']!);
      for (const [col, classes, size] of [
        ['params_cifar10', 10, 32],
        ['params_cifar100', 100, 32],
        ['params_imagenet16', 120, 16],
      ] as const) {
        const p = countParams(buildNb201Network(g, { classes, inputSize: size }));
        // the table stores millions with 6 decimals: exact integer counts
        expect(p).toBe(Math.round(Number(r[col]) * 1e6));
        checked++;
      }
    }
    expect(checked).toBe(3 * NB201_SIZE);
  });

  it('builds the documented shapes', () => {
    const net = buildNb201Network(parseNb201(RESNET));
    const last = net.nodes[net.output]!;
    expect(last.op).toBe('linear');
    expect(last.shape).toEqual([10]);
    const convs = net.nodes.filter((n) => n.op === 'conv');
    // stem + 15 cells × 2 conv edges + 2 reduction blocks × 3 convs
    expect(convs.length).toBe(1 + 15 * 2 + 6);
    expect(net.nodes[0]!.shape).toEqual([3, 32, 32]);
    const relus = net.nodes.filter((n) => n.op === 'relu');
    expect(relus.every((n) => n.shape.length === 3)).toBe(true);
  });

  it('rejects bad network options with a coded error', () => {
    expect(codeOf(() => buildNb201Network(parseNb201(RESNET), { channels: 0 }))).toBe('E_OPTION');
    expect(codeOf(() => buildNb201Network(parseNb201(RESNET), { cells: 1.5 }))).toBe('E_OPTION');
  });
});
