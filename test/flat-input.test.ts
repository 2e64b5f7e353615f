/**
 * Models on flat (N, F) inputs (an MLP, exported with a 2-D input): imported as F channels of 1×1 read flat, fed
 * (N, F) batches on ONNX Runtime, and given feature vectors (.npy, Gaussian) or images flattened.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { onnxProxiesDoc } from '../src/cli/proxies.js';
import { onnxOptionsFromFlags } from '../src/cli/score-onnx.js';
import { imageShapeForFeatures } from '../src/data/flat.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { decodeNpyBatch } from '../src/data/npy.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel, modelSampleShape } from '../src/onnx/load.js';
import { resolveInputShape, scoreOnnxModel } from '../src/score/onnx-model.js';
import { withInputDims } from './helpers.js';

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const MLP = join(DIR, 'flatmlp.onnx');
const NB201 = join(import.meta.dirname, 'fixtures', 'onnx', 'nb201_b_opset13.onnx');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.flatmlp;

/** An MLP on `f` features written by the ONNX export (4-D input, Flatten) and given an (N, f) input. */
function mlpOn(f: number): Uint8Array {
  const b = new GraphBuilder([f, 1, 1]);
  const h = b.relu(b.linear(b.flatten(b.input), 16));
  return withInputDims(exportNetworkOnnx(b.finish(b.linear(h, 10)), { seed: 3 }), ['N', f]);
}

