import type { TopologyOps } from '../types.js';
import type { SearchSpace } from '../types.js';
import { SwapError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import {
  TNB101_SIZE,
  crossoverTnb101,
  encodeTnb101,
  enumerateTnb101,
  formatTnb101,
  mutateTnb101,
  parseTnb101,
  sampleTnb101,
  tnb101CanonicalKey,
  type Tnb101Genotype,
  type Tnb101Op,
} from './genotype.js';
import { TNB101_DEFAULT_NETWORK, buildTnb101Network, type Tnb101NetworkOptions } from './network.js';
import { quote } from '../../util/quote.js';

export * from './genotype.js';
export * from './network.js';

/** The seven TransNAS-Bench-101 tasks, spelled as in the benchmark and in the table's `val_<task>` columns. */
export const TNB101_TASKS = [
  'class_scene',
  'class_object',
  'jigsaw',
  'room_layout',
  'segmentsemantic',
  'normal',
  'autoencoder',
] as const;
export type Tnb101Task = (typeof TNB101_TASKS)[number];

export function checkTnb101Task(t: string): Tnb101Task {
  if (!(TNB101_TASKS as readonly string[]).includes(t)) {
    throw new SwapError(
      'E_DATASET',
      `unknown TransNAS-Bench-101 task ${quote(t)} (expected ${TNB101_TASKS.join(', ')})`,
    );
  }
  return t as Tnb101Task;
}

/**
 * The network options that differ per task, from the benchmark's training configs
 * (`configs/train_from_scratch/<task>/config.py` in `yawen-d/TransNASBench`): 256×256 RGB inputs; class_scene 47
 * and class_object 75 classes (the benchmark's "final5k" label subsets; NASLib's port uses 63 and 100, the sizes
 * before that selection), room_layout 9 regression outputs, all three with a GAP + Linear head; jigsaw 1000
 * permutation classes over 9 tiles of 64×64 (Siamese head); segmentsemantic, normal and autoencoder have conv
 * decoders, left out of the scored network (`classes: 0`, see `tnb101DecoderParams`). Numbers only, so the values
 * merge into any option bag.
 */
export const TNB101_TASK_NETWORK: Readonly<
  Record<Tnb101Task, Readonly<{ classes: number; inputSize: number; tiles: number }>>
> = {
  class_scene: { classes: 47, inputSize: 256, tiles: 1 },
  class_object: { classes: 75, inputSize: 256, tiles: 1 },
  jigsaw: { classes: 1000, inputSize: 64, tiles: 9 },
  room_layout: { classes: 9, inputSize: 256, tiles: 1 },
  segmentsemantic: { classes: 0, inputSize: 256, tiles: 1 },
  normal: { classes: 0, inputSize: 256, tiles: 1 },
  autoencoder: { classes: 0, inputSize: 256, tiles: 1 },
};

/** TransNAS-Bench-101 micro: 6 edges × 4 ops, the `64-41414` MacroNet backbone; default network = class_scene. */
export const tnb101Space: SearchSpace<Tnb101Genotype, Required<Tnb101NetworkOptions>> = {
  name: 'tnb101-micro',
  size: TNB101_SIZE,
  parse: parseTnb101,
  format: formatTnb101,
  enumerate: enumerateTnb101,
  sample: sampleTnb101,
  mutate: mutateTnb101,
  crossover: crossoverTnb101,
  canonicalKey: tnb101CanonicalKey,
  encode: encodeTnb101,
  build: (g, opts) => buildTnb101Network(g, opts),
  defaultNetwork: TNB101_DEFAULT_NETWORK,
};

/** TNB101 topology = the set of edges whose op is not `none` (0); offspring change ops among skip/conv1x1/conv3x3. */
export const tnb101Topology: TopologyOps<Tnb101Genotype> = {
  topologyKey: (g) => g.map((op) => (op === 0 ? '0' : '1')).join(''),
  mutateOps(g: Tnb101Genotype, rng: Rng): Tnb101Genotype | undefined {
    const edges = g.flatMap((op, e) => (op === 0 ? [] : [e]));
    if (edges.length === 0) return undefined;
    const e = rng.pick(edges);
    const out = g.slice() as Tnb101Op[];
    out[e] = rng.pick(([1, 2, 3] as const).filter((o) => o !== g[e]));
    return Object.freeze(out) as unknown as Tnb101Genotype;
  },
};
