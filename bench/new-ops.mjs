#!/usr/bin/env node
/**
 * Session 35's ops on the native passes against the reference engine, each proxy alone at its official protocol on
 * the embedded CIFAR batch and labels, 2 threads:
 * - `--net fpn`: nearest-neighbour upsampling (`upsample`) in a small FPN (a stem of C = 16 at 32×32, two strided
 *   stages of 32 and 64 channels, a top-down path that upsamples the deepest map by 2 into a 1×1 lateral of the
 *   middle one and that sum by 2 into a lateral of the stem, a 3×3 fuse, GAP and Linear);
 * - `--net cbam`: a ResNet (stem of 16, three residual blocks of 16, 32, 64) whose blocks end in CBAM: an nn.Linear
 *   MLP channel gate on the average and maximum pools viewed back as C×1×1 (`view`), the channels' mean and
 *   maximum (`chanpool`), a 7×7 conv and a sigmoid gate broadcast over the channels;
 * - `--net eca` (session 36): the same ResNet whose blocks end in ECA (the pooled map viewed as 1×C×1 (`view`), a
 *   1-D convolution of 3 taps over the channels, viewed back as the sigmoid gate of the map), and `--net resnet`,
 *   the ResNet without gates, for the gates' cost; `--net simam`: the same ResNet with SimAM (parameter-free: the
 *   map's mean broadcast back (`expand`), squared deviations over their plane's energy (`reciprocal`), a sigmoid).
 *
 * - `--net unet` (session 38): transposed convolutions (`conv` with `transposed`) in a small U-Net (the FPN's stem and
 *   strided stages; up by nn.ConvTranspose2d(k 3, stride 2, padding 1, output_padding 1)-BN-ReLU, added to the
 *   encoder's map, twice; a 3×3 fuse, GAP, Linear), and `--net unet-up`, the same with each transposed conv replaced
 *   by a nearest upsampling by 2 and a 3×3 conv (the same shapes; 4× the multiply-adds), for the adjoint's cost.
 *
 * - `--net fpn-bilinear` (session 38): the FPN with bilinear resizes (half-pixel centres) in place of its nearest
 *   upsamplings, for the bilinear op's cost beside session 35's.
 *
 *   npm run build && node bench/new-ops.mjs [--net fpn|fpn-bilinear|cbam|eca|simam|resnet|unet|unet-up] [--rounds 2]
 *        [--only grad_norm,jacov,…]
 *
 * Prints markdown: wall seconds per network (best of the rounds) on each engine, and the values.
 */
import { cpus, loadavg } from 'node:os';
import { bestOf } from './harness.mjs';
import { defaultBatch } from '../dist/data/cifar.js';
import { defaultLabels } from '../dist/data/labels.js';
import { prngParams } from '../dist/grad/params.js';
import { GraphBuilder } from '../dist/ir/builder.js';
import { gatedResnet } from './gated-resnet.mjs';
import { loadAddon } from '../dist/native/loader.js';
import { nativeProxyRunner } from '../dist/proxies/native-run.js';
import { runProxies } from '../dist/proxies/run.js';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const rounds = Number(opt('--rounds', '2'));
const names = opt('--only', 'grad_norm,jacov,zico,nwot,meco,synflow,grasp,vkdnw').split(',');
const which = opt('--net', 'fpn');

function fpn(bilinear = false) {
  const b = new GraphBuilder([3, 32, 32]);
  const up = (x) => {
    const [, h, w] = b.shape(x);
    return bilinear ? b.bilinear(x, 2 * h, 2 * w) : b.upsample(x, 2);
  };
  const cbr = (x, c, k, stride) => b.relu(b.bn(b.conv(x, c, k, { stride, pad: (k - 1) / 2 })));
  const c1 = cbr(b.input, 16, 3, 1);
  const c2 = cbr(c1, 32, 3, 2);
  const c3 = cbr(c2, 64, 3, 2);
  const lateral = (x) => b.conv(x, 32, 1, { bias: true });
  const p3 = lateral(c3);
  const p2 = b.add([lateral(c2), up(p3)]);
  const p1 = b.add([lateral(c1), up(p2)]);
  return b.finish(b.linear(b.gap(cbr(p1, 32, 3, 1)), 10, true), {
    space: 'bench',
    arch: bilinear ? 'fpn-bilinear' : 'fpn',
  });
}

