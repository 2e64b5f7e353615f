/**
 * A model's state_dict as the official code sees it through an ONNX file: buffers and layer scales in arithmetic
 * (synflow's |state_dict|), and `named_parameters()` order where torch.onnx renamed or merged initializers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { loadAddon } from '../src/native/loader.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { synflowNetwork } from '../src/proxies/saliency.js';
import { fixtureSampleShape } from './helpers.js';
import { decodeNpy } from '../src/data/npy-array.js';

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const fixtures = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures;

describe("synflow's |state_dict| in arithmetic", () => {
  const e = fixtures.statearith;
  it.each([e.onnx, e.folded_onnx])(
    '%s: buffers of both signs (viewed, indexed, sliced, folded) count as |·|, as the official code makes them',
    async (file: string) => {
      const load = loadAddon();
      if (!load.ok) throw new Error(load.reason);
      const x = decodeNpy(readFileSync(join(DIR, e.inputs)), e.inputs);
      const loaded = loadOnnxModel(join(DIR, file));
      const m = onnxProxyModel(loaded, fixtureSampleShape(x.shape, loaded.input.view));
      // every constant of the arithmetic comes from a registered buffer: each marked, and some flip under |·|
      const acts = m.net.nodes.filter((n) => n.op === 'act' && n.fn !== 'scale' && n.fn !== 'divide');
      expect(acts.length).toBeGreaterThan(3);
      expect(acts.every((n) => n.op === 'act' && n.stateSign !== undefined)).toBe(true);
      expect(synflowNetwork(m.net)).not.toBe(m.net);
      const [c, h, w] = fixtureSampleShape(x.shape, loaded.input.view);
      const r = await nativeProxyRunner(load.addon, 2).run(m.net, ['synflow'], {
        seed: 0,
        images: { n: x.shape[0]!, c, h, w, data: Float32Array.from(x.data), source: file },
        weights: m.params,
      });
      // on the native pass, of the network with the |·| constants
      expect(r.settings.synflow).toMatchObject({ engine: 'native' });
      expect(Math.abs(r.values.synflow!.value! - e.zc.synflow)).toBeLessThanOrEqual(1e-4 * e.zc.synflow);
    },
  );
});

describe("named_parameters() order (VKDNW's first 128 tensors)", () => {
  it('keeps a tensor torch.onnx merged into an equal one (an eval-mode export) at its module', () => {
    // the convnext fixture with block 1's dwconv bias made equal to the stem conv's and read through an Identity of
    // it, as an eval-mode export writes merged initializers
    const m = decodeModel(readFileSync(join(DIR, fixtures.convnext.onnx)));
    const g = m.graph!;
    const stem = g.initializer!.find((t) => t.name === 'stem.0.bias')!;
    const dw = g.initializer!.findIndex((t) => t.name === 'block1.dwconv.bias');
    g.initializer!.splice(dw, 1);
    g.node!.unshift({ opType: 'Identity', input: [stem.name!], output: ['Identity_7'], name: 'Identity_7' });
    for (const n of g.node!) n.input = n.input!.map((i) => (i === 'block1.dwconv.bias' ? 'Identity_7' : i));
    const r = importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 16, 16] });
    if (!r.ok) throw new Error(r.reason);
    // before, the merged read ranked after every initializer: the order was node order but for it
    expect(r.network.parameterOrder).toBeUndefined();
  });
});
