/**
 * The addon's float64 pass (native/f64_pass.h): the reference's forward and backward loops in C++, so its
 * parameter gradients equal the TypeScript reference (float64, the definition) bit for bit on every op, and
 * synflow_bn — whose value float32 rounding can outweigh — runs natively at the reference's value.
 */
import { describe, expect, it } from 'vitest';
import { backward, lossGradients } from '../src/backends/reference/backward.js';
import { lossHessianVector } from '../src/backends/reference/hvp.js';
import { forwardTape } from '../src/backends/reference/tape.js';
import { packedSlots, packParams } from '../src/backends/native/grad.js';
import { nativeProxyPass } from '../src/backends/native/proxy-pass.js';
import { referenceGradients } from '../src/backends/reference/grad-job.js';
import { grasp, graspFromWeightHv } from '../src/proxies/grasp.js';
import { moduleWeights, weightedNodes } from '../src/proxies/saliency.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { defaultBatch } from '../src/data/cifar.js';
import { defaultLabels } from '../src/data/labels.js';
import { prngParams } from '../src/grad/params.js';
import type { BnMode, NetParams } from '../src/grad/types.js';
import { nonModuleWeights, numel } from '../src/ir/analysis.js';
import { GraphBuilder } from '../src/ir/builder.js';
import type { Network } from '../src/ir/types.js';
import { serializeNetworks } from '../src/ir/serialize.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { type ProxyRunOptions, runProxies } from '../src/proxies/run.js';
import { normGraphs, opGraphs, randomData, randomParams } from './grad-graphs.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);

/**
 * Convolutions wide enough for the vector kernels (native/f64_conv.h: lanes over output channels, or input channels
 * for the data gradient, blocked over adjacent positions with stride 1): partial vectors (9, 12, 18 channels), more
 * channels than one call keeps (72: two chunks), stride, dilation, groups, a 5×5 kernel, biases, a BN without γ/β.
 */
function wideConvs(): { name: string; net: Network } {
  const b = new GraphBuilder([5, 9, 9]);
  const c1 = b.relu(b.bn(b.conv(b.input, 12, 3, { bias: true })));
  const d1 = b.relu(b.bn(b.conv(c1, 16, 3, { dilation: 2 }), false));
  const c2 = b.relu(b.conv(d1, 72, 3, { stride: 2, pad: 1 }));
  const c3 = b.relu(b.bn(b.conv(c2, 18, 5, { dilation: 2, groups: 2, pad: 3, bias: true })));
  const c4 = b.conv(c3, 8, 1, { pad: 0 });
  return { name: 'wide-convs', net: b.finish(b.linear(b.gap(b.relu(c4)), 4, true), { space: 'test', arch: 'wide' }) };
}

/**
 * Equal bit for bit, or within 1e-12 where the network has a logistic sigmoid or a smooth activation: e^x, tanh,
 * log1p are V8's Math functions in the reference and libm's natively (erfc: the reference's series and continued
 * fraction, within 5e-15 of libm's), which may differ in the last bits (1e-11 through a chain of them).
 */
function same(g: Network, got: ArrayLike<number>, want: ArrayLike<number>, what = '', rel = 1e-12): void {
  if (!g.nodes.some((n) => (n.op === 'sigmoid' && !n.hard) || n.op === 'act' || n.op === 'softmax'))
    return void expect(Array.from(got), what).toEqual(Array.from(want));
  // a chain of six transcendental functions, each a last bit apart, moves a gradient entry by up to ~1e-12
  if (g.nodes.some((n) => n.op === 'act')) rel = Math.max(rel, 1e-11);
  // the sum of a softmax's outputs is 1: its gradients are 0 in exact arithmetic, round-off in both engines
  const floor = g.nodes.some((n) => n.op === 'softmax' && !n.log) ? 1e-14 : 1e-300;
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++)
    expect(Math.abs(got[i]! - want[i]!), `${what} [${i}]`).toBeLessThanOrEqual(
      Math.max(rel * Math.max(Math.abs(want[i]!), 1e-300), floor),
    );
}

