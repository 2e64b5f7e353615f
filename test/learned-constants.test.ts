import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countParams } from '../src/ir/analysis.js';
import type { Network } from '../src/ir/types.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { learnedPattern, PARAMETERS_KEY } from '../src/onnx/parameters.js';
import { decodeModel } from '../src/onnx/proto.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { decodeNpy } from '../src/data/npy-array.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { onnxParamCount } from '../src/onnx/prepare.js';
import { vkdnw } from '../src/proxies/vkdnw.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import type { ProxyRunOptions } from '../src/proxies/run.js';
import { writeOnnxModel } from './helpers.js';

// nn.Parameters read in arithmetic (layer scales, a ReZero gain read twice, a learned shift, a scalar subtracted, a
// temperature): the official fixture `layerscale`, whose files list the model's parameters in their metadata
const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.layerscale;
const vx = decodeNpy(readFileSync(join(DIR, expected.vkdnw.inputs)), expected.vkdnw.inputs);
type Model = ReturnType<typeof decodeModel>;

function variant(edit: (m: Model) => void, file = expected.vkdnw.onnx): string {
  const m = decodeModel(readFileSync(join(DIR, file)));
  edit(m);
  return writeOnnxModel(m, 'layerscale-variant.onnx');
}
const unlisted = (m: Model) => {
  m.metadataProps = (m.metadataProps ?? []).filter((p) => p.key !== PARAMETERS_KEY);
};
const proxyModel = (path: string, learned?: RegExp) => onnxProxyModel(loadOnnxModel(path), [3, 16, 16], learned);
const learnedNodes = (net: Network) =>
  net.nodes.filter((n) => n.op === 'act' && n.learned !== undefined).map((n) => (n.op === 'act' ? n : undefined)!);

