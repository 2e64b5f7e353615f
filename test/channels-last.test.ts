/**
 * ConvNeXt-style models: maps permuted to channels-last (N, H, W, C), an nn.LayerNorm and nn.Linear over C, element-wise
 * ops and the permute back import as the map's own ops (the LayerNorm as a pixelwise `gn`, the Linear as a 1×1 conv).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { onnxParams, toOnnxLayout } from '../src/onnx/params.js';
import { tensorValues } from '../src/onnx/proto.js';
import { mecoOneRow } from '../src/proxies/meco.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { saliencies } from '../src/proxies/saliency.js';
import { normGraphs, randomData, randomParams } from './grad-graphs.js';
import { foldedAndPlainProxies } from './helpers.js';

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const e = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.convnext;

function imported(file: string | Uint8Array) {
  const r = importOnnxModel(loadOnnxModel(typeof file === 'string' ? join(DIR, file) : file), {
    inputShape: [3, 16, 16],
  });
  if (!r.ok) throw new Error(r.reason);
  return r;
}

/** The reason `edit` of convnext.onnx is refused with. */
function refusal(edit: (m: ReturnType<typeof decodeModel>) => void): string {
  const m = decodeModel(readFileSync(join(DIR, e.onnx)));
  edit(m);
  const r = importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 16, 16] });
  return r.ok ? '' : r.reason;
}

