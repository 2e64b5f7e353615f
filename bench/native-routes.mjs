#!/usr/bin/env node
/**
 * What session 26's exactness routes cost on the native runner, against the reference engine (the exact alternative
 * a user would otherwise take), alternating in one process, values asserted equal:
 *   - zico on a network with a depthwise 1x1 conv before a BN (fixture fz1015): the native float64 pass;
 *   - vkdnw on NB201 search cells, BNs without running statistics (fixture searchcells): one pass per sample;
 *   - grasp there, with the biases the BNs cancel dropped from the float32 pass.
 * Usage: node bench/native-routes.mjs [--rounds 5] [--threads 2]
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { decodeNpy } from '../dist/data/npy-array.js';
import { loadOnnxModel } from '../dist/onnx/load.js';
import { onnxProxyModel } from '../dist/proxies/onnx-model.js';
import { runProxies } from '../dist/proxies/run.js';
import { nativeProxyRunner } from '../dist/proxies/native-run.js';
import { loadAddon } from '../dist/native/loader.js';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const rounds = arg('rounds', 5);
const threads = arg('threads', 2);
const dir = join(import.meta.dirname, '..', 'test', 'fixtures', 'proxies');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')).fixtures;
const npy = (f) => decodeNpy(readFileSync(join(dir, f)), f);
const runner = nativeProxyRunner(loadAddon().addon, threads);

function setup(name) {
  const e = expected[name];
  const x = npy(e.inputs);
  const x2 = npy(e.inputs2);
  const [c, h, w] = x.shape.slice(1);
  const m = onnxProxyModel(loadOnnxModel(join(dir, e.onnx)), x.shape.slice(1));
  const images = { n: 2 * x.shape[0], c, h, w, data: new Float32Array([...x.data, ...x2.data]), source: name };
  const labels = Int32Array.from([...npy(e.labels).data, ...npy(e.labels2).data]);
  return { m, o: { seed: 0, images, labels, batch: x.shape[0], weights: m.params } };
}

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const cases = [
  ['zico', 'fz1015'],
  ['vkdnw', 'searchcells'],
  ['grasp', 'searchcells'],
];
console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model} (${availableParallelism()} cores), threads ${threads}, rounds ${rounds}`,
);
console.log(
  '| proxy | fixture | native route | native ms | reference ms | reference / native | |native − reference| / |reference| |',
);
console.log('|---|---|---|---:|---:|---:|---:|');
for (const [proxy, fixture] of cases) {
  const { m, o } = setup(fixture);
  const tn = [];
  const tr = [];
  let nat;
  let ref;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    nat = await runner.run(m.net, [proxy], o);
    tn.push(performance.now() - t);
    t = performance.now();
    ref = runProxies(m.net, [proxy], o);
    tr.push(performance.now() - t);
  }
  const a = nat.values[proxy].value;
  const b = ref.values[proxy].value;
  const rel = Math.abs(a - b) / Math.abs(b);
  if (!(rel <= 1e-4)) throw new Error(`${proxy}: native ${a} vs reference ${b}`);
  const s = nat.settings[proxy];
  const route =
    s.dtype === 'float64' ? 'float64 pass' : proxy === 'vkdnw' ? 'per sample' : 'float32, cancelled biases dropped';
  console.log(
    `| ${proxy} | ${fixture} | ${route} | ${median(tn).toFixed(1)} | ${median(tr).toFixed(1)} | ${(median(tr) / median(tn)).toFixed(1)} | ${rel.toExponential(1)} |`,
  );
}