describe.each(['train', 'eval', 'identity'] as const)('the float64 pass equals the reference, BN %s', (bn: BnMode) => {
  for (const { name, net: g } of [...opGraphs(), ...normGraphs(), wideConvs()])
    it(`${name}: outputs, every parameter gradient and the input gradient bit for bit (1e-12 through a sigmoid or smooth activation)`, async () => {
      // float64 parameters, as the reference holds them (not float32 roundings of them)
      const params = randomParams(g, 11);
      const x = Float32Array.from(randomData(g, 3, 19).x);
      const r = await nativeProxyPass(load.addon, g, packParams(g, params, Float64Array), x, 3, {
        bn,
        wantParams: true,
        float64: true,
      });
      const tape = forwardTape(g, params, x, 3, { bn, backward: { params: true } });
      const seeds = new Map([[g.output, new Float64Array(tape.logits.length).fill(1)]]);
      const want = backward(tape, { seeds, params: true });
      same(g, r.outputs, Float32Array.from(tape.logits), 'outputs (float32)', 2 ** -23);
      expect(r.params.length).toBe(0);
      expect(r.input64.length).toBe(0);
      // the input gradient, alone (jacov's pass) and beside the parameters'
      const dx = Array.from(backward(tape, { seeds, input: true }).input!);
      const packed = packParams(g, params, Float64Array);
      const alone = await nativeProxyPass(load.addon, g, packed, x, 3, { bn, wantInput: true, float64: true });
      same(g, alone.input64, dx);
      expect(alone.params64.length).toBe(0);
      const both = await nativeProxyPass(load.addon, g, packed, x, 3, {
        bn,
        wantInput: true,
        wantParams: true,
        float64: true,
      });
      same(g, both.input64, dx);
      expect(both.params64).toEqual(r.params64);
      let compared = 0;
      for (const t of packedSlots(g)) {
        const got = Array.from(r.params64.subarray(t.offset, t.offset + t.size));
        if (t.kind === 'runningMean' || t.kind === 'runningVar') {
          expect(got.every((v) => v === 0)).toBe(true);
          continue;
        }
        const ref = want.params![t.node]?.[t.kind];
        if (!ref) continue; // BN without affine parameters, or as identity: the reference keeps no gradient
        same(g, got, ref, `node ${t.node} ${t.kind}`);
        compared += ref.length;
      }
      expect(compared).toBeGreaterThan(0);
      // (the sum of a softmax's outputs is constant: its gradients may all be 0)
      if (name !== 'softmax') expect(r.params64.some((v) => v !== 0)).toBe(true);
    });
});

describe('the float64 pass with labels: the mean cross-entropy (zico on a zero-gradient layer)', () => {
  for (const { name, net: g } of [...opGraphs(), ...normGraphs()])
    it(`${name}: every parameter gradient equals the reference's loss gradients (1e-12: its seed's e^x is libm's)`, async () => {
      const params = randomParams(g, 13);
      const { x, labels } = randomData(g, 4, 23);
      const xf = Float32Array.from(x);
      const r = await nativeProxyPass(load.addon, g, packParams(g, params, Float64Array), xf, 4, {
        bn: 'train',
        labels,
        wantParams: true,
        float64: true,
      });
      const want = lossGradients(g, params, xf, labels).grads.params!;
      let compared = 0;
      for (const t of packedSlots(g)) {
        const ref = want[t.node]?.[t.kind];
        if (!ref || t.kind === 'runningMean' || t.kind === 'runningVar') continue;
        const got = r.params64.subarray(t.offset, t.offset + t.size);
        ref.forEach((w, i) =>
          expect(Math.abs(got[i]! - w), `node ${t.node} ${t.kind} [${i}]`).toBeLessThanOrEqual(
            1e-11 * Math.max(Math.abs(w), 1e-300),
          ),
        );
        compared += ref.length;
      }
      expect(compared).toBeGreaterThan(0);
    });
  for (const { name, net: g } of [...opGraphs(), ...normGraphs()])
    it(`${name}: the channel saliency of every conv / linear output (fisher) equals the reference's (1e-11)`, async () => {
      const params = randomParams(g, 17);
      const { x, labels } = randomData(g, 3, 29);
      const xf = Float32Array.from(x);
      const r = await nativeProxyPass(load.addon, g, packParams(g, params, Float64Array), xf, 3, {
        bn: 'train',
        labels,
        wantParams: true,
        wantSaliency: true,
        float64: true,
      });
      const [want] = await referenceGradients({
        networks: [g],
        params: [params],
        input: xf,
        batch: 3,
        labels,
        bn: 'train',
        wantChannelSaliency: true,
      });
      expect(r.saliency.length).toBe(0);
      let off = 0;
      for (const id of weightedNodes(g)) {
        const ref = want!.channelSaliency!.get(id)!;
        const got = r.saliency64.subarray(off, off + ref.length);
        ref.forEach((w, i) =>
          expect(Math.abs(got[i]! - w), `node ${id} [${i}]`).toBeLessThanOrEqual(1e-11 * Math.max(Math.abs(w), 1e-300)),
        );
        off += ref.length;
      }
      expect(off).toBe(r.saliency64.length);
      expect(off).toBeGreaterThan(0);
    });
});

