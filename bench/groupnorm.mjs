#!/usr/bin/env node
/**
 * Proxies on a network with GroupNorm (the `gn` op) vs the same network with BatchNorm, on the native runner and on
 * the reference engine (where every GroupNorm network ran before the native passes had the op), in one run:
 * a small ResNet (stem, three residual blocks of C = 16, 32, 64, 32×32 inputs), GroupNorm(4) or BatchNorm after every
 * convolution, the embedded CIFAR batch and labels, each proxy's official protocol, 2 threads.
 *
 *   npm run build && node bench/groupnorm.mjs [--rounds 2] [--only grad_norm,jacov,zico,nwot,synflow]
 *     [--native-only] [--no-pixelwise]
 *
 * `--native-only` leaves out the reference engine; the third network (unless `--no-pixelwise`, for builds before the
 * pixelwise gn) has a LayerNorm over the channels (ConvNeXt's) after every convolution.
 *
 * Prints markdown: wall seconds per network (best of the rounds) and the values, which the engines must share.
 */
import { cpus, loadavg } from 'node:os';
import { bestOf } from './harness.mjs';
import { defaultBatch } from '../dist/data/cifar.js';
import { defaultLabels } from '../dist/data/labels.js';
import { prngParams } from '../dist/grad/params.js';
import { GraphBuilder } from '../dist/ir/builder.js';
import { loadAddon } from '../dist/native/loader.js';
import { nativeProxyRunner } from '../dist/proxies/native-run.js';
import { runProxies } from '../dist/proxies/run.js';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const rounds = Number(opt('--rounds', '2'));
const names = opt('--only', 'grad_norm,jacov,zico,nwot,synflow').split(',');
const nativeOnly = args.includes('--native-only');

/** The ResNet with `norm(b, x)` after every convolution. */
function resnet(norm) {
  const b = new GraphBuilder([3, 32, 32]);
  const conv = (x, c, k, stride) => b.conv(x, c, k, { stride, pad: (k - 1) / 2 });
  let x = b.relu(norm(b, conv(b.input, 16, 3, 1)));
  for (const [c, stride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ]) {
    const y = norm(b, conv(b.relu(norm(b, conv(x, c, 3, stride))), c, 3, 1));
    const short = stride === 1 ? x : norm(b, conv(x, c, 1, stride));
    x = b.relu(b.add([y, short]));
  }
  return b.finish(b.linear(b.gap(x), 10, true), { space: 'bench', arch: 'resnet' });
}

const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const runner = nativeProxyRunner(load.addon, 2);
const nets = { GroupNorm: resnet((b, x) => b.gn(x, 4)), BatchNorm: resnet((b, x) => b.bn(x)) };
if (!args.includes('--no-pixelwise')) nets['LayerNorm over C'] = resnet((b, x) => b.gn(x, 1, true, 1e-6, true));
const o = (net) => ({ seed: 0, images: defaultBatch(128), labels: defaultLabels(128), weights: prngParams(net, 1) });
const best = (fn) => bestOf(rounds, fn);

console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model} (${cpus().length} cores), load ${loadavg()[0].toFixed(1)}, 2 threads, best of ${rounds}, wall seconds per network; proxies ${names.join(', ')}\n`,
);
console.log('| network | engine | seconds | values |');
console.log('|---|---|---:|---|');
for (const [label, net] of Object.entries(nets)) {
  const rows = [
    ['native (float32)', () => runner.run(net, names, o(net))],
    ['native (--precision float64)', () => runner.run(net, names, { ...o(net), precision: 'float64' })],
    ...(nativeOnly ? [] : [['reference (float64)', async () => runProxies(net, names, o(net))]]),
  ];
  for (const [engine, fn] of rows) {
    const { t, v } = await best(fn);
    const vals = names.map((n) => `${n} ${v.values[n]?.value?.toPrecision(6) ?? 'null'}`).join(', ');
    console.log(`| ${label} | ${engine} | ${t.toFixed(2)} | ${vals} |`);
  }
}
