import type { TopologyOps } from '../search/types.js';
import { SWAP_DEFAULTS } from '../score/defaults.js';
import { nb201Benchmark } from '../tables/nb201-benchmark.js';
import { NB201_DATASETS, Nb201Table } from '../tables/nb201.js';
import type { BenchmarkTable } from '../tables/types.js';
import { SwapError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { NB201_OPS, nb201Space, type Nb201Genotype, type Nb201Op } from './nb201/index.js';
import type { SearchSpace } from './types.js';
import { NB101_OPS, makeNb101, nb101Space, type Nb101Genotype } from './nb101/index.js';
import { loadNb101Table } from '../tables/nb101.js';

/** Scoring-proxy settings of a space (the defaults of `score`, `correlate` and `search` for it). */
export interface ProxyDefaults {
  readonly channels: number;
  readonly cells: number;
  /** Samples S per batch. */
  readonly batch: number;
  /** Weight initialisations R. */
  readonly repeats: number;
  /** Drop dead cell edges (spaces whose builder supports it). */
  readonly prune: boolean;
}

/**
 * Everything the generic commands need to know about one search space. The space itself stays a pure
 * genotype algebra plus a network builder; the entry adds the per-target network options, the scoring-proxy
 * defaults, the benchmark table (loaded on demand, passed around in a context) and the operators PRE-NAS uses.
 */
export interface SpaceEntry<G = unknown> {
  readonly space: SearchSpace<G, object>;
  /** Datasets or tasks `--dataset` accepts for this space. */
  readonly targets: readonly string[];
  /** Proxy-network options that depend on the target (classifier size, input size, …). */
  networkFor(target: string): Record<string, unknown>;
  /** The network a user would train for `target` (its Θ is what papers quote); absent: the proxy network. */
  evalNetworkFor?(target: string): Record<string, unknown>;
  readonly proxyDefaults: ProxyDefaults;
  /** The space's benchmark table (ground truth), from `path` or the shipped file. */
  loadTable?(path?: string): BenchmarkTable;
  /** Topology-preserving operators (PRE-NAS offspring); absent: strategies that need them refuse the space. */
  readonly topology?: TopologyOps<G>;
}

/** NB201 topology = the set of edges whose op is not `none`; offspring change ops among the other four. */
export const nb201Topology: TopologyOps<Nb201Genotype> = {
  topologyKey: (g) => g.map((op) => (op === 'none' ? '0' : '1')).join(''),
  mutateOps(g: Nb201Genotype, rng: Rng): Nb201Genotype | undefined {
    const edges = g.flatMap((op, e) => (op === 'none' ? [] : [e]));
    if (edges.length === 0) return undefined;
    const e = rng.pick(edges);
    const others = NB201_OPS.filter((o) => o !== 'none' && o !== g[e]);
    const out = g.slice() as Nb201Op[];
    out[e] = rng.pick(others);
    return Object.freeze(out) as unknown as Nb201Genotype;
  },
};

const NB201_CLASSES: Record<string, number> = { cifar10: 10, cifar100: 100, imagenet16: 120 };

function targetCheck(space: string, targets: readonly string[]): (t: string) => string {
  return (t) => {
    if (!targets.includes(t)) throw new SwapError('E_DATASET', `unknown ${space} dataset/task ${JSON.stringify(t)} (expected ${targets.join(', ')})`);
    return t;
  };
}

const nb201Entry: SpaceEntry<Nb201Genotype> = {
  space: nb201Space as SearchSpace<Nb201Genotype, object>,
  targets: NB201_DATASETS,
  networkFor: (t) => ({ classes: NB201_CLASSES[targetCheck('nb201', NB201_DATASETS)(t)]! }),
  evalNetworkFor: (t) => ({ classes: NB201_CLASSES[targetCheck('nb201', NB201_DATASETS)(t)]!, channels: 16, cells: 5, prune: false }),
  proxyDefaults: SWAP_DEFAULTS,
  loadTable: (path) => nb201Benchmark(path ? Nb201Table.load(path) : Nb201Table.load()),
  topology: nb201Topology,
};

/** NB101 topology = the (pruned) adjacency matrix; offspring relabel one interior vertex. */
export const nb101Topology: TopologyOps<Nb101Genotype> = {
  topologyKey: (g) => g.matrix.map((r) => r.join('')).join('.'),
  mutateOps(g: Nb101Genotype, rng: Rng): Nb101Genotype | undefined {
    const interior = g.ops.length - 2;
    if (interior < 1) return undefined;
    const v = 1 + rng.int(interior);
    const ops = g.ops.slice();
    ops[v] = rng.pick(NB101_OPS.filter((o) => o !== g.ops[v]));
    return makeNb101(g.matrix, ops);
  },
};

const nb101Entry: SpaceEntry<Nb101Genotype> = {
  space: nb101Space as SearchSpace<Nb101Genotype, object>,
  targets: ['cifar10'],
  networkFor: (t) => (targetCheck('nb101', ['cifar10'])(t), { classes: 10 }),
  evalNetworkFor: (t) => (targetCheck('nb101', ['cifar10'])(t), { classes: 10, channels: 128, cells: 3, stacks: 3 }),
  proxyDefaults: { channels: 16, cells: 1, batch: 16, repeats: 8, prune: false },
  loadTable: (path) => (path ? loadNb101Table(path) : loadNb101Table()),
  topology: nb101Topology,
};

const ENTRIES: Readonly<Record<string, SpaceEntry<never>>> = {
  nb201: nb201Entry as unknown as SpaceEntry<never>,
  nb101: nb101Entry as unknown as SpaceEntry<never>,
};

/** Names of the registered spaces. */
export function spaceNames(): string[] {
  return Object.keys(ENTRIES);
}

/** The registry entry of a space; `E_SPACE` naming the known spaces when there is none. */
export function spaceEntry(name: string): SpaceEntry<unknown> {
  if (!Object.hasOwn(ENTRIES, name)) {
    throw new SwapError('E_SPACE', `unknown search space ${JSON.stringify(name)} (known: ${spaceNames().join(', ')})`);
  }
  return ENTRIES[name] as unknown as SpaceEntry<unknown>;
}

/** Check `target` against a space's targets (`E_DATASET` listing them). */
export function checkTarget(entry: SpaceEntry<unknown>, target: string): string {
  return targetCheck(entry.space.name, entry.targets)(target);
}