/** ⟨W, H·g⟩ per node (node order, 0 but at conv/linear nodes) from the reference's explicit H·g, summed in index order. */
function referenceWeightHv(g: Network, params: NetParams, x: Float32Array, labels: Int32Array, bn: BnMode): number[] {
  const { hv } = lossHessianVector(g, params, x, labels, 'gradient', bn);
  const out = new Array<number>(g.nodes.length).fill(0);
  for (const [id, h] of hv) {
    const w = params[id]!.weight!;
    let s = 0;
    for (let i = 0; i < w.length; i++) s += w[i]! * h[i]!;
    out[id] = s;
  }
  return out;
}

/**
 * Within `rel` of the reference, relative (bit for bit is not promised: the seed's and softmaxTangent's e^x are libm's
 * natively and V8's in the reference, and the smooth activations' functions likewise).
 */
function near(got: number, want: number, what: string, rel = 1e-11): void {
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(
    rel * Math.max(Math.abs(want), 1e-300),
  );
}

describe.each(['train', 'eval', 'identity'] as const)(
  "the float64 pass's Hessian-vector product (grasp) equals the reference's, BN %s",
  (bn: BnMode) => {
    for (const { name, net: g } of [...opGraphs(), wideConvs()].filter((o) => !hasSoftmax(o.net)))
      it(`${name}: ⟨W, H·g⟩ of every conv / linear node, and grasp, within 1e-11`, async () => {
        const params = randomParams(g, 31);
        const { x, labels } = randomData(g, 3, 37);
        const xf = Float32Array.from(x);
        const r = await nativeProxyPass(load.addon, g, packParams(g, params, Float64Array), xf, 3, {
          bn,
          labels,
          wantParams: true,
          wantHvp: true,
          float64: true,
        });
        const want = referenceWeightHv(g, params, xf, labels, bn);
        expect(r.weightHv.length).toBe(g.nodes.length);
        const layers = new Set(moduleWeights(g));
        // (a transposed conv's weight is held fixed, outside GraSP's H: the reference reports nothing for it)
        const fixed = nonModuleWeights(g);
        g.nodes.forEach((n) => {
          if (layers.has(n.id)) near(r.weightHv[n.id]!, want[n.id]!, `node ${n.id} (${n.op})`);
          else if (!fixed.has(n.id)) expect(r.weightHv[n.id], `node ${n.id} (${n.op})`).toBe(0);
        });
        expect(want.some((v) => v !== 0)).toBe(true);
        near(graspFromWeightHv([...layers], r.weightHv).value!, grasp(g, params, xf, labels, bn).value!, 'grasp');
      });
  },
);

function hasSoftmax(g: Network): boolean {
  return g.nodes.some((n) => n.op === 'softmax');
}

describe('Hessian-vector products through a softmax', () => {
  for (const { name, net: g } of opGraphs().filter((o) => hasSoftmax(o.net)))
    it(`${name}: refused by both native passes (grasp runs it on the reference engine, test/proxies-native)`, async () => {
      const params = randomParams(g, 31);
      const { x, labels } = randomData(g, 3, 37);
      const req = { bn: 'train' as const, labels, wantParams: true, wantHvp: true };
      for (const float64 of [true, false]) {
        const packed = float64 ? packParams(g, params, Float64Array) : packParams(g, params);
        await expect(
          nativeProxyPass(load.addon, g, packed, Float32Array.from(x), 3, { ...req, ...(float64 ? { float64 } : {}) }),
        ).rejects.toThrow(/softmax has no Hessian-vector form/);
      }
    });
});

