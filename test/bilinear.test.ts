/**
 * Bilinear resizes (F.interpolate / nn.Upsample, mode 'bilinear'; ONNX Resize in mode 'linear'): the `upsample` op
 * with `bilinear`. Here: PyTorch's values on small maps, the native engine against the reference (SWAP counts exactly;
 * every proxy within 1e-4), ONNX export / import, ONNX Runtime and the importer's refusals. The op graph `bilinear`
 * (test/grad-graphs.ts) covers finite differences and the float64 / Hessian-vector passes; the official proxies run
 * on the `bilinearnet` fixture.
 */
import { describe, expect, it } from 'vitest';
import { addonJobInputs } from '../src/backends/addon-job.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { upsampleInto } from '../src/backends/reference/loops.js';
import { makeBatch } from '../src/data/batch.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { GraphBuilder } from '../src/ir/builder.js';
import type { Network } from '../src/ir/types.js';
import { loadAddon } from '../src/native/loader.js';
import { networkToOnnx } from '../src/onnx/export.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { encodeModel } from '../src/onnx/proto.js';
import { Rng } from '../src/util/rng.js';
import {
  expectEveryProxyNative,
  expectOnnxRoundTrip,
  expectParserRejects,
  expectFixtureReinitCountsAgree,
} from './helpers.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);
const addon = load.addon;

/** A segmentation-style head: strided features resized back bilinearly (half-pixel and align_corners, odd sizes). */
function head(): Network {
  const b = new GraphBuilder([3, 12, 12]);
  const f = b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1 }))); // 6x12x12
  const c = b.relu(b.bn(b.conv(f, 6, 3, { pad: 1, stride: 2 }))); // 6x6x6
  const d = b.relu(b.bn(b.conv(c, 6, 3, { pad: 1, stride: 2 }))); // 6x3x3
  const top = b.relu(b.add([f, b.bilinear(c, 12, 12), b.bilinear(d, 12, 12, true)]));
  const odd = b.relu(b.conv(b.bilinear(top, 7, 17), 4, 3)); // 4x5x15
  return b.finish(b.linear(b.gap(odd), 5));
}

/** `upsampleInto` of one 1-channel map. */
function resize(x: number[], h: number, w: number, to: [number, number], alignCorners: boolean): number[] {
  const b = new GraphBuilder([1, h, w]);
  const id = b.bilinear(b.input, to[0], to[1], alignCorners);
  const n = b.finish(id).nodes[id]!;
  if (n.op !== 'upsample') throw new Error('not an upsample node');
  const out = new Float64Array(to[0] * to[1]);
  upsampleInto(n, [1, h, w], Float64Array.from(x), 1, out);
  return [...out];
}

