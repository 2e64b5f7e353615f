#!/usr/bin/env node
// Reverse-mode speed: backward vs forward time of the native engine on conv-heavy NB201 cells (full-size network,
// C=16, N=5, 32x32, batch 64 by default), the native engine against the TypeScript reference, and peak
// activation + gradient memory per network. Needs `npm run build`. Usage:
//   node bench/grad-speed.mjs [--threads 2] [--batch 64] [--rounds 3] [--ref-batch 1] [--quick]
// Every timing is wall clock, best of `rounds`, measured in this one run side by side:
//   forward  = a gradient job that asks for nothing (forward with parameters + the loss),
//   full     = the same job asking for every parameter gradient and the input gradient,
//   backward = full - forward.
// The reference (float64, one thread, one round) is timed on `--ref-batch` samples of one network (it is slow),
// the native engine on the same with one thread.
import { benchArgs, dist, nativeAddonOrExit } from './harness.mjs';

const { buildNb201Network } = await dist('spaces/nb201/network.js');
const { parseNb201 } = await dist('spaces/nb201/genotype.js');
const { countMacs } = await dist('ir/analysis.js');
const { prngParams } = await dist('grad/params.js');
const { nativeGradients } = await dist('backends/native/grad.js');
const { referenceGradients } = await dist('backends/reference/grad-job.js');
const { Rng } = await dist('util/rng.js');
const { serializeNetworks } = await dist('ir/serialize.js');

const { opt, has } = benchArgs();
const quick = has('quick');
const threads = opt('threads', 2);
const batch = opt('batch', quick ? 16 : 64);
const rounds = opt('rounds', quick ? 1 : 3);
const refBatch = opt('ref-batch', 1);

const addon = await nativeAddonOrExit();

const CELLS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|',
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|',
];
const nets = CELLS.map((c) => buildNb201Network(parseNb201(c)));
const params = nets.map((n, i) => prngParams(n, 1000 + i));
const rng = new Rng(5);
const input = (b) => Float32Array.from({ length: b * 3 * 32 * 32 }, () => rng.normal());
const labels = (b) => Int32Array.from({ length: b }, () => rng.int(10));

async function best(fn, n = rounds) {
  let t = Infinity;
  let out;
  for (let r = 0; r < n; r++) {
    const t0 = performance.now();
    out = await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return { ms: t, out };
}

const x = input(batch);
const y = labels(batch);
const job = (want, networks = nets, ps = params, xx = x, yy = y, b = batch) => ({
  networks,
  params: ps,
  input: xx,
  batch: b,
  labels: yy,
  threads,
  wantParams: want,
  wantInput: want,
});
await nativeGradients(addon, job(true)); // warm-up
const fwd = await best(() => nativeGradients(addon, job(false)));
const full = await best(() => nativeGradients(addon, job(true)));
const count = await best(() =>
  addon.countPatterns({
    ...serializeNetworks(nets),
    input: x,
    n: batch,
    c: 3,
    h: 32,
    w: 32,
    seeds: Uint32Array.of(1),
    threads,
    cancel: new Int32Array(1),
  }),
);

const xr = input(refBatch);
const yr = labels(refBatch);
const one = [nets[0]];
const p1 = [params[0]];
const refFwd = await best(() => referenceGradients(job(false, one, p1, xr, yr, refBatch)), 1);
const refFull = await best(() => referenceGradients(job(true, one, p1, xr, yr, refBatch)), 1);
const natOne = await best(() => nativeGradients(addon, { ...job(true, one, p1, xr, yr, refBatch), threads: 1 }));

const per = (ms) => +(ms / nets.length).toFixed(1);
console.log(
  JSON.stringify(
    {
      networks: nets.length,
      batch,
      threads,
      macsPerSample: nets.map(countMacs),
      nativeMsPerNetwork: {
        forward: per(fwd.ms),
        forwardPlusBackward: per(full.ms),
        backward: per(full.ms - fwd.ms),
        swapForwardOnly: per(count.ms),
      },
      backwardOverForward: +((full.ms - fwd.ms) / fwd.ms).toFixed(2),
      peakMiBPerNetwork: full.out.map((r) => +(r.peakBytes / 2 ** 20).toFixed(1)),
      reference: {
        batch: refBatch,
        network: CELLS[0],
        referenceMs: { forward: +refFwd.ms.toFixed(0), forwardPlusBackward: +refFull.ms.toFixed(0) },
        nativeMs1Thread: +natOne.ms.toFixed(1),
        nativeSpeedup: +(refFull.ms / natOne.ms).toFixed(1),
      },
    },
    null,
    1,
  ),
);
