#!/usr/bin/env node
/**
 * Learned arithmetic constants (session 37: an nn.Parameter read as `gamma * x`, counted in Θ and differentiated by
 * VKDNW) against the same network with those constants read as buffers, and without them: a small ResNet (stem,
 * three residual blocks of C = 16, 32, 64, 32×32 inputs) whose residual branches end in a per-channel layer scale,
 * VKDNW at its official protocol on the native runner, 2 threads. The learned scales add one Jacobian column each
 * (kinds 4 of the native per-sample terms).
 *
 *   npm run build && node bench/learned-constants.mjs [--rounds 3]
 *
 * Prints markdown: wall seconds per network (best of the rounds), VKDNW and its dimension.
 */
import { cpus, loadavg } from 'node:os';
import { bestOf } from './harness.mjs';
import { defaultBatch } from '../dist/data/cifar.js';
import { defaultLabels } from '../dist/data/labels.js';
import { prngParams } from '../dist/grad/params.js';
import { countParams } from '../dist/ir/analysis.js';
import { loadAddon } from '../dist/native/loader.js';
import { nativeProxyRunner } from '../dist/proxies/native-run.js';
import { gatedResnet } from './gated-resnet.mjs';

const args = process.argv.slice(2);
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : '3');

const gains = (c) => Array.from({ length: c }, (_, i) => 0.5 + i / c);
const nets = {
  'layer scales learned (nn.Parameters)': gatedResnet('resnet', (b, y, c) =>
    b.channelAct(y, 'scale', gains(c), 1, { learned: c }),
  ),
  'layer scales as buffers': gatedResnet('resnet', (b, y, c) => b.channelAct(y, 'scale', gains(c), 1)),
  'no layer scales': gatedResnet('resnet', (_b, y) => y),
};

const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const runner = nativeProxyRunner(load.addon, 2);
const o = (net) => ({ seed: 0, images: defaultBatch(64), labels: defaultLabels(64), weights: prngParams(net, 1) });

console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model} (${cpus().length} cores), load ${loadavg()[0].toFixed(1)}, 2 threads, best of ${rounds}, wall seconds per network\n`,
);
console.log('| network | Θ | vkdnw_dim | seconds (vkdnw, native runner) | vkdnw |');
console.log('|---|---:|---:|---:|---:|');
for (const [label, net] of Object.entries(nets)) {
  const { t, v } = await bestOf(rounds, () => runner.run(net, ['vkdnw', 'vkdnw_dim'], o(net)));
  if (v.settings.vkdnw?.engine !== 'native') throw new Error(`vkdnw left the native engine on ${label}`);
  console.log(
    `| ${label} | ${countParams(net)} | ${v.values.vkdnw_dim.value} | ${t.toFixed(3)} | ${v.values.vkdnw.value?.toPrecision(6)} |`,
  );
}