describe('nn.Parameters read as arithmetic constants', () => {
  it('are learned where the file lists them: Θ and VKDNW as PyTorch has them (the official values)', () => {
    const m = proxyModel(join(DIR, expected.vkdnw.onnx));
    expect(countParams(m.net)).toBe(expected.torch_params);
    const learned = learnedNodes(m.net);
    // gamma (C,), layer_scale (C,1,1), alpha read twice, shift, offset (x - c), temp (a divisor)
    expect(learned.map((n) => [n.fn, n.learned, n.stateSign])).toEqual([
      ['scale', 8, 1],
      ['scale', 8, 1],
      ['shift', 16, 1],
      ['scale', 1, 1],
      ['scale', 0, 1],
      ['shift', 1, -1],
      ['divide', 1, 1],
    ]);
    expect(learned[4]!.firstCall).toBe(learned[3]!.id);
    const s = vkdnw(m.net, m.params, vx.data, vx.shape[0]!);
    expect(s.vkdnw_dim.value).toBe(expected.vkdnw.vkdnw_dim);
    expect(Math.abs(s.vkdnw.value! - expected.vkdnw.entropy_float64)).toBeLessThan(
      1e-4 * expected.vkdnw.entropy_float64,
    );
    expect(m.notes.join('\n')).toMatch(/6 nn\.Parameter tensor\(s\) read as arithmetic constants/);
    expect(m.notes.join('\n')).not.toMatch(/read as a constant|read as constants in arithmetic/);
  });

  it("are buffers in a file that does not say (with the note), and learned again by the user's pattern", () => {
    const plain = proxyModel(variant(unlisted));
    expect(learnedNodes(plain.net)).toEqual([]);
    // 8 + 8 + 16 + 1 + 1 + 1 values the official count has
    expect(countParams(plain.net)).toBe(expected.torch_params - 35);
    expect(vkdnw(plain.net, plain.params, vx.data, vx.shape[0]!).vkdnw_dim.value).toBe(expected.vkdnw.vkdnw_dim - 6);
    expect(plain.notes.join('\n')).toMatch(/initializers \(.*\) are read as constants in arithmetic/);
    const named = proxyModel(variant(unlisted), /gamma|layer_scale|alpha|shift|offset|temp/);
    expect(countParams(named.net)).toBe(expected.torch_params);
    const s = vkdnw(named.net, named.params, vx.data, vx.shape[0]!);
    expect(s.vkdnw_dim.value).toBe(expected.vkdnw.vkdnw_dim);
    expect(Math.abs(s.vkdnw.value! - expected.vkdnw.entropy_float64)).toBeLessThan(
      1e-4 * expected.vkdnw.entropy_float64,
    );
    // the input's normalising buffer stays a buffer: not in the list, not matched
    expect(named.net.nodes.some((n) => n.op === 'act' && n.stateSign === -1 && n.learned === undefined)).toBe(true);
  });

  it('are the same on the native engine: the per-sample columns of scale, shift (also of x - c) and divide', async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
    const m = proxyModel(join(DIR, expected.vkdnw.onnx));
    const [n, c, h, w] = vx.shape as [number, number, number, number];
    const o: ProxyRunOptions = {
      protocol: 'swap',
      seed: 0,
      images: { n, c, h, w, data: Float32Array.from(vx.data), source: 'layerscale' },
      batch: n,
      weights: m.params,
    };
    const r = await nativeProxyRunner(load.addon, 2).run(m.net, ['vkdnw', 'vkdnw_dim'], o);
    expect(r.settings.vkdnw).toMatchObject({ engine: 'native' });
    expect(r.values.vkdnw_dim!.value).toBe(expected.vkdnw.vkdnw_dim);
    const v = r.values.vkdnw!.value!;
    expect(Math.abs(v - expected.vkdnw.entropy_float64)).toBeLessThan(1e-4 * expected.vkdnw.entropy_float64);
  });

  it('read in part (an element of one): Θ counts them, VKDNW is null with the reason', () => {
    // the first value of shift added instead of shift (a Slice of the initializer: no whole tensor to differentiate)
    const path = variant((m) => {
      const nodes = m.graph!.node!;
      const add = nodes.find((n) => n.input?.includes('shift'))!;
      add.input = add.input!.map((t) => (t === 'shift' ? 'shift_0' : t));
      const ints = (name: string, v: number) => ({
        opType: 'Constant',
        output: [name],
        name,
        attribute: [{ name: 'value', type: 4, t: { dims: [4], dataType: 7, int64Data: [v, v, v, v] } }],
      });
      nodes.unshift(ints('first', 0), ints('one', 1), {
        opType: 'Slice',
        input: ['shift', 'first', 'one'],
        output: ['shift_0'],
        name: 'shift_slice',
      });
    });
    const r = importOnnxModel(loadOnnxModel(path), { inputShape: [3, 16, 16] });
    if (!r.ok) throw new Error(r.reason);
    expect(r.network.constantParams).toEqual({ values: 16, names: ['shift'] });
    expect(countParams(r.network)).toBe(expected.torch_params);
    expect(r.notes.join('\n')).toMatch(/1 nn\.Parameter \(shift\) is read only through other constants or in part/);
    const m = proxyModel(path);
    const s = vkdnw(m.net, m.params, vx.data, vx.shape[0]!);
    expect(s.vkdnw).toMatchObject({ value: null, reason: expect.stringMatching(/enter only through other constants/) });
    expect(s.vkdnw_dim.value).toBeNull();
  });

  it('survive an ONNX export and import: the same learned nodes, Θ and VKDNW dimension', () => {
    const m = proxyModel(join(DIR, expected.vkdnw.onnx));
    const again = importOnnxModel(loadOnnxModel(exportNetworkOnnx(m.net, { seed: 3 })), { inputShape: [3, 16, 16] });
    if (!again.ok) throw new Error(again.reason);
    const shape = (net: Network) => learnedNodes(net).map((n) => [n.fn, n.learned, n.stateSign, n.alpha, n.alphas]);
    expect(shape(again.network)).toEqual(shape(m.net));
    expect(countParams(again.network)).toBe(countParams(m.net));
  });

  it("give SWAP's Θ of the file: the listed parameters, else every float initializer but BN statistics", () => {
    expect(onnxParamCount(loadOnnxModel(join(DIR, expected.onnx)))).toBe(expected.torch_params);
    // without the list the input's normalising buffer (3 values) counts too
    expect(onnxParamCount(loadOnnxModel(variant(unlisted, expected.onnx)))).toBe(expected.torch_params + 3);
  });

  it('refuse a malformed list or pattern, saying which', () => {
    const bad = variant((m) => {
      m.metadataProps = [{ key: PARAMETERS_KEY, value: '{"gamma": 1}' }];
    });
    expect(() => proxyModel(bad)).toThrow(/metadata swapnas\.parameters must be a JSON array of parameter names/);
    expect(() => learnedPattern('(gamma')).toThrow(/--learned must be a regular expression/);
    expect(learnedPattern(undefined)).toBeUndefined();
  });
});
