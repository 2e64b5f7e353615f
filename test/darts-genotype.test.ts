import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDir } from '../src/data/paths.js';
import {
  DARTS_SEARCH_OPS,
  crossoverDarts,
  formatDarts,
  formatDartsCompact,
  makeDartsGenotype,
  mutateDarts,
  parseDarts,
  parseDartsCompact,
  sampleDarts,
  type DartsGenotype,
} from '../src/spaces/darts/genotype.js';
import { Rng } from '../src/util/rng.js';

// DARTS-V2 as published in the DARTS repository (genotypes.py)
const DARTS_V2 =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

function valid(g: DartsGenotype): void {
  for (const cell of [g.normal, g.reduce]) {
    expect(cell).toHaveLength(8);
    for (let k = 0; k < 8; k += 2) {
      const node = 2 + k / 2;
      expect(cell[k]![1]).not.toBe(cell[k + 1]![1]);
      expect(cell[k]![1]).toBeLessThan(node);
      expect(cell[k + 1]![1]).toBeLessThan(node);
    }
  }
}

describe('DARTS genotypes', () => {
  it('parses the published DARTS-V2 genotype and round-trips the text and compact forms', () => {
    const g = parseDarts(DARTS_V2);
    expect(g.normal[7]).toEqual(['dil_conv_3x3', 2]);
    expect(g.reduce[0]).toEqual(['max_pool_3x3', 0]);
    expect(formatDarts(g)).toBe(DARTS_V2);
    expect(parseDarts(formatDartsCompact(g))).toEqual(g);
    expect(parseDartsCompact(formatDartsCompact(g))).toEqual(g);
    expect(parseDarts(DARTS_V2.replace(/normal_concat=\[2, 3, 4, 5\]/, 'normal_concat=range(2, 6)'))).toEqual(g);
  });

  it('reads all 725 NAS-Bench-301 genotypes of the shipped table; compact op ids match NASLib', () => {
    const lines = readFileSync(join(dataDir(), 'nb301_zc_naslib_subset.csv'), 'utf8').trim().split('\n').slice(1);
    expect(lines).toHaveLength(725);
    for (const line of lines) {
      const cells = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
      const normal = JSON.parse(cells[0]!) as [string, number][];
      const reduce = JSON.parse(cells[1]!) as [string, number][];
      const g = makeDartsGenotype(normal, reduce);
      valid(g);
      // NASLib compact: [[(input, opIndex) × 8], [...]] with ops indexed as DARTS_SEARCH_OPS
      const naslib = [...cells[2]!.matchAll(/\((\d+),(\d+)\)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      const ours = [...g.normal, ...g.reduce].map(([op, src]) => [
        src,
        (DARTS_SEARCH_OPS as readonly string[]).indexOf(op),
      ]);
      expect(ours).toEqual(naslib);
      expect(parseDarts(formatDarts(g))).toEqual(g);
    }
  });

  it('rejects bad genotypes with coded errors that say where', () => {
    expect(code(() => parseDarts('Genotype(normal=[], reduce=[])'))).toBe('E_ARCH_EDGE');
    expect(code(() => parseDarts('normal=[1,2]'))).toBe('E_ARCH_SYNTAX');
    expect(code(() => parseDarts(DARTS_V2.replace("'dil_conv_3x3', 2", "'conv_7x7', 2")))).toBe('E_ARCH_OP');
    expect(() => parseDarts(DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"))).toThrow(
      /normal edge 7: node 5 cannot take input from node 5/,
    );
    // SWAP's DARTS set feeds both edges of a node from one source: accepted
    expect(
      parseDarts(
        DARTS_V2.replace("('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", "('sep_conv_3x3', 1), ('sep_conv_3x3', 1)"),
      )
        .normal.slice(2, 4)
        .map((e) => e[1]),
    ).toEqual([1, 1]);
    expect(code(() => parseDarts(DARTS_V2.replace('reduce_concat=[2, 3, 4, 5]', 'reduce_concat=[2, 9]')))).toBe(
      'E_ARCH_EDGE',
    );
    expect(code(() => parseDartsCompact('0123|4567'))).toBe('E_ARCH_SYNTAX');
  });

  it('sampling, mutation and crossover stay valid and are seeded', () => {
    const rng = new Rng(4);
    const a = Array.from({ length: 5 }, () => formatDarts(sampleDarts(new Rng(9))));
    expect(new Set(a).size).toBe(1);
    for (let i = 0; i < 300; i++) {
      const g = sampleDarts(rng);
      valid(g);
      const m = mutateDarts(g, rng);
      valid(m);
      const diff = [...g.normal, ...g.reduce].filter(
        (e, k) => JSON.stringify(e) !== JSON.stringify([...m.normal, ...m.reduce][k]),
      ).length;
      expect(diff).toBe(1);
      const c = crossoverDarts(g, sampleDarts(rng), rng);
      valid(c);
      expect(g.normal.some(([op]) => op === 'none')).toBe(false);
    }
  });
});
