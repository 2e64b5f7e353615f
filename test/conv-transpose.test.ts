/**
 * Transposed convolutions (nn.ConvTranspose2d, ONNX ConvTranspose): a conv node with `transposed`, run on every
 * engine as the adjoint of an ordinary conv (`adjointConv`). Here: the IR's facts, the reference against a direct
 * gather written from PyTorch's definition, the native engine against the reference (SWAP counts exactly; every proxy
 * within 1e-4), ONNX export / import and ONNX Runtime. The op graph `conv-transpose` (test/grad-graphs.ts) covers
 * finite differences and the float64 / Hessian-vector passes; the official proxies run on the `decodernet` fixture.
 */
import { describe, expect, it } from 'vitest';
import { addonJobInputs } from '../src/backends/addon-job.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { convForward } from '../src/backends/reference/conv.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { makeBatch } from '../src/data/batch.js';
import { countMacs, countParams, nonModuleWeights } from '../src/ir/analysis.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { adjointConv, convAxes, type NodeOf, OPS, outPads, outSize, weightDims } from '../src/ir/ops.js';
import type { Network } from '../src/ir/types.js';
import { loadAddon } from '../src/native/loader.js';
import { networkToOnnx } from '../src/onnx/export.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { encodeModel } from '../src/onnx/proto.js';
import { moduleWeights } from '../src/proxies/saliency.js';
import { fanIn } from '../src/grad/params.js';
import { initParams } from '../src/proxies/init.js';
import { scaleBeforeBn } from '../src/proxies/native-groups.js';
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

type S3 = readonly [number, number, number];

/** A decoder: strided convs down, transposed convs up (one with output padding and a bias, one grouped, one rectangular). */
function decoder(): Network {
  const b = new GraphBuilder([3, 10, 10]);
  const e = b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1 }))); // 6x10x10
  const d = b.relu(b.bn(b.conv(e, 6, 3, { pad: 1, stride: 2 }))); // 6x5x5
  const up = b.relu(b.bn(b.conv(d, 6, 3, { stride: 2, pad: 1, bias: true, transposed: 1 }))); // 6x10x10
  const g = b.relu(b.conv(b.add([e, up]), 4, 4, { stride: 2, pad: 1, groups: 2, transposed: 0 })); // 4x20x20
  const r = b.relu(b.conv(g, 4, [1, 3], { stride: [1, 2], pad: [0, 1], dilation: [1, 2], transposed: [0, 1] }));
  return b.finish(b.linear(b.gap(r), 5));
}

/** nn.ConvTranspose2d as PyTorch defines it: each input pixel adds w · x to the outputs its window reaches. */
function scatter(n: NodeOf<'conv'>, inS: S3, outS: S3, x: Float64Array, w: Float64Array, bias?: Float64Array) {
  const [, H, W] = inS;
  const [, OH, OW] = outS;
  const a = convAxes(n);
  const cinG = n.cin / n.groups;
  const coutG = n.cout / n.groups;
  const B = x.length / (n.cin * H * W);
  const y = new Float64Array(B * n.cout * OH * OW);
  for (let s = 0; s < B; s++)
    for (let ci = 0; ci < n.cin; ci++)
      for (let cog = 0; cog < coutG; cog++) {
        const co = Math.floor(ci / cinG) * coutG + cog;
        for (let ih = 0; ih < H; ih++)
          for (let iw = 0; iw < W; iw++)
            for (let kh = 0; kh < a.kh; kh++)
              for (let kw = 0; kw < a.kw; kw++) {
                const oh = ih * a.sh - a.ph + kh * a.dh;
                const ow = iw * a.sw - a.pw + kw * a.dw;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                const wv = w[((ci * coutG + cog) * a.kh + kh) * a.kw + kw]!;
                y[((s * n.cout + co) * OH + oh) * OW + ow]! += wv * x[((s * n.cin + ci) * H + ih) * W + iw]!;
              }
      }
  if (bias) for (let i = 0; i < y.length; i++) y[i]! += bias[Math.floor(i / (OH * OW)) % n.cout]!;
  return y;
}

