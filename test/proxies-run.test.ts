/**
 * The proxy runner on every space's networks and its coded errors, plus invariants of the proxy definitions
 * (docs/proxies.md §6) that hold whatever the official numbers are.
 */
import { describe, expect, it } from 'vitest';
import { referenceNwot } from '../src/backends/reference/forward.js';
import { defaultBatch } from '../src/data/cifar.js';
import { defaultLabels } from '../src/data/labels.js';
import { mapParams, prngParams } from '../src/grad/params.js';
import { backward } from '../src/backends/reference/backward.js';
import { forwardTape } from '../src/backends/reference/tape.js';
import { countParams } from '../src/ir/analysis.js';
import { azFromComponents, azNas, azPairProblem, blockTrainability, prngRademacher } from '../src/proxies/az.js';
import { blockFeatures } from '../src/proxies/blocks.js';
import { epeNasConstant, epeNasScore, jacovScore } from '../src/proxies/jacobian.js';
import { PROXY_NAMES, parseProxyList } from '../src/proxies/registry.js';
import { autodlFlops } from '../src/ir/analysis.js';
import { flopsProxy } from '../src/proxies/builtin/flops.js';
import { runProxies } from '../src/proxies/run.js';
import { synflow } from '../src/proxies/saliency.js';
import { choleskyFactor, toFloat16, vkdnwFromJacobian } from '../src/proxies/vkdnw.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { Rng } from '../src/util/rng.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';

const NB201_ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

function tinyNet(space: string, target?: string, extra: Record<string, unknown> = {}) {
  const entry = spaceEntry(space);
  const g = space === 'nb201' ? entry.space.parse(NB201_ARCH) : entry.space.sample(new Rng(3));
  const opts = { ...entry.networkFor(target ?? entry.targets[0]!), channels: 4, cells: 1, inputSize: 8, ...extra };
  return entry.space.build(g, opts);
}

const images = defaultBatch(8);
const labels = defaultLabels(8);
const small = (w: number) => {
  // 8 × 8 crops of the embedded images, so every space's tiny network takes them
  const data = new Float32Array(images.n * 3 * w * w);
  for (let n = 0; n < images.n; n++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < w; y++)
        for (let x = 0; x < w; x++) data[((n * 3 + c) * w + y) * w + x] = images.data[((n * 3 + c) * 32 + y) * 32 + x]!;
  return { ...images, data, h: w, w };
};

describe('proxy names', () => {
  it('all, lists, duplicates and unknown names', () => {
    expect(parseProxyList('all')).toEqual([...PROXY_NAMES]);
    expect(parseProxyList('snip, jacov,snip')).toEqual(['snip', 'jacov']);
    expect(() => parseProxyList('snip,te_nas')).toThrow(expect.objectContaining({ code: 'E_PROXY_UNKNOWN' }));
    expect(() => parseProxyList(' , ')).toThrow(expect.objectContaining({ code: 'E_PROXY_UNKNOWN' }));
  });
});

describe.each([
  ['nb201', undefined],
  ['darts', undefined],
  ['nb101', undefined],
  ['tnb101-micro', 'class_object'],
])('every proxy on a %s network', (space, target) => {
  it('gives a finite value or null with a reason, under both protocols', () => {
    const net = tinyNet(space, target, space === 'darts' ? { cells: 2 } : {});
    const classes = (net.nodes[net.output]!.shape[0] as number) ?? 10;
    const lab = Int32Array.from(labels, (y) => y % classes);
    for (const protocol of ['official', 'swap'] as const) {
      const r = runProxies(net, PROXY_NAMES, { protocol, seed: 1, images: small(8), labels: lab, batch: 4 });
      for (const name of PROXY_NAMES) {
        const v = r.values[name]!;
        expect(v, name).toBeDefined();
        if (v.value === null) expect(v.reason, name).toMatch(name.split('_')[0]!);
        else expect(Number.isFinite(v.value), name).toBe(true);
        expect(r.settings[name]!.protocol).toBe(protocol);
      }
      expect(r.values.params!.value).toBe(countParams(net));
      expect(r.values.flops!.value).toBe(autodlFlops(net));
      // the `flops` plug-in (library, forward engine) is the same definition
      expect(flopsProxy.reduce!({ network: net } as Parameters<NonNullable<typeof flopsProxy.reduce>>[0])).toBe(
        autodlFlops(net),
      );
    }
  });
});

