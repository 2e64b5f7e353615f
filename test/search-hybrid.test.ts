import { mkdtempSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianBatch } from '../src/data/gaussian.js';
import { LABEL_FREE_ENSEMBLE } from '../src/proxies/ensemble.js';
import type { ProxyName } from '../src/proxies/registry.js';
import { runProxies } from '../src/proxies/run.js';
import { resolveScoringRequest } from '../src/request/resolve.js';
import { runSearch, DEFAULT_BUDGETS, type SearchOptions, type SearchReport } from '../src/search/run.js';
import { HYBRID_DEFAULTS, proxyFeature, scoreFeatures } from '../src/search/strategies/index.js';
import type { ProxyScore } from '../src/search/types.js';
import { scoreNetworks } from '../src/score/swap.js';
import { nb201Space } from '../src/spaces/nb201/index.js';
import { Nb201Table } from '../src/tables/nb201.js';
import { nb201Benchmark } from '../src/tables/nb201-benchmark.js';

// Hybrid with its default fitness on tiny settings: a C=4, one-cell proxy network on 8×8 Gaussian inputs (which carry
// no class labels, so the default is the label-free ensemble), scored by the TypeScript reference engine so that its
// members can be recomputed here exactly. The ensemble's 256-cell reference set for these settings is scored once
// into a test-local cache folder.
const inputs = gaussianBatch(4, 3, 8, 8, 5);
const proxy = { channels: 4, cells: 1, batch: 4, repeats: 1 };
const SMALL = {
  initial: 4,
  perGeneration: 2,
  parents: 2,
  offspring: 4,
  trees: 10,
  warmStart: 2,
  warmStartCycles: 0,
} as const;
const cacheDir = mkdtempSync(join(tmpdir(), 'swapnas-hybrid-'));
let table: ReturnType<typeof nb201Benchmark>;

beforeAll(() => {
  table = nb201Benchmark(Nb201Table.load());
});

const opts = (seed: number, extra: Partial<SearchOptions> = {}): SearchOptions => ({
  strategy: 'hybrid',
  seed,
  budget: 9,
  proxy,
  mu: 5,
  sigma: 50,
  backend: 'reference',
  cacheDir,
  preNas: SMALL,
  ...extra,
});
const search = (o: SearchOptions) => runSearch(o, { table, inputs });

interface Line {
  type: string;
  arch?: string;
  fitness?: number;
  swap?: number;
  params?: number;
  values?: Record<string, number | null>;
}
const lines = (p: string): Line[] =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Line);

