/**
 * Every proxy equals its OFFICIAL implementation on networks exported from PyTorch with their weights
 * (test/fixtures/proxies, made by scripts/make_proxy_fixtures.py from the official repositories).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../src/data/npy-array.js';
import { countParams } from '../src/ir/analysis.js';
import { numel } from '../src/ir/ops.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { azNas } from '../src/proxies/az.js';
import { epeNasScore, inputJacobian, jacovScore } from '../src/proxies/jacobian.js';
import { meco, mecoCalls } from '../src/proxies/meco.js';
import { nwotF64 } from '../src/proxies/nwot.js';
import type { ProxyName } from '../src/proxies/registry.js';
import { runProxies } from '../src/proxies/run.js';
import { grasp } from '../src/proxies/grasp.js';
import { l2Norm, saliencies, synflow } from '../src/proxies/saliency.js';
import type { ProxyValue } from '../src/proxies/value.js';
import { vkdnw } from '../src/proxies/vkdnw.js';
import { withoutPreGap, zen } from '../src/proxies/zen.js';
import { zico } from '../src/proxies/zico.js';
import { fixtureBatch, fixtureSampleShape, foldedAndPlainProxies, reasonForOfficialError } from './helpers.js';

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));

function npy(name: string) {
  return decodeNpy(readFileSync(join(DIR, name)), name);
}

/**
 * A fixture's network for inputs of `shape`: (N, C, H, W) images, or (N, F) features (the IR's F×1×1, or the map
 * the model views them as: `view`).
 */
function model(file: string, shape: readonly number[]) {
  const m = loadOnnxModel(join(DIR, file));
  return { ...onnxProxyModel(m, fixtureSampleShape(shape, m.input.view)), view: m.input.view };
}

/** synflow_bn below this fraction of synflow is float64 rounding of a zero (the ceilpool fixture's docstring). */
const NOISE = 1e-9;

function close(got: ProxyValue, want: number | string, rel = 1e-4) {
  // an official -inf (nwot's log-determinant of a singular kernel): null, saying so
  if (want === '-inf') return expect(got).toMatchObject({ value: null, reason: expect.stringMatching(/-Inf/) });
  if (typeof want !== 'number') throw new Error(`no official value: ${JSON.stringify(want)}`);
  expect(got.value, got.reason).not.toBeNull();
  expect(Math.abs(got.value! - want)).toBeLessThanOrEqual(rel * Math.max(Math.abs(want), 1e-12));
}