describe('coded errors', () => {
  const net = tinyNet('nb201');
  const base = { seed: 0, images: small(8) };
  it('a label-based proxy without labels', () => {
    expect(() => runProxies(net, ['snip'], base)).toThrow(expect.objectContaining({ code: 'E_LABELS' }));
    expect(() => runProxies(net, ['epe_nas'], base)).toThrow(expect.objectContaining({ code: 'E_LABELS' }));
    expect(runProxies(net, ['jacov'], { ...base, batch: 4 }).values.jacov!.value).not.toBeNull();
  });
  it('label count and range', () => {
    expect(() => runProxies(net, ['snip'], { ...base, labels: labels.subarray(0, 7) })).toThrow(
      expect.objectContaining({ code: 'E_LABELS' }),
    );
    expect(() => runProxies(net, ['snip'], { ...base, labels: Int32Array.from(labels, (y) => y + 10) })).toThrow(
      expect.objectContaining({ code: 'E_LABELS' }),
    );
  });
  it('a loss-based proxy on a network without a classifier head', () => {
    const dense = tinyNet('tnb101-micro', 'autoencoder');
    expect(() => runProxies(dense, ['grad_norm'], { ...base, labels })).toThrow(
      expect.objectContaining({ code: 'E_PROXY_HEAD' }),
    );
    expect(() => runProxies(dense, ['zen'], base)).toThrow(expect.objectContaining({ code: 'E_PROXY_HEAD' }));
    // every proxy that needs the head is named, not only the first
    expect(() => runProxies(dense, ['synflow', 'zen', 'meco', 'grad_norm'], { ...base, labels })).toThrow(
      /zen, grad_norm need a classifier head/,
    );
    // output-agnostic proxies still run on it
    const r = runProxies(dense, ['synflow', 'jacov'], { ...base, batch: 4 });
    expect(r.values.synflow!.value).toBeGreaterThan(0);
  });
  it('too few images for the protocol batch: the largest need is named, before anything runs', () => {
    expect(() => runProxies(net, ['jacov'], base)).toThrow(expect.objectContaining({ code: 'E_INPUT_SHAPE' }));
    // grad_norm reads 64 images, zico two batches of 64: 128, not the first group's 64
    expect(() => runProxies(net, ['grad_norm', 'zico'], { ...base, labels })).toThrow(
      /need 128 input images \(zico: 2 batches of 64\), .* holds 8/,
    );
  });
});

