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

  it('give every proxy the official value from the folded file too (the saliencies routed for fisher)', async () => {
    const names = 'grad_norm,snip,plain,fisher,grasp,jacov,epe_nas,nwot,l2_norm,synflow,params';
    const { folded, plain, want } = await foldedAndPlainProxies(DIR, e, names);
    const v = folded['proxies'] as Record<string, number>;
    expect(v).toEqual(plain['proxies']);
    for (const k of names.split(','))
      expect(Math.abs(v[k]! - want[k]!), k).toBeLessThanOrEqual(1e-4 * Math.abs(want[k]!));
    const routed = (plain['routed'] ?? {}) as Record<string, string>;
    expect(routed['fisher']).toMatch(/channels-last output per row/);
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