describe('channels-last regions (ConvNeXt)', () => {
  it('import LayerNorms over C as pixelwise gn nodes and channels-last Linears as 1×1 convs, folded or not', () => {
    const shape = (file: string) => {
      const r = imported(file);
      const nodes = r.network.nodes;
      return {
        gn: nodes.filter((n) => n.op === 'gn').map((n) => n.op === 'gn' && [n.pixelwise === true, n.affine]),
        pointwise: (r.network.channelsLastLinears ?? []).map((id) => nodes[id]!.op === 'conv' && nodes[id]!.shape),
        norms: r.norms.length,
      };
    };
    const plain = shape(e.onnx);
    expect(shape(e.folded_onnx)).toEqual(plain);
    // stem LayerNorm2d, block 1's LayerNorm, the downsampling LayerNorm2d, block 2's, then the head's (flat)
    expect(plain.gn).toEqual([
      [true, true],
      [true, true],
      [true, true],
      [true, true],
      [false, true],
    ]);
    expect(plain.pointwise).toEqual([
      [32, 8, 8],
      [8, 8, 8],
      [64, 4, 4],
      [16, 4, 4],
    ]);
    expect(plain.norms).toBe(5);
    // the official ConvNeXt's channels_first LayerNorm (its statistics over axis 1 written out) is the same op, and
    // timm's head (a LayerNorm2d of the pooled map) a pixelwise one of the 1×1 map
    const cf = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.convnextcf;
    expect(shape(cf.onnx)).toEqual({ ...plain, gn: [...plain.gn.slice(0, 4), [true, true]] });
  });

  it("keep named_parameters() order (VKDNW's first 128 tensors) and give gradients back in the file's layout", () => {
    for (const file of [e.onnx, e.folded_onnx]) {
      const m = loadOnnxModel(join(DIR, file));
      const r = imported(file);
      // the Linear weights read through a Transpose (or folded into onnx::MatMul_k, written after every state_dict
      // entry) rank as their module's: the order is node order, as named_parameters() is here
      expect(r.network.parameterOrder, file).toBeUndefined();
      const { params, names } = onnxParams(m, r.network, r.weightIds, r.norms);
      // unfolded, a Linear's weight is read through a Transpose: the module's own [out][in] tensor, by its name
      if (file === e.onnx) expect(names.get('block1.pwconv1.weight')).toMatchObject({ transposed: false });
      let checked = 0;
      for (const [name, ref] of names)
        if (ref.kind === 'weight' && r.network.channelsLastLinears!.includes(ref.node)) {
          const back = toOnnxLayout(r.network, ref, Float64Array.from(params[ref.node]!.weight!));
          expect(Array.from(back), name).toEqual(Array.from(tensorValues(m.consts.get(name)!), Math.fround));
          checked++;
        }
      expect(checked).toBe(4);
    }
  });

  it("fisher by rows: the addon's row sums give the reference's value on the float32 and float64 passes", async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(load.reason);
    const plain = normGraphs().find((g) => g.name === 'channel-layer-norm')!.net;
    // its 1×1 convs as nn.Linear layers over a channels-last map
    const pointwise = plain.nodes.filter((n) => n.op === 'conv' && n.k === 1).map((n) => n.id);
    expect(pointwise.length).toBe(2);
    const net = { ...plain, channelsLastLinears: pointwise };
    const params = randomParams(net, 5);
    const { x: x64, labels } = randomData(net, 4, 7);
    const x = Float32Array.from(x64); // what the addon is fed
    const want = saliencies(net, params, x, labels).fisher.value!;
    // rows, not channels: the plain network's fisher differs
    expect(Math.abs(saliencies(plain, params, x, labels).fisher.value! - want)).toBeGreaterThan(1e-3 * Math.abs(want));
    const [c, h, w] = net.nodes[0]!.shape as [number, number, number];
    const images = { n: 4, c, h, w, data: x, source: 'rows' };
    const runner = nativeProxyRunner(load.addon, 2);
    for (const [precision, rel] of [
      ['float32', 1e-4],
      ['float64', 1e-9],
    ] as const) {
      const r = await runner.run(net, ['fisher'], { seed: 0, images, labels, batch: 4, weights: params, precision });
      expect(r.settings.fisher, precision).toMatchObject({ engine: 'native' });
      expect(Math.abs(r.values.fisher!.value! - want), precision).toBeLessThanOrEqual(rel * Math.abs(want));
    }
  });

  it('MeCo is null with the reason where a hooked output has one row (the official code raises)', () => {
    const b = new GraphBuilder([3, 4, 4]);
    const one = b.relu(b.conv(b.input, 1, 3, { pad: 1 }));
    const wide = b.relu(b.conv(one, 4, 3, { stride: 4, pad: 1 }));
    const net = b.finish(b.linear(b.gap(wide), 10));
    // without scopes (the leaf modules): the one-channel conv
    expect(mecoOneRow(net, {})).toMatchObject({ value: null, reason: expect.stringMatching(/one row/) });
    // a channels-last module of one row h (a 4×1×1 map read as (1, 1, 4)), and the same map channels-first
    expect(mecoOneRow(net, { modules: [wide], channelsLastCalls: [0] })?.value).toBeNull();
    expect(mecoOneRow(net, { modules: [wide] })).toBeUndefined();
  });

  it("give every proxy the official value from the folded file too (fisher from the addon's row sums)", async () => {
    const names = 'grad_norm,snip,plain,fisher,grasp,jacov,epe_nas,nwot,l2_norm,synflow,params';
    const { folded, plain, want } = await foldedAndPlainProxies(DIR, e, names);
    const v = folded['proxies'] as Record<string, number>;
    expect(v).toEqual(plain['proxies']);
    for (const k of names.split(','))
      expect(Math.abs(v[k]! - want[k]!), k).toBeLessThanOrEqual(1e-4 * Math.abs(want[k]!));
    const routed = (plain['routed'] ?? {}) as Record<string, string>;
    expect(routed['fisher']).toBeUndefined();
  });

  it('SWAP --reinit: ONNX Runtime, native and reference count the same (a ReLU in a channels-last block)', async () => {
    const file = readFileSync(join(DIR, e.onnx));
    const fresh = { reinit: true, repeats: 2, batch: 16 } as const;
    const ort = await scoreOnnxModel(file, { ...fresh, engine: 'ort' });
    for (const backend of ['native', 'reference'] as const) {
      const ir = await scoreOnnxModel(file, { ...fresh, engine: 'ir', backend });
      expect(ir.perRepeat, backend).toEqual(ort.perRepeat);
    }
  });

  it('refuse what is not a per-pixel op on a channels-last map, saying why', () => {
    const node = (m: ReturnType<typeof decodeModel>, op: string) => m.graph!.node!.find((n) => n.opType === op)!;
    // a permute to another layout
    expect(
      refusal((m) => {
        node(m, 'Transpose').attribute!.find((a) => a.name === 'perm')!.ints = [0, 3, 2, 1];
      }),
    ).toMatch(/permute to channels-last and back/);
    // a Linear's weight that no longer fits C
    expect(
      refusal((m) => {
        const mm = node(m, 'MatMul');
        m.graph!.initializer!.push({ name: 'w_bad', dims: [5, 32], dataType: 1, floatData: new Array(160).fill(0.1) });
        mm.input![1] = 'w_bad';
      }),
    ).toMatch(/MatMul weight does not fit/);
    // a constant over the rows (H) rather than the channels (the last axis)
    expect(
      refusal((m) => {
        const add = m.graph!.node!.find((n) => n.opType === 'Add' && n.name?.includes('pwconv1'))!;
        m.graph!.initializer!.push({ name: 'rows', dims: [8, 1, 32], dataType: 1, floatData: new Array(256).fill(1) });
        add.input![add.input!.indexOf('block1.pwconv1.bias')] = 'rows';
      }),
    ).toMatch(/on a channels-last map; only a scalar or one value per channel/);
    // a channels-last map added to a channels-first one
    expect(
      refusal((m) => {
        const add = m.graph!.node!.find((n) => n.opType === 'Add' && n.name?.includes('pwconv1'))!;
        add.input![add.input!.indexOf('block1.pwconv1.bias')] = node(m, 'Conv').output![0]!;
      }),
    ).toMatch(/mixes a channels-last map with/);
  });
});
