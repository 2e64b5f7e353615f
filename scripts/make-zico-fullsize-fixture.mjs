#!/usr/bin/env node
/**
 * Writes test/fixtures/zico-fullsize.json: ZiCo and every conv/linear layer's weight-gradient norm per batch on the
 * full-size NB201 network (C=16, N=5, 32×32, CIFAR-10 head), computed by the float64 reference engine (the
 * definition) at ZiCo's official protocol except for a batch of 2 (two batches of 2 CIFAR images). The reference
 * needs minutes at this size, so test/zico-fullsize.test.ts compares the native engine with these committed values.
 *
 *   npm run build && node scripts/make-zico-fullsize-fixture.mjs
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lossGradients } from '../dist/backends/reference/backward.js';
import { spaceEntry } from '../dist/catalog/registry.js';
import { defaultBatch } from '../dist/data/cifar.js';
import { defaultLabels } from '../dist/data/labels.js';
import { initParams } from '../dist/proxies/init.js';
import { inputsFor, labelsFor, settingsFor } from '../dist/proxies/run.js';
import { weightedNodes } from '../dist/proxies/saliency.js';
import { zicoFromGrads } from '../dist/proxies/zico.js';

const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const NETWORK = { channels: 16, cells: 5, inputSize: 32 };
const BATCH = 2;
const SEED = 0;

const entry = spaceEntry('nb201');
const net = entry.space.build(entry.space.parse(ARCH), { ...entry.networkFor('cifar10'), ...NETWORK });
const o = {
  protocol: 'official',
  seed: SEED,
  images: defaultBatch(2 * BATCH),
  labels: defaultLabels(2 * BATCH),
  batch: BATCH,
};
const s = settingsFor('zico', o);
const params = initParams(net, s.init, SEED);
const grads = [0, 1].map((k) => lossGradients(net, params, inputsFor(s, o, net, k), labelsFor(s, o, k)).grads.params);
const norm = (g) => Math.sqrt(g.reduce((a, v) => a + v * v, 0));
const out = {
  generator: 'scripts/make-zico-fullsize-fixture.mjs (float64 reference engine)',
  arch: ARCH,
  dataset: 'cifar10',
  network: NETWORK,
  seed: SEED,
  batch: BATCH,
  zico: zicoFromGrads(net, grads).value,
  layers: weightedNodes(net),
  weightGradNorms: grads.map((g) => weightedNodes(net).map((id) => norm(g[id].weight))),
};
const file = join(import.meta.dirname, '..', 'test', 'fixtures', 'zico-fullsize.json');
writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote ${file}: zico ${out.zico}`);
