/**
 * GroupNorm, InstanceNorm and LayerNorm files as users export them: torch.onnx's default constant folding turns a
 * GroupNorm's γ, β views into initializers named `onnx::Mul_k`, which are still the module's parameters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { foldedAndPlainProxies } from './helpers.js';

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const ONNX = join(import.meta.dirname, 'fixtures', 'onnx');
const e = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.norms;

describe('normalisation layers in a constant-folded export', () => {
  it('import with the same gn nodes and γ, β as parameters', () => {
    const gns = (file: string) => {
      const m = loadOnnxModel(join(DIR, file));
      const r = importOnnxModel(m, { inputShape: [3, 32, 32] });
      if (!r.ok) throw new Error(r.reason);
      return {
        nodes: r.network.nodes.filter((n) => n.op === 'gn').map((n) => n.op === 'gn' && [n.groups, n.affine]),
        norms: r.norms.length,
      };
    };
    const folded = gns(e.folded_onnx);
    expect(folded).toEqual(gns(e.onnx));
    // GroupNorm(2), the affine InstanceNorm, the LayerNorm: three with parameters; the plain InstanceNorm none
    expect(folded.nodes).toEqual([
      [2, true],
      [16, true],
      [16, false],
      [1, true],
    ]);
    expect(folded.norms).toBe(3);
  });

  it('SWAP --reinit: ONNX Runtime resets γ, β to 1, 0 as the IR engines hold them (trained values in the file)', async () => {
    // the GroupNorm (opset 13 chain), InstanceNorm and LayerNorm (opset 17 nodes) fixtures with γ, β far from 1, 0
    for (const name of ['normnet', 'instnorm17']) {
      const m = decodeModel(readFileSync(join(ONNX, `${name}.onnx`)));
      for (const t of m.graph!.initializer!)
        if (/^(gn|ln)\.(weight|bias)$/.test(t.name!)) {
          const v = Float32Array.from(
            { length: 8 },
            (_, i) => (t.name!.endsWith('bias') ? 0.8 : 2) * Math.sin(3 * i + 1),
          );
          t.rawData = new Uint8Array(v.buffer);
        }
      const file = encodeModel(m);
      const fresh = { reinit: true, repeats: 3, batch: 16 } as const;
      const ort = await scoreOnnxModel(file, { ...fresh, engine: 'ort' });
      for (const backend of ['native', 'reference'] as const) {
        const ir = await scoreOnnxModel(file, { ...fresh, engine: 'ir', backend });
        expect(ir.perRepeat, `${name} ${backend}`).toEqual(ort.perRepeat);
      }
      // the file's own γ, β count otherwise (ONNX Runtime on the model's weights differs from a fresh draw's)
      const own = await scoreOnnxModel(file, { batch: 16 });
      expect(own.perRepeat[0]).not.toBe(ort.perRepeat[0]);
    }
  });

  it('give every proxy the official value, as the unfolded file does', async () => {
    const names = 'grad_norm,snip,plain,fisher,grasp,jacov,epe_nas,nwot,l2_norm,synflow,synflow_bn,params';
    const { folded, plain, want } = await foldedAndPlainProxies(DIR, e, names);
    const v = folded['proxies'] as Record<string, number>;
    expect(v).toEqual(plain['proxies']);
    for (const k of names.split(','))
      expect(Math.abs(v[k]! - want[k]!), k).toBeLessThanOrEqual(1e-4 * Math.abs(want[k]!));
  });

  it('refuse chains that are not a per-sample normalisation with per-channel γ, β, and a scale without a bias', () => {
    const edited = (name: string, edit: (m: ReturnType<typeof decodeModel>) => void) => {
      const m = decodeModel(readFileSync(join(ONNX, `${name}.onnx`)));
      edit(m);
      const r = importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 32, 32] });
      return r.ok ? '' : r.reason;
    };
    const init = (
      m: ReturnType<typeof decodeModel>,
      name: string,
      dims: number[],
      int: number[] | undefined,
      n = 8,
    ) => {
      m.graph!.initializer!.push(
        int
          ? { name, dims, dataType: 7, int64Data: int }
          : { name, dims, dataType: 1, floatData: Array.from({ length: n }, (_, i) => 1 + i / 10) },
      );
      return name;
    };
    const node = (m: ReturnType<typeof decodeModel>, name: string) => m.graph!.node!.find((n) => n.name === name)!;
    // statistics over a Reshape to [1, 2, -1]: samples mixed
    expect(
      edited('normnet', (m) => {
        node(m, '/gn/Reshape').input![1] = init(m, 'mixed', [3], [1, 2, -1]);
      }),
    ).toMatch(/reshape X to \[1, 2, -1\], which mixes samples/);
    // reshaped back to another shape than X's
    expect(
      edited('normnet', (m) => {
        node(m, '/gn/Reshape_1').input![1] = init(m, 'back', [4], [0, 8, 16, 64]);
      }),
    ).toMatch(/reshaped back to \[0, 8, 16, 64\]/);
    // a γ and β broadcast over the width, not per channel
    expect(
      edited('normnet', (m) => {
        node(m, '/gn/Mul').input![1] = init(m, 'wide', [32], undefined, 32);
        node(m, '/gn/Add').input![1] = init(m, 'wide_b', [32], undefined, 32);
      }),
    ).toMatch(/shaped \[32\]; one per channel is \[8, 1, 1\]/);
    // opset 17's LayerNormalization with a learned scale and no bias (F.layer_norm(x, w, None))
    expect(
      edited('instnorm17', (m) => {
        node(m, '/ln/LayerNormalization').input = ['/ReduceMean_output_0', 'ln.weight'];
      }),
    ).toMatch(/a learned scale without a bias/);
  });

  it('a scalar Mul / Add after a normalisation without affine parameters is arithmetic, not γ, β (ORT --reinit keeps it)', async () => {
    // LayerNorm over the map without affine, then `* 0.5 - 4`: ReLU mostly dead, whatever the draw
    const b = new GraphBuilder([3, 8, 8]);
    const n = b.act(b.act(b.gn(b.conv(b.input, 8, 3, { pad: 1 }), 1, false), 'scale', 0.5), 'shift', -4);
    const net = b.finish(b.linear(b.gap(b.relu(b.conv(b.relu(n), 8, 3, { pad: 1 }))), 10));
    const file = exportNetworkOnnx(net, { seed: 1 });
    const r = importOnnxModel(loadOnnxModel(file), { inputShape: [3, 8, 8] });
    if (!r.ok) throw new Error(r.reason);
    expect(r.network.nodes.filter((x) => x.op === 'gn' || x.op === 'act').map((x) => x.op)).toEqual([
      'gn',
      'act',
      'act',
    ]);
    const fresh = { reinit: true, repeats: 2, inputs: gaussianBatch(8, 3, 8, 8, 2) } as const;
    const ort = await scoreOnnxModel(file, { ...fresh, engine: 'ort' });
    const ir = await scoreOnnxModel(file, { ...fresh, engine: 'ir', backend: 'native' });
    expect(ir.perRepeat).toEqual(ort.perRepeat);
  });
});
