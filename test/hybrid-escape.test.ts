import { describe, expect, it } from 'vitest';
import { nb201Topology } from '../src/catalog/registry.js';
import { RandomForest } from '../src/search/forest.js';
import { CachedProxy, type ScoreSource } from '../src/search/proxy.js';
import { preNas, type PreNasOptions } from '../src/search/strategies/index.js';
import type { Evaluation, ProxyScore } from '../src/search/types.js';
import { nb201Space, type Nb201Genotype } from '../src/spaces/nb201/index.js';
import { Rng } from '../src/util/rng.js';

// The hybrid strategy on NB201 with a synthetic proxy and evaluator (no networks, no table): a constructed stuck
// case. The proxy's fitness favours cells whose first edge is `none`, so the warm start picks only such
// topologies, and op-only offspring can never leave them; the evaluator's accuracy never improves on the first
// query, so every generation after the first follows a stalled one.
// The random warm-start pool (warmStartCycles 0) is what the escapes were built against.
const SMALL = {
  initial: 4,
  perGeneration: 2,
  parents: 2,
  offspring: 6,
  trees: 10,
  warmStart: 30,
  warmStartCycles: 0,
} as const;
const topo = (g: Nb201Genotype) => nb201Topology.topologyKey(g);

/** Every genotype the synthetic source computed, in order (cleared by {@link run}). */
const computed: Nb201Genotype[] = [];
const fitnessOf = (g: Nb201Genotype) => (g[0] === 'none' ? 10 : 0) + g.filter((op) => op === 'nor_conv_3x3').length;

const source: ScoreSource<Nb201Genotype> = {
  name: 'synthetic',
  metadata: {},
  async compute(gs) {
    computed.push(...gs);
    return gs.map((g): ProxyScore => {
      const convs = g.filter((op) => op === 'nor_conv_3x3').length;
      const fitness = (g[0] === 'none' ? 10 : 0) + convs;
      return { fitness, swap: 1 + convs, params: 1, values: { a: convs, b: g[0] === 'none' ? 1 : 0 } };
    });
  },
};

async function run(opts: PreNasOptions, seed = 1, budget = 12) {
  computed.length = 0;
  const asked: Nb201Genotype[] = [];
  let warm: Nb201Genotype[] = [];
  const strategy = preNas<Nb201Genotype>({ ...SMALL, ...opts }, 'hybrid');
  const out = await strategy.run({
    space: nb201Space,
    rng: new Rng(seed),
    proxy: new CachedProxy(nb201Space, source),
    query: async (g): Promise<Evaluation> => {
      if (asked.length === 0) warm = computed.slice();
      asked.push(g);
      return { ok: true, accuracy: asked.length === 1 ? 90 : 50 };
    },
    budget,
    topology: nb201Topology,
    seed,
    incumbent: () => {},
    progress: () => {},
  });
  const initial = new Set(asked.slice(0, SMALL.initial).map(topo));
  return { out, asked, warm, initial, escaped: asked.filter((g) => !initial.has(topo(g))).length };
}