describe.each(Object.keys(expected.fixtures))('official proxies on %s', (name) => {
  const e = expected.fixtures[name];
  const x = npy(e.inputs);
  const y = npy(e.labels).data;
  const B = x.shape[0]!;
  const { net, params, modules, channelsLastCalls, tupleModules, view } = model(e.onnx, x.shape);
  const calls = mecoCalls(net, {
    ...(modules ? { modules } : {}),
    ...(channelsLastCalls ? { channelsLastCalls } : {}),
  });
  const [c, h, w] = fixtureSampleShape(x.shape, view);

  it('grad_norm, snip, plain, fisher (ZC)', () => {
    const s = saliencies(net, params, x.data, y);
    // the same official code in float64 where the fixture has it (plain's Σ g ⊙ w cancels)
    const zc = { ...e.zc, ...e.zc_float64 };
    close(s.grad_norm, zc.grad_norm);
    close(s.snip, zc.snip);
    close(s.plain, zc.plain);
    if (e.zc.fisher.error === undefined) return close(s.fisher, zc.fisher);
    // a module called twice: the official hooks keep one activation per module, and the second backward finds none
    expect(e.zc.fisher.error).toMatch(/has no attribute 'act'/);
    expect(s.fisher).toMatchObject({ value: null, reason: expect.stringMatching(/called more than once/) });
  });

  it('grasp (ZC): Σ −W ⊙ Hg with the exact Hessian-vector product', () => {
    // torch 1.13 has no second derivative of hardsigmoid: the official grasp on the same function written with relu6
    close(grasp(net, params, x.data, y), e.grasp_float64 ?? e.zc.grasp.equivalent ?? e.zc.grasp);
    // where recorded, the same official code in float64: its float32 value is within 5e-4 of it (a cancelling sum;
    // upsamplenet's is 3.2e-4 off, the acts fixture's 1.4e-4)
    if (e.grasp_float64 !== undefined && typeof e.zc.grasp === 'number')
      expect(Math.abs(e.zc.grasp - e.grasp_float64)).toBeLessThanOrEqual(5e-4 * Math.abs(e.grasp_float64));
  });

  // where the official code raises (a train-mode BatchNorm1d on one sample), the suite's value is null with why
  const oneSample = (names: ProxyName[], data: ArrayLike<number>) =>
    runProxies(net, names, {
      seed: 0,
      weights: params,
      ...(modules ? { modules } : {}),
      ...(channelsLastCalls ? { channelsLastCalls } : {}),
      ...(tupleModules ? { tupleModules } : {}),
      images: {
        n: 1,
        c,
        h,
        w,
        data: Float32Array.from(data),
        source: name,
      },
    }).values;
  const raised = (got: ProxyValue | undefined, want: { error: string }) =>
    expect(got).toMatchObject({ value: null, reason: expect.stringMatching(reasonForOfficialError(want.error)) });

  // a network ending in a softmax: the sum of its outputs is 1, so synflow's and the Jacobians' gradients are 0 in
  // exact arithmetic and the official values are rounding noise; the suite gives null, saying why
  const softmaxSum = net.nodes[net.output]!.op === 'softmax' && !(net.nodes[net.output] as { log?: boolean }).log;
  const sumIsOne = (names: ProxyName[]) => {
    const v = runProxies(net, names, {
      seed: 0,
      weights: params,
      images: fixtureBatch(x, B, name, view),
      labels: y,
      batch: B,
    }).values;
    for (const k of names)
      expect(v[k]).toMatchObject({ value: null, reason: expect.stringMatching(/outputs sum to 1/) });
  };

  it('synflow and synflow_bn (ZC)', () => {
    if (softmaxSum) {
      expect(Math.abs(e.zc.synflow) + Math.abs(e.zc.synflow_bn)).toBeLessThan(1e-9);
      return sumIsOne(['synflow', 'synflow_bn']);
    }
    close(synflow(net, params), e.zc.synflow);
    if (e.zc.synflow_bn.error)
      raised(oneSample(['synflow_bn'], x.data.slice(0, numel(x.shape) / B)).synflow_bn, e.zc.synflow_bn);
    else if (Math.abs(e.zc.synflow_bn) < NOISE * e.zc.synflow) {
      // the official value is float64 noise (a network whose every weight's gradient is 0 on the all-ones sample):
      // swapnas's is noise at that scale too
      expect(Math.abs(synflow(net, params, 'train').value!)).toBeLessThan(NOISE * e.zc.synflow);
    } else close(synflow(net, params, 'train'), e.zc.synflow_bn);
  });

  it('jacov (ZC jacob_cov = NASLib jacov) and epe_nas (NASLib)', () => {
    if (softmaxSum) return sumIsOne(['jacov', 'epe_nas']);
    const { rows, outputs } = inputJacobian(net, params, x.data, B);
    if (e.jacobian_zero !== undefined) {
      // the gradient of the outputs' sum vanishes analytically (fastai's head: a train-mode BatchNorm1d, Dropout,
      // Linear): the official values measure rounding (its float32 and float64 runs disagree), and so would ours
      // (the native runner says so: test/proxies-native.test.ts, test/precision.test.ts)
      return expect(Math.max(...rows.map(Math.abs))).toBeLessThan(1e-12);
    }
    close(jacovScore(rows, B), e.zc.jacob_cov);
    close(jacovScore(rows, B), e.naslib.jacov);
    close(epeNasScore(rows, y, outputs), e.naslib.epe_nas);
  });

  it("params: PyTorch's parameter count (a tensor several modules share counts once)", () => {
    expect(countParams(net)).toBe(e.torch_params);
  });

  it('l2_norm and nwot (NASLib)', () => {
    close(l2Norm(net, params), e.naslib.l2_norm);
    close(nwotF64(net, params, x.data, B), e.naslib.nwot);
  });

  it('zico on two batches (ZiCo)', () => {
    const second = { x: npy(e.inputs2).data, labels: npy(e.labels2).data };
    // the official code run in float64 where the fixture has it (float32 rounding moves ZiCo on some networks)
    close(zico(net, params, [{ x: x.data, labels: y }, second]), e.zico_float64 ?? e.zico);
  });

  it("meco on one image (MeCo): every module's output, read from torch.onnx's scopes", () => {
    const one = npy(e.meco_input);
    expect(modules, 'torch 1.13 names every node by its module scope').toBeDefined();
    if (e.meco.error) return raised(oneSample(['meco'], one.data).meco, e.meco);
    close(meco(net, params, one.data, 1, 'train', calls), e.meco);
    // without the scopes (another exporter), the leaf ops PyTorch implements as modules: equal on networks of flat
    // modules, short of the official value where a container's output counts again
    const leaf = meco(net, params, one.data, 1);
    if (
      [
        'containers',
        'tied',
        'functional',
        'callorder',
        'arith',
        'logsoftmax',
        'softmax',
        'sigmoidtail',
        'chanarith',
        'flatview',
        'norms',
        'normtied',
        'convnext',
        'convnextcf',
        'statearith',
        'upsamplenet',
        'shortcuta',
        'layerscale',
        'passthrough',
        // F.relu after two of its BatchNorms: functional calls, which the leaf rule counts as modules
        'decodernet',
        // an nn.Upsample (a module) beside F.interpolate calls: the leaf rule hooks neither
        'bilinearnet',
      ].includes(name)
    )
      expect(Math.abs(leaf.value! - e.meco)).toBeGreaterThan(0.05 * Math.abs(e.meco));
    else close(leaf, e.meco);
  });

  it('zen (NASLib, and ZenNAS where present); null with the reason on a head without a global pool', () => {
    if (!e.zen_naslib)
      expect(withoutPreGap(net)).toMatchObject({ value: null, reason: expect.stringMatching(/pre_GAP/) });
    for (const z of [e.zen_naslib, e.zen_zennas].filter(Boolean)) {
      // the official zen raised (a BatchNorm without running statistics has no running_var): null, saying why
      if (z.error) {
        expect(zen(net, params, x.data, npy(e.inputs2).data, x.shape[0]!)).toMatchObject({
          value: null,
          reason: expect.stringMatching(/no running statistics/),
        });
        continue;
      }
      const zx = npy(z.inputs);
      const m = model(z.onnx, zx.shape);
      close(zen(m.net, m.params, zx.data, npy(z.mixup).data, zx.shape[0]!), z.value);
    }
  });

  it('AZ-NAS expressivity, progressivity, trainability', () => {
    if (e.az.error !== undefined) {
      // an MLP's block features are flat (N, C): the official code unpacks each as (b, c, h, w) and raises, and
      // swapnas finds no block feature (it takes maps only), saying so
      expect(e.az.error).toMatch(/not enough values to unpack/);
      const images = fixtureBatch(x, B, name, view);
      const v = runProxies(net, ['az_expressivity', 'az_trainability'], { seed: 0, weights: params, images }).values;
      expect(v.az_expressivity).toMatchObject({ value: 0, reason: expect.stringMatching(/no block features/) });
      return expect(v.az_trainability).toMatchObject({ value: null, reason: expect.stringMatching(/no block/) });
    }
    const ax = npy(e.az.inputs);
    const m = model(e.az.onnx, ax.shape);
    const feats = (e.az.features as string[]).map((f) => m.outputs.get(f)!);
    const g = npy(e.az.cotangents).data;
    let off = 0;
    const draws = (_pair: number, n: number) => {
      const out = g.slice(off, off + n);
      off += n;
      return out;
    };
    const s = azNas(m.net, m.params, ax.data, ax.shape[0]!, feats, draws);
    close(s.expressivity, e.az.expressivity);
    close(s.progressivity, e.az.progressivity, 1e-3);
    close(s.trainability, e.az.trainability);
  });

  it('VKDNW entropy and dimension', () => {
    const vx = npy(e.vkdnw.inputs);
    const m = model(e.vkdnw.onnx, vx.shape);
    const s = vkdnw(m.net, m.params, vx.data, vx.shape[0]!);
    if (e.vkdnw.error !== undefined) {
      // the official per-sample Jacobians run unbatched (C, H, W) samples under vmap, where torch 1.13's prelu raises
      // on a one-slope nn.PReLU(); swapnas gives null with that reason
      expect(e.vkdnw.error).toMatch(/Mismatch of parameter numbers and input channel size/);
      expect(s.vkdnw).toMatchObject({ value: null, reason: expect.stringMatching(/one-slope nn\.PReLU\(\)/) });
      return;
    }
    expect(s.vkdnw_dim.value).toBe(e.vkdnw.vkdnw_dim);
    // searchcells' BNs have no running statistics: the official Jacobians are vmapped one sample at a time, so each
    // sample is normalised alone (swapnas runs such a network sample by sample; batched, it is 29 % off), while its
    // probabilities come from one batched forward (with per-sample logits it was 0.9 % off; now 6.6e-5)
    // where the Fisher matrix is rank-deficient its lower quantiles are rounding noise: the official code rerun in
    // float64 is the value (callorder: the official float32 is 0.302, float64 0.2020152360, swapnas 0.2020152356)
    close(s.vkdnw, e.vkdnw.entropy_float64 ?? e.vkdnw.vkdnw_entropy);
    // more than 128 tensors, registered in another order than called: VKDNW's 128 follow named_parameters()
    if (m.net.parameterOrder && name === 'callorder') {
      const byNode = vkdnw({ ...m.net, parameterOrder: undefined }, m.params, vx.data, vx.shape[0]!).vkdnw.value!;
      expect(Math.abs(byNode - e.vkdnw.entropy_float64)).toBeGreaterThan(0.05 * e.vkdnw.entropy_float64);
    }
  });
});