describe('bilinear resize: the reference engine', () => {
  it("gives PyTorch's values (half-pixel centres clamped at the first pixel; align_corners)", () => {
    // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode='bilinear')
    expect(resize([0, 1, 2, 3], 2, 2, [4, 4], false)).toEqual([
      0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3,
    ]);
    // the same with align_corners=True, to 3x3
    expect(resize([0, 1, 2, 3], 2, 2, [3, 3], true)).toEqual([0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
    // down by a ratio that is no integer: 3 → 2 columns reads at 0.25 and 1.75
    const down = resize([0, 4, 8], 1, 3, [1, 2], false);
    expect(down[0]).toBeCloseTo(1, 12);
    expect(down[1]).toBeCloseTo(7, 12);
  });

  it('refuses sizes beyond 64 times the map and a factor beside a size', () => {
    const b = new GraphBuilder([2, 3, 3]);
    expect(() => b.bilinear(b.input, 193, 4)).toThrow(/1 to 64 times the map's larger side/);
    expect(() => b.bilinear(b.input, 0, 4)).toThrow(/1 to 64 times/);
    const push = (b as unknown as { push: (spec: unknown, ins: number[]) => number }).push.bind(b);
    expect(() => push({ op: 'upsample', scale: 2, bilinear: { h: 6, w: 6, alignCorners: false } }, [0])).toThrow(
      /1 to 64 times/,
    );
  });
});

describe('bilinear resize: the native engine equals the reference', () => {
  it('SWAP counts exactly (S = 3, 17 and 40; two weight seeds)', async () => {
    const net = head();
    for (const S of [3, 17, 40]) {
      const batch = gaussianBatch(S, 3, 12, 12, S);
      const got = await new NativeBackend(addon).countPatterns({ networks: [net, net], inputs: batch, seeds: [1, 2] });
      const want = [1, 2].map((seed) => referenceCount(net, batch, seed));
      expect(got).toEqual([want, want]);
    }
  });

  it('every proxy on the bilinear op graph, float32 passes within 1e-4', async () => {
    const native = ['grad_norm', 'snip', 'grasp', 'synflow', 'zico', 'meco', 'vkdnw', 'nwot'] as const;
    await expectEveryProxyNative(addon, 'bilinear', [6, 9], native);
  });

  it('the native parser checks the new words', async () => {
    const b = new GraphBuilder([2, 4, 4]);
    const net = b.finish(b.relu(b.bilinear(b.input, 6, 5)));
    const rng = new Rng(2);
    const data = Float32Array.from({ length: 2 * 2 * 16 }, () => rng.normal());
    const job = { ...addonJobInputs([net], makeBatch(data, 2, 2, 4, 4, 'x'), [1]), threads: 1 };
    // words: header 4, the input node 7; the upsample's attributes after [op, 1 input, its id, rank, c, h, w, nAttrs]:
    // scale, bilinear, outH, outW, alignCorners
    const attrs = 4 + 7 + 8;
    expect([...job.program.subarray(attrs, attrs + 5)]).toEqual([1, 1, 6, 5, 0]);
    await expectParserRejects(addon, job, attrs, [
      [0, 2, /size must be 1 to 64 times the map's larger side \(its factor 1\)/],
      [2, 0, /size must be 1 to 64 times/],
      [3, 7, /shape 2x6x5 does not match the expected 2x6x7/],
      [1, 0, /a nearest upsampling has no size or corner words/],
    ]);
  });
});

describe('bilinear resize: ONNX', () => {
  it('exports as a linear Resize, runs on ONNX Runtime with the same counts, and imports back to the same IR', async () => {
    const loaded = await expectOnnxRoundTrip(head(), 4, gaussianBatch(9, 3, 12, 12, 2));
    expect(loaded.model.graph!.node!.filter((n) => n.opType === 'Resize')).toHaveLength(3);
  });

  it('SWAP with --reinit on the official bilinearnet file: ONNX Runtime equals both engines', async () => {
    await expectFixtureReinitCountsAgree('bilinearnet', 16, 5, 2);
  });

  it('refuses the linear modes and options PyTorch does not write, saying why', () => {
    const model = networkToOnnx(head(), { seed: 1 }).model;
    const r = model.graph!.node!.find((n) => n.opType === 'Resize')!;
    const attempt = (name: string, value: string | number) => {
      const saved = r.attribute;
      r.attribute = [
        ...saved!.filter((a) => a.name !== name),
        typeof value === 'string' ? { name, type: 3, s: new TextEncoder().encode(value) } : { name, type: 2, i: value },
      ];
      const got = importOnnxModel(loadOnnxModel(encodeModel(model)), { inputShape: [3, 12, 12] });
      r.attribute = saved;
      return got;
    };
    expect(attempt('coordinate_transformation_mode', 'asymmetric')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/coordinate_transformation_mode asymmetric; PyTorch's bilinear modes import/),
    });
    expect(attempt('antialias', 1)).toMatchObject({ ok: false, reason: expect.stringMatching(/antialias/) });
    expect(attempt('mode', 'cubic')).toMatchObject({ ok: false, reason: expect.stringMatching(/mode cubic/) });
    expect(attempt('coordinate_transformation_mode', 'pytorch_half_pixel')).toMatchObject({ ok: true });
  });

  it("imports a half-pixel resize to one row, and refuses it under 'pytorch_half_pixel' (ONNX reads row 0 there)", () => {
    const b = new GraphBuilder([3, 6, 6]);
    const net = b.finish(b.linear(b.gap(b.bilinear(b.relu(b.conv(b.input, 4, 3, { pad: 1 })), 1, 5)), 3));
    const model = networkToOnnx(net, { seed: 1 }).model;
    const r = model.graph!.node!.find((n) => n.opType === 'Resize')!;
    const load = () => importOnnxModel(loadOnnxModel(encodeModel(model)), { inputShape: [3, 6, 6] });
    const ok = load();
    if (!ok.ok) throw new Error(ok.reason);
    expect(ok.network.nodes.map((n) => ({ ...n }))).toEqual(net.nodes.map((n) => ({ ...n })));
    const coords = r.attribute!.find((a) => a.name === 'coordinate_transformation_mode')!;
    coords.s = new TextEncoder().encode('pytorch_half_pixel');
    expect(load()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/one row or column, where ONNX and PyTorch/),
    });
  });
});
