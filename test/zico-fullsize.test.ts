import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packParams, unpackGrads } from '../src/backends/native/grad.js';
import { nativeProxyPass } from '../src/backends/native/proxy-pass.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { defaultBatch } from '../src/data/cifar.js';
import { defaultLabels } from '../src/data/labels.js';
import { loadAddon } from '../src/native/loader.js';
import { type InitScheme, initParams } from '../src/proxies/init.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { inputsFor, labelsFor, type ProxyRunOptions, settingsFor } from '../src/proxies/run.js';
import { weightedNodes } from '../src/proxies/saliency.js';
import { zicoFromGrads } from '../src/proxies/zico.js';

const load = loadAddon();
if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
const addon = load.addon;

/** Written by scripts/make-zico-fullsize-fixture.mjs with the float64 reference engine (minutes at this size). */
const fx = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'zico-fullsize.json'), 'utf8'));

/**
 * ZiCo with two batches divides by std_t(g_t) = |g_1 − g_2| / 2 per weight: over ~0.8 M weights some gradients
 * nearly coincide across the batches, and their ratio amplifies float32 rounding of the gradients by
 * |g| / |g_1 − g_2|. Here the native value lies 5.2e-5 from the float64 one while the gradient norms agree to
 * 6.2e-7; on the same network with other CIFAR images the gap was 5.6e-4 (batch 2) and 2.5e-3 (batch 4). So
 * ZiCo is held to 1e-3 (a change that moved it by 0.25 %, as a reordered BN sum once did at batch 64, fails) and
 * the gradients it is made of, well conditioned, to 1e-5.
 */
const ZICO_TOL = 1e-3;
const GRAD_TOL = 1e-5;

describe('zico on the full-size NB201 network (C=16, N=5, 32×32), native float32 vs the float64 definition', () => {
  const entry = spaceEntry('nb201');
  const net = entry.space.build(entry.space.parse(fx.arch), { ...entry.networkFor(fx.dataset), ...fx.network });
  const o: ProxyRunOptions = {
    protocol: 'official',
    seed: fx.seed,
    images: defaultBatch(2 * fx.batch),
    labels: defaultLabels(2 * fx.batch),
    batch: fx.batch,
  };

  it('every layer weight gradient norm of both batches within 1e-5, ZiCo within 1e-3', async () => {
    expect(weightedNodes(net)).toEqual(fx.layers);
    const s = settingsFor('zico', o);
    const params = initParams(net, s.init as InitScheme, fx.seed);
    const packed = packParams(net, params);
    const grads = [];
    for (const k of [0, 1]) {
      const r = await nativeProxyPass(addon, net, packed, inputsFor(s, o, net, k), fx.batch, {
        bn: 'train',
        labels: labelsFor(s, o, k),
        wantParams: true,
      });
      const g = unpackGrads(net, params, r.params);
      fx.layers.forEach((id: number, l: number) => {
        const w = g[id]!.weight!;
        const norm = Math.sqrt(w.reduce((a, v) => a + v * v, 0));
        const want = fx.weightGradNorms[k][l];
        expect(Math.abs(norm - want), `batch ${k} layer ${id}`).toBeLessThan(GRAD_TOL * want);
      });
      grads.push(g);
    }
    const fromGrads = zicoFromGrads(net, grads).value!;
    expect(Math.abs(fromGrads - fx.zico)).toBeLessThan(ZICO_TOL * Math.abs(fx.zico));
    // the runner's zico group computes the same value from the same passes
    const run = await nativeProxyRunner(addon, 2).run(net, ['zico'], o);
    expect(run.settings.zico).toMatchObject({ engine: 'native', batch: fx.batch, batches: 2 });
    expect(run.values.zico!.value).toBe(fromGrads);
  });
});
