#!/usr/bin/env node
/**
 * grasp on full-size NB201 networks (C=16, N=5, 32×32, batch 64): the official PyTorch code
 * (bench/torch/grasp_fullsize.py, float32, 2 threads), swapnas' native engine (float32, 2 threads) and, with
 * `--reference`, the float64 reference engine (the definition; ≈ 3 min per network), all on the same exported
 * weights, images and labels. Prints each value, the relative differences, the cancellation ratio
 * Σ|W ⊙ Hg| / |Σ W ⊙ Hg| of the float64 terms, and wall seconds.
 *
 *   npm run build && node bench/grasp-fullsize.mjs --official /tmp/official [--archs 3] [--reference]
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lossHessianVector } from '../dist/backends/reference/hvp.js';
import { decodeNpy } from '../dist/data/npy-array.js';
import { loadAddon } from '../dist/native/loader.js';
import { loadOnnxModel } from '../dist/onnx/load.js';
import { nativeProxyRunner } from '../dist/proxies/native-run.js';
import { onnxProxyModel } from '../dist/proxies/onnx-model.js';
import { officialCheckoutArgs, PROXY_BENCH_ARCHS, torchJson } from './harness.mjs';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const dir = opt('--official', '/tmp/official');
const ARCHS = PROXY_BENCH_ARCHS.slice(0, Number(opt('--archs', '3')));
const out = mkdtempSync(join(tmpdir(), 'grasp-fullsize-'));
const official = await torchJson('grasp_fullsize.py', [
  ...officialCheckoutArgs(dir),
  ...['--threads', '2', '--out', out],
  ...ARCHS.flatMap((a) => ['--arch', a]),
]);
const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const runner = nativeProxyRunner(load.addon, 2);
const npy = (f) => decodeNpy(readFileSync(f), f);
console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), load average ${loadavg()[0].toFixed(1)}; NB201 C=16 N=5 32×32, batch 64, 2 threads each`,
);
console.log(
  '\n| arch | official (float32) | native (float32) | rel. diff | reference (float64) | native vs ref. | official vs ref. | Σ|terms| / |Σ| | official s | native s |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const rel = (a, b) => Math.abs(a - b) / Math.abs(b);
let first = true;
for (const a of ARCHS) {
  const e = official[a];
  const x = npy(e.inputs);
  const labels = npy(e.labels).data;
  const m = onnxProxyModel(loadOnnxModel(e.onnx), x.shape.slice(1));
  const o = {
    seed: 0,
    images: { n: 64, c: 3, h: 32, w: 32, data: Float32Array.from(x.data), source: 'bench' },
    labels,
    weights: m.params,
  };
  if (first) await runner.run(m.net, ['grasp'], o); // warm-up
  first = false;
  const t0 = performance.now();
  const nat = (await runner.run(m.net, ['grasp'], o)).values.grasp.value;
  const ns = (performance.now() - t0) / 1000;
  let ref = '';
  let ratio = '';
  let cols = ['', ''];
  if (args.includes('--reference')) {
    const { hv } = lossHessianVector(m.net, m.params, x.data, labels, 'gradient');
    let s = 0;
    let abs = 0;
    for (const [id, h] of hv) {
      const w = m.params[id].weight;
      for (let i = 0; i < w.length; i++) {
        s -= w[i] * h[i];
        abs += Math.abs(w[i] * h[i]);
      }
    }
    ref = s.toPrecision(8);
    ratio = (abs / Math.abs(s)).toFixed(0);
    cols = [rel(nat, s).toExponential(1), rel(e.value, s).toExponential(1)];
  }
  console.log(
    `| \`${a}\` | ${e.value.toPrecision(8)} | ${nat.toPrecision(8)} | ${rel(nat, e.value).toExponential(1)} | ${ref} | ${cols[0]} | ${cols[1]} | ${ratio} | ${e.seconds.toFixed(2)} | ${ns.toFixed(2)} |`,
  );
}