describe('hybrid: leaving a stuck topology', () => {
  it('without an escape, every query keeps an initial topology (the stuck case)', async () => {
    const r = await run({});
    expect(r.asked).toHaveLength(12);
    expect([...r.initial].every((k) => k.startsWith('0'))).toBe(true);
    expect(r.escaped).toBe(0);
  });

  it('after a generation without improvement, offspring may change topology', async () => {
    const r = await run({ stallTopologyMutation: 1 });
    expect(r.escaped).toBeGreaterThan(0);
    // Only generations that follow a stalled one: the first generation's queries keep the initial topologies.
    const gen1 = r.asked.slice(SMALL.initial, SMALL.initial + SMALL.perGeneration);
    expect(gen1.every((g) => r.initial.has(topo(g)))).toBe(true);
  });

  it('a fraction of offspring from the space mutation changes topology from the first generation', async () => {
    const r = await run({ topologyMutation: 1 });
    const gen1 = r.asked.slice(SMALL.initial, SMALL.initial + SMALL.perGeneration);
    expect(gen1.some((g) => !r.initial.has(topo(g)))).toBe(true);
  });

  it('warm start spread over topologies', async () => {
    const r = await run({ warmStartPerTopology: 1 });
    expect(r.initial.size).toBe(SMALL.initial);
  });

  it.each([
    { stallTopologyMutation: 1 },
    { topologyMutation: 0.5, exploration: 1 },
    { warmStartPerTopology: 1 },
    { warmStartCycles: 5 },
  ])('never exceeds the budget, never queries a cell twice, and is deterministic (%o)', async (o) => {
    for (const budget of [5, 11, 12]) {
      const r = await run(o, 3, budget);
      expect(r.asked).toHaveLength(budget);
      expect(new Set(r.asked.map((g) => nb201Space.canonicalKey(g))).size).toBe(budget);
      const again = await run(o, 3, budget);
      expect(again.asked.map((g) => nb201Space.format(g))).toEqual(r.asked.map((g) => nb201Space.format(g)));
    }
  });

  it('evolved warm start: the initial queries are the best-by-fitness distinct cells a zero-query evolution scored', async () => {
    const r = await run({ warmStartCycles: 30 });
    // Everything scored before the first query is the evolution's (20 + 30 × (1 crossover + 8 mutants) requests).
    expect(r.warm.length).toBeGreaterThan(40);
    const keys = new Map(r.warm.map((g) => [nb201Space.canonicalKey(g), g]));
    const best = [...keys.values()].map(fitnessOf).sort((a, b) => b - a);
    expect(r.asked.slice(0, SMALL.initial).map(fitnessOf)).toEqual(best.slice(0, SMALL.initial));
    // The evolution (99 distinct cells here) picks fitter cells than a random pool of 120 (4 × warmStart 30) does.
    const pool = await run({ warmStartCycles: 0 });
    const mean = (gs: Nb201Genotype[]) => gs.reduce((t, g) => t + fitnessOf(g), 0) / gs.length;
    expect(mean(r.asked.slice(0, SMALL.initial))).toBeGreaterThan(mean(pool.asked.slice(0, SMALL.initial)));
  });

  it('a short evolution fills its initial sample with random cells; a space smaller than its population uses the pool', async () => {
    const r = await run({ warmStartCycles: 1, initial: 40 }, 2, 45);
    // one cycle makes 20 + 9 requests, at most 29 distinct cells; the whole initial sample is scored (for the
    // predictor's features) before the first query, so 40 or more cells before it means random ones filled it up
    expect(r.warm.length).toBeGreaterThanOrEqual(40);
    expect(r.asked).toHaveLength(45);
    expect(new Set(r.asked.slice(0, 40).map((g) => nb201Space.canonicalKey(g))).size).toBe(40);
    const tiny = { ...nb201Space, size: 12 };
    const t = await preNas<Nb201Genotype>({ ...SMALL, warmStartCycles: 30, warmStart: 2 }, 'hybrid').run({
      space: tiny,
      rng: new Rng(1),
      proxy: new CachedProxy(tiny, source),
      query: async () => ({ ok: true, accuracy: 50 }),
      budget: 6,
      topology: nb201Topology,
      seed: 1,
      incumbent: () => {},
      progress: () => {},
    });
    expect(t.stats).toMatchObject({ queries: 6 });
  });

  it('rejects out-of-range settings', () => {
    expect(() => preNas({ warmStartCycles: -1 }, 'hybrid')).toThrow(/warmStartCycles/);
    expect(() => preNas({ warmStartCycles: 1.5 }, 'hybrid')).toThrow(/warmStartCycles/);
    expect(() => preNas({ topologyMutation: 1.5 }, 'hybrid')).toThrow(/topologyMutation/);
    expect(() => preNas({ stallTopologyMutation: -0.1 }, 'hybrid')).toThrow(/stallTopologyMutation/);
    expect(() => preNas({ exploration: -1 }, 'hybrid')).toThrow(/exploration/);
  });

  it('PRE-NAS reports none of the hybrid-only settings; hybrid reports an escape only when it is on', () => {
    const s = preNas({ stallTopologyMutation: 1 }, 'pre-nas');
    expect(s.options).not.toHaveProperty('stallTopologyMutation');
    expect(s.options).not.toHaveProperty('warmStart');
    const off = Object.keys(preNas({ warmStartCycles: 0 }, 'hybrid').options);
    expect(off).toEqual(expect.arrayContaining(['warmStart', 'topFraction']));
    for (const k of ['topologyMutation', 'stallTopologyMutation', 'exploration', 'warmStartPerTopology'])
      expect(off).not.toContain(k);
    expect(preNas({}, 'hybrid').options).toMatchObject({ warmStartCycles: 30 });
    expect(preNas({}, 'hybrid').options).not.toHaveProperty('warmStart'); // unused while the evolution starts it
    expect(preNas({ warmStartCycles: 0 }, 'hybrid').options).not.toHaveProperty('warmStartCycles');
    expect(preNas({}, 'pre-nas').options).not.toHaveProperty('warmStartCycles');
    expect(preNas({ exploration: 0.5 }, 'hybrid').options).toMatchObject({ exploration: 0.5 });
  });
});

describe('RandomForest.predictSpread', () => {
  it('is the trees’ mean and spread: zero when every tree is the same', () => {
    const X = Array.from({ length: 20 }, (_, i) => [i, (i * 7) % 5]);
    const y = X.map(([a, b]) => a! + 2 * b!);
    const same = RandomForest.fit(X, y, { trees: 5, bootstrap: false, maxFeatures: 1 });
    expect(same.predictSpread([3.5, 2])).toEqual({ mean: same.predict([3.5, 2]), sd: 0 });
    const rf = RandomForest.fit(X, y, { trees: 20, seed: 2 });
    const p = rf.predictSpread([10.5, 1]);
    expect(p.mean).toBeCloseTo(rf.predict([10.5, 1]), 12);
    expect(p.sd).toBeGreaterThan(0);
  });
});