describe('transposed conv: the IR', () => {
  it("has PyTorch's output size, weight layout [cin, cout/groups, kh, kw] and counts", () => {
    const b = new GraphBuilder([6, 5, 7]);
    const t = b.conv(b.input, 4, 3, { stride: 2, pad: 1, groups: 2, bias: true, transposed: [1, 0] });
    const net = b.finish(t);
    const n = net.nodes[t] as NodeOf<'conv'>;
    // (5 − 1)·2 − 2 + 2 + 1 + 1 = 10 rows, (7 − 1)·2 − 2 + 2 + 1 = 13 columns
    expect(n.shape).toEqual([4, 10, 13]);
    expect(outPads(n)).toEqual([1, 0]);
    expect(weightDims(n)).toEqual([6, 2, 3, 3]);
    expect(countParams(net)).toBe(6 * 2 * 9 + 4);
    // every input value meets cout/groups · 9 weights
    expect(countMacs(net)).toBe(6 * 5 * 7 * 2 * 9);
  });

  it('refuses output padding of a stride or more, and on an ordinary conv', () => {
    const b = new GraphBuilder([2, 4, 4]);
    expect(() => b.conv(b.input, 2, 3, { stride: 2, transposed: 2 })).toThrow(
      /output padding 2x2 must be 0 to the stride less 1/,
    );
    expect(() => b.conv(b.input, 2, 3, { transposed: [0, 1] })).toThrow(/output padding/);
    expect(() => b.conv(b.input, 2, 3, { pad: 5, transposed: 0 })).toThrow(/gives an empty map/);
    const push = (b as unknown as { push: (spec: unknown, ins: number[]) => number }).push.bind(b);
    const spec = { op: 'conv', cin: 2, cout: 2, k: 3, stride: 1, pad: 1, dilation: 1, groups: 1, bias: false };
    expect(() => push({ ...spec, outPad: 1 }, [0])).toThrow(/output padding belongs to a transposed conv/);
  });

  it('its adjoint conv maps the output size back to exactly the input size (every window of a small grid)', () => {
    const rng = new Rng(3);
    let checked = 0;
    for (let i = 0; i < 400; i++) {
      const k = 1 + rng.int(4);
      const s = 1 + rng.int(3);
      const d = 1 + rng.int(2);
      const pt = rng.int(3);
      const pb = rng.int(3);
      const op = rng.int(s);
      const h = 1 + rng.int(6);
      const b = new GraphBuilder([2, h, 3]);
      let id: number;
      try {
        id = b.conv(b.input, 2, [k, 1], { stride: [s, 1], dilation: [d, 1], pad: [pt, 0, pb, 0], transposed: [op, 0] });
      } catch {
        continue; // an empty output
      }
      const n = b.finish(id).nodes[id] as NodeOf<'conv'>;
      const adj = convAxes(adjointConv(n));
      expect(
        outSize(n.shape[1]!, adj.kh, adj.sh, adj.ph, adj.dh, adj.pb),
        JSON.stringify({ k, s, d, pt, pb, op, h }),
      ).toBe(h);
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
  });
});

describe('transposed conv: the reference engine', () => {
  it("equals PyTorch's definition (a scatter of every input pixel) on rectangular, grouped, dilated windows", () => {
    const rng = new Rng(5);
    const cases: [number, number | [number, number], Parameters<GraphBuilder['conv']>[3]][] = [
      [4, 3, { stride: 2, pad: 1, transposed: 1, bias: true }],
      [6, 4, { stride: 2, pad: 1, groups: 2, transposed: 0 }],
      [2, [2, 3], { stride: [3, 2], pad: [0, 1, 2, 0], dilation: [2, 1], transposed: [2, 1] }],
      [4, 1, { stride: 1, groups: 4, transposed: 0, bias: true }],
    ];
    for (const [cout, k, o] of cases) {
      const b = new GraphBuilder([4, 5, 6]);
      const id = b.conv(b.input, cout, k, o);
      const n = b.finish(id).nodes[id] as NodeOf<'conv'>;
      const x = Float64Array.from({ length: 2 * 4 * 30 }, () => rng.normal());
      const w = Float64Array.from({ length: OPS.conv.params({ ...n, bias: false }) }, () => rng.normal());
      const bias = n.bias ? Float64Array.from({ length: cout }, () => rng.normal()) : undefined;
      const got = convForward(n, [4, 5, 6], n.shape as S3, x, { weight: w, ...(bias ? { bias } : {}) }, 2);
      const want = scatter(n, [4, 5, 6], n.shape as S3, x, w, bias);
      expect(got.length).toBe(want.length);
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 12);
    }
  });

  it("keeps PyTorch's default init under the official Gaussian and Kaiming inits, which touch nn.Conv2d only", () => {
    const net = decoder();
    const transposed = net.nodes.filter((n) => n.op === 'conv' && n.transposed).map((n) => n.id);
    const ordinary = net.nodes.find((n) => n.op === 'conv' && !n.transposed)!.id;
    const pytorch = initParams(net, 'pytorch', 3);
    for (const scheme of ['gaussian', 'kaiming'] as const) {
      const p = initParams(net, scheme, 3);
      for (const id of transposed) {
        expect(p[id]!.weight, `${scheme} ${id}`).toEqual(pytorch[id]!.weight);
        expect(p[id]!.bias, `${scheme} ${id}`).toEqual(pytorch[id]!.bias);
        const bound = 1 / Math.sqrt(fanIn(net, id));
        expect(p[id]!.weight!.every((v) => Math.abs(v) <= bound)).toBe(true);
      }
      // an nn.Conv2d takes the scheme's own draws
      expect(p[ordinary]!.weight).not.toEqual(pytorch[ordinary]!.weight);
    }
    // a transposed conv's biased up-sampling has a bias drawn, not 0
    expect(initParams(net, 'kaiming', 3)[transposed[0]!]!.bias!.some((v) => v !== 0)).toBe(true);
  });

  it('is no nn.Conv2d module for ZiCo either: a depthwise 1×1 transposed conv before a BN routes nothing', () => {
    const b = new GraphBuilder([3, 8, 8]);
    const e = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 })));
    const t = b.relu(b.bn(b.conv(e, 4, 1, { stride: 2, groups: 4, transposed: 1 })));
    const net = b.finish(b.linear(b.gap(t), 3));
    expect(scaleBeforeBn(net)).toBeUndefined();
  });

  it('is no nn.Conv2d module: outside the per-layer sums and GraSP, inside Θ', () => {
    const net = decoder();
    const transposed = net.nodes.filter((n) => n.op === 'conv' && n.transposed).map((n) => n.id);
    expect(transposed).toHaveLength(3);
    expect([...nonModuleWeights(net)]).toEqual(transposed);
    expect(moduleWeights(net).some((id) => transposed.includes(id))).toBe(false);
    const weights = (id: number) => OPS.conv.params(net.nodes[id] as NodeOf<'conv'>);
    const others = paramsWithout(net, transposed);
    expect(countParams(net)).toBe(others + transposed.reduce((t, id) => t + weights(id), 0));
  });
});

