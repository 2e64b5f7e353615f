/**
 * Rectangular convolution windows (Inception's 1×7 / 7×1, per-axis strides, padding and dilation): the IR's
 * facts, and the native engine's every convolution path against the reference (SWAP counts exactly; float32
 * gradients within 1e-4). The small op graph `rect-convs` (test/grad-graphs.ts) covers finite differences, the
 * float64 and Hessian-vector passes; the official proxies run on the `rect` fixture, ONNX Runtime on `rectnet`.
 */
import { describe, expect, it } from 'vitest';
import { addonJobInputs } from '../src/backends/addon-job.js';
import { nativeGradients } from '../src/backends/native/grad.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { referenceGradients } from '../src/backends/reference/grad-job.js';
import { makeBatch } from '../src/data/batch.js';
import { paramRefs, paramTensor } from '../src/grad/params.js';
import type { GradientJob } from '../src/grad/types.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { convAxes, type NodeOf, OPS } from '../src/ir/ops.js';
import type { Shape3 } from '../src/ir/types.js';
import { loadAddon } from '../src/native/loader.js';
import { exportNetworkOnnx, networkToOnnx } from '../src/onnx/export.js';
import { encodeModel, type IModelProto } from '../src/onnx/proto.js';

import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { Rng } from '../src/util/rng.js';
import { randomData, randomParams } from './grad-graphs.js';
import { expectParserRejects, rectBatch, rectNetwork } from './helpers.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);
const addon = load.addon;

/** The first Conv of `model` imported with its pads replaced by ONNX auto_pad `mode`. */
function autoPadded(model: IModelProto, mode: string, inputShape: Shape3): NodeOf<'conv'> {
  const c = model.graph!.node!.find((n) => n.opType === 'Conv')!;
  c.attribute = [
    ...c.attribute!.filter((a) => a.name !== 'pads' && a.name !== 'auto_pad'),
    { name: 'auto_pad', type: 3, s: new TextEncoder().encode(mode) },
  ];
  const r = importOnnxModel(loadOnnxModel(encodeModel(model)), { inputShape });
  if (!r.ok) throw new Error(r.reason);
  const n = r.network.nodes.find((m) => m.op === 'conv')!;
  if (n.op !== 'conv') throw new Error('not a conv');
  return n;
}