describe('flat (N, F) inputs', () => {
  it('load as F channels of 1×1, and import with the input read flat', () => {
    const m = loadOnnxModel(MLP);
    expect(m.input).toMatchObject({ flat: true, dims: [8, 48] });
    expect(modelSampleShape(m)).toEqual([48, 1, 1]);
    const imp = importOnnxModel(m, { inputShape: [48, 1, 1] });
    if (!imp.ok) throw new Error(imp.reason);
    expect(imp.network.nodes[1]).toMatchObject({ op: 'flatten', inputs: [0], shape: [48] });
    expect(modelSampleShape(loadOnnxModel(withInputDims(readFileSync(MLP), ['N', 'F'])))).toBeUndefined();
  });

  it('an (N, F) .npy array is a batch of F channels of 1×1', () => {
    const b = decodeNpyBatch(readFileSync(join(DIR, expected.inputs)), 'x');
    expect([b.n, b.c, b.h, b.w]).toEqual([8, 48, 1, 1]);
  });

  it('score --proxies with an (N, F) .npy and its labels equals the official code on the MLP', async () => {
    const doc = await onnxProxiesDoc(MLP, {
      proxies: 'grad_norm,snip,jacov,nwot',
      proxyProtocol: 'swap',
      input: join(DIR, expected.inputs),
      labels: join(DIR, expected.labels),
      batch: '8',
      format: 'json',
    });
    const v = doc.results[0]!['proxies'] as Record<string, number>;
    for (const [k, want] of [
      ['grad_norm', expected.zc.grad_norm],
      ['snip', expected.zc.snip],
      ['jacov', expected.zc.jacob_cov],
      ['nwot', expected.naslib.nwot],
    ] as const)
      expect(Math.abs(v[k]! - want), k).toBeLessThanOrEqual(1e-4 * Math.abs(want));
  });

  it('SWAP: an MLP has no SWAP-Score on any engine', async () => {
    // the official SWAP hooks ReLUs on 4-D tensors only: an MLP's count is undefined, on every engine alike
    const batch = gaussianBatch(16, 48, 1, 1, 2);
    for (const o of [{ engine: 'ort' }, { backend: 'reference' }, { backend: 'native' }] as const)
      await expect(scoreOnnxModel(MLP, { batch: 16, inputs: batch, reinit: true, ...o })).rejects.toMatchObject({
        message: expect.stringMatching(/SWAP-Score is undefined/),
      });
  });

  it('a dynamic F comes from --input-shape F or the batch; an image shape for a flat input is refused', async () => {
    const mlp = withInputDims(readFileSync(MLP), ['N', 'F']);
    const m = loadOnnxModel(mlp);
    expect(resolveInputShape(m, [48, 1, 1], undefined)).toEqual([48, 1, 1]);
    expect(resolveInputShape(m, undefined, gaussianBatch(8, 48, 1, 1, 2))).toEqual([48, 1, 1]);
    expect(() => resolveInputShape(m, [3, 4, 4], undefined)).toThrow(/flat \(N, F\) inputs: --input-shape gives F/);
    await expect(onnxProxiesDoc(mlp, { proxies: 'nwot', gaussian: true })).rejects.toMatchObject({
      code: 'E_ONNX_DYNAMIC',
      message: expect.stringMatching(/--input-shape F/),
    });
    await expect(onnxProxiesDoc(mlp, { proxies: 'nwot', inputShape: '3,4,4', gaussian: true })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
    });
    // a fixed F that --input-shape contradicts: named, not blamed on the file
    await expect(onnxProxiesDoc(MLP, { proxies: 'nwot', inputShape: '100', gaussian: true })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
      message: expect.stringMatching(/takes 48 inputs, --input-shape says 100/),
    });
    const doc = await onnxProxiesDoc(mlp, { proxies: 'nwot', inputShape: '48', gaussian: true, format: 'json' });
    expect(doc.results[0]!['proxies']).toMatchObject({ nwot: expect.any(Number) });
    // or from an --input batch, as for `score model.onnx`
    const npy = join(DIR, expected.inputs);
    const fromNpy = await onnxProxiesDoc(mlp, { proxies: 'nwot', input: npy, batch: '8', proxyProtocol: 'swap' });
    expect(fromNpy.results[0]!['proxies']).toMatchObject({ nwot: expect.any(Number) });
    // one number is a flat input's F: on an image model it is refused, not read as C×1×1 images
    const images = withInputDims(readFileSync(NB201), ['N', 3, 'H', 'W']);
    await expect(onnxProxiesDoc(images, { proxies: 'nwot', inputShape: '3', gaussian: true })).rejects.toMatchObject({
      code: 'E_OPTION',
      message: expect.stringMatching(/one number, the features of a flat \(N, F\) input/),
    });
    expect(() => onnxOptionsFromFlags(images, { inputShape: '3', gaussian: true })).toThrow(/one number/);
    expect(onnxOptionsFromFlags(images, { inputShape: '3,8,8', gaussian: true }).inputShape).toEqual([3, 8, 8]);
  });

  it('images fill 3·s² or s² features flattened (C-major), said in a note; other counts need feature vectors', async () => {
    expect(imageShapeForFeatures(3072)).toEqual([3, 32, 32]);
    expect(imageShapeForFeatures(784)).toEqual([1, 28, 28]);
    expect(imageShapeForFeatures(48)).toEqual([3, 4, 4]);
    expect(imageShapeForFeatures(50)).toBeUndefined();
    const odd = mlpOn(50);
    await expect(scoreOnnxModel(odd)).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
      message: expect.stringMatching(/no square image fills/),
    });
    await expect(onnxProxiesDoc(odd, { proxies: 'grad_norm' })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
      message: expect.stringMatching(/--input \(\.npy, N x 50\) or --gaussian/),
    });
    const g = await onnxProxiesDoc(odd, { proxies: 'nwot,zen', gaussian: true });
    expect(g.results[0]!['proxies']).toMatchObject({ nwot: expect.any(Number), zen: null });
    expect(g.results[0]!['reasons']).toMatchObject({ zen: expect.stringMatching(/flat \(N, F\) inputs/) });
    // 784 = 28²: grey images, which an image folder gives (read as grey) and the 3-channel CIFAR batch does not
    const grey = mlpOn(784);
    await expect(onnxProxiesDoc(grey, { proxies: 'nwot' })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
      message: expect.stringMatching(/1x28x28 grey images flattened\) and the CIFAR images have 3 channels/),
    });
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-flat-'));
    for (let i = 0; i < 4; i++)
      await sharp(Buffer.from(Array.from({ length: 28 * 28 * 3 }, (_, p) => (p * (2 * i + 7) + 31 * i) % 256)), {
        raw: { width: 28, height: 28, channels: 3 },
      })
        .png()
        .toFile(join(dir, `g${i}.png`));
    const folder = await onnxProxiesDoc(grey, { proxies: 'nwot', images: dir, batch: '4', proxyProtocol: 'swap' });
    expect(folder.results[0]!['proxies']).toMatchObject({ nwot: expect.any(Number) });
    expect(folder.settings['inputs']).toMatch(/flattened$/);
    // 48 = 3·4²: the embedded CIFAR images at 4x4, flattened, with their labels
    const cifar = await onnxProxiesDoc(MLP, { proxies: 'grad_norm', proxyProtocol: 'swap', batch: '8' });
    expect(cifar.results[0]!['proxies']).toMatchObject({ grad_norm: expect.any(Number) });
    expect(cifar.settings).toMatchObject({
      inputs: expect.stringMatching(/resized to 4x4, flattened$/),
      labels: 'embedded CIFAR-10 test labels',
    });
  });
});