describe('group normalisation on the native passes', () => {
  for (const { name, net: g } of normGraphs())
    it(`${name}: the Hessian-vector passes refuse it; the runner routes grasp to the reference engine, saying why`, async () => {
      const params = randomParams(g, 41);
      const { x, labels } = randomData(g, 3, 43);
      for (const float64 of [true, false]) {
        const req = { bn: 'train' as const, labels, wantParams: true, wantHvp: true, ...(float64 ? { float64 } : {}) };
        const packed = float64 ? packParams(g, params, Float64Array) : packParams(g, params);
        await expect(nativeProxyPass(load.addon, g, packed, Float32Array.from(x), 3, req)).rejects.toThrow(
          /GroupNorm has no Hessian-vector form/,
        );
      }
      const images = { n: 3, c: 3, h: 8, w: 8, data: Float32Array.from(x), source: 'x' };
      const o: ProxyRunOptions = { seed: 1, images, labels, batch: 3, weights: params };
      const names = ['grasp', 'grad_norm', 'jacov', 'vkdnw'] as const;
      const r = await nativeProxyRunner(load.addon).run(g, names, { ...o, precision: 'float64' });
      const ref = runProxies(g, names, o);
      expect(r.settings.grasp).toMatchObject({ engine: 'reference', routed: expect.stringMatching(/GroupNorm/) });
      expect(r.values.grasp).toEqual(ref.values.grasp);
      for (const k of ['grad_norm', 'jacov'] as const) {
        expect(r.settings[k], k).toMatchObject({ engine: 'native', dtype: 'float64' });
        expect(Math.abs(r.values[k]!.value! - ref.values[k]!.value!), k).toBeLessThanOrEqual(
          1e-9 * Math.abs(ref.values[k]!.value!),
        );
      }
      // VKDNW's per-sample gradients of γ[0] and β[0] (float32 pass)
      expect(r.settings.vkdnw).toMatchObject({ engine: 'native' });
      expect(Math.abs(r.values.vkdnw!.value! - ref.values.vkdnw!.value!)).toBeLessThanOrEqual(
        1e-4 * Math.abs(ref.values.vkdnw!.value!),
      );
    });
});

describe('the float64 pass', () => {
  const g = opGraphs()[0]!.net;
  const packed = packParams(g, randomParams(g, 1), Float64Array);
  const x = Float32Array.from(randomData(g, 2, 3).x);
  it('is refused for anything but the weight and input gradients of the sum objective or the loss', async () => {
    const call = (req: Parameters<typeof nativeProxyPass>[5]) => nativeProxyPass(load.addon, g, packed, x, 2, req);
    for (const extra of [
      { wantParams: false },
      { wantParams: false, wantInput: false },
      // the Hessian-vector product is of the labels' loss, and starts from the weight gradient
      { wantHvp: true },
      { wantHvp: true, labels: [0, 1], wantParams: false, wantInput: true },
      { bnVar: true },
      { nwot: true },
      { keep: [1] },
      { blockScale: true },
      { outputBackward: true },
    ])
      await expect(
        call({ bn: 'train', wantParams: true, float64: true, ...extra }),
        JSON.stringify(extra),
      ).rejects.toMatchObject({
        code: 'E_OPTION',
      });
  });
  it('is refused by the addon itself when a job mixes it with other outputs', async () => {
    const job = serializeNetworks([g]);
    const [c, h, w] = g.nodes[0]!.shape as [number, number, number];
    const call = load.addon.gradients({
      ...job,
      input: x,
      n: 2,
      c,
      h,
      w,
      seeds: new Uint32Array(0),
      cancel: new Int32Array(1),
      threads: 1,
      params: packed,
      paramOffsets: Int32Array.of(0, packed.length),
      labels: Int32Array.of(0, 1),
      bn: 0,
      wantParams: true,
      wantInput: false,
      wantSaliency: false,
      wantBnVar: true,
      wantNwot: false,
      float64: true,
    });
    await expect(call).rejects.toThrow(/float64/);
  });
  it('gives the same values bit for bit when a lone network splits its convolutions over threads', async () => {
    const w = wideConvs().net;
    const pw = packParams(w, randomParams(w, 4), Float64Array);
    const xw = Float32Array.from(randomData(w, 2, 5).x);
    const pass = (threads: number) =>
      nativeProxyPass(load.addon, w, pw, xw, 2, { bn: 'train', wantParams: true, float64: true, threads });
    const one = await pass(1);
    for (const threads of [2, 3]) {
      const r = await pass(threads);
      expect(r.threads).toBe(threads);
      expect(r.params64).toEqual(one.params64);
      expect(r.outputs).toEqual(one.outputs);
    }
  });
  it('gives the same Hessian-vector product bit for bit when a lone network splits its convolutions over threads', async () => {
    const w = wideConvs().net;
    const pw = packParams(w, randomParams(w, 6), Float64Array);
    const { x: xw, labels } = randomData(w, 2, 7);
    const pass = (threads: number) =>
      nativeProxyPass(load.addon, w, pw, Float32Array.from(xw), 2, {
        bn: 'train',
        labels,
        wantParams: true,
        wantHvp: true,
        float64: true,
        threads,
      });
    const one = await pass(1);
    expect(one.weightHv.some((v) => v !== 0)).toBe(true);
    for (const threads of [2, 3]) {
      const r = await pass(threads);
      expect(r.threads).toBe(threads);
      expect(r.weightHv).toEqual(one.weightHv);
      expect(r.params64).toEqual(one.params64);
    }
  });
  it('takes float64-packed parameters, and refuses float32 ones (and float64 ones for a float32 pass)', async () => {
    const p32 = packParams(g, randomParams(g, 1));
    await expect(
      nativeProxyPass(load.addon, g, p32, x, 2, { bn: 'train', wantParams: true, float64: true }),
    ).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(nativeProxyPass(load.addon, g, packed, x, 2, { bn: 'train', wantParams: true })).rejects.toMatchObject(
      {
        code: 'E_OPTION',
      },
    );
  });
  it('gives numel(output) x batch outputs and gradients the size of the packed layout', async () => {
    const r = await nativeProxyPass(load.addon, g, packed, x, 2, { bn: 'train', wantParams: true, float64: true });
    expect(r.outputs.length).toBe(2 * numel(g.nodes[g.output]!.shape));
    expect(r.params64.length).toBe(packed.length);
    expect(r.peakBytes).toBeGreaterThan(0);
  });
});

