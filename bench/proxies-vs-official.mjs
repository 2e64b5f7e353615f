#!/usr/bin/env node
/**
 * Per-proxy time: swapnas (reference engine, float64, single-threaded TypeScript) vs the official PyTorch code
 * (bench/torch/proxies_official_time.py, torch.set_num_threads(2)), on the ResNetish fixture network with the same
 * weights, inputs (8 CIFAR images at 32×32; 8×3×16×16 Gaussian for zen/AZ/VKDNW) and labels, in one run.
 *
 *   npm run build && node bench/proxies-vs-official.mjs --official /tmp/official [--repeats 3]
 *
 * `--official DIR` holds the checkouts named as in scripts/make_proxy_fixtures.py (zero-cost-nas, NASLib, ZiCo,
 * MeCo, AZ-NAS, VKDNW, ZenNAS). Prints a markdown table; numbers go to bench/RESULTS.md by hand with the command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNpy } from '../dist/data/npy-array.js';
import { loadOnnxModel } from '../dist/onnx/load.js';
import { azNas, prngRademacher } from '../dist/proxies/az.js';
import { epeNasScore, inputJacobian, jacovScore } from '../dist/proxies/jacobian.js';
import { meco } from '../dist/proxies/meco.js';
import { nwotF64 } from '../dist/proxies/nwot.js';
import { onnxProxyModel } from '../dist/proxies/onnx-model.js';
import { officialCheckoutArgs, torchJson } from './harness.mjs';
import { l2Norm, saliencies, synflow } from '../dist/proxies/saliency.js';
import { vkdnw } from '../dist/proxies/vkdnw.js';
import { mixInputs, zen } from '../dist/proxies/zen.js';
import { zico } from '../dist/proxies/zico.js';
import { blockFeatures } from '../dist/proxies/blocks.js';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const dir = opt('--official', '/tmp/official');
const repeats = Number(opt('--repeats', '3'));
const FX = join(import.meta.dirname, '..', 'test', 'fixtures', 'proxies');
const npy = (n) => decodeNpy(readFileSync(join(FX, n)), n);

const official = await torchJson(
  'proxies_official_time.py',
  [...officialCheckoutArgs(dir), '--threads', '2', '--repeats', String(repeats)],
  'ignore',
);

const x = npy('resnetish-x.npy');
const y = npy('resnetish-y.npy').data;
const { net, params } = onnxProxyModel(loadOnnxModel(join(FX, 'resnetish.onnx')), [3, 32, 32]);
const g = onnxProxyModel(loadOnnxModel(join(FX, 'resnetish-vk.onnx')), [3, 16, 16]);
const gx = npy('resnetish-vk-x.npy').data;
const second = { x: npy('resnetish-x2.npy').data, labels: npy('resnetish-y2.npy').data };
const time = (fn) => {
  const ts = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
};
const ours = {
  'grad_norm+snip+plain+fisher (one pass)': time(() => saliencies(net, params, x.data, y)),
  jacob_cov: time(() => jacovScore(inputJacobian(net, params, x.data, 8).rows, 8)),
  epe_nas: time(() => {
    const j = inputJacobian(net, params, x.data, 8);
    epeNasScore(j.rows, y, j.outputs);
  }),
  synflow: time(() => synflow(net, params)),
  synflow_bn: time(() => synflow(net, params, 'train')),
  nwot: time(() => nwotF64(net, params, x.data, 8)),
  l2_norm: time(() => l2Norm(net, params)),
  zico: time(() => zico(net, params, [{ x: x.data, labels: y }, second])),
  meco: time(() => meco(net, params, x.data.subarray(0, 3 * 32 * 32), 1)),
  zen: time(() => zen(g.net, g.params, gx, mixInputs(gx, gx), 8)),
  az: time(() => azNas(g.net, g.params, gx, 8, blockFeatures(g.net), prngRademacher(0))),
  vkdnw: time(() => vkdnw(g.net, g.params, gx, 8)),
};
const theirs = {
  'grad_norm+snip+plain+fisher (one pass)': official.grad_norm + official.snip + official.plain + official.fisher,
  jacob_cov: official.jacob_cov,
  epe_nas: official.epe_nas,
  synflow: official.synflow,
  synflow_bn: official.synflow_bn,
  nwot: official.nwot,
  l2_norm: official.l2_norm,
  zico: official.zico,
  meco: official.meco,
  zen: official.zen,
  az: official.az,
  vkdnw: official.vkdnw,
};
console.log(
  `date ${new Date().toISOString()}, median of ${repeats}, official = sum of separate calls where swapnas shares one pass`,
);
console.log('| proxy | swapnas reference (s) | official PyTorch, 2 threads (s) | official / swapnas |');
console.log('|---|---:|---:|---:|');
for (const k of Object.keys(ours))
  console.log(`| ${k} | ${ours[k].toFixed(4)} | ${theirs[k].toFixed(4)} | ${(theirs[k] / ours[k]).toFixed(2)} |`);
