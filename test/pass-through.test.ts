import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../src/data/npy-array.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel } from '../src/onnx/proto.js';
import { meco } from '../src/proxies/meco.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { nwotF64 } from '../src/proxies/nwot.js';
import type { Network } from '../src/ir/types.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { writeOnnxModel, npyRunOptions } from './helpers.js';

// Modules that return their input (nn.Identity, an empty nn.Sequential, DropPath at rate 0) leave no node in a plain
// torch.onnx export, while MeCo's official hooks read each; the Python client's export (and the fixture `passthrough`,
// written the same way) gives each call an Identity node in its scope
const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const e = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.passthrough;
const one = decodeNpy(readFileSync(join(DIR, e.meco_input)), e.meco_input);

/** An int64 Constant node (torch.onnx's shape arithmetic operands). */
function int64(name: string, v: number[], dims: number[]) {
  return {
    opType: 'Constant',
    output: [name],
    name,
    attribute: [{ name: 'value', type: 4, t: { dims, dataType: 7, int64Data: v } }],
  };
}

function mecoOf(path: string): number {
  const m = onnxProxyModel(loadOnnxModel(path), [3, 32, 32]);
  const calls = m.modules!.map((id, i) => ({ id, channelsLast: (m.channelsLastCalls ?? []).includes(i) }));
  return meco(m.net, m.params, one.data, 1, 'train', calls).value!;
}

describe('calls of modules that return their input', () => {
  it("are MeCo terms where the file shows them as Identity nodes: the official value (the client's export)", () => {
    expect(Math.abs(mecoOf(join(DIR, e.onnx)) - e.meco)).toBeLessThan(1e-4 * e.meco);
  });

  it('are missing from a plain export (no node): MeCo short by their five terms', () => {
    // the same file with every Identity node removed, its readers reading its input: what torch.onnx writes
    const m = decodeModel(readFileSync(join(DIR, e.onnx)));
    const nodes = m.graph!.node!;
    const alias = new Map(nodes.filter((n) => n.opType === 'Identity').map((n) => [n.output![0]!, n.input![0]!]));
    expect(alias.size).toBe(5);
    const source = (t: string): string => (alias.has(t) ? source(alias.get(t)!) : t);
    m.graph!.node = nodes.filter((n) => n.opType !== 'Identity');
    for (const n of m.graph!.node) n.input = n.input!.map(source);
    const plain = mecoOf(writeOnnxModel(m, 'passthrough-plain.onnx'));
    // norm (the input), shortcut (the stem's ReLU), conv.2 and drop_path (the BN), down.3 (the ReLU): 1.0014 in all
    expect(e.meco - plain).toBeGreaterThan(0.9);
    expect(e.meco - plain).toBeLessThan(1.1);
  });
});

describe('a file exported without the common-subexpression merge (the Python client keeps sibling ops apart)', () => {
  it("imports the official ConvNeXt's channels_first LayerNorm with its two (x - u): the same network", () => {
    const m = decodeModel(readFileSync(join(DIR, 'convnextcf.onnx')));
    const nodes = m.graph!.node!;
    // every LayerNorm's Div reads a second, identical Sub of its own
    let copies = 0;
    for (const div of nodes.filter((n) => n.opType === 'Div' && n.name?.includes('stem.1'))) {
      const sub = nodes.find((n) => n.output?.[0] === div.input![0])!;
      const copy = { ...sub, name: `${sub.name}_1`, output: [`${sub.output![0]}_1`] };
      nodes.splice(nodes.indexOf(div), 0, copy);
      div.input = [copy.output[0]!, div.input![1]!];
      copies++;
    }
    expect(copies).toBe(1);
    const ops = (path: string) => onnxProxyModel(loadOnnxModel(path), [3, 16, 16]).net.nodes.map((n) => n.op);
    expect(ops(writeOnnxModel(m, 'convnextcf-two-subs.onnx'))).toEqual(ops(join(DIR, 'convnextcf.onnx')));
  });
});

describe('a file exported with a dynamic batch (the Python client does)', () => {
  it("reads a window and an element of a buffer bounded by a map's shape: the same network, still state entries", () => {
    // statearith's `self.off[:, : f1.shape[1]]`: the Slice's end from Shape(f1) → Gather(1) → Unsqueeze, as torch.onnx
    // writes it where the batch is dynamic (a static export makes it a Constant)
    const m = decodeModel(readFileSync(join(DIR, 'statearith.onnx')));
    const nodes = m.graph!.node!;
    const slice = nodes.find((n) => n.opType === 'Slice' && n.input![0] === 'off')!;
    const f1 = nodes.find((n) => n.output?.[0] === '/Sub_2_output_0')!.input![0]!;
    nodes.splice(
      nodes.indexOf(slice),
      0,
      { opType: 'Shape', input: [f1], output: ['f1_shape'], name: 'f1_shape' },
      int64('one', [1], []),
      { opType: 'Gather', input: ['f1_shape', 'one'], output: ['f1_c'], name: 'f1_c', attribute: [] },
      int64('zero_axis', [0], [1]),
      { opType: 'Unsqueeze', input: ['f1_c', 'zero_axis'], output: ['f1_end'], name: 'f1_end' },
    );
    slice.input = [slice.input![0]!, slice.input![1]!, 'f1_end', ...slice.input!.slice(3)];
    // and `self.temp[0]`'s index computed from the input's shape as −(c − c): a Sub and a Neg of shape values
    const gather = nodes.find((n) => n.opType === 'Gather' && n.input![0] === 'temp')!;
    gather.input = ['temp', 'temp_index'];
    nodes.unshift(
      { opType: 'Shape', input: ['input'], output: ['x_shape'], name: 'x_shape' },
      int64('index1', [1], []),
      { opType: 'Gather', input: ['x_shape', 'index1'], output: ['x_c'], name: 'x_c', attribute: [] },
      { opType: 'Sub', input: ['x_c', 'x_c'], output: ['c_minus_c'], name: 'c_minus_c' },
      { opType: 'Neg', input: ['c_minus_c'], output: ['temp_index'], name: 'temp_index' },
    );
    const net = (path: string) => onnxProxyModel(loadOnnxModel(path), [3, 16, 16]).net;
    const [dynamic, plain] = [net(writeOnnxModel(m, 'statearith-dynamic.onnx')), net(join(DIR, 'statearith.onnx'))];
    expect(dynamic.nodes).toEqual(plain.nodes);
  });
});

