/**
 * Parameter tensors several nodes share (a PyTorch module called more than once): one tensor, as PyTorch holds it.
 * test/fixtures/proxies/tied.onnx calls a conv-BN-ReLU Sequential twice in a chain and a biased 1×1 conv on two
 * branches; its official values are checked with the other fixtures (proxies-official, proxies-native, precision).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../src/data/npy-array.js';
import { initParams } from '../src/proxies/init.js';
import { mapParams, paramRefs, tieGrads } from '../src/grad/params.js';
import { countParams } from '../src/ir/analysis.js';
import type { Network, Shape3 } from '../src/ir/types.js';
import { loadAddon } from '../src/native/loader.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import type { ProxyName } from '../src/proxies/registry.js';
import { runProxies } from '../src/proxies/run.js';
import { saliencies } from '../src/proxies/saliency.js';
import { nativeProxyPass } from '../src/backends/native/proxy-pass.js';
import { packParams } from '../src/backends/native/grad.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);
const runner = nativeProxyRunner(load.addon, 2);

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const e = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.tied;
const npy = (name: string) => decodeNpy(readFileSync(join(DIR, name)), name);
const x = npy(e.inputs);
const labels = npy(e.labels).data;
const B = x.shape[0]!;
const m = onnxProxyModel(loadOnnxModel(join(DIR, e.onnx)), x.shape.slice(1) as unknown as Shape3);
const [c, h, w] = x.shape.slice(1) as [number, number, number];
const images = { n: B, c, h, w, data: Float32Array.from(x.data), source: 'tied' };

describe('tied parameters: a module called more than once', () => {
  it("the import ties every later use of a module's tensors to its first use, and counts them once", () => {
    const tied = m.net.tied ?? [];
    // the block's conv weight and its BN's γ, β; the 1×1 conv's weight and bias
    expect(tied.map((t) => t.kind).sort()).toEqual(['beta', 'bias', 'gamma', 'weight', 'weight']);
    for (const t of tied) {
      expect(t.of).toBeLessThan(t.node);
      expect(m.params[t.node]![t.kind]).toBe(m.params[t.of]![t.kind]);
    }
    expect(countParams(m.net)).toBe(e.torch_params);
    expect(runProxies(m.net, ['params'], { seed: 0, images, weights: m.params }).values.params!.value).toBe(
      e.torch_params,
    );
    // VKDNW's tensors: named_parameters() has 13
    expect(paramRefs(m.params, m.net)).toHaveLength(13);
    expect(paramRefs(m.params)).toHaveLength(18);
    expect(m.notes.join('\n')).toMatch(/5 parameter tensors are used by more than one node .* scored as one tensor/);
  });

  it('a fresh initialisation draws a tied tensor once, under its first use', () => {
    for (const scheme of ['gaussian', 'kaiming', 'pytorch'] as const) {
      const p = initParams(m.net, scheme, 7);
      for (const t of m.net.tied!) expect(p[t.node]![t.kind]).toBe(p[t.of]![t.kind]);
      const untied = initParams({ ...m.net, tied: undefined }, scheme, 7);
      const t = m.net.tied!.find((u) => u.kind === 'weight')!;
      expect(untied[t.node]!.weight).not.toEqual(untied[t.of]!.weight);
    }
  });

  it("tieGrads sums the uses' gradients into the first use and leaves the later uses none", () => {
    const g = mapParams(m.params, (_, ref) => ref.node + 1);
    const tied = tieGrads(m.net, g)!;
    for (const t of m.net.tied!) {
      expect(tied[t.node]?.[t.kind]).toBeUndefined();
      expect(tied[t.of]![t.kind]![0]).toBe(t.of + 1 + t.node + 1);
    }
    expect(tieGrads({ ...m.net, tied: undefined }, g)).toBe(g);
  });

  it('scored per use instead, the gradient proxies miss the official values (what the ties fix)', () => {
    const net: Network = { ...m.net, tied: undefined };
    const s = saliencies(net, m.params, x.data, labels);
    expect(Math.abs(s.grad_norm.value! - e.zc.grad_norm)).toBeGreaterThan(0.05 * e.zc.grad_norm);
    expect(Math.abs(s.snip.value! - e.zc.snip)).toBeGreaterThan(0.05 * e.zc.snip);
    expect(countParams(net)).toBeGreaterThan(e.torch_params);
  });

  it('the native runner equals the reference on every proxy, in float32 and float64', async () => {
    // every proxy that reads parameters or their gradients
    const names =
      'params l2_norm grad_norm snip plain fisher grasp jacov synflow synflow_bn zico zen vkdnw vkdnw_dim'.split(
        ' ',
      ) as ProxyName[];
    const both = Float32Array.from([...x.data, ...npy(e.inputs2).data]);
    const o = {
      seed: 3,
      weights: m.params,
      images: { ...images, n: 2 * B, data: both },
      labels: Int32Array.from([...labels, ...npy(e.labels2).data]),
      batch: B,
    };
    const ref = runProxies(m.net, names, o).values;
    expect(ref.fisher).toMatchObject({ value: null, reason: expect.stringMatching(/called more than once/) });
    for (const precision of ['float32', 'float64'] as const) {
      const r = await runner.run(m.net, names, { ...o, precision });
      const nat = r.values;
      for (const k of names) {
        const [a, b] = [nat[k]!.value, ref[k]!.value];
        // the float64 pass equals the reference to rounding; the float32 passes to float32's
        const rel = r.settings[k]?.dtype === 'float64' ? 1e-9 : 1e-4;
        expect(a === null, `${k} ${precision}`).toBe(b === null);
        if (a !== null && b !== null)
          expect(Math.abs(a - b), `${k} ${precision}: ${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.abs(b));
      }
    }
  });

  it('the addon refuses a tie that names no earlier conv / linear weight of the same size', async () => {
    const bn = m.net.nodes.find((n) => n.op === 'bn')!.id;
    const conv = m.net.nodes.find((n) => n.op === 'conv' && n.id > bn)!.id;
    const bad: Network = { ...m.net, tied: [{ node: conv, kind: 'weight', of: bn }] };
    await expect(
      nativeProxyPass(load.addon, bad, packParams(bad, m.params), Float32Array.from(x.data), B, {
        bn: 'train',
        labels,
        wantParams: true,
        wantHvp: true,
      }),
    ).rejects.toThrow(/tied weight pair/);
  });
});
