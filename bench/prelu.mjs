#!/usr/bin/env node
/**
 * Trained nn.PReLU slopes (the `prelu` act, session 34) against the activations a network had before: a small ResNet
 * (stem, three residual blocks of C = 16, 32, 64, 32×32 inputs) with, after every BatchNorm, a PReLU(C) of trained
 * slopes (one per channel in [−0.25, 0.5), some negative), the same PReLU at PyTorch's initial 0.25 (the leaky relu
 * with `learned`, which imported before), or an nn.ReLU; the embedded CIFAR batch and labels, each proxy's official
 * protocol, 2 threads. synflow on the trained slopes runs the program of the network with |α| on the native pass; the
 * first build routed it to the reference engine (the "reference" row).
 *
 *   npm run build && node bench/prelu.mjs [--rounds 2] [--only grad_norm,jacov,zico,nwot,meco,synflow]
 *
 * Prints markdown: wall seconds per network (best of the rounds) and the values.
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
import { Rng } from '../dist/util/rng.js';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const rounds = Number(opt('--rounds', '2'));
const names = opt('--only', 'grad_norm,jacov,zico,nwot,meco,synflow').split(',');

/** The ResNet with `act(b, x, c)` after every BatchNorm. */
function resnet(act) {
  const b = new GraphBuilder([3, 32, 32]);
  const cbn = (x, c, k, stride) => b.bn(b.conv(x, c, k, { stride, pad: (k - 1) / 2 }));
  let x = act(b, cbn(b.input, 16, 3, 1), 16);
  for (const [c, stride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ]) {
    const y = cbn(act(b, cbn(x, c, 3, stride), c), c, 3, 1);
    const short = stride === 1 ? x : cbn(x, c, 1, stride);
    x = act(b, b.add([y, short]), c);
  }
  return b.finish(b.linear(b.gap(x), 10, true), { space: 'bench', arch: 'resnet' });
}

const rng = new Rng(7);
const trained = (c) => Array.from({ length: c }, () => Math.round((rng.next() * 0.75 - 0.25) * 1e4) / 1e4);
const nets = {
  'PReLU(C), trained slopes': resnet((b, x, c) => b.prelu(x, trained(c))),
  'PReLU(C) at 0.25': resnet((b, x, c) => b.relu(x, undefined, 0.25, c)),
  'nn.ReLU': resnet((b, x) => b.relu(x)),
};

const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const runner = nativeProxyRunner(load.addon, 2);
const o = (net) => ({ seed: 0, images: defaultBatch(128), labels: defaultLabels(128), weights: prngParams(net, 1) });
const best = (fn) => bestOf(rounds, fn);

console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model} (${cpus().length} cores), load ${loadavg()[0].toFixed(1)}, 2 threads, best of ${rounds}, wall seconds per network\n`,
);
console.log('| network | proxies | engine | seconds | values |');
console.log('|---|---|---|---:|---|');
const row = async (label, list, engine, fn) => {
  const { t, v } = await best(fn);
  const vals = list.map((n) => `${n} ${v.values[n]?.value?.toPrecision(6) ?? 'null'}`).join(', ');
  const where = list.map((n) => v.settings?.[n]?.engine ?? 'reference').join('/');
  console.log(`| ${label} | ${list.join(', ')} | ${engine} (${where}) | ${t.toFixed(2)} | ${vals} |`);
};
for (const [label, net] of Object.entries(nets))
  await row(label, names, 'native runner', () => runner.run(net, names, o(net)));
const net = nets['PReLU(C), trained slopes'];
await row('PReLU(C), trained slopes', ['synflow'], 'native runner', () => runner.run(net, ['synflow'], o(net)));
await row('PReLU(C), trained slopes', ['synflow'], 'reference', async () => runProxies(net, ['synflow'], o(net)));