describe('jacov and epe_nas go to the float64 pass where float32 cannot resolve them', () => {
  it('an analytically zero Jacobian (train-mode BN right before the pool): native float64, the reference value', async () => {
    const runner = nativeProxyRunner(load.addon, 2);
    const b = new GraphBuilder([3, 32, 32]);
    const net = b.finish(b.linear(b.gap(b.bn(b.conv(b.input, 6, 3))), 5, true), { space: 'test', arch: 'bn-pool' });
    const o: ProxyRunOptions = {
      protocol: 'official',
      seed: 2,
      images: defaultBatch(8),
      labels: Int32Array.from(defaultLabels(8), (y) => y % 5),
      batch: 8,
      weights: prngParams(net, 2),
    };
    const nat = await runner.run(net, ['jacov', 'epe_nas'], o);
    const ref = runProxies(net, ['jacov', 'epe_nas'], o);
    for (const p of ['jacov', 'epe_nas'] as const) {
      expect(nat.settings[p]).toMatchObject({ engine: 'native', dtype: 'float64' });
      expect(nat.settings[p]!.routed).toMatch(
        /vanishes to float32 rounding.*float64 on the native engine.*analytically zero/,
      );
      expect(nat.values[p]).toEqual(ref.values[p]);
    }
    // asked for float64 (the default of an ONNX model), the same value, saying that it measures rounding noise
    const f64 = await runner.run(net, ['jacov', 'epe_nas'], { ...o, precision: 'float64' });
    for (const p of ['jacov', 'epe_nas'] as const) {
      expect(f64.values[p]!.value).toBe(ref.values[p]!.value);
      expect(f64.values[p]!.reason).toMatch(/analytically zero.*rounding noise/);
    }
  });
});

describe('synflow_bn runs natively in float64', () => {
  // SWAP's proxy network for NB201 (C=8, N=3, pruned) under the SWAP protocol: one all-ones sample through
  // train-mode BN. On the 1x1 cell most gradients are analytically near zero and a float32 pass was 0.15 off.
  const runner = nativeProxyRunner(load.addon, 2);
  const entry = spaceEntry('nb201');
  const build = (a: string) =>
    entry.space.build(entry.space.parse(a), {
      ...entry.networkFor('cifar10'),
      channels: 8,
      cells: 3,
      prune: true,
      inputSize: 32,
    });
  const os: ProxyRunOptions = { protocol: 'swap', seed: 0, images: defaultBatch(16), batch: 16 };
  it.each([
    '|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|',
    '|skip_connect~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_3x3~0|skip_connect~1|nor_conv_3x3~2|',
  ])('%s: the reference value, on the native engine', async (arch) => {
    const n = build(arch);
    const nat = await runner.run(n, ['synflow_bn', 'synflow'], os);
    expect(nat.settings.synflow_bn).toMatchObject({ engine: 'native', dtype: 'float64' });
    expect(nat.settings.synflow_bn!.routed).toBeUndefined();
    expect(nat.settings.synflow).toMatchObject({ engine: 'native', dtype: 'float32' });
    const ref = runProxies(n, ['synflow_bn'], os).values.synflow_bn!.value!;
    // the same gradients bit for bit, summed by the same function
    expect(nat.values.synflow_bn!.value).toBe(ref);
  });
});