/** A U-Net whose decoder goes up by transposed convs (`up`: false) or by nearest upsampling and a 3×3 conv. */
function unet(viaUpsample) {
  const b = new GraphBuilder([3, 32, 32]);
  const cbr = (x, c, k, stride) => b.relu(b.bn(b.conv(x, c, k, { stride, pad: (k - 1) / 2 })));
  const up = (x, c) =>
    viaUpsample
      ? b.conv(b.upsample(x, 2), c, 3, { pad: 1 })
      : b.conv(x, c, 3, { stride: 2, pad: 1, transposed: 1, bias: true });
  const c1 = cbr(b.input, 16, 3, 1);
  const c2 = cbr(c1, 32, 3, 2);
  const c3 = cbr(c2, 64, 3, 2);
  const u2 = b.add([c2, b.relu(b.bn(up(c3, 32)))]);
  const u1 = b.add([c1, b.relu(b.bn(up(u2, 16)))]);
  const arch = viaUpsample ? 'unet-upsample' : 'unet-transposed';
  return b.finish(b.linear(b.gap(cbr(u1, 32, 3, 1)), 10, true), { space: 'bench', arch });
}

/** CBAM: the channel gate of one Linear MLP on the flat average and maximum pools, then the spatial gate. */
function cbamGate(b, y, c, h) {
  const w1 = (v) => b.linear(v, c / 4, true);
  const mlp = (v) => b.linear(b.relu(w1(v)), c, true);
  const maxPooled = b.flatten(b.maxpool(y, h, h, 0));
  const ca = b.mul(y, b.view(b.sigmoid(b.add([mlp(b.gap(y)), mlp(maxPooled)]), false), [c, 1, 1]));
  const gate = b.sigmoid(b.conv(b.concat([b.chanpool(ca, true), b.chanpool(ca)]), 1, 7, { pad: 3 }), false);
  return b.mul(ca, b.concat(new Array(c).fill(gate)));
}

/** SimAM: (x − mean)² (the mean broadcast: `expand`) over its plane's energy (1 / x), through a sigmoid gate. */
function simamGate(b, y, c, h) {
  const dev = b.add([y, b.act(b.expand(b.gap(y, true), [c, h, h]), 'scale', -1)]);
  const sq = b.mul(dev, dev);
  const energy = b.act(b.act(b.act(b.gap(sq, true), 'scale', (h * h) / (h * h - 1)), 'shift', 1e-4), 'scale', 4);
  return b.mul(y, b.sigmoid(b.act(b.mul(sq, b.act(energy, 'reciprocal')), 'shift', 0.5), false));
}

/** ECA: the pooled map viewed as 1×C×1, 3 taps over the channels, viewed back as the sigmoid gate. */
function ecaGate(b, y, c) {
  const taps = b.conv(b.view(b.gap(y, true), [1, c, 1]), 1, [3, 1], { pad: [1, 0, 1, 0] });
  return b.mul(y, b.sigmoid(b.view(taps, [c, 1, 1]), false));
}

const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const runner = nativeProxyRunner(load.addon, 2);
const nets = {
  fpn: () => fpn(false),
  'fpn-bilinear': () => fpn(true),
  cbam: () => gatedResnet('cbam', cbamGate),
  eca: () => gatedResnet('eca', ecaGate),
  simam: () => gatedResnet('simam', simamGate),
  resnet: () => gatedResnet('resnet', (_b, y) => y),
  unet: () => unet(false),
  'unet-up': () => unet(true),
};
const net = (nets[which] ?? fpn)();
const o = { seed: 0, images: defaultBatch(128), labels: defaultLabels(128), weights: prngParams(net, 1) };

console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model} (${cpus().length} cores), load ${loadavg()[0].toFixed(1)}, 2 threads, best of ${rounds}, wall seconds per network\n`,
);
console.log('| proxy | native runner | reference engine | reference / native | value (native) | value (reference) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const name of names) {
  const nat = await bestOf(rounds, () => runner.run(net, [name], o));
  const ref = await bestOf(rounds, async () => runProxies(net, [name], o));
  const v = (r) => r.v.values[name]?.value?.toPrecision(7) ?? 'null';
  const where = nat.v.settings[name]?.engine ?? '?';
  console.log(
    `| ${name} | ${nat.t.toFixed(3)} (${where}) | ${ref.t.toFixed(3)} | ${(ref.t / nat.t).toFixed(1)} | ${v(nat)} | ${v(ref)} |`,
  );
}
