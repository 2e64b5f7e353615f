/**
 * `precision: 'float64'` on the native runner: the gradient groups (FLOAT64_GROUPS) run the addon's float64 pass
 * and give the reference's float64 values (to summation order), say so in their settings, and the other groups
 * keep their float32 passes; `float32` (the default) is unchanged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../src/data/npy-array.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { defaultBatch } from '../src/data/cifar.js';
import { defaultLabels } from '../src/data/labels.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { PROXY_NAMES, proxySpec } from '../src/proxies/registry.js';
import { FLOAT64_GROUPS, type ProxyRunOptions, runProxies } from '../src/proxies/run.js';
import { Rng } from '../src/util/rng.js';
import { opGraphs, randomData, randomParams } from './grad-graphs.js';
import { fixtureSampleShape, officialFixtureValues } from './helpers.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);
const runner = nativeProxyRunner(load.addon, 2);

/** The proxies whose native passes run in float64 under `precision: 'float64'`. */
const GRADIENT = PROXY_NAMES.filter((n) => FLOAT64_GROUPS.includes(proxySpec(n).group));

function close(name: string, got: number | null, want: number | null, rel: number) {
  expect(got === null, `${name}: ${got} vs ${want}`).toBe(want === null);
  if (got === null || want === null) return;
  expect(Math.abs(got - want), `${name}: ${got} vs ${want}`).toBeLessThanOrEqual(rel * Math.abs(want));
}

/** 16 × 16 crops of the embedded images. */
function crops(n: number) {
  const images = defaultBatch(n);
  const data = new Float32Array(n * 3 * 16 * 16);
  for (let i = 0; i < n * 3; i++)
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) data[(i * 16 + y) * 16 + x] = images.data[(i * 32 + y) * 32 + x]!;
  return { ...images, data, h: 16, w: 16 };
}

describe.each([
  ['nb201', undefined, { channels: 4, cells: 2, inputSize: 16 }],
  ['darts', undefined, { channels: 4, cells: 2, inputSize: 16 }],
  ['tnb101-micro', 'class_object', { channels: 4, cells: 1, inputSize: 16 }],
])('precision float64 on a %s network', (space, target, extra) => {
  it('the gradient proxies run natively in float64 at the reference value; the others stay float32', async () => {
    const entry = spaceEntry(space);
    const n = entry.space.build(entry.space.sample(new Rng(5)), {
      ...entry.networkFor(target ?? entry.targets[0]!),
      ...extra,
    });
    const classes = n.nodes[n.output]!.shape[0] as number;
    const o: ProxyRunOptions = {
      seed: 2,
      images: crops(16),
      labels: Int32Array.from(defaultLabels(16), (y) => y % classes),
      batch: 8,
    };
    const ref = runProxies(n, GRADIENT, o);
    const f64 = await runner.run(n, PROXY_NAMES, { ...o, precision: 'float64' });
    for (const name of GRADIENT) {
      const v = f64.values[name]!;
      // synflow_bn on 1×1 maps (TNB101 at 16 px) is null on both engines, with PyTorch's reason
      close(name, v.value, ref.values[name]!.value, 1e-9);
      if (v.value !== null) expect(f64.settings[name], name).toMatchObject({ dtype: 'float64', engine: 'native' });
      expect(f64.settings[name]!.routed, name).toBeUndefined();
    }
    for (const name of ['nwot', 'meco', 'az_trainability', 'vkdnw'] as const)
      expect(f64.settings[name], name).toMatchObject({ dtype: 'float32', engine: 'native' });
    // the default is float32 (synflow_bn aside, which always runs in float64)
    const f32 = await runner.run(n, ['snip', 'grasp', 'zico'], o);
    for (const name of ['snip', 'grasp', 'zico'] as const) expect(f32.settings[name]!.dtype).toBe('float32');
  });
});