describe('invariants', () => {
  const net = tinyNet('nb201');
  it('nwot on PRNG weights equals the forward engine', () => {
    const params = prngParams(net, 5);
    const r = runProxies(net, ['nwot'], { seed: 5, images: small(8), batch: 8, weights: params });
    expect(r.values.nwot!.value).toBeCloseTo(referenceNwot(net, small(8), 5), 6);
  });
  it('synflow depends only on |θ| and vanishes when no path is left', () => {
    const params = prngParams(net, 2);
    const flipped = mapParams(params, (v, ref) => (ref.node % 2 === 0 ? -v : v));
    expect(synflow(net, flipped).value).toBeCloseTo(synflow(net, params).value!, 6);
    const zeroed = mapParams(params, (v, ref) => (net.nodes[ref.node]!.op === 'linear' ? 0 : v));
    expect(synflow(net, zeroed).value).toBe(0);
  });
  it('jacov: identical rows ≈ −1e5·(B−1), uncorrelated rows → −B', () => {
    const B = 4;
    const same = new Float64Array(B * 3).map((_, i) => [1, 2, 4][i % 3]!);
    expect(jacovScore(same, B).value! / (-1e5 * (B - 1))).toBeCloseTo(1, 3);
    const eye = new Float64Array(B * B * 2);
    for (let b = 0; b < B; b++) {
      eye[b * 2 * B + b] = 1;
      eye[b * 2 * B + B + b] = -1;
    }
    expect(jacovScore(eye, B).value).toBeLessThan(0);
    expect(jacovScore(new Float64Array(B * 3).fill(1), B).value).toBeNull();
    // one row: the official eigendecomposition fails on a 0-d correlation and returns NaN
    expect(jacovScore(Float64Array.of(1, 2, 4), 1)).toMatchObject({
      value: null,
      reason: expect.stringMatching(/at least 2/),
    });
  });
  it('epe_nas says when every sample has its own class (the value is then the same for every network)', () => {
    expect(epeNasConstant([3])).toMatch(/one sample/);
    expect(epeNasConstant([0, 1, 2])).toMatch(/3 samples has its own class/);
    expect(epeNasConstant([0, 1, 0])).toBeUndefined();
    const a = epeNasScore(Float64Array.of(1, 2, 3, 9, 1, 4), [0, 1], 10).value!;
    const b = epeNasScore(Float64Array.of(5, 1, 3, 0, 2, 7), [0, 1], 10).value!;
    expect(a).toBe(b);
  });
  it('AZ scores of a network with too few block features say why (null, or the empty sum 0)', () => {
    const none = azFromComponents([], []);
    for (const v of [none.progressivity, none.trainability])
      expect(v).toMatchObject({ value: null, reason: expect.stringMatching(/no block features.*plain chain/) });
    // expressivity is the sum over features: over none, 0 (said with the same reason)
    expect(none.expressivity).toMatchObject({ value: 0, reason: expect.stringMatching(/no block features/) });
    const one = azFromComponents([2.5], []);
    expect(one.expressivity.value).toBe(2.5);
    expect(one.progressivity).toMatchObject({
      value: null,
      reason: expect.stringMatching(/1 block feature; it needs 2/),
    });
    expect(one.trainability.value).toBeNull();
  });
  it("AZ trainability is null where the official code's unshuffle of the input gradient fails", () => {
    // equal sizes, and integer downsampling (also of non-square maps): computed
    expect(
      azPairProblem([
        [8, 16, 16],
        [8, 16, 16],
        [16, 8, 8],
        [32, 4, 4],
        [32, 2, 2],
      ]),
    ).toBeUndefined();
    expect(
      azPairProblem([
        [16, 8, 4],
        [32, 4, 2],
      ]),
    ).toBeUndefined();
    // 14x14 → 5x5 (stride ⌊14/5⌋ = 2, then 7x7 ≠ 5x5) and 7x7 → 3x3 (2 does not divide 7)
    for (const pair of [
      [
        [6, 14, 14],
        [16, 5, 5],
      ],
      [
        [16, 7, 7],
        [32, 3, 3],
      ],
      [
        [4, 4, 4],
        [4, 8, 8],
      ],
    ] as [number, number, number][][])
      expect(azPairProblem(pair)).toMatch(/not an integer downsampling/);
    const t = azFromComponents(
      [1, 2],
      [-0.5],
      azPairProblem([
        [6, 14, 14],
        [16, 5, 5],
      ]),
    ).trainability;
    expect(t).toMatchObject({ value: null, reason: expect.stringMatching(/6x14x14 then 16x5x5/) });
  });
  it('AZ trainability: identity block −inf, maximum 0 at σ = 1', () => {
    const g = Float64Array.of(1, -1, 1, 1);
    expect(blockTrainability(g, [1, 2, 2], g.slice(), [1, 2, 2], 1)).toBe(-Infinity);
    // one channel: σ = |⟨g', g⟩|/4, t = 2 − σ − 1/(σ + 1e-6)
    expect(
      Math.abs(
        blockTrainability(
          g,
          [1, 2, 2],
          g.map((v) => v * 0.999),
          [1, 2, 2],
          1,
        ),
      ),
    ).toBeLessThan(1e-5);
    expect(
      blockTrainability(
        g,
        [1, 2, 2],
        g.map((v) => v * 0.5),
        [1, 2, 2],
        1,
      ),
    ).toBeCloseTo(-0.5, 4);
  });
  it('AZ features of the NB201 network: stem, 15 cells, 2 reduction blocks', () => {
    const full = spaceEntry('nb201').space.build(spaceEntry('nb201').space.parse(NB201_ARCH), {
      channels: 4,
      cells: 5,
      classes: 10,
      inputSize: 8,
    });
    expect(blockFeatures(full)).toHaveLength(18);
    const r = azNas(
      full,
      prngParams(full, 1),
      small(8).data.subarray(0, 4 * 192),
      4,
      blockFeatures(full),
      prngRademacher(1),
    );
    expect(r.expressivity.value).toBeGreaterThan(0);
    expect(r.trainability.value).toBeLessThan(0);
  });
  it('VKDNW factor: L·Lᵀ = diag(p) − ppᵀ except the last column, float16 rounding', () => {
    const p = Float64Array.of(0.1, 0.2, 0.3, 0.4);
    const L = choleskyFactor(p);
    const K = 4;
    for (let i = 0; i < K; i++)
      for (let j = 0; j < K; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += L[i * K + k]! * L[j * K + k]!;
        expect(s).toBeCloseTo((i === j ? p[i]! : 0) - p[i]! * p[j]!, 12);
      }
    expect(toFloat16(1 - 0.0499877929688)).toBe(0.9501953125);
    expect(toFloat16(0.1)).toBe(0.0999755859375);
  });
  it('VKDNW over 1000 classes with a dominant logit: NaN in the float16-smoothed factor gives 0, as the official code', () => {
    // keep + K·floor > 1 in float16, so the last class's remaining mass is negative under a square root; the official
    // SVD then raises and its fallback eigenvalues are zeros
    const K = 1000;
    const B = 2;
    const P = 3;
    const J = Float64Array.from({ length: B * K * P }, (_, i) => Math.sin(i));
    const peaked = new Float64Array(B * K);
    peaked[0] = 20;
    peaked[K + 5] = 20;
    expect(vkdnwFromJacobian(J, peaked, B, K, P)).toEqual({ value: 0, reason: expect.stringMatching(/SVD fails/) });
    expect(vkdnwFromJacobian(J, new Float64Array(B * K), B, K, P).value).toBeGreaterThan(0);
  });
  it('VKDNW never reads Jacobian column K − 1 (the native group skips its backward pass)', () => {
    const rng = new Rng(12);
    for (const K of [2, 3, 10]) {
      const B = 3;
      const P = 5;
      const logits = Float64Array.from({ length: B * K }, () => 4 * rng.normal());
      const J = Float64Array.from({ length: B * K * P }, () => rng.normal());
      const cut = J.slice();
      for (let b = 0; b < B; b++) cut.fill(0, (b * K + K - 1) * P, (b * K + K) * P);
      const p = Float64Array.from({ length: K }, () => rng.next() + 1e-3);
      const L = choleskyFactor(p.map((v) => v / p.reduce((a, x) => a + x, 0)));
      for (let i = 0; i < K; i++) expect(L[i * K + K - 1]).toBe(0);
      expect(vkdnwFromJacobian(cut, logits, B, K, P)).toEqual(vkdnwFromJacobian(J, logits, B, K, P));
    }
  });
});