describe('the head and the ReLUs of a file the Python client writes', () => {
  const resnetish = () => decodeModel(readFileSync(join(DIR, 'resnetish.onnx')));
  const net = (path: string) => onnxProxyModel(loadOnnxModel(path), [3, 32, 32]).net;

  it('reads `out.view(out.size(0), -1)` after the global pool at a dynamic batch: the flatten it is', () => {
    const m = resnetish();
    const nodes = m.graph!.node!;
    const flatten = nodes.findIndex((n) => n.opType === 'Flatten');
    const [pooled, flat] = [nodes[flatten]!.input![0]!, nodes[flatten]!.output![0]!];
    nodes.splice(
      flatten,
      1,
      { opType: 'Shape', input: [pooled], output: ['pooled_shape'], name: 'pooled_shape' },
      int64('zero', [0], []),
      { opType: 'Gather', input: ['pooled_shape', 'zero'], output: ['batch'], name: 'batch', attribute: [] },
      int64('axis0', [0], [1]),
      { opType: 'Unsqueeze', input: ['batch', 'axis0'], output: ['batch1'], name: 'batch1' },
      int64('rest', [-1], [1]),
      {
        opType: 'Concat',
        input: ['batch1', 'rest'],
        output: ['to'],
        name: 'to',
        attribute: [{ name: 'axis', type: 2, i: 0 }],
      },
      { opType: 'Reshape', input: [pooled, 'to'], output: [flat], name: 'view' },
    );
    expect(net(writeOnnxModel(m, 'resnetish-view.onnx')).nodes).toEqual(net(join(DIR, 'resnetish.onnx')).nodes);
  });

  it('counts two ReLU nodes of one tensor as two module calls in nwot (each hooked), one IR node (Ψ reads it once)', async () => {
    // a second Relu of the residual sum, in a scope of its own, read by the shortcut's pool
    const m = resnetish();
    const nodes = m.graph!.node!;
    const relu = nodes.find((n) => n.name === '/res_relu/Relu')!;
    const pad = nodes.find((n) => n.opType === 'Pad')!;
    nodes.splice(nodes.indexOf(relu) + 1, 0, {
      opType: 'Relu',
      input: [relu.input![0]!],
      output: ['/res_relu2/Relu_output_0'],
      name: '/res_relu2/Relu',
    });
    pad.input = ['/res_relu2/Relu_output_0', ...pad.input!.slice(1)];
    const [twin, one] = [
      onnxProxyModel(loadOnnxModel(writeOnnxModel(m, 'resnetish-twin.onnx')), [3, 32, 32]),
      onnxProxyModel(loadOnnxModel(join(DIR, 'resnetish.onnx')), [3, 32, 32]),
    ];
    // the same nodes (and node ids: the same PRNG draws under --reinit), the sum's ReLU standing for two calls
    const plain = (n: Network) => n.nodes.map((k) => (k.op === 'relu' ? { ...k, calls: undefined } : k));
    expect(JSON.stringify(plain(twin.net))).toBe(JSON.stringify(plain(one.net)));
    expect(twin.net.nodes.filter((k) => k.op === 'relu' && k.calls === 2)).toHaveLength(1);
    const x = decodeNpy(readFileSync(join(DIR, 'resnetish-x.npy')), 'resnetish-x.npy');
    const B = x.shape[0]!;
    // NASLib's K gains that ReLU's codes once more: a larger log-determinant, the same on the native pass
    const ref = nwotF64(twin.net, twin.params, x.data, B).value!;
    expect(ref).toBeGreaterThan(nwotF64(one.net, one.params, x.data, B).value!);
    const load = loadAddon();
    if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
    const nat = await nativeProxyRunner(load.addon, 2).run(
      twin.net,
      ['nwot'],
      npyRunOptions(x, twin.params, 'resnetish'),
    );
    expect(nat.settings.nwot).toMatchObject({ engine: 'native' });
    expect(Math.abs(nat.values.nwot!.value! - ref)).toBeLessThan(1e-9 * Math.abs(ref));
    // and an ONNX export keeps the two calls apart: the same node back
    const again = importOnnxModel(loadOnnxModel(exportNetworkOnnx(twin.net)), { inputShape: [3, 32, 32] });
    if (!again.ok) throw new Error(again.reason);
    expect(again.network.nodes.filter((k) => k.op === 'relu' && k.calls === 2)).toHaveLength(1);
  });
});