describe('precision float64 on every op graph', () => {
  for (const { name, net: g } of opGraphs()) {
    if (g.nodes[g.output]!.shape.length !== 1) continue;
    it(`${name}: grad_norm, snip, plain, fisher, grasp, jacov, zico and synflow equal the reference (1e-9)`, async () => {
      const params = randomParams(g, 7);
      const { x, labels } = randomData(g, 4, 9);
      const [c, h, w] = g.nodes[0]!.shape as [number, number, number];
      const more = randomData(g, 4, 10);
      const images = { n: 8, c, h, w, data: Float32Array.from([...x, ...more.x]), source: name };
      const o: ProxyRunOptions = { seed: 0, images, labels: [...labels, ...more.labels], batch: 4, weights: params };
      const names = ['grad_norm', 'snip', 'plain', 'fisher', 'grasp', 'jacov', 'epe_nas', 'zico', 'synflow'] as const;
      const ref = runProxies(g, names, o);
      const f64 = await runner.run(g, names, { ...o, precision: 'float64' });
      const softmax = g.nodes.some((n) => n.op === 'softmax');
      for (const p of names) {
        // the sum of a softmax's outputs is 1: both engines give null for synflow and the Jacobians, saying why
        if (ref.values[p]!.value === null) {
          expect(f64.values[p], p).toMatchObject({ value: null, reason: ref.values[p]!.reason });
          continue;
        }
        close(`${name} ${p}`, f64.values[p]!.value, ref.values[p]!.value, 1e-9);
        // GraSP's Hessian-vector product through a softmax runs on the reference engine
        const engine = softmax && p === 'grasp' ? 'reference' : 'native';
        expect(f64.settings[p], p).toMatchObject({ dtype: 'float64', engine });
      }
    });
  }
});

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));
const npy = (name: string) => decodeNpy(readFileSync(join(DIR, name)), name);

describe.each(Object.keys(expected.fixtures))('precision float64 equals the official code on %s', (name) => {
  it('grad_norm, snip, plain, fisher, grasp, jacov, epe_nas, zico, synflow (1e-4; the official float64 where recorded)', async () => {
    const e = expected.fixtures[name];
    const x = npy(e.inputs);
    const B = x.shape[0]!;
    const loaded = loadOnnxModel(join(DIR, e.onnx));
    const m = onnxProxyModel(loaded, fixtureSampleShape(x.shape, loaded.input.view));
    const [c, h, w] = fixtureSampleShape(x.shape, loaded.input.view);
    const data = new Float32Array([...x.data, ...npy(e.inputs2).data]);
    const images = { n: 2 * B, c, h, w, data, source: name };
    const labels = Int32Array.from([...npy(e.labels).data, ...npy(e.labels2).data]);
    const names = ['grad_norm', 'snip', 'plain', 'fisher', 'grasp', 'jacov', 'epe_nas', 'zico', 'synflow'] as const;
    const r = await runner.run(m.net, names, {
      seed: 0,
      images,
      labels,
      batch: B,
      weights: m.params,
      precision: 'float64',
    });
    const want = officialFixtureValues(e, m.net);
    let compared = 0;
    for (const p of names) {
      const v = want[p];
      const got = r.values[p]!;
      if (v === '-inf') expect(got, p).toMatchObject({ value: null, reason: expect.stringMatching(/-Inf/) });
      else if (v === 'sum-is-one')
        expect(got, p).toMatchObject({ value: null, reason: expect.stringMatching(/sum to 1/) });
      else if (v === 'jacobian-zero') expect(got.reason, p).toMatch(/analytically zero.*rounding noise/);
      else if (typeof v !== 'number') expect(got, p).toMatchObject({ value: null });
      else {
        close(`${name} ${p}`, got.value, v, 1e-4);
        compared++;
      }
      // GraSP's Hessian-vector product through a softmax or a GroupNorm runs on the reference engine (float64 too)
      const routed = p === 'grasp' && m.net.nodes.some((n) => n.op === 'softmax' || n.op === 'gn');
      if (got.value !== null)
        expect(r.settings[p], p).toMatchObject({ dtype: 'float64', engine: routed ? 'reference' : 'native' });
    }
    expect(compared).toBeGreaterThan(0);
  });
});
