import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeGradients } from '../src/backends/native/grad.js';
import { referenceGradients } from '../src/backends/reference/grad-job.js';
import { paramRefs, paramTensor, prngParams } from '../src/grad/params.js';
import type { GradientJob, NetParams, NetworkGradients } from '../src/grad/types.js';
import { loadAddon } from '../src/native/loader.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import { parseNb201 } from '../src/spaces/nb201/genotype.js';
import { buildDartsNetwork } from '../src/spaces/darts/network.js';
import { DARTS_KNOWN_GENOTYPES } from '../src/spaces/darts/known.js';
import type { Network } from '../src/ir/types.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { onnxParams, toOnnxLayout } from '../src/onnx/params.js';
import { normGraphs, opGraphs, randomData, randomParams } from './grad-graphs.js';
import { gradientSupport } from '../src/backends/grad-support.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { ReferenceBackend } from '../src/backends/reference/index.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);
const addon = load.addon;

/** max |a − b| / max |b| (b = the reference), with `floor` as the least scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = floor;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Native (float32) against the reference (float64): every parameter gradient and the input gradient within 1e-4
 * of the tensor's scale (the scale is at least 1e-4 of the network's largest gradient, so that tensors whose
 * exact gradient vanishes — a bias before a train-mode BN — compare round-off to round-off).
 */
function expectParity(
  mine: NetworkGradients,
  ref: NetworkGradients,
  params: NetParams,
  what: string,
  tol = 1e-4,
): void {
  expect(Math.abs(mine.loss - ref.loss), `${what} loss`).toBeLessThan(tol * Math.max(1, Math.abs(ref.loss)));
  expect(relErr(mine.outputs, ref.outputs), `${what} outputs`).toBeLessThan(tol);
  const refs = paramRefs(params);
  const top = Math.max(...refs.map((r) => maxAbs(paramTensor(ref.params!, r))));
  expect(top).toBeGreaterThan(0);
  for (const r of refs) {
    const err = relErr(paramTensor(mine.params!, r), paramTensor(ref.params!, r), 1e-4 * top);
    expect(err, `${what} ${r.kind}@${r.node}`).toBeLessThan(tol);
  }
  if (ref.activations) {
    expect(mine.activations?.size).toBe(ref.activations.size);
    for (const [id, a] of ref.activations)
      expect(relErr(mine.activations!.get(id)!, a), `${what} act@${id}`).toBeLessThan(tol);
  }
  if (ref.channelSaliency) {
    expect(mine.channelSaliency?.size).toBe(ref.channelSaliency.size);
    const sTop = Math.max(...[...ref.channelSaliency.values()].map(maxAbs));
    for (const [id, s] of ref.channelSaliency)
      expect(relErr(mine.channelSaliency!.get(id)!, s, 1e-4 * sTop), `${what} saliency@${id}`).toBeLessThan(tol);
  }
  if (!ref.input) return;
  if (maxAbs(ref.input) < 1e-9) {
    // Exactly 0 (e.g. d Σ outputs / dx through a train-mode BN, whose outputs sum to a constant): round-off only.
    expect(maxAbs(mine.input!), `${what} input`).toBeLessThan(1e-5);
  } else {
    expect(relErr(mine.input!, ref.input), `${what} input`).toBeLessThan(tol);
  }
}

/**
 * The sum objective through a softmax, whose outputs sum to 1: every gradient is 0 in exact arithmetic, so both
 * engines give round-off (the outputs still agree).
 */
function expectRoundOff(mine: NetworkGradients, ref: NetworkGradients, params: NetParams, what: string): void {
  expect(relErr(mine.outputs, ref.outputs), `${what} outputs`).toBeLessThan(1e-4);
  for (const g of [mine, ref]) {
    for (const r of paramRefs(params))
      expect(maxAbs(paramTensor(g.params!, r)), `${what} ${r.kind}@${r.node}`).toBeLessThan(1e-5);
    expect(maxAbs(g.input!), `${what} input`).toBeLessThan(1e-5);
  }
}

