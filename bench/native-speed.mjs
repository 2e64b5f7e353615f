#!/usr/bin/env node
// Native engine speed at the official NB201 protocol (S=16, R=32, C=16, N=5, 32x32 CIFAR-10 inputs).
// Needs `npm run build:native && npm run build:ts`. The breakdown (and cpuMsPerRepeat) is thread CPU time, so
// it stays meaningful when other processes share the cores; seconds / msPerRepeat are wall clock. Usage:
//   node bench/native-speed.mjs [--threads 2] [--repeats 32] [--cells 20] [--quick]
// Prints one JSON object. Per-repeat times are thread-seconds per (network, repeat) item.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, dist, nativeAddonOrExit, root } from './harness.mjs';
import { benchCells } from './native-cells.mjs';

const { buildNb201Network } = await dist('spaces/nb201/network.js');
const { parseNb201, formatNb201, nb201OpCounts } = await dist('spaces/nb201/genotype.js');
const { serializeNetworks } = await dist('ir/serialize.js');
const { countMacs, recordedValues } = await dist('ir/analysis.js');
const { loadCifarBinary, CIFAR10_MEAN, CIFAR10_STD } = await dist('data/cifar.js');
const { repeatSeed } = await dist('init/prng.js');
const { Rng } = await dist('util/rng.js');

const { opt, has } = benchArgs();
const quick = has('quick');
const threads = opt('threads', 2);
const repeats = opt('repeats', quick ? 4 : 32);
const nCells = opt('cells', quick ? 6 : 20);

const addon = await nativeAddonOrExit();

function cifarBatch(count) {
  const candidates = [
    join(root, 'data', 'cifar10_test_first20.bin'),
    join(root, '..', 'shared', 'data', 'cifar10_test_first20.bin'),
  ];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error(`no CIFAR-10 test images found (tried ${candidates.join(', ')})`);
  return loadCifarBinary(file, count, { mean: CIFAR10_MEAN, std: CIFAR10_STD });
}

function job(nets, batch, seeds, t) {
  const { program, offsets } = serializeNetworks(nets);
  return {
    program,
    offsets,
    input: batch.data,
    n: batch.n,
    c: batch.c,
    h: batch.h,
    w: batch.w,
    seeds: Uint32Array.from(seeds),
    threads: t,
    cancel: new Int32Array(1),
  };
}

// Peak RSS of one C=16, N=5 network at S=64 (fresh process so maxRSS is this job's peak).
if (has('rss-child')) {
  const S = 64;
  const rng = new Rng(5);
  const data = new Float32Array(S * 3 * 32 * 32).map(() => rng.normal());
  const batch = { data, n: S, c: 3, h: 32, w: 32 };
  const net = buildNb201Network(
    parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'),
  );
  const before = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  const counts = await addon.countPatterns(job([net], batch, [1, 2], 1), () => {});
  const ms = performance.now() - t0;
  console.log(
    JSON.stringify({
      S,
      baselineMaxRssMB: before / 1024,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      counts: Array.from(counts),
      msPerRepeat: ms / 2,
    }),
  );
  process.exit(0);
}

const cells = benchCells(nCells, await dist('spaces/nb201/genotype.js'), Rng);

const batch = cifarBatch(16);
const S = batch.n;
const seeds = Array.from({ length: repeats }, (_, r) => repeatSeed(0, r));
const peak = addon.peakGflops(0.5);

// Warm-up (page faults, thread start).
await addon.countPatterns(job([buildNb201Network(cells[0])], batch, seeds.slice(0, 2), threads), () => {});

const rows = [];
for (const g of cells) {
  const net = buildNb201Network(g);
  const macs = countMacs(net);
  addon.stats(true);
  const t0 = performance.now();
  const counts = await addon.countPatterns(job([net], batch, seeds, threads), () => {});
  const wall = (performance.now() - t0) / 1000;
  const st = addon.stats(true);
  const forwardMs = st.prngMs + st.convMs + st.bnMs + st.poolMs + st.eltwiseMs;
  const countingMs = st.packMs + st.countMs;
  const perItem = (ms) => ms / st.items;
  const gflop = (macs * 2 * S) / 1e9;
  rows.push({
    arch: formatNb201(g),
    ops: nb201OpCounts(g),
    mflopsPerSample: (macs * 2) / 1e6,
    recordedNeurons: recordedValues(net),
    seconds: wall,
    msPerRepeat: (wall * 1000 * Math.min(threads, repeats)) / repeats,
    cpuMsPerRepeat: perItem(st.itemMs),
    forwardMsPerRepeat: perItem(forwardMs),
    countingMsPerRepeat: perItem(countingMs),
    countingShare: countingMs / (forwardMs + countingMs),
    breakdownMsPerRepeat: {
      prng: perItem(st.prngMs),
      conv: perItem(st.convMs),
      bn: perItem(st.bnMs),
      pool: perItem(st.poolMs),
      eltwise: perItem(st.eltwiseMs),
      pack: perItem(st.packMs),
      count: perItem(st.countMs),
    },
    convGflops: macs > 0 ? gflop / (perItem(st.convMs) / 1000) : null,
    forwardGflops: macs > 0 ? gflop / (perItem(forwardMs) / 1000) : null,
    meanPsi: counts.reduce((a, b) => a + b, 0) / counts.length,
  });
}

const rss = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss-child'], { encoding: 'utf8' });
const convHeavy = rows.filter((r) => r.ops.nor_conv_3x3 >= 4);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(
  JSON.stringify(
    {
      build: addon.buildInfo(),
      protocol: { S, R: repeats, C: 16, N: 5, input: batch.source, threads },
      peakGflopsPerCore: peak,
      summary: {
        meanSecondsPerArch: mean(rows.map((r) => r.seconds)),
        meanMsPerRepeat: mean(rows.map((r) => r.msPerRepeat)),
        meanCpuMsPerRepeat: mean(rows.map((r) => r.cpuMsPerRepeat)),
        convHeavyMsPerRepeat: mean(convHeavy.map((r) => r.msPerRepeat)),
        convHeavyCpuMsPerRepeat: mean(convHeavy.map((r) => r.cpuMsPerRepeat)),
        convHeavyForwardGflops: mean(convHeavy.map((r) => r.forwardGflops)),
        convHeavyConvGflops: mean(convHeavy.map((r) => r.convGflops)),
        convHeavyWithinXOfPeak: peak / mean(convHeavy.map((r) => r.convGflops)),
        maxCountingShare: Math.max(...rows.map((r) => r.countingShare)),
      },
      rssS64: rss.status === 0 ? JSON.parse(rss.stdout) : { error: rss.stderr },
      rows,
    },
    null,
    2,
  ),
);
