import type { SearchSpace, TopologyOps } from '../spaces/types.js';
import { OFFICIAL_PROTOCOL, SWAP_DEFAULTS } from './defaults.js';
import { nb201Benchmark } from '../tables/nb201-benchmark.js';
import { NB201_DATASETS, Nb201Table } from '../tables/nb201.js';
import type { BenchmarkTable } from '../tables/types.js';
import { SwapError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { NB201_OPS, nb201Space, type Nb201Genotype, type Nb201Op } from '../spaces/nb201/index.js';
import { NB101_OPS, makeNb101, nb101Space, type Nb101Genotype } from '../spaces/nb101/index.js';
import { loadNb101Table } from '../tables/nb101.js';
import {
  DARTS_OPS,
  DARTS_PAIR_NETWORK,
  DARTS_PROXY_NETWORK,
  dartsSpace,
  type DartsCell,
  type DartsGenotype,
  type DartsOp,
} from '../spaces/darts/index.js';
import { loadNb301Table } from '../tables/nb301.js';
import {
  TNB101_TASKS,
  TNB101_TASK_NETWORK,
  tnb101DecoderParams,
  tnb101Space,
  tnb101Topology,
  type Tnb101Genotype,
  type Tnb101Task,
} from '../spaces/tnb101/index.js';
import { countParams } from '../ir/analysis.js';
import { loadTnb101Table } from '../tables/tnb101.js';
import { quote } from '../util/quote.js';

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
  /** Input height = width the proxy scores at (images are resized); absent: the target's own input size. */
  readonly inputSize?: number;
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
  /**
   * Θ of the benchmark's whole model for `target` where the evaluation network leaves trainable parts out
   * (TransNAS-Bench-101's dense-task decoders have no ReLU, so they are not built); absent: Θ of the built network.
   */
  evalParams?(g: G, target: string): number;
  readonly proxyDefaults: ProxyDefaults;
  /**
   * The scoring protocol of the space's paper, where it differs from {@link proxyDefaults} (`score --official`):
   * proxy settings plus builder options.
   */
  readonly official?: { readonly proxy: ProxyDefaults; readonly network: Readonly<Record<string, unknown>> };
  /**
   * Proxy-network kinds a user may choose (`--network`), each with the channels/cells it uses by default; absent:
   * the space builds one kind.
   */
  readonly networkKinds?: Readonly<Record<string, { readonly channels: number; readonly cells: number }>>;
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
    if (!targets.includes(t))
      throw new SwapError('E_DATASET', `unknown ${space} dataset/task ${quote(t)} (expected ${targets.join(', ')})`);
    return t;
  };
}

const nb201Entry: SpaceEntry<Nb201Genotype> = {
  space: nb201Space as SearchSpace<Nb201Genotype, object>,
  targets: NB201_DATASETS,
  networkFor: (t) => ({ classes: NB201_CLASSES[targetCheck('nb201', NB201_DATASETS)(t)]! }),
  evalNetworkFor: (t) => ({
    classes: NB201_CLASSES[targetCheck('nb201', NB201_DATASETS)(t)]!,
    channels: 16,
    cells: 5,
    prune: false,
  }),
  proxyDefaults: SWAP_DEFAULTS,
  official: { proxy: OFFICIAL_PROTOCOL, network: {} },
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
  proxyDefaults: { channels: 32, cells: 3, batch: 16, repeats: 4, prune: false },
  loadTable: (path) => (path ? loadNb101Table(path) : loadNb101Table()),
  topology: nb101Topology,
};

/** DARTS topology = the sources of all 16 edges; offspring change the op of one edge (never to `none`). */
export const dartsTopology: TopologyOps<DartsGenotype> = {
  topologyKey: (g) => [...g.normal, ...g.reduce].map((e) => e[1]).join(''),
  mutateOps(g: DartsGenotype, rng: Rng): DartsGenotype | undefined {
    const which = rng.int(2) === 0 ? 'normal' : 'reduce';
    const cell = g[which];
    const k = rng.int(cell.length);
    const op = rng.pick(DARTS_OPS.filter((o) => o !== 'none' && o !== cell[k]![0]));
    const next: DartsCell = Object.freeze(
      cell.map((e, i) => (i === k ? (Object.freeze([op as DartsOp, e[1]]) as DartsCell[number]) : e)),
    );
    return Object.freeze({ ...g, [which]: next });
  },
};

const DARTS_TARGETS = ['cifar10', 'imagenet'] as const;
/**
 * DARTS scoring proxy: a small evaluation-style network (stem, C=4, 5 cells with both cell types, reductions at
 * cells 1 and 3). The official SWAP proxy — one reduction cell, no stem (algorithms.md §1.5; `--official`) — never
 * sees the normal cell, which is harmless on SWAP's set (normal = reduce) but ranks NAS-Bench-301 at ρ ≈ 0.2
 * against ≈ 0.6 here (docs/ranking-study.md).
 */