async function both(job: GradientJob): Promise<[NetworkGradients[], NetworkGradients[]]> {
  return [await nativeGradients(addon, { ...job, threads: 2 }), await referenceGradients(job)];
}

describe('native backward equals the reference on every op', () => {
  const graphs = [...opGraphs(), ...normGraphs()];
  for (const bn of ['train', 'eval', 'identity'] as const) {
    it(`random graphs of every op, BN ${bn}: cross-entropy and sum objectives, one call for all networks`, async () => {
      const networks = graphs.map((g) => g.net);
      const params = networks.map((n, i) => randomParams(n, 40 + i));
      // Networks share the input shape per call; group by it.
      const byShape = new Map<string, number[]>();
      networks.forEach((n, i) => {
        const k = n.nodes[0]!.shape.join('x');
        byShape.set(k, [...(byShape.get(k) ?? []), i]);
      });
      for (const idx of byShape.values()) {
        const nets = idx.map((i) => networks[i]!);
        const ps = idx.map((i) => params[i]!);
        const { x, labels } = randomData(nets[0]!, 3, 5);
        const K = nets.map((n) => n.nodes[n.output]!.shape[0]);
        const lab = labels.map((y) => y % Math.min(...K));
        for (const objective of [lab, undefined]) {
          const job: GradientJob = {
            networks: nets,
            params: ps,
            input: x,
            batch: 3,
            labels: objective,
            bn,
            wantInput: true,
            wantChannelSaliency: true,
            keep: nets.map((n) => n.nodes.filter((m) => m.op !== 'input' && m.op !== 'zero').map((m) => m.id)),
          };
          const [mine, ref] = await both(job);
          idx.forEach((gi, k) => {
            const what = `${graphs[gi]!.name} ${objective ? 'CE' : 'sum'}`;
            if (graphs[gi]!.name === 'softmax' && !objective) expectRoundOff(mine[k]!, ref[k]!, ps[k]!, what);
            else expectParity(mine[k]!, ref[k]!, ps[k]!, what);
          });
        }
      }
    });
  }

  it('NB201 cells (16×16, C=8) and a DARTS proxy cell with PRNG weights; peak memory is reported', async () => {
    const nets: Network[] = [
      buildNb201Network(
        parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'),
        {
          channels: 8,
          cells: 1,
          inputSize: 16,
        },
      ),
      buildNb201Network(parseNb201('|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|none~2|'), {
        channels: 8,
        cells: 1,
        inputSize: 16,
      }),
      buildDartsNetwork(DARTS_KNOWN_GENOTYPES.DARTS_V2, {
        kind: 'proxy',
        channels: 4,
        cells: 2,
        classes: 10,
        inputSize: 16,
        inputChannels: 3,
      }),
    ];
    const params = nets.map((n, i) => prngParams(n, 7 + i));
    const { x, labels } = randomData(nets[0]!, 4, 8);
    const job: GradientJob = {
      networks: nets,
      params,
      input: x,
      batch: 4,
      labels,
      wantInput: true,
      wantChannelSaliency: true,
    };
    const [mine, ref] = await both(job);
    nets.forEach((_, i) => {
      expectParity(mine[i]!, ref[i]!, params[i]!, `network ${i}`);
      expect(mine[i]!.peakBytes).toBeGreaterThan(0);
    });
  });

  it('weight gradients reduced a block of samples at a time: partial last blocks, groups, planes of 1-64 positions', async () => {
    // native/grad_ops.cpp blocks ⌊1024 / positions⌋ samples per reduction: at batch 45 the 8 × 8 planes take 16 + 16
    // + 13 samples, the 5 × 5 ones 40 + 5, the 4 × 4, 3 × 3 and 1 × 1 ones all 45 in one block
    const net = (size: number) => {
      const b = new GraphBuilder([3, size, size]);
      const unit = (x: number, cout: number, o: Parameters<GraphBuilder['conv']>[3] = {}) =>
        b.relu(b.bn(b.conv(x, cout, [3, 3], { pad: [1, 1], ...o })));
      const a = unit(unit(b.input, 8), 8, { groups: 2 });
      const c = unit(a, 12, { stride: 2 });
      const d = b.relu(b.conv(b.gap(c, true), 6, [1, 1], { bias: true }));
      return b.finish(b.linear(b.gap(d), 5, true), { space: 'test', arch: `blocks-${size}` });
    };
    for (const size of [8, 5]) {
      const n = net(size);
      const params = [randomParams(n, 31 + size)];
      const { x, labels } = randomData(n, 45, 9);
      const [mine, ref] = await both({ networks: [n], params, input: x, batch: 45, labels, wantInput: true });
      expectParity(mine[0]!, ref[0]!, params[0]!, `${size} × ${size}, batch 45`);
    }
  });
});

