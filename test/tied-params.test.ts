/**
 * Parameter tensors several nodes share (a PyTorch module called more than once): one tensor, as PyTorch holds it.
 * test/fixtures/proxies/tied.onnx calls a conv-BN-ReLU Sequential twice in a chain and a biased 1×1 conv on two
 * branches; its official values are checked with the other fixtures (proxies-official, proxies-native, precision).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../src/data/npy-array.js';
import { initParams } from '../src/proxies/init.js';
import { mapParams, paramRefs, tieGrads } from '../src/grad/params.js';
import { countParams } from '../src/ir/analysis.js';
import type { Network, Shape3 } from '../src/ir/types.js';
import { loadAddon } from '../src/native/loader.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import type { ProxyName } from '../src/proxies/registry.js';
import { runProxies } from '../src/proxies/run.js';
import { saliencies } from '../src/proxies/saliency.js';
import { zen } from '../src/proxies/zen.js';
import { functionalWeights } from '../src/onnx/module-scopes.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { attrInt, attrInts, encodeModel, floatTensor, node, valueInfo } from '../src/onnx/proto.js';
import type { ITensorProto } from '../src/onnx/proto.js';
import { Rng } from '../src/util/rng.js';
import { nativeProxyPass } from '../src/backends/native/proxy-pass.js';
import { packParams } from '../src/backends/native/grad.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { repeatSeed } from '../src/init/prng.js';
import { gaussianBatch } from '../src/data/gaussian.js';

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon must be built for these tests: ${load.reason}`);
const runner = nativeProxyRunner(load.addon, 2);

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const e = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.tied;
const npy = (name: string) => decodeNpy(readFileSync(join(DIR, name)), name);
const x = npy(e.inputs);
const labels = npy(e.labels).data;
const B = x.shape[0]!;
const m = onnxProxyModel(loadOnnxModel(join(DIR, e.onnx)), x.shape.slice(1) as unknown as Shape3);
const [c, h, w] = x.shape.slice(1) as [number, number, number];
const images = { n: B, c, h, w, data: Float32Array.from(x.data), source: 'tied' };

describe('tied parameters: a module called more than once', () => {
  it("the import ties every later use of a module's tensors to its first use, and counts them once", () => {
    const tied = m.net.tied ?? [];
    // the block's conv weight and its BN's γ, β and running statistics; the 1×1 conv's weight and bias
    expect(tied.map((t) => t.kind).sort()).toEqual([
      'beta',
      'bias',
      'gamma',
      'runningMean',
      'runningVar',
      'weight',
      'weight',
    ]);
    for (const t of tied) {
      expect(t.of).toBeLessThan(t.node);
      expect(m.params[t.node]![t.kind]).toBe(m.params[t.of]![t.kind]);
    }
    expect(countParams(m.net)).toBe(e.torch_params);
    expect(runProxies(m.net, ['params'], { seed: 0, images, weights: m.params }).values.params!.value).toBe(
      e.torch_params,
    );
    // VKDNW's tensors: named_parameters() has 13
    expect(paramRefs(m.params, m.net)).toHaveLength(13);
    expect(paramRefs(m.params)).toHaveLength(18);
    expect(m.notes.join('\n')).toMatch(/5 parameter tensors are used by more than one node .* scored as one tensor/);
  });

  it('shared-parameter records that do not fit the network are refused (E_IR_SHAPE)', async () => {
    const bn = m.net.nodes.find((n) => n.op === 'bn')!.id;
    const o = { seed: 0, images, weights: m.params };
    for (const bad of [
      { ...m.net, tied: [{ node: bn + 1, kind: 'gamma' as const, of: bn }] }, // no BN after it: a ReLU
      { ...m.net, tied: [{ node: bn, kind: 'weight' as const, of: bn + 2 }] }, // a later first use
      { ...m.net, functionalWeights: [bn] },
    ]) {
      expect(() => runProxies(bad, ['params'], o)).toThrow(expect.objectContaining({ code: 'E_IR_SHAPE' }));
      await expect(runner.run(bad, ['params'], o)).rejects.toMatchObject({ code: 'E_IR_SHAPE' });
    }
  });

  it('a fresh initialisation draws a tied tensor once, under its first use', () => {
    for (const scheme of ['gaussian', 'kaiming', 'pytorch'] as const) {
      const p = initParams(m.net, scheme, 7);
      for (const t of m.net.tied!) expect(p[t.node]![t.kind]).toBe(p[t.of]![t.kind]);
      const untied = initParams({ ...m.net, tied: undefined }, scheme, 7);
      const t = m.net.tied!.find((u) => u.kind === 'weight')!;
      expect(untied[t.node]!.weight).not.toEqual(untied[t.of]!.weight);
    }
  });

  it('SWAP with --reinit draws a tied weight once on every engine: reference, native and ONNX Runtime agree', async () => {
    // 32 Gaussian images: at the fixture's 8 every pattern is distinct, whatever the weights
    const batch = gaussianBatch(32, c, h, w, 4);
    const opts = { batch: 32, inputs: batch, reinit: true, repeats: 2, seed: 3 } as const;
    const ort = await scoreOnnxModel(join(DIR, e.onnx), { ...opts, engine: 'ort' });
    const ref = await scoreOnnxModel(join(DIR, e.onnx), { ...opts, backend: 'reference' });
    const nat = await scoreOnnxModel(join(DIR, e.onnx), { ...opts, backend: 'native' });
    expect([ort.engine, ref.engine, nat.engine]).toEqual(['ort', 'ir:reference', 'ir:native']);
    expect(ref.perRepeat).toEqual(ort.perRepeat);
    expect(nat.perRepeat).toEqual(ort.perRepeat);
    // the same network with each use drawing its own weights (the engines before the tie) counts otherwise
    const imp = importOnnxModel(loadOnnxModel(join(DIR, e.onnx)), { inputShape: [c, h, w], bn: 'model' });
    if (!imp.ok) throw new Error(imp.reason);
    const seeds = [repeatSeed(3, 0), repeatSeed(3, 1)];
    expect(seeds.map((s) => referenceCount(imp.network, batch, s))).toEqual(ref.perRepeat);
    const untied = { ...imp.network, tied: undefined };
    expect(seeds.map((s) => referenceCount(untied, batch, s))).not.toEqual(ref.perRepeat);
  });

  it("tieGrads sums the uses' gradients into the first use and leaves the later uses none", () => {
    const g = mapParams(m.params, (_, ref) => ref.node + 1);
    const tied = tieGrads(m.net, g)!;
    for (const t of m.net.tied!.filter((u) => !u.kind.startsWith('running'))) {
      expect(tied[t.node]?.[t.kind]).toBeUndefined();
      expect(tied[t.of]![t.kind]![0]).toBe(t.of + 1 + t.node + 1);
    }
    expect(tieGrads({ ...m.net, tied: undefined }, g)).toBe(g);
  });

  it('scored per use instead, the gradient proxies miss the official values (what the ties fix)', () => {
    const net: Network = { ...m.net, tied: undefined };
    const s = saliencies(net, m.params, x.data, labels);
    expect(Math.abs(s.grad_norm.value! - e.zc.grad_norm)).toBeGreaterThan(0.05 * e.zc.grad_norm);
    expect(Math.abs(s.snip.value! - e.zc.snip)).toBeGreaterThan(0.05 * e.zc.snip);
    expect(countParams(net)).toBeGreaterThan(e.torch_params);
  });

  it('the native runner equals the reference on every proxy, in float32 and float64', async () => {
    // every proxy that reads parameters or their gradients
    const names =
      'params l2_norm grad_norm snip plain fisher grasp jacov synflow synflow_bn zico zen vkdnw vkdnw_dim'.split(
        ' ',
      ) as ProxyName[];
    const both = Float32Array.from([...x.data, ...npy(e.inputs2).data]);
    const o = {
      seed: 3,
      weights: m.params,
      images: { ...images, n: 2 * B, data: both },
      labels: Int32Array.from([...labels, ...npy(e.labels2).data]),
      batch: B,
    };
    const ref = runProxies(m.net, names, o).values;
    expect(ref.fisher).toMatchObject({ value: null, reason: expect.stringMatching(/called more than once/) });
    for (const precision of ['float32', 'float64'] as const) {
      const r = await runner.run(m.net, names, { ...o, precision });
      const nat = r.values;
      for (const k of names) {
        const [a, b] = [nat[k]!.value, ref[k]!.value];
        // the float64 pass equals the reference to rounding; the float32 passes to float32's
        const rel = r.settings[k]?.dtype === 'float64' ? 1e-9 : 1e-4;
        expect(a === null, `${k} ${precision}`).toBe(b === null);
        if (a !== null && b !== null)
          expect(Math.abs(a - b), `${k} ${precision}: ${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.abs(b));
      }
    }
  });

  it('the addon refuses a tie that names no earlier conv / linear weight of the same size, or a node twice', async () => {
    const bn = m.net.nodes.find((n) => n.op === 'bn')!.id;
    const conv = m.net.nodes.find((n) => n.op === 'conv' && n.id > bn)!.id;
    const pass = (tied: Network['tied']) => {
      const bad: Network = { ...m.net, tied };
      return nativeProxyPass(load.addon, bad, packParams(bad, m.params), Float32Array.from(x.data), B, {
        bn: 'train',
        labels,
        wantParams: true,
        wantHvp: true,
      });
    };
    // refused in TypeScript before the job is built (checkSharedParams, as the addon's program and pass checks do)
    await expect(pass([{ node: conv, kind: 'weight', of: bn }])).rejects.toThrow(
      expect.objectContaining({ code: 'E_IR_SHAPE', message: expect.stringMatching(/does not name an earlier/) }),
    );
    const t = m.net.tied!.find((u) => u.kind === 'weight')!;
    await expect(pass([t, t])).rejects.toThrow(expect.objectContaining({ message: expect.stringMatching(/twice/) }));
  });
});

describe('functional weights: a parameter applied with F.conv2d, not by an nn.Conv2d module', () => {
  const f = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.functional;
  const fx = npy(f.inputs);
  const fm = onnxProxyModel(loadOnnxModel(join(DIR, f.onnx)), fx.shape.slice(1) as unknown as Shape3);
  const fy = npy(f.labels).data;

  it('the import marks the three F.conv2d calls (the hand-tied weight twice, the single-use one) and no module', () => {
    const convs = fm.net.nodes.filter((n) => n.op === 'conv').map((n) => n.id);
    expect(fm.net.functionalWeights).toEqual([convs[1], convs[2], convs[3]]);
    // the hand-tied weight is one tensor; the one BatchNorm module the chain calls twice, one running variance
    expect(fm.net.tied?.map((t) => t.kind).sort()).toEqual(['runningMean', 'runningVar', 'weight']);
    expect(countParams(fm.net)).toBe(f.torch_params);
  });

  it('scored as modules instead, fisher, grad_norm and GraSP miss the official values (what the marking fixes)', () => {
    const net: Network = { ...fm.net, functionalWeights: undefined };
    const s = saliencies(net, fm.params, fx.data, fy);
    expect(Math.abs(s.grad_norm.value! - f.zc.grad_norm)).toBeGreaterThan(0.05 * f.zc.grad_norm);
    expect(Math.abs(s.fisher.value! - f.zc.fisher)).toBeGreaterThan(0.05 * f.zc.fisher);
    const g = runProxies(net, ['grasp'], {
      seed: 0,
      weights: fm.params,
      images: { ...images, data: Float32Array.from(fx.data) },
      labels: fy,
      batch: B,
    }).values.grasp!;
    expect(Math.abs(g.value! - f.grasp_float64)).toBeGreaterThan(0.05 * Math.abs(f.grasp_float64));
  });

  it('the native runner holds the functional weights fixed in GraSP, in float32 and float64', async () => {
    const o = {
      seed: 0,
      weights: fm.params,
      images: { ...images, data: Float32Array.from(fx.data) },
      labels: fy,
      batch: B,
    };
    for (const precision of ['float32', 'float64'] as const) {
      const v = (await runner.run(fm.net, ['grasp', 'fisher'], { ...o, precision })).values;
      expect(Math.abs(v.grasp!.value! - f.grasp_float64)).toBeLessThanOrEqual(1e-4 * Math.abs(f.grasp_float64));
      expect(Math.abs(v.fisher!.value! - f.zc.fisher)).toBeLessThanOrEqual(1e-4 * f.zc.fisher);
    }
  });

  it('zen without the BN tie (a module per call) misses the official value', () => {
    const z = npy(f.zen_naslib.inputs);
    const zm = onnxProxyModel(loadOnnxModel(join(DIR, f.zen_naslib.onnx)), z.shape.slice(1) as unknown as Shape3);
    expect(zm.net.tied?.some((t) => t.kind === 'runningVar')).toBe(true);
    const untied: Network = { ...zm.net, tied: zm.net.tied!.filter((t) => !t.kind.startsWith('running')) };
    const v = zen(untied, zm.params, z.data, npy(f.zen_naslib.mixup).data, z.shape[0]!).value!;
    expect(Math.abs(v - f.zen_naslib.value)).toBeGreaterThan(1e-3 * Math.abs(f.zen_naslib.value));
  });
});

describe('what the file can tell', () => {
  const conv = (name: string, weight: string) => ({ name, opType: 'Conv', input: ['x', weight], output: ['y'] });
  const inits = (t: string) => !t.startsWith('/') && t !== 'x';
  it("a module's weight is `<module>.weight` in the module's scope, a repeat's suffix folded", () => {
    const g = [
      conv('/layer1/layer1.0/conv1/Conv', 'layer1.0.conv1.weight'),
      conv('/block/block.0_1/Conv', 'block.0.weight'),
      conv('/Conv', 'w'),
      conv('/m/Conv', 'm.w'),
      conv('/m/Conv_1', 'other.weight'),
      // a module whose weight was assigned another module's: alone in its scope, an nn.Conv2d
      conv('/conv3/Conv', 'conv2.weight'),
    ];
    expect([...functionalWeights(g, inits)]).toEqual(['/Conv', '/m/Conv', '/m/Conv_1']);
  });
  it("nothing is judged where no weight is named a module's, or where the exporter named it (a folded BN)", () => {
    expect(functionalWeights([conv('/a/Conv', 'W1'), conv('/b/Conv', 'W2')], inits).size).toBe(0);
    expect(functionalWeights([conv('/a/Conv', 'a.weight'), conv('/b/Conv', 'onnx::Conv_7')], inits).size).toBe(0);
    expect(functionalWeights([conv('/a/Conv', 'a.weight'), conv('/b/Conv', '/b/Transpose_output_0')], inits).size).toBe(
      0,
    );
    expect(functionalWeights([conv('a', 'a.weight'), conv('b', 'w')], inits).size).toBe(0); // no scopes
  });
});

describe('which reads tie: one module called again, not two modules, not merged initializers', () => {
  // x → stem → one conv per entry (4 → 4 channels, 3×3, reading the named weight and bias) → GAP → fc
  // x → stem → the convs → (a ReLU, for SWAP) → GAP → fc
  const chainModel = (convs: readonly (readonly [node: string, weight: string, bias?: string])[], relu = false) => {
    const rng = new Rng(5);
    const w = (dims: number[]) => Float32Array.from({ length: dims.reduce((a, b) => a * b) }, () => rng.normal());
    const inits = new Map<string, ITensorProto>([
      ['stem.weight', floatTensor('stem.weight', [4, 3, 3, 3], w([4, 3, 3, 3]))],
      ['fc.weight', floatTensor('fc.weight', [10, 4], w([10, 4]))],
    ]);
    const pads = attrInts('pads', [1, 1, 1, 1]);
    const nodes = [node('Conv', ['x', 'stem.weight'], ['c0'], '/stem/Conv', [pads])];
    convs.forEach(([name, weight, bias], i) => {
      if (!inits.has(weight)) inits.set(weight, floatTensor(weight, [4, 4, 3, 3], w([4, 4, 3, 3])));
      if (bias && !inits.has(bias)) inits.set(bias, floatTensor(bias, [4], new Float32Array(4)));
      nodes.push(node('Conv', [`c${i}`, weight, ...(bias ? [bias] : [])], [`c${i + 1}`], name, [pads]));
    });
    const k = convs.length;
    if (relu) nodes.push(node('Relu', [`c${k}`], ['r'], '/relu/Relu'));
    nodes.push(node('GlobalAveragePool', [relu ? 'r' : `c${k}`], ['g'], '/gap/GlobalAveragePool'));
    nodes.push(node('Flatten', ['g'], ['f'], '/Flatten'));
    nodes.push(node('Gemm', ['f', 'fc.weight'], ['y'], '/fc/Gemm', [attrInt('transB', 1)]));
    const graph = {
      name: 'ties',
      node: nodes,
      initializer: [...inits.values()],
      input: [valueInfo('x', [2, 3, 8, 8])],
      output: [valueInfo('y', [2, 10])],
    };
    return encodeModel({ irVersion: 7, opsetImport: [{ version: 13 }], graph });
  };
  const chain = (convs: Parameters<typeof chainModel>[0], relu = false) => {
    const r = importOnnxModel(loadOnnxModel(chainModel(convs, relu)), { inputShape: [3, 8, 8], bn: 'batch' });
    if (!r.ok) throw new Error(r.reason);
    return r.network;
  };
  const kinds = (net: Network) => (net.tied ?? []).map((t) => `${t.node}:${t.kind}<${t.of}`);

  it('a module called twice ties (its repeat scope folded), weight and bias', () => {
    const net = chain([
      ['/block/Conv', 'block.weight', 'block.bias'],
      ['/block_1/Conv', 'block.weight', 'block.bias'],
    ]);
    expect(kinds(net)).toEqual(['3:weight<2', '3:bias<2']); // node 0 the input, 1 the stem
    expect(net.functionalWeights).toBeUndefined();
  });

  it("two modules reading one tensor (a weight assigned another module's) do not tie, and neither is functional", async () => {
    const convs = [
      ['/conv2/Conv', 'conv2.weight'],
      ['/conv3/Conv', 'conv2.weight'],
    ] as const;
    const net = chain(convs);
    expect(net.tied).toBeUndefined();
    expect(net.functionalWeights).toBeUndefined();
    // but a fresh draw gives them one tensor, on every engine, as ONNX Runtime feeds one initializer once
    expect(net.sharedDraws).toEqual([{ node: 3, of: 2 }]);
    const p = initParams(net, 'gaussian', 3);
    expect(p[3]!.weight).toBe(p[2]!.weight);
    const model = chainModel(convs, true);
    const opts = { batch: 6, inputs: gaussianBatch(6, 3, 8, 8, 5), reinit: true, repeats: 2, seed: 3 } as const;
    const ort = await scoreOnnxModel(model, { ...opts, engine: 'ort' });
    for (const backend of ['reference', 'native'] as const) {
      const ir = await scoreOnnxModel(model, { ...opts, backend });
      expect([ir.engine, ir.perRepeat]).toEqual([`ir:${backend}`, ort.perRepeat]);
    }
    const relu = chain(convs, true);
    const apart = { ...relu, sharedDraws: undefined };
    const batch = opts.inputs;
    const seeds = [repeatSeed(3, 0), repeatSeed(3, 1)];
    expect(seeds.map((s) => referenceCount(apart, batch, s))).not.toEqual(ort.perRepeat);
  });

  it('merged equal biases of two modules do not tie; without scopes only weights tie', () => {
    const merged = chain([
      ['/a/Conv', 'a.weight', 'zeros'],
      ['/b/Conv', 'b.weight', 'zeros'],
    ]);
    expect(merged.tied).toBeUndefined();
    const bare = chain([
      ['conv_a', 'W', 'zeros'],
      ['conv_b', 'W', 'zeros'],
    ]);
    expect(kinds(bare)).toEqual(['3:weight<2']);
  });
});
