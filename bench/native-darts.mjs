// Native engine time breakdown on DARTS proxy networks (not a test): 20 sampled genotypes, NetworkCIFAR C=4,
// 5 cells, S=16 CIFAR-10 images, R=8, 2 threads. Prints seconds per genotype and the per-op thread-CPU breakdown.
//   npm run build:ts && node bench/native-darts.mjs
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = (p) => import(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', p));
const { loadAddon } = await dist('native/loader.js');
const { dartsSpace } = await dist('spaces/darts/index.js');
const { serializeNetworks } = await dist('ir/serialize.js');
const { defaultBatch } = await dist('data/cifar.js');
const { countMacs } = await dist('ir/analysis.js');
const { Rng } = await dist('util/rng.js');

const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const addon = load.addon;
const rng = new Rng(1);
const nets = Array.from({ length: 20 }, () =>
  dartsSpace.build(dartsSpace.sample(rng), { kind: 'cifar', channels: 4, cells: 5 }),
);
const batch = defaultBatch(16);
const { program, offsets } = serializeNetworks(nets);
const job = {
  program,
  offsets,
  input: batch.data,
  n: 16,
  c: 3,
  h: 32,
  w: 32,
  seeds: Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
  threads: 2,
  cancel: new Int32Array(1),
};
await addon.countPatterns(job, () => {}); // warm-up
addon.stats(true);
const t0 = performance.now();
await addon.countPatterns(job, () => {});
const seconds = (performance.now() - t0) / 1000 / nets.length;
const macs = nets.reduce((a, n) => a + countMacs(n), 0) / nets.length;
console.log(JSON.stringify({ secondsPerGenotype: seconds, macsPerSample: macs, breakdownMs: addon.stats(true) }));