describe('a lone network split over threads', () => {
  it('gives the one-thread values bit for bit (convolutions, BN, pools, adds, ReLU, saliency over 1-4 threads)', async () => {
    // large enough that every op splits (the executor keeps tiny ops on one thread); DARTS brings strided,
    // dilated and depthwise convolutions, max pools and concatenation, NB201 average pools and adds
    const nets: Network[] = [
      buildNb201Network(
        parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'),
        { channels: 8, cells: 1, inputSize: 32 },
      ),
      buildDartsNetwork(DARTS_KNOWN_GENOTYPES.DARTS_V2, {
        kind: 'cifar',
        channels: 4,
        cells: 3,
        classes: 10,
        inputSize: 32,
        inputChannels: 3,
      }),
    ];
    for (const [i, net] of nets.entries()) {
      const params = [prngParams(net, 3 + i)];
      const { x, labels } = randomData(net, 24, 9);
      for (const bn of ['train', 'eval'] as const) {
        const job: GradientJob = {
          networks: [net],
          params,
          input: x,
          batch: 24,
          labels,
          bn,
          wantInput: true,
          wantChannelSaliency: true,
        };
        const [one] = await nativeGradients(addon, { ...job, threads: 1 });
        expect(one!.threads).toBe(1);
        for (const threads of [2, 3, 4]) {
          const [split] = await nativeGradients(addon, { ...job, threads });
          const what = `network ${i}, BN ${bn}, ${threads} threads`;
          expect(split!.threads, what).toBe(threads); // the ops were split: the test compares something
          expect(split!.params, what).toEqual(one!.params);
          expect(split!.input, what).toEqual(one!.input);
          expect(split!.outputs, what).toEqual(one!.outputs);
          expect(split!.channelSaliency, what).toEqual(one!.channelSaliency);
          expect(split!.loss, what).toBe(one!.loss);
        }
      }
    }
  });
});

describe('native backward equals PyTorch autograd (float32, fixtures of scripts/make_grad_fixtures.py)', () => {
  const DIR = join(__dirname, 'fixtures', 'grad');
  for (const name of ['nb201_a', 'nb201_b', 'opsnet']) {
    it(name, async () => {
      const f = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'));
      const bytes = (b: string) => {
        const buf = Buffer.from(b, 'base64');
        return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      };
      const dec = (b: string) => new Float32Array(bytes(b));
      const m = loadOnnxModel(join(DIR, f.file));
      const imp = importOnnxModel(m, { inputShape: f.input_shape });
      if (!imp.ok) throw new Error(imp.reason);
      const { params, names } = onnxParams(m, imp.network, imp.weightIds);
      const [r] = await nativeGradients(addon, {
        networks: [imp.network],
        params: [params],
        input: dec(f.input),
        batch: f.batch,
        labels: f.labels,
        wantInput: true,
      });
      expect(Math.abs(r!.loss - f.loss32)).toBeLessThan(1e-5 * f.loss32);
      const g64 = Object.fromEntries(Object.keys(f.grads64).map((k) => [k, new Float64Array(bytes(f.grads64[k]))]));
      const top = Math.max(...Object.values(g64).map(maxAbs));
      for (const tn of Object.keys(f.grads32)) {
        if (maxAbs(g64[tn]!) < 1e-5 * top) continue; // exactly 0 up to BN's ε: float32 round-off on both sides
        const mine = toOnnxLayout(imp.network, names.get(tn)!, paramTensor(r!.params!, names.get(tn)!));
        expect(relErr(mine, dec(f.grads32[tn])), tn).toBeLessThan(1e-4);
      }
      expect(relErr(r!.input!, dec(f.input_grad32))).toBeLessThan(1e-4);
    });
  }
});

