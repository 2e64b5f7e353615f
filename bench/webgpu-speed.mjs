#!/usr/bin/env node
// WebGPU backend timing per architecture, for correctness tracking on whatever adapter is found (on a machine
// without a GPU: Mesa's llvmpipe through OpenGL ES, which measures the software rasteriser, not a GPU).
// Needs `npm run build:ts` (runs over dist/). Usage:
//   node bench/webgpu-speed.mjs [--cells 4] [--repeats 1] [--check] [--no-full]
// Two sizes: small (C=4, N=1, 8x8, S=8) and full (C=16, N=5, 32x32, S=16 CIFAR-10 images, the NB201 protocol).
// Per architecture: the first call (pipeline compilation + pool warm-up, for the first architecture only) and a
// second, warm call; `count` per repeat. --check compares every count with the reference backend (slow at full
// size: tens of seconds per architecture) and reports `match`. Prints one JSON object.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { buildNb201Network } = await dist('spaces/nb201/network.js');
const { parseNb201, formatNb201, nb201FromOrdinal } = await dist('spaces/nb201/genotype.js');
const { countMacs, recordedValues } = await dist('ir/analysis.js');
const { loadCifarBinary, CIFAR10_MEAN, CIFAR10_STD } = await dist('data/cifar.js');
const { gaussianBatch } = await dist('data/gaussian.js');
const { repeatSeed } = await dist('init/prng.js');
const { Rng } = await dist('util/rng.js');
const { referenceCount } = await dist('backends/reference/forward.js');
const { WebGpuBackend, probeWebgpu } = await dist('backends/webgpu/index.js');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const nCells = opt('cells', 4);
const repeats = opt('repeats', 1);
const check = argv.includes('--check');
const full = !argv.includes('--no-full');

const probe = await probeWebgpu();
if (!probe.available) {
  console.log(JSON.stringify({ available: false, reason: probe.reason }, null, 2));
  process.exit(0);
}

function cifarBatch(count) {
  const candidates = [
    join(root, 'data', 'cifar10_test_first20.bin'),
    join(root, '..', 'shared', 'data', 'cifar10_test_first20.bin'),
  ];
  const file = candidates.find((f) => existsSync(f));
  return file
    ? loadCifarBinary(file, count, { mean: CIFAR10_MEAN, std: CIFAR10_STD })
    : gaussianBatch(count, 3, 32, 32, 1);
}

const handPicked = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|',
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
].map(parseNb201);
const rng = new Rng(2025);
const cells = handPicked.slice(0, nCells);
while (cells.length < nCells) cells.push(nb201FromOrdinal(rng.int(15625)));

const sizes = [
  { name: 'small', net: { channels: 4, cells: 1, inputSize: 8 }, batch: gaussianBatch(8, 3, 8, 8, 1) },
  ...(full ? [{ name: 'full', net: { channels: 16, cells: 5, inputSize: 32 }, batch: cifarBatch(16) }] : []),
];
const seeds = Array.from({ length: repeats }, (_, r) => repeatSeed(0, r));

const be = await WebGpuBackend.create();
const rows = [];
try {
  for (const size of sizes) {
    for (const g of cells) {
      const net = buildNb201Network(g, size.net);
      const times = [];
      let counts;
      for (let k = 0; k < 2; k++) {
        const t0 = performance.now();
        counts = (await be.countPatterns({ networks: [net], inputs: size.batch, seeds }))[0];
        times.push(performance.now() - t0);
      }
      const row = {
        size: size.name,
        arch: formatNb201(g),
        S: size.batch.n,
        mflopsPerSample: (countMacs(net) * 2) / 1e6,
        recordedNeurons: recordedValues(net),
        firstMs: times[0],
        msPerArch: times[1],
        msPerRepeat: times[1] / repeats,
        counts,
      };
      if (check) {
        const want = seeds.map((s) => referenceCount(net, size.batch, s));
        row.reference = want;
        row.match = want.every((w, r) => w === counts[r]);
      }
      rows.push(row);
    }
  }
} finally {
  await be.close();
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(
  JSON.stringify(
    {
      adapter: be.info,
      note: 'software adapters measure the rasteriser, not a GPU: for correctness tracking only',
      protocol: { repeats, inputs: Object.fromEntries(sizes.map((s) => [s.name, s.batch.source])) },
      stats: be.stats,
      summary: Object.fromEntries(
        sizes.map((s) => [
          s.name,
          { meanMsPerArch: mean(rows.filter((r) => r.size === s.name).map((r) => r.msPerArch)) },
        ]),
      ),
      ...(check ? { allMatch: rows.every((r) => r.match) } : {}),
      rows,
    },
    null,
    2,
  ),
);