describe('rectangular convolutions: the IR', () => {
  it('keeps the width its own kernel, stride, padding and dilation; a square window stores none of them', () => {
    const b = new GraphBuilder([4, 10, 12]);
    const r = b.conv(b.input, 6, [1, 7], { stride: [2, 1], groups: 2, bias: true });
    const s = b.conv(b.input, 6, 3);
    const net = b.finish(
      b.add([b.conv(r, 6, [5, 1], { dilation: [1, 3], pad: [2, 0] }), b.conv(s, 6, 3, { stride: [2, 1] })]),
    );
    const n = net.nodes[r]!;
    if (n.op !== 'conv') throw new Error('not a conv');
    expect(convAxes(n)).toEqual({ kh: 1, kw: 7, sh: 2, sw: 1, ph: 0, pw: 3, pb: 0, pr: 3, dh: 1, dw: 1 });
    expect(n.shape).toEqual([6, 5, 12]);
    expect(OPS.conv.params(n)).toBe(6 * 2 * 7 + 6);
    expect(OPS.conv.macs(n)).toBe(6 * 5 * 12 * 2 * 7);
    expect(OPS.conv.weight!(n)).toEqual([6, 2, 1, 7]);
    expect(Object.keys(net.nodes[s]!)).not.toContain('kw');
    expect(Object.keys(net.nodes[s]!).filter((k) => /W$/.test(k))).toEqual([]);
    // (5, 1) dilated 3 across: the width's kernel spans 1 column whatever its dilation, so only the height shrinks
    expect(net.nodes[r + 2]!.shape).toEqual([6, 5, 12]);
    expect(() => new GraphBuilder([3, 4, 4]).conv(0, 2, [1, 7], { pad: 0 })).toThrow(
      /conv 1x7\/1 on 4x4 gives an empty map/,
    );
  });

  it('exports to ONNX and imports back to the same nodes', () => {
    const net = rectNetwork();
    const imp = importOnnxModel(loadOnnxModel(exportNetworkOnnx(net, { seed: 3 })), { inputShape: [3, 16, 32] });
    if (!imp.ok) throw new Error(imp.reason);
    expect(imp.network.nodes.map((x) => ({ ...x }))).toEqual(net.nodes.map((x) => ({ ...x })));
  });

  it("reads a conv's auto_pad per axis: SAME_UPPER puts an odd total's extra pixel after the map, SAME_LOWER before", () => {
    const b = new GraphBuilder([3, 9, 8]);
    const x = b.conv(b.input, 4, [3, 2], { stride: 2, pad: [0, 0, 1, 0] });
    const net = b.finish(b.relu(b.conv(b.relu(x), 4, 3, { pad: [1, 0, 1, 2] })));
    expect(net.nodes.filter((n) => n.op === 'conv').map((n) => n.shape)).toEqual([
      [4, 4, 4],
      [4, 4, 4],
    ]);
    const onnx = networkToOnnx(net, { seed: 1 }).model;
    const convs = onnx.graph!.node!.filter((n) => n.opType === 'Conv');
    expect(convs.map((n) => n.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number))).toEqual([
      [0, 0, 1, 0],
      [1, 0, 1, 2],
    ]);
    // totals: height (ceil(9/2) - 1)·2 + 3 - 9 = 2, width (4 - 1)·2 + 2 - 8 = 0 for SAME; VALID pads nothing
    expect(autoPadded(onnx, 'SAME_UPPER', [3, 9, 8])).toMatchObject({ pad: 1, shape: [4, 5, 4] });
    expect(autoPadded(onnx, 'VALID', [3, 9, 8])).toMatchObject({ pad: 0, shape: [4, 4, 4] });
    const b2 = new GraphBuilder([3, 8, 8]);
    const odd = networkToOnnx(b2.finish(b2.relu(b2.conv(b2.input, 4, 3, { stride: 2, pad: 0 }))), { seed: 1 }).model;
    const sides = (mode: string) => {
      const n = autoPadded(odd, mode, [3, 8, 8]);
      const a = convAxes(n);
      return [a.ph, a.pw, a.pb, a.pr, ...n.shape.slice(1)];
    };
    // 8 wide, 3x3 stride 2: total (4 - 1)·2 + 3 - 8 = 1, an odd total
    expect(sides('SAME_UPPER')).toEqual([0, 0, 1, 1, 4, 4]);
    expect(sides('SAME_LOWER')).toEqual([1, 1, 0, 0, 4, 4]);
  });

  it('the native parser checks the width attributes too', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const net = b.finish(b.relu(b.conv(b.input, 4, [3, 1], { pad: [1, 0] })));
    const rng = new Rng(1);
    const data = Float32Array.from({ length: 2 * 3 * 64 }, () => rng.normal());
    const job = { ...addonJobInputs([net], makeBatch(data, 2, 3, 8, 8, 'x'), [1]), threads: 1 };
    // words: header 4, the input node 7 ([op, 0 inputs, rank, c, h, w, 0 attrs]); the conv's attributes start after
    // [op, 1 input, its id, rank, c, h, w, nAttrs]; kw is attribute 8, dilationW 11, the bottom's and right's pads
    // 12 and 13
    const attrs = 4 + 7 + 8;
    expect([...job.program.subarray(attrs, attrs + 14)]).toEqual([3, 4, 3, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0]);
    await expectParserRejects(addon, job, attrs, [
      [8, 0, /kernel, stride and dilation must be >= 1/],
      [10, 2000, /window attribute out of range/],
      [8, 9, /window does not fit/],
      [13, -1, /pad >= 0/],
      [12, 3000, /window attribute out of range/],
    ]);
  });
});

describe('rectangular convolutions: the native engine equals the reference', () => {
  it('SWAP counts exactly, S = 3 and 33, two weight seeds', async () => {
    const net = rectNetwork();
    for (const S of [3, 33]) {
      const batch = rectBatch(S, 10 + S);
      const seeds = [5, 6];
      const counts = await addon.countPatterns(
        { ...addonJobInputs([net, net], batch, seeds, new Int32Array(1)), threads: 2 },
        () => {},
      );
      seeds.forEach((seed, i) => expect(counts[i], `S=${S} seed ${seed}`).toBe(referenceCount(net, batch, seed)));
    }
  });

  it('float32 loss gradients of every parameter and the input within 1e-4 (BN train and eval)', async () => {
    const net = rectNetwork();
    const params = [randomParams(net, 8)];
    const { x, labels } = randomData(net, 4, 9);
    for (const bn of ['train', 'eval'] as const) {
      const job: GradientJob = { networks: [net], params, input: x, batch: 4, labels, bn, wantInput: true };
      const [mine] = await nativeGradients(addon, { ...job, threads: 2 });
      const [ref] = await referenceGradients(job);
      expect(Math.abs(mine!.loss - ref!.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref!.loss)));
      const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        let num = 0;
        let den = 0;
        for (let i = 0; i < b.length; i++) {
          num = Math.max(num, Math.abs(a[i]! - b[i]!));
          den = Math.max(den, Math.abs(b[i]!));
        }
        return num / den;
      };
      for (const r of paramRefs(params[0]!)) {
        if (r.kind === 'bias' && net.nodes[r.node]!.op === 'conv') continue; // before a train-mode BN: exactly 0
        expect(
          rel(paramTensor(mine!.params!, r), paramTensor(ref!.params!, r)),
          `${bn} ${r.kind}@${r.node}`,
        ).toBeLessThan(1e-4);
      }
      expect(rel(mine!.input!, ref!.input!), `${bn} input`).toBeLessThan(1e-4);
    }
  });
});
