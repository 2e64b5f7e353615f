/**
 * Models on flat (N, F) inputs that view them as images first (`x.view(-1, 3, 32, 32)`, `x.view(x.size(0), ...)`):
 * the IR takes the C×H×W map, ONNX Runtime the file's (N, F), and both count as the official code does.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxProxiesDoc } from '../src/cli/proxies.js';
import { onnxOptionsFromFlags } from '../src/cli/score-onnx.js';
import { defaultBatch } from '../src/data/cifar.js';
import { flatBatch } from '../src/data/flat.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { encodeNpy } from '../src/data/npy.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel, modelSampleShape } from '../src/onnx/load.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { resolveInputShape, scoreOnnxModel } from '../src/score/onnx-model.js';
import { officialFixtureValues, withInputDims } from './helpers.js';

const ONNX = join(import.meta.dirname, 'fixtures', 'onnx');
const PROXIES = join(import.meta.dirname, 'fixtures', 'proxies');
const swapOf = (name: string) =>
  JSON.parse(readFileSync(join(ONNX, 'expected.json'), 'utf8'))[name].expected['16'].swap as number;
/** `x.view(-1, 3, 32, 32)`; `x.view(x.size(0), 3, 32, 32)` with a dynamic batch (Shape / Gather / Concat). */
const VIEWED = join(ONNX, 'flatinput.onnx');
const SIZED = join(ONNX, 'flatsize.onnx');
const fixture = JSON.parse(readFileSync(join(PROXIES, 'expected.json'), 'utf8')).fixtures.flatview;

/** The view's Reshape target in `file` replaced by `target` (a constant). */
function withTarget(file: string, target: readonly number[]): Uint8Array {
  const m = decodeModel(readFileSync(file));
  const g = m.graph!;
  const reshape = g.node!.find((n) => n.opType === 'Reshape')!;
  g.initializer = [
    ...(g.initializer ?? []),
    { name: 'target', dims: [target.length], dataType: 7, int64Data: [...target] },
  ];
  reshape.input = [reshape.input![0]!, 'target'];
  return encodeModel(m);
}