describe('VKDNW on nn.PReLU networks', () => {
  // a conv-BN-PReLU(4) stem (uniform 0.25: the leaky relu with learned slopes), a conv-PReLU of `second`'s slopes
  // called again after a third conv (one parameter, two calls), GAP and Linear. The official code differentiates
  // every named_parameters() tensor, slopes included (a one-slope nn.PReLU() makes it raise under torch 1.13).
  const build = (first: readonly number[], second: number | readonly number[], constant = false) => {
    const b = new GraphBuilder([3, 8, 8]);
    // `constant`: the same functions with slopes that are no parameter (F.prelu by a constant)
    const at = (learned?: number) => (constant ? { learned: undefined } : learned === undefined ? {} : { learned });
    const x = b.prelu(b.bn(b.conv(b.input, 4, 3, { pad: 1 })), first, at());
    const y = b.prelu(b.conv(x, 4, 3, { pad: 1 }), second, at());
    const z = b.prelu(b.conv(y, 4, 3), second, at(0));
    return b.finish(b.linear(b.gap(z), 5, true));
  };
  const o = { seed: 1, images: defaultBatch(8), labels: defaultLabels(8).map((y) => y % 5) };
  const second = [0.5, -0.25, 2, 0] as const;

  it('a slope scalar per sample is the derivative of the outputs, summed over the calls of its module', () => {
    const net = build([0.25, 0.25, 0.25, 0.25], second);
    const params = prngParams(net, 3);
    const rng = new Rng(5);
    const x = Float64Array.from({ length: 3 * 3 * 8 * 8 }, () => rng.normal());
    const slopeNodes = net.nodes.filter((n) => n.op === 'act' || n.op === 'relu').map((n) => n.id);
    expect(slopeNodes.length).toBe(3);
    const sum = (n: typeof net, xs: Float64Array, B: number) => {
      const t = forwardTape(n, params, xs, B, { bn: 'eval' });
      return Array.from({ length: B }, (_, b) => t.logits.slice(b * 5, (b + 1) * 5).reduce((a, v) => a + v, 0));
    };
    const tape = forwardTape(net, params, x, 3, { bn: 'eval', backward: { params: true } });
    const perSample = backward(tape, {
      seeds: new Map([[net.output, new Float64Array(15).fill(1)]]),
      perSample: slopeNodes.map((node) => ({ node, kind: 'slope' as const, index: 0 })),
    }).perSample!;
    const h = 1e-6;
    const fd = (a: readonly number[], b: readonly number[]) =>
      sum(build(a, b), x, 3).map((v, i) => v - sum(net, x, 3)[i]!);
    // the stem's slope 0 moved by ±h, then the second module's (both its calls move)
    const up0 = fd([0.25 + h, 0.25, 0.25, 0.25], second);
    const dn0 = fd([0.25 - h, 0.25, 0.25, 0.25], second);
    const up1 = fd([0.25, 0.25, 0.25, 0.25], [second[0] + h, ...second.slice(1)]);
    const dn1 = fd([0.25, 0.25, 0.25, 0.25], [second[0] - h, ...second.slice(1)]);
    for (let b = 0; b < 3; b++) {
      expect(perSample[0]![b]).toBeCloseTo((up0[b]! - dn0[b]!) / (2 * h), 5);
      expect(perSample[1]![b]! + perSample[2]![b]!).toBeCloseTo((up1[b]! - dn1[b]!) / (2 * h), 5);
    }
    expect(Math.abs(perSample[2]![0]!)).toBeGreaterThan(1e-3); // the second call contributes
  });

  it('per-channel slopes: their first values are Jacobian columns, the same on both engines; vkdnw_dim counts them', async () => {
    const net = build([0.25, 0.25, 0.25, 0.25], second);
    const r = runProxies(net, ['vkdnw', 'vkdnw_dim'], o);
    // conv weight, BN γ and β, two conv weights, linear weight and bias: 7 tensors, and 2 slope tensors
    expect(r.values.vkdnw_dim!.value).toBe(9);
    expect(r.values.vkdnw!.value).toBeGreaterThan(0);
    const load = loadAddon();
    if (!load.ok) throw new Error(load.reason);
    const nat = await nativeProxyRunner(load.addon, 1).run(net, ['vkdnw', 'vkdnw_dim'], o);
    expect(nat.settings.vkdnw).toMatchObject({ engine: 'native' });
    expect(nat.values.vkdnw_dim).toEqual(r.values.vkdnw_dim);
    expect(Math.abs(nat.values.vkdnw!.value! - r.values.vkdnw!.value!)).toBeLessThan(1e-5 * r.values.vkdnw!.value!);
    // the same functions with constant slopes: 7 columns, another value
    const fixed = runProxies(build([0.25, 0.25, 0.25, 0.25], second, true), ['vkdnw', 'vkdnw_dim'], o);
    expect(fixed.values.vkdnw_dim!.value).toBe(7);
    expect(Math.abs(fixed.values.vkdnw!.value! - r.values.vkdnw!.value!)).toBeGreaterThan(
      0.01 * r.values.vkdnw!.value!,
    );
  });

  it('a one-slope nn.PReLU(): null with the official error on both engines', async () => {
    const net = build([0.25, 0.25, 0.25, 0.25], -0.5);
    const r = runProxies(net, ['vkdnw', 'vkdnw_dim'], o);
    expect(r.values.vkdnw).toMatchObject({
      value: null,
      reason: expect.stringMatching(/raises on a one-slope nn\.PReLU\(\)/),
    });
    expect(r.values.vkdnw_dim).toMatchObject({ value: null });
    const load = loadAddon();
    if (!load.ok) throw new Error(load.reason);
    const nat = await nativeProxyRunner(load.addon, 1).run(net, ['vkdnw', 'vkdnw_dim'], o);
    expect([nat.values.vkdnw, nat.values.vkdnw_dim]).toEqual([r.values.vkdnw, r.values.vkdnw_dim]);
  });
});