/** Θ of `net` without the nodes `skip` (each node's own parameters, from the op table). */
function paramsWithout(net: Network, skip: readonly number[]): number {
  let t = 0;
  for (const n of net.nodes) if (!skip.includes(n.id)) t += (OPS[n.op].params as (x: typeof n) => number)(n);
  return t;
}

describe('transposed conv: the native engine equals the reference', () => {
  it('SWAP counts exactly (S = 3, 17 and 40; two weight seeds)', async () => {
    const net = decoder();
    for (const S of [3, 17, 40]) {
      const batch = gaussianBatch(S, 3, 10, 10, S);
      const got = await new NativeBackend(addon).countPatterns({ networks: [net, net], inputs: batch, seeds: [1, 2] });
      const want = [1, 2].map((seed) => referenceCount(net, batch, seed));
      expect(got).toEqual([want, want]);
    }
  });

  it('every proxy on the conv-transpose op graph, float32 passes within 1e-4 (GraSP through the Hessian-vector pass)', async () => {
    const native = [
      'grad_norm',
      'snip',
      'fisher',
      'grasp',
      'synflow',
      'zico',
      'meco',
      'vkdnw',
      'az_trainability',
    ] as const;
    await expectEveryProxyNative(addon, 'conv-transpose', [5, 7], native);
  });

  it('the native parser checks the output padding words', async () => {
    const b = new GraphBuilder([2, 4, 4]);
    const net = b.finish(b.relu(b.conv(b.input, 2, 3, { stride: 2, pad: 1, transposed: 1 })));
    const rng = new Rng(1);
    const data = Float32Array.from({ length: 2 * 2 * 16 }, () => rng.normal());
    const job = { ...addonJobInputs([net], makeBatch(data, 2, 2, 4, 4, 'x'), [1]), threads: 1 };
    // words: header 4, the input node 7; the conv's attributes start after [op, 1 input, its id, rank, c, h, w,
    // nAttrs]; transposed is attribute 14, the output padding 15 and 16
    const attrs = 4 + 7 + 8;
    expect([...job.program.subarray(attrs + 14, attrs + 17)]).toEqual([1, 1, 1]);
    await expectParserRejects(addon, job, attrs, [
      [15, 2, /output padding must be 0 to the stride less 1/],
      [16, -1, /output padding must be/],
      [14, 0, /output padding belongs to a transposed conv/],
    ]);
  });
});

describe('transposed conv: ONNX', () => {
  it('exports as ConvTranspose, runs on ONNX Runtime with the same counts, and imports back to the same IR', async () => {
    const loaded = await expectOnnxRoundTrip(decoder(), 4, gaussianBatch(9, 3, 10, 10, 2));
    const nodes = loaded.model.graph!.node!.filter((n) => n.opType === 'ConvTranspose');
    expect(nodes).toHaveLength(3);
    expect(nodes[0]!.attribute!.find((a) => a.name === 'output_padding')?.ints?.map(Number)).toEqual([1, 1]);
  });

  it("SWAP with --reinit on the official decodernet file: ONNX Runtime's ConvTranspose equals both engines", async () => {
    await expectFixtureReinitCountsAgree('decodernet', 16, 8, 3);
  });

  it('refuses auto_pad and an output_shape the pads do not give, saying why', () => {
    const model = networkToOnnx(decoder(), { seed: 1 }).model;
    const t = model.graph!.node!.find((n) => n.opType === 'ConvTranspose')!;
    const attempt = (attrs: typeof t.attribute) => {
      const saved = t.attribute;
      t.attribute = [...saved!, ...attrs!];
      const r = importOnnxModel(loadOnnxModel(encodeModel(model)), { inputShape: [3, 10, 10] });
      t.attribute = saved;
      return r;
    };
    expect(attempt([{ name: 'auto_pad', type: 3, s: new TextEncoder().encode('SAME_UPPER') }])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/auto_pad SAME_UPPER; only explicit pads/),
    });
    expect(attempt([{ name: 'output_shape', type: 7, ints: [9, 9] }])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/output_shape \[9, 9\] differs from the 10x10/),
    });
    expect(attempt([{ name: 'output_shape', type: 7, ints: [10, 10] }])).toMatchObject({ ok: true });
  });
});