describe('hybrid with the suite features (the default ensemble)', () => {
  let dir: string;
  let first: SearchReport;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swapnas-hybrid-run-'));
    first = await search(opts(3, { journal: join(dir, 'a.jsonl') }));
  }, 300_000);

  it('defaults: 25 queries, a warm start from a 30-cycle zero-query evolution, the 5 best-predicted candidates per generation', () => {
    expect(DEFAULT_BUDGETS.hybrid).toBe(25);
    expect(HYBRID_DEFAULTS).toMatchObject({
      warmStartCycles: 30,
      warmStart: 30,
      topFraction: 0.05,
      initial: 10,
      perGeneration: 5,
    });
  });

  it('spends exactly its budget (not a multiple of the generation size) on distinct cells, ranking by the ensemble', () => {
    expect(first.queries).toBe(9);
    const queries = lines(join(dir, 'a.jsonl')).filter((l) => l.type === 'query');
    expect(queries).toHaveLength(9);
    expect(new Set(queries.map((q) => q.arch)).size).toBe(9);
    expect(first.proxy!.name).toBe('ensemble');
    // The warm start alone scores warmStart × initial cells; every generation scores its offspring on top.
    expect(first.networksScored).toBeGreaterThan(SMALL.warmStart * SMALL.initial);
  });

  it('the same seed gives the same search; another seed another', async () => {
    const again = await search(opts(3));
    expect(again.chosen).toEqual(first.chosen);
    expect(again.trajectory.map((t) => [t.arch, t.signal, t.queries])).toEqual(
      first.trajectory.map((t) => [t.arch, t.signal, t.queries]),
    );
    expect(again.networksScored).toBe(first.networksScored);
    const other = await search(opts(4));
    const arches = (r: SearchReport) => r.trajectory.map((t) => t.arch);
    expect(arches(other)).not.toEqual(arches(first));
  }, 300_000);

  it("every scored network's features are its members' values, equal to the proxies computed on their own", async () => {
    const proxies = lines(join(dir, 'a.jsonl')).filter((l) => l.type === 'proxy');
    expect(proxies.length).toBe(first.networksScored);
    const { request } = await resolveScoringRequest({
      space: 'nb201',
      target: 'cifar10',
      ...proxy,
      seed: 3,
      mu: 5,
      sigma: 50,
      inputs: { kind: 'batch', batch: inputs },
    });
    for (const p of proxies.slice(0, 3)) {
      expect(Object.keys(p.values!)).toEqual([...LABEL_FREE_ENSEMBLE.members]);
      const net = nb201Space.build(nb201Space.parse(p.arch!), request.network);
      const swap = await scoreNetworks([net], {
        inputs,
        batch: 4,
        repeats: 1,
        seed: 3,
        regulariser: request.regulariser!,
        backend: 'reference',
      });
      // Each member on its own: the engine's pass for SWAP / reg-SWAP / Θ, the suite (SWAP protocol) for the rest.
      const engine: Record<string, number> = {
        swap: swap.scores[0]!.swap,
        'reg-swap': swap.scores[0]!.regSwap,
        params: swap.scores[0]!.params,
      };
      const suite = (m: ProxyName) =>
        runProxies(net, [m], { protocol: 'swap', seed: 3, images: inputs, batch: 4 }).values[m]!.value;
      const alone = Object.fromEntries(
        LABEL_FREE_ENSEMBLE.members.map((m) => [m, m in engine ? engine[m] : suite(m as ProxyName)]),
      );
      expect(p.values).toEqual(alone);
      // The predictor's proxy features: log Ψ, the (signed-log) fitness, then the members in the rule's order.
      const s = p as unknown as ProxyScore;
      expect(scoreFeatures(s)).toEqual([
        proxyFeature(swap.scores[0]!.swap),
        proxyFeature(p.fitness!),
        ...LABEL_FREE_ENSEMBLE.members.map((m) => proxyFeature(p.values![m]!)),
      ]);
    }
  }, 120_000);

  it('a failed member value is the lowest feature, and a reg-SWAP fitness has only Ψ and itself', () => {
    const base = { fitness: -2, swap: 100, params: 10 };
    const [, , low] = scoreFeatures({ ...base, values: { meco: null } });
    const [, , lowest] = scoreFeatures({ ...base, values: { meco: -1e300 } });
    expect(low).toBeLessThan(lowest!);
    expect(scoreFeatures({ ...base, values: { meco: Number.NaN } })[2]).toBe(low);
    expect(scoreFeatures(base)).toEqual([proxyFeature(100), proxyFeature(-2)]);
  });

  it('resuming a cut journal replays the member values and reaches the same choice', async () => {
    const p = join(dir, 'a.jsonl');
    const text = readFileSync(p, 'utf8');
    const all = text.split('\n').filter((l) => l);
    const keep = Math.floor(all.length * 0.6);
    truncateSync(p, Buffer.byteLength(all.slice(0, keep).join('\n')) + 1);
    const r = await search(opts(3, { journal: p, resume: true }));
    expect(r.chosen).toEqual(first.chosen);
    expect(r.session.proxyReplayed).toBeGreaterThan(0);
    expect(r.session.proxyReplayed + r.session.proxyComputed).toBe(first.networksScored);
  }, 300_000);
});