describe('flat (N, F) inputs viewed as images', () => {
  it('load with the view as the sample shape, and import it as the map', () => {
    for (const file of [VIEWED, SIZED]) {
      const m = loadOnnxModel(file);
      expect(m.input).toMatchObject({ flat: false, view: [3, 32, 32], dims: ['N', 3072] });
      expect(modelSampleShape(m)).toEqual([3, 32, 32]);
      const imp = importOnnxModel(m, { inputShape: [3, 32, 32] });
      if (!imp.ok) throw new Error(imp.reason);
      expect(imp.network.nodes[1]).toMatchObject({ op: 'conv', inputs: [0], cin: 3 });
    }
    // F dynamic too: the target gives it
    expect(modelSampleShape(loadOnnxModel(withInputDims(readFileSync(SIZED), ['N', 'F'])))).toEqual([3, 32, 32]);
    // a target that does not hold F values, or is not a map: no view (the flat model's import refuses the Reshape)
    for (const t of [
      [-1, 3, 30, 30],
      [-1, 96, 32],
    ]) {
      const m = loadOnnxModel(withTarget(VIEWED, t));
      expect(m.input).toMatchObject({ flat: true });
      expect(m.input.view).toBeUndefined();
      const imp = importOnnxModel(m, { inputShape: [3072, 1, 1] });
      expect(imp.ok ? '' : imp.reason).toMatch(/Reshape to/);
    }
    // the input also read as it is (here by an extra graph output): a flat model, whose Reshape into a map says why
    const both = decodeModel(readFileSync(VIEWED));
    both.graph!.node!.push({ opType: 'Identity', input: ['input'], output: ['raw'], name: 'raw' });
    both.graph!.output!.push({ name: 'raw' });
    const m = loadOnnxModel(encodeModel(both));
    expect(m.input).toMatchObject({ flat: true });
    const imp = importOnnxModel(m, { inputShape: [3072, 1, 1] });
    expect(imp.ok ? '' : imp.reason).toMatch(/views the flat \(N, F\) input as images while another node reads it/);
    // another map of the same size is the view it says
    expect(loadOnnxModel(withTarget(VIEWED, [0, 12, 16, 16])).input.view).toEqual([12, 16, 16]);
  });

  it('SWAP: the official count on ONNX Runtime; a fresh draw counts the same on ORT and the IR engines', async () => {
    for (const [file, name] of [
      [VIEWED, 'flatinput'],
      [SIZED, 'flatsize'],
    ] as const) {
      const own = await scoreOnnxModel(file);
      expect(own.engine).toBe('ort');
      expect(own.perRepeat).toEqual([swapOf(name)]);
      // the CIFAR images are the map the model views: nothing flattened, nothing to say
      expect(own.settings.inputs).not.toMatch(/flattened/);
      expect(own.warnings).toEqual([]);
      // the same batch given flat, as the (N, F) a user's .npy holds: the same count
      const flat = await scoreOnnxModel(file, { inputs: flatBatch(defaultBatch(16)) });
      expect(flat.perRepeat).toEqual([swapOf(name)]);
      const fresh = { reinit: true, repeats: 3, batch: 16 } as const;
      const ort = await scoreOnnxModel(file, { ...fresh, engine: 'ort' });
      for (const backend of ['native', 'reference'] as const) {
        const ir = await scoreOnnxModel(file, { ...fresh, engine: 'ir', backend });
        expect(ir.engine, backend).toBe(`ir:${backend}`);
        expect(ir.perRepeat, backend).toEqual(ort.perRepeat);
      }
    }
  });

  it.each([1, -3])(
    'x.view(-1, 28, 28).unsqueeze(%i): the two-step view of a grey model is its 1×28×28 map',
    async (axis) => {
      const b = new GraphBuilder([1, 28, 28]);
      const net = b.finish(b.linear(b.gap(b.relu(b.bn(b.conv(b.input, 4, 3)))), 10));
      const m = decodeModel(exportNetworkOnnx(net, { seed: 5 }));
      const g = m.graph!;
      const x = g.input![0]!.name!;
      g.input![0]!.type!.tensorType!.shape = { dim: [{ dimParam: 'N' }, { dimValue: 784 }] };
      g.initializer!.push({ name: 'hw', dims: [3], dataType: 7, int64Data: [-1, 28, 28] });
      g.initializer!.push({ name: 'axis1', dims: [1], dataType: 7, int64Data: [axis] });
      for (const n of g.node!) n.input = n.input!.map((i) => (i === x ? 'unsq' : i));
      g.node!.unshift(
        { opType: 'Reshape', input: [x, 'hw'], output: ['hw_view'], name: 'view' },
        { opType: 'Unsqueeze', input: ['hw_view', 'axis1'], output: ['unsq'], name: 'unsqueeze' },
      );
      const file = encodeModel(m);
      const loaded = loadOnnxModel(file);
      expect(loaded.input).toMatchObject({ flat: false, view: [1, 28, 28] });
      const imp = importOnnxModel(loaded, { inputShape: [1, 28, 28] });
      if (!imp.ok) throw new Error(imp.reason);
      expect(imp.network.nodes[1]).toMatchObject({ op: 'conv', inputs: [0], cin: 1 });
      const inputs = gaussianBatch(16, 784, 1, 1, 3);
      const fresh = { reinit: true, repeats: 2, inputs } as const;
      const ort = await scoreOnnxModel(file, { ...fresh, engine: 'ort' });
      const ir = await scoreOnnxModel(file, { ...fresh, engine: 'ir', backend: 'native' });
      expect(ir.perRepeat).toEqual(ort.perRepeat);
    },
  );

  it('--input-shape gives F or the view; another shape is refused, naming both', async () => {
    const dyn = loadOnnxModel(withInputDims(readFileSync(VIEWED), ['N', 'F']));
    expect(resolveInputShape(dyn, [3072, 1, 1], undefined)).toEqual([3, 32, 32]);
    expect(resolveInputShape(dyn, [3, 32, 32], undefined)).toEqual([3, 32, 32]);
    expect(resolveInputShape(dyn, undefined, flatBatch(defaultBatch(4)))).toEqual([3, 32, 32]);
    expect(() => resolveInputShape(dyn, [3, 16, 16], undefined)).toThrow(
      /takes 3x32x32 inputs, --input-shape says 3x16x16/,
    );
    expect(onnxOptionsFromFlags(VIEWED, { inputShape: '3072', gaussian: true }).inputShape).toEqual([3072, 1, 1]);
    const doc = await onnxProxiesDoc(VIEWED, { proxies: 'nwot', inputShape: '3072', gaussian: true, format: 'json' });
    expect(doc.results[0]!['proxies']).toMatchObject({ nwot: expect.any(Number) });
    // feature vectors of another length: said in features
    const npy = join(mkdtempSync(join(tmpdir(), 'swapnas-view-')), 'x.npy');
    writeFileSync(npy, encodeNpy({ n: 4, c: 3071, h: 1, w: 1, data: new Float32Array(4 * 3071), source: 'x' }));
    await expect(onnxProxiesDoc(VIEWED, { proxies: 'nwot', input: npy })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
      message: expect.stringMatching(/takes 3072 features \(viewed as 3x32x32\), .* has 3071/),
    });
    // images of other planes: named against the view
    writeFileSync(npy, encodeNpy({ n: 4, c: 3, h: 16, w: 16, data: new Float32Array(4 * 768), source: 'x' }));
    await expect(onnxProxiesDoc(VIEWED, { proxies: 'nwot', input: npy })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
      message: expect.stringMatching(/takes 3x32x32 inputs, .* has 3x16x16/),
    });
  });

  it('score --proxies with the (N, F) .npy and its labels equals the official code on every proxy', async () => {
    const doc = await onnxProxiesDoc(join(PROXIES, fixture.onnx), {
      proxies: 'grad_norm,snip,plain,fisher,grasp,jacov,epe_nas,nwot,l2_norm,synflow,synflow_bn',
      proxyProtocol: 'swap',
      input: join(PROXIES, fixture.inputs),
      labels: join(PROXIES, fixture.labels),
      batch: '8',
      precision: 'float64',
      format: 'json',
    });
    const v = doc.results[0]!['proxies'] as Record<string, number>;
    const want = officialFixtureValues(fixture) as Record<string, number>;
    for (const k of Object.keys(v))
      expect(Math.abs(v[k]! - want[k]!), k).toBeLessThanOrEqual(1e-4 * Math.abs(want[k]!));
    expect(Object.keys(v)).toHaveLength(11);
    expect(doc.settings['inputs']).toMatch(/flatview-x\.npy/);
  });
});
