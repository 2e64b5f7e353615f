// GraSP on a gated network (the `gates` official fixture: MobileNetV3-style Hardswish / SiLU / squeeze-and-excitation,
// 32x32, its own weights and images): the native Hessian-vector pass that takes the gates' second derivatives against
// the reference engine, where the native runner sent grasp on such networks before (3c32aea). One process,
// alternating; the values must agree within 1e-4.
//   node bench/grasp-gates.mjs [--rounds 5] [--threads 2]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchArgs, dist, nativeAddonOrExit, root } from './harness.mjs';

const args = benchArgs();
const rounds = args.opt('rounds', 5);
const threads = args.opt('threads', 2);
const addon = await nativeAddonOrExit();
const { loadOnnxModel } = await dist('onnx/load.js');
const { onnxProxyModel } = await dist('proxies/onnx-model.js');
const { decodeNpy } = await dist('data/npy-array.js');
const { runProxies } = await dist('proxies/run.js');
const { nativeProxyRunner } = await dist('proxies/native-run.js');

const dir = join(root, 'test', 'fixtures', 'proxies');
const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')).fixtures.gates;
const npy = (f) => decodeNpy(readFileSync(join(dir, f)), f);
const x = npy(e.inputs);
const [B, c, h, w] = x.shape;
const { net, params } = onnxProxyModel(loadOnnxModel(join(dir, e.onnx)), [c, h, w]);
const o = {
  seed: 0,
  images: { n: B, c, h, w, data: Float32Array.from(x.data), source: 'gates' },
  labels: Int32Array.from(npy(e.labels).data),
  batch: B,
  weights: params,
};
const runner = nativeProxyRunner(addon, threads);
const engines = {
  native: async () => (await runner.run(net, ['grasp'], o)).values.grasp.value,
  reference: async () => runProxies(net, ['grasp'], o).values.grasp.value,
};
const want = await engines.reference();
const got = await engines.native();
if (Math.abs(got - want) > 1e-4 * Math.abs(want)) throw new Error(`grasp native ${got} vs reference ${want}`);
const times = { native: [], reference: [] };
for (let r = 0; r < rounds; r++)
  for (const name of r % 2 === 0 ? ['native', 'reference'] : ['reference', 'native']) {
    const t0 = performance.now();
    await engines[name]();
    times[name].push(performance.now() - t0);
  }
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ batch: B, threads, rounds, grasp: { native: got, reference: want }, times }, null, 1));
const [n, ref] = [median(times.native), median(times.reference)];
console.log(
  `median ms: native ${n.toFixed(1)}, reference ${ref.toFixed(1)}; reference / native ${(ref / n).toFixed(2)}`,
);
