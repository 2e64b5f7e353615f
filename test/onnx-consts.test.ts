/**
 * Constants that PyTorch names through other nodes: torch.onnx keeps equal initializers once and names the copies
 * by Identity nodes (two zero biases suffice), so a model's convolutions can read their weights and biases through
 * them. The model imports with the same layers and parameters as with the initializers read directly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBatch } from '../src/data/cifar.js';
import { countParams } from '../src/ir/analysis.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel } from '../src/onnx/proto.js';
import { defaultLabels } from '../src/data/labels.js';
import { writeOnnxModel } from './helpers.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { saliencies } from '../src/proxies/saliency.js';

const HEADNET = join(import.meta.dirname, 'fixtures', 'onnx', 'headnet.onnx');

/** headnet with bn1's scale set to 2.5 (not torch's default 1, so dropping it would show). */
function scaled(m: ReturnType<typeof decodeModel>): void {
  const t = m.graph!.initializer!.find((x) => x.name === 'bn1.weight')!;
  t.rawData = new Uint8Array(Float32Array.from({ length: Number(t.dims![0]) }, () => 2.5).buffer);
}

/** The scaled headnet as it is: its constants read directly. */
function direct(): string {
  const m = decodeModel(readFileSync(HEADNET));
  scaled(m);
  return writeOnnxModel(m);
}

/**
 * The scaled headnet with every Conv's weight and bias, and the first BatchNormalization's scale, read through an
 * Identity copy (a chain of two for the weights).
 */
function throughIdentities(): string {
  const m = decodeModel(readFileSync(HEADNET));
  scaled(m);
  const nodes = m.graph!.node!;
  const copies: typeof nodes = [];
  const bn = nodes.find((x) => x.opType === 'BatchNormalization')!;
  copies.push({ opType: 'Identity', name: 'id_bn_scale', input: [bn.input![1]!], output: ['bn_scale_copy'] });
  bn.input![1] = 'bn_scale_copy';
  for (const n of nodes.filter((x) => x.opType === 'Conv')) {
    n.input = n.input!.map((name, i) => {
      if (i === 0 || !name) return name;
      const once = `${name}__copy`;
      copies.push({ opType: 'Identity', name: `id_${once}`, input: [name], output: [once] });
      if (i === 2) return once;
      copies.push({ opType: 'Identity', name: `id2_${once}`, input: [once], output: [`${once}2`] });
      return `${once}2`;
    });
  }
  expect(copies.length).toBeGreaterThan(4);
  nodes.unshift(...copies);
  return writeOnnxModel(m);
}

describe('constants named through Identity nodes', () => {
  it('import with the same layers, parameters and proxy values as the initializers themselves', () => {
    const load = (f: string) => onnxProxyModel(loadOnnxModel(f), [3, 32, 32]);
    const [a, b] = [load(direct()), load(throughIdentities())];
    expect(b.net.nodes).toEqual(a.net.nodes);
    expect(b.params).toEqual(a.params);
    expect(Array.from(b.params[2]!.gamma!)).toEqual(Array(8).fill(2.5));
    const x = defaultBatch(8).data;
    const y = defaultLabels(8);
    const [sa, sb] = [saliencies(a.net, a.params, x, y), saliencies(b.net, b.params, x, y)];
    expect(sb.grad_norm.value).toBe(sa.grad_norm.value);
    expect(sb.snip.value).toBe(sa.snip.value);
  });

  it("a non-affine BatchNorm's fixed γ = 1, β = 0 (Constant nodes) are not parameters: Θ equals PyTorch's count", () => {
    // sum(p.numel() for p in Branchy().parameters()) in scripts/make_proxy_fixtures.py (its stem BN is non-affine):
    // 1589, and 2930 for ResNetish (every BN affine); the 6 fixed γ and 6 fixed β of the stem BN counted made 1601
    const fx = (f: string) => join(import.meta.dirname, 'fixtures', 'proxies', f);
    const branchy = onnxProxyModel(loadOnnxModel(fx('branchy.onnx')), [3, 32, 32]);
    expect(countParams(branchy.net)).toBe(1589);
    expect(branchy.net.nodes.filter((n) => n.op === 'bn').map((n) => (n.op === 'bn' ? n.affine : true))).toEqual([
      false,
      true,
      true,
      true,
    ]);
    expect(countParams(onnxProxyModel(loadOnnxModel(fx('resnetish.onnx')), [3, 32, 32]).net)).toBe(2930);
    // the same γ = 1, β = 0 held as initializers (a fresh affine BN) stay parameters
    const m = decodeModel(readFileSync(HEADNET));
    const bn = m.graph!.node!.find((x) => x.opType === 'BatchNormalization')!;
    for (const [i, v] of [
      [1, 1],
      [2, 0],
    ] as const) {
      const t = m.graph!.initializer!.find((x) => x.name === bn.input![i])!;
      t.rawData = new Uint8Array(Float32Array.from({ length: Number(t.dims![0]) }, () => v).buffer);
    }
    const headnet = onnxProxyModel(loadOnnxModel(writeOnnxModel(m)), [3, 32, 32]).net;
    expect(headnet.nodes.filter((n) => n.op === 'bn').every((n) => n.op === 'bn' && n.affine)).toBe(true);
  });
});