const dartsEntry: SpaceEntry<DartsGenotype> = {
  space: dartsSpace as SearchSpace<DartsGenotype, object>,
  targets: DARTS_TARGETS,
  networkFor: (t) =>
    targetCheck('darts', DARTS_TARGETS)(t) === 'imagenet'
      ? { kind: 'imagenet', classes: 1000, inputSize: 224 }
      : { kind: 'cifar', classes: 10, inputSize: 32 },
  evalNetworkFor: (t) =>
    targetCheck('darts', DARTS_TARGETS)(t) === 'imagenet'
      ? { kind: 'imagenet', classes: 1000, channels: 48, cells: 14, inputSize: 224 }
      : { kind: 'cifar', classes: 10, channels: 36, cells: 20, inputSize: 32 },
  proxyDefaults: { channels: 4, cells: 5, batch: 16, repeats: 4, prune: false },
  official: { proxy: { channels: 3, cells: 1, batch: 16, repeats: 32, prune: false }, network: { kind: 'proxy' } },
  // The evaluation-style kinds use the studied proxy size; `pair` and `proxy` their own (docs/ranking-study.md).
  networkKinds: {
    cifar: { channels: 4, cells: 5 },
    imagenet: { channels: 4, cells: 5 },
    pair: { channels: DARTS_PAIR_NETWORK.channels, cells: DARTS_PAIR_NETWORK.cells },
    proxy: { channels: DARTS_PROXY_NETWORK.channels, cells: DARTS_PROXY_NETWORK.cells },
  },
  loadTable: (path) => (path ? loadNb301Table(path) : loadNb301Table()),
  topology: dartsTopology,
};

const tnb101Entry: SpaceEntry<Tnb101Genotype> = {
  space: tnb101Space as SearchSpace<Tnb101Genotype, object>,
  targets: TNB101_TASKS,
  networkFor: (t) => ({ ...TNB101_TASK_NETWORK[targetCheck('tnb101-micro', TNB101_TASKS)(t) as Tnb101Task] }),
  evalNetworkFor: (t) => ({
    ...TNB101_TASK_NETWORK[targetCheck('tnb101-micro', TNB101_TASKS)(t) as Tnb101Task],
    channels: 64,
    cells: 2,
  }),
  evalParams: (g, t) => {
    const opts = {
      ...TNB101_TASK_NETWORK[targetCheck('tnb101-micro', TNB101_TASKS)(t) as Tnb101Task],
      channels: 64,
      cells: 2,
    };
    const net = tnb101Space.build(g, opts);
    const dense = (['segmentsemantic', 'normal', 'autoencoder'] as const).find((d) => d === t);
    const meta = net.meta ?? {};
    return (
      countParams(net) +
      (dense
        ? tnb101DecoderParams(dense, Number(meta['featureChannels']), Number(meta['featureSize']), opts.inputSize)
        : 0)
    );
  },
  // C=8 at the tasks' own input size (CIFAR images resized to 256×256): 0.03–0.04 better ρ than 64×64 at
  // 0.03 s per cell (docs/ranking-study.md).
  proxyDefaults: { channels: 8, cells: 2, batch: 16, repeats: 4, prune: true },
  loadTable: (path) => (path ? loadTnb101Table(path) : loadTnb101Table()),
  topology: tnb101Topology,
};

const ENTRIES: Readonly<Record<string, SpaceEntry<never>>> = {
  nb201: nb201Entry as unknown as SpaceEntry<never>,
  nb101: nb101Entry as unknown as SpaceEntry<never>,
  darts: dartsEntry as unknown as SpaceEntry<never>,
  'tnb101-micro': tnb101Entry as unknown as SpaceEntry<never>,
};

/** Names of the registered spaces. */
export function spaceNames(): string[] {
  return Object.keys(ENTRIES);
}

/** The registry entry of a space; `E_SPACE` naming the known spaces when there is none. */
export function spaceEntry(name: string): SpaceEntry<unknown> {
  if (!Object.hasOwn(ENTRIES, name)) {
    throw new SwapError('E_SPACE', `unknown search space ${quote(name)} (known: ${spaceNames().join(', ')})`);
  }
  return ENTRIES[name] as unknown as SpaceEntry<unknown>;
}

/** Check `target` against a space's targets (`E_DATASET` listing them). */
export function checkTarget(entry: SpaceEntry<unknown>, target: string): string {
  return targetCheck(entry.space.name, entry.targets)(target);
}
