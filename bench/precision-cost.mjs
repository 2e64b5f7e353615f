#!/usr/bin/env node
// What `--precision float64` costs and changes: the gradient proxies (saliencies, grasp, jacov / epe_nas, zico,
// synflow) on the native runner at float32 and at float64, rounds alternating between the two in one run, on the
// full-size NB201 network (C=16, N=5, 32x32, each proxy's official protocol) and on ONNX models given with --onnx
// (their own weights; inputs and labels from .npy files, or the embedded CIFAR-10 batch). Reports CPU time (user +
// system, every thread) per precision, their ratio, and each value's relative distance from float64 (and, with
// --official FILE.json, from the official code's float64 values: {"values": {"<model file name>": {"grasp": …}}}).
//
//   node bench/precision-cost.mjs [--archs 2] [--rounds 2] [--threads 2]
//        [--onnx model.onnx --x x.npy --y y.npy [--x2 x2.npy --y2 y2.npy]] ... [--official values.json]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { benchArgs, dist, nativeAddonOrExit } from './harness.mjs';

const { argv, opt } = benchArgs();
const threads = opt('threads', 2);
const rounds = opt('rounds', 2);
const NAMES = ['grad_norm', 'snip', 'plain', 'fisher', 'grasp', 'jacov', 'epe_nas', 'zico', 'synflow'];
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|',
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
].slice(0, opt('archs', 2));

const addon = await nativeAddonOrExit();
const { nativeProxyRunner } = await dist('proxies/native-run.js');
const { spaceEntry } = await dist('catalog/registry.js');
const { defaultBatch } = await dist('data/cifar.js');
const { defaultLabels } = await dist('data/labels.js');
const { decodeNpy } = await dist('data/npy-array.js');
const { loadOnnxModel } = await dist('onnx/load.js');
const { onnxProxyModel } = await dist('proxies/onnx-model.js');
const runner = nativeProxyRunner(addon, threads);
const flags = (name) => argv.flatMap((a, i) => (a === `--${name}` ? [argv[i + 1]] : []));
const official = flags('official').length > 0 ? JSON.parse(readFileSync(flags('official')[0], 'utf8')).values : {};

/** The cases: NB201 networks on the embedded batch (64 images, two batches for zico), then each --onnx model. */
function cases() {
  const entry = spaceEntry('nb201');
  const images = defaultBatch(128);
  const out = ARCHS.map((a) => ({
    name: `nb201 ${a}`,
    net: entry.space.build(entry.space.parse(a), entry.networkFor('cifar10')),
    o: { seed: 0, images, labels: defaultLabels(128) },
  }));
  const npy = (f) => decodeNpy(readFileSync(f), f);
  flags('onnx').forEach((file, k) => {
    const x = npy(flags('x')[k]);
    const x2 = flags('x2')[k] ? npy(flags('x2')[k]) : x;
    const y = Array.from(npy(flags('y')[k]).data);
    const y2 = flags('y2')[k] ? Array.from(npy(flags('y2')[k]).data) : y;
    const [B, c, h, w] = x.shape;
    const m = onnxProxyModel(loadOnnxModel(file), [c, h, w]);
    const images = { n: 2 * B, c, h, w, data: new Float32Array([...x.data, ...x2.data]), source: basename(file) };
    out.push({
      name: basename(file),
      net: m.net,
      o: { seed: 0, images, labels: Int32Array.from([...y, ...y2]), batch: B, weights: m.params },
    });
  });
  return out;
}

const cpu = () => process.cpuUsage();
const cpuSince = (t0) => {
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1000;
};
console.log(
  `# precision-cost: ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${threads} threads, ${rounds} rounds, load ${loadavg()[0].toFixed(2)}`,
);
const rel = (a, b) => (a === null || b === null || b === undefined ? NaN : Math.abs(a - b) / Math.abs(b));
for (const c of cases()) {
  const ms = { float32: [], float64: [] };
  const values = {};
  for (let r = 0; r < rounds; r++)
    for (const precision of r % 2 === 0 ? ['float32', 'float64'] : ['float64', 'float32']) {
      const t0 = cpu();
      const run = await runner.run(c.net, NAMES, { ...c.o, precision });
      ms[precision].push(cpuSince(t0));
      values[precision] = run;
    }
  const best = (p) => Math.min(...ms[p]);
  console.log(
    `${c.name}: CPU ms float32 ${best('float32').toFixed(0)}, float64 ${best('float64').toFixed(0)}, ratio ${(best('float64') / best('float32')).toFixed(2)}`,
  );
  const want = official[c.name] ?? {};
  for (const p of NAMES) {
    const a = values.float32.values[p].value;
    const b = values.float64.values[p].value;
    const off =
      want[p] !== undefined
        ? `; vs official float64: float32 ${rel(a, want[p]).toExponential(2)}, float64 ${rel(b, want[p]).toExponential(2)}`
        : '';
    console.log(
      `  ${p}: float64 ${b} (${values.float64.settings[p].dtype}), float32 rel ${rel(a, b).toExponential(2)}${off}`,
    );
  }
}