describe('native gradient jobs: bad input', () => {
  const { net } = opGraphs()[0]!;
  const params = [randomParams(net, 1)];
  const { x } = randomData(net, 2, 1);
  it('labels outside the outputs, wrong parameter sizes and cancellation are coded errors', async () => {
    await expect(
      nativeGradients(addon, { networks: [net], params, input: x, batch: 2, labels: [0, 99] }),
    ).rejects.toMatchObject({ code: 'E_BACKEND', message: /label 99/ });
    const bad = params[0]!.map((p) => (p?.weight ? { ...p, weight: p.weight.subarray(1) } : p));
    await expect(nativeGradients(addon, { networks: [net], params: [bad], input: x, batch: 2 })).rejects.toMatchObject({
      code: 'E_OPTION',
    });
    await expect(
      nativeGradients(addon, { networks: [net], params, input: x, batch: 2, keep: [[net.nodes.length]] }),
    ).rejects.toMatchObject({ code: 'E_OPTION' });
    const ac = new AbortController();
    ac.abort();
    await expect(
      nativeGradients(addon, { networks: [net], params, input: x, batch: 2, signal: ac.signal }),
    ).rejects.toMatchObject({
      code: 'E_CANCELLED',
    });
  });
});

describe('native forward-only jobs (kept activations for forward proxies)', () => {
  it('returns the kept feature maps of every network without computing gradients', async () => {
    const nets = opGraphs()
      .map((g) => g.net)
      .filter((n) => n.nodes[0]!.shape.join('x') === '3x6x6');
    const params = nets.map((n, i) => randomParams(n, 60 + i));
    const { x } = randomData(nets[0]!, 2, 61);
    const keep = nets.map((n) => n.nodes.filter((m) => m.op === 'relu' || m.op === 'bn').map((m) => m.id));
    expect(keep.flat().length).toBeGreaterThan(2);
    const job: GradientJob = { networks: nets, params, input: x, batch: 2, wantParams: false, keep };
    const [mine, ref] = await both(job);
    nets.forEach((_, i) => {
      expect(mine[i]!.params).toBeUndefined();
      for (const id of keep[i]!)
        expect(relErr(mine[i]!.activations!.get(id)!, ref[i]!.activations!.get(id)!)).toBeLessThan(1e-5);
    });
  });
});

describe('gradient capability of the backends', () => {
  it('reference and native run gradient jobs; CUDA, WebGPU and ORT say why they cannot', async () => {
    expect(gradientSupport('reference')).toEqual({ supported: true, precision: 'float64' });
    expect(gradientSupport('native')).toEqual({ supported: true, precision: 'float32' });
    for (const name of ['cuda', 'webgpu', 'ort'] as const) {
      const s = gradientSupport(name);
      expect(s.supported).toBe(false);
      if (!s.supported) expect(s.reason).toMatch(/forward|inference/);
    }
    const { net } = opGraphs()[0]!;
    const params = [randomParams(net, 3)];
    const { x, labels } = randomData(net, 2, 3);
    const job: GradientJob = { networks: [net], params, input: x, batch: 2, labels };
    const [a] = await new NativeBackend(addon).gradients(job);
    const [b] = await new ReferenceBackend().gradients(job);
    expectParity(a!, b!, params[0]!, 'backend objects');
  });
});
