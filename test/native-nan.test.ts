/**
 * A NaN weight propagates through the native engine's float32 ReLU as through the reference's (Math.max) and
 * torch.relu: the proxies that read activations give null with the reason instead of a finite value.
 */
import { describe, expect, it } from 'vitest';
import { defaultBatch } from '../src/data/cifar.js';
import { defaultLabels } from '../src/data/labels.js';
import { prngParams } from '../src/grad/params.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { type ProxyRunOptions, runProxies } from '../src/proxies/run.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);

describe('a NaN weight on the native engine', () => {
  it('zen and grad_norm are null with the reason, as on the reference; nwot still counts', async () => {
    const b = new GraphBuilder([3, 32, 32]);
    const c1 = b.relu(b.bn(b.conv(b.input, 6, 3)));
    const c2 = b.relu(b.bn(b.conv(c1, 6, 3)));
    const net = b.finish(b.linear(b.gap(c2), 5, true), { space: 'test', arch: 'nan-weight' });
    const params = prngParams(net, 3);
    const w = params[1]!.weight as Float64Array;
    w[7] = Number.NaN; // one weight of the first conv
    const o: ProxyRunOptions = {
      protocol: 'official',
      seed: 3,
      images: defaultBatch(8),
      labels: Int32Array.from(defaultLabels(8), (y) => y % 5),
      batch: 8,
      weights: params,
    };
    const names = ['zen', 'grad_norm', 'nwot'] as const;
    const nat = await nativeProxyRunner(load.addon, 2).run(net, [...names], o);
    const ref = runProxies(net, [...names], o);
    for (const p of ['zen', 'grad_norm'] as const) {
      expect(ref.values[p]!.value, p).toBeNull();
      expect(nat.values[p], p).toMatchObject({ value: null, reason: expect.stringMatching(/NaN/) });
    }
    expect(nat.values.nwot!.value).toBe(ref.values.nwot!.value);
  });
});