const withFolded = Object.keys(expected.fixtures).filter((name) => expected.fixtures[name].folded_onnx);

describe.each(withFolded)('the constant-folded export of %s', (name) => {
  it('gives every proxy the value of the unfolded file, and so the official value', async () => {
    const e = expected.fixtures[name];
    const names = 'grad_norm,snip,plain,fisher,grasp,jacov,epe_nas,nwot,l2_norm,synflow,synflow_bn,params';
    const { folded, plain, want } = await foldedAndPlainProxies(DIR, e, names);
    const v = folded['proxies'] as Record<string, number>;
    expect(v).toEqual(plain['proxies']);
    for (const k of names.split(',').filter((k) => typeof want[k] === 'number'))
      expect(Math.abs(v[k]! - want[k]!), k).toBeLessThanOrEqual(1e-4 * Math.abs(want[k]!));
  });
});

describe("official zen on a model whose BatchNorm momentum is not PyTorch's default", () => {
  it("zen reads the model's BatchNorm momentum (0.01, not 0.1)", () => {
    const z = expected.fixtures.resnetish.zen_naslib_momentum;
    const zx = npy(z.inputs);
    const m = model(z.onnx, zx.shape);
    const bns = m.net.nodes.filter((n) => n.op === 'bn');
    expect(bns.length).toBeGreaterThan(0);
    for (const n of bns) expect(n.op === 'bn' && n.momentum).toBeCloseTo(z.momentum, 6);
    close(zen(m.net, m.params, zx.data, npy(z.mixup).data, zx.shape[0]!), z.value);
    // read as PyTorch's default the value is another
    const nodes = m.net.nodes.map((n) => (n.op === 'bn' ? { ...n, momentum: undefined } : n));
    const other = zen({ ...m.net, nodes }, m.params, zx.data, npy(z.mixup).data, zx.shape[0]!).value!;
    expect(Math.abs(other / z.value - 1)).toBeGreaterThan(1e-2);
    // ONNX momentum 0: PyTorch's momentum=None (a cumulative average) or 1, which the file cannot tell apart
    const none = m.net.nodes.map((n) => (n.op === 'bn' ? { ...n, momentum: 1 } : n));
    const v = zen({ ...m.net, nodes: none }, m.params, zx.data, npy(z.mixup).data, zx.shape[0]!);
    expect(v).toMatchObject({ value: null, reason: expect.stringMatching(/momentum=None/) });
  });
});
