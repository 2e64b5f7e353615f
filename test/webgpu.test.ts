import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  Rng,
  SwapError,
  buildNb201Network,
  fillGaussian,
  formatNb201,
  gaussianBatch,
  parseNb201,
  referenceCount,
  referenceForward,
  sampleNb201,
  type InputBatch,
  type Network,
} from '../src/index.js';
import { loadAddon } from '../src/native/loader.js';
import { BackendRegistry } from '../src/backends/registry.js';
import { referenceProvider } from '../src/backends/reference/index.js';
import { countPatterns } from '../src/backends/measure.js';
import {
  WebGpuBackend,
  findAdapter,
  planNetwork,
  probeWebgpu,
  webgpuProvider,
  type WebGpuInspection,
} from '../src/backends/webgpu/index.js';
import { grid } from '../src/backends/webgpu/programs.js';
import { sizeClass } from '../src/backends/webgpu/pool.js';
import { rectBatch, rectNetwork, webgpuRequired } from './helpers.js';
import { everyOp, flatHead } from './op-samples.js';
import { runReferenceKernel } from '../src/backends/reference/kernels.js';
import { numel, weightTensorIds } from '../src/ir/analysis.js';

const TINY = { channels: 4, cells: 1, inputSize: 8 } as const;
const ALL_NONE = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';

/**
 * Skipped (with the reason printed) only where no adapter exists. CI installs Mesa's software driver, so there
 * the suite must run: with CI or SWAPNAS_REQUIRE_WEBGPU=1 set, a missing adapter fails instead of skipping.
 */
const probe = await probeWebgpu();
const required = webgpuRequired();
if (!probe.available) console.warn(`[webgpu] tests skipped: ${probe.reason}`);
else console.info(`[webgpu] adapter: ${probe.info}`);

describe('webgpu planning (no device needed)', () => {
  it('plans NB201 networks: slots are reused, dispatch sizes fit the limits, head skipped', () => {
    const net = buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|'),
    );
    const plan = planNetwork(net, 16);
    const computed = new Set(plan.dispatches.map((d) => d.node));
    expect(computed.has(net.output)).toBe(false); // the classifier is not an ancestor of a recorded ReLU
    expect(plan.slotBytes.length).toBeLessThan(12);
    expect(plan.words).toBe(1);
    expect(plan.tableSize).toBeGreaterThanOrEqual(2 * plan.neurons);
    for (const d of plan.dispatches) {
      expect(d.program.workgroupSize).toBeLessThanOrEqual(128);
      expect(d.program.uniforms.length).toBeLessThanOrEqual(16);
      expect(d.buffers.length).toBe(d.program.bindings.length);
    }
    expect(planNetwork(net, 40).words).toBe(2);
  });

  it('splits large dispatches over two grid dimensions', () => {
    expect(grid(10, 65535)).toEqual([10, 1]);
    expect(grid(200_000, 65535)).toEqual([65535, 4]);
    expect(() => grid(65535 * 65535 + 1, 65535)).toThrow(SwapError);
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(5000)).toBe(8192);
    expect(sizeClass((1 << 20) + 1)).toBe(2 << 20);
  });

  it('reports availability with a reason', async () => {
    const r = await webgpuProvider.probe();
    if (!r.available) expect(r.reason.length).toBeGreaterThan(10);
    expect(webgpuProvider.priority).toBe(10);
  });

  it('names the reason when no usable adapter exists (forced backends)', async () => {
    const saved = process.env['SWAPNAS_WEBGPU_BACKEND'];
    try {
      process.env['SWAPNAS_WEBGPU_BACKEND'] = 'null';
      const a = await findAdapter();
      expect(a.ok).toBe(false);
      if (!a.ok) expect(a.reason).toMatch(/null backend/);
      process.env['SWAPNAS_WEBGPU_BACKEND'] = 'bogus';
      const b = await findAdapter();
      expect(b.ok).toBe(false);
      if (!b.ok) expect(b.reason).toMatch(/bogus|webgpu/);
    } finally {
      if (saved === undefined) delete process.env['SWAPNAS_WEBGPU_BACKEND'];
      else process.env['SWAPNAS_WEBGPU_BACKEND'] = saved;
    }
  });

  it.runIf(required)('has an adapter where one is required (CI installs Mesa)', () => {
    expect(probe.available ? 'available' : probe.reason).toBe('available');
  });
});

/** Max |value| of an array. */
function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * The documented sign-flip rule: device and reference patterns may differ only in bits where the value is within
 * float rounding of zero, |x| ≤ 1e-5·max(1, scale), scale = the layer's largest |activation|. For a differing bit
 * the side that says "active" has its value x > 0 in hand (the reference's ReLU output, or the device's), and that
 * value must be under the tolerance; in addition all ReLU outputs must agree within the tolerance.
 * Returns the number of flipped bits; throws on any violation.
 */
function checkAgainstReference(net: Network, batch: InputBatch, seed: number, ins: WebGpuInspection): number {
  const S = batch.n;
  const ref = new Map<number, Float32Array>();
  referenceForward(net, batch, seed, (n, data) => ref.set(n.id, data.slice()));
  let flips = 0;
  for (const r of ins.recorded) {
    const rv = ref.get(r.node)!;
    const gv = ins.values.get(r.node)!;
    const tol = 1e-5 * Math.max(1, maxAbs(rv));
    for (let k = 0; k < rv.length; k++) {
      if (Math.abs(rv[k]! - gv[k]!) > tol)
        throw new Error(`node ${r.node} element ${k}: reference ${rv[k]} vs device ${gv[k]}`);
    }
    for (let j = 0; j < r.per; j++) {
      for (let s = 0; s < S; s++) {
        const refBit = rv[s * r.per + j]! > 0;
        const word = ins.codes[(r.base + j) * ins.words + (s >>> 5)]!;
        const devBit = ((word >>> (s & 31)) & 1) === 1;
        if (refBit === devBit) continue;
        const active = refBit ? rv[s * r.per + j]! : gv[s * r.per + j]!;
        if (!(active <= tol))
          throw new Error(`node ${r.node} neuron ${j} sample ${s}: pattern bit differs at |x| = ${active} > ${tol}`);
        flips++;
      }
    }
  }
  return flips;
}

/** The device's outputs of nodes `ids` against the reference's, within 1e-4 of each node's largest |value| (or 1e-4). */
function checkNodeValues(net: Network, batch: InputBatch, seed: number, ins: WebGpuInspection, ids: number[]): void {
  // every node's reference output (referenceForward hands on only recorded ReLUs and skips the head)
  const ref = new Map<number, Float32Array>();
  const tensors = weightTensorIds(net);
  for (const n of net.nodes) {
    const out = new Float32Array(batch.n * numel(n.shape));
    const xs = n.inputs.map((j) => ref.get(j)!);
    const inShape = (i: number) => net.nodes[n.inputs[i]!]!.shape;
    ref.set(n.id, runReferenceKernel(n, { xs, inShape, S: batch.n, batch, seed, tensor: tensors[n.id]!, out }));
  }
  for (const id of ids) {
    const rv = ref.get(id);
    const gv = ins.values.get(id);
    if (!rv || !gv)
      throw new Error(`node ${id} (${net.nodes[id]!.op}): ${rv ? 'no device value' : 'no reference value'}`);
    const tol = 1e-4 * Math.max(1, maxAbs(rv));
    for (let k = 0; k < rv.length; k++)
      if (!(Math.abs(rv[k]! - gv[k]!) <= tol))
        throw new Error(`node ${id} (${net.nodes[id]!.op}) element ${k}: reference ${rv[k]} vs device ${gv[k]}`);
  }
}

/** One device evaluation with the outputs of every recorded ReLU (and of `extra` nodes) read back. */
function inspect(
  be: WebGpuBackend,
  net: Network,
  batch: InputBatch,
  seed: number,
  extra: number[] = [],
  computeAll = false,
): Promise<WebGpuInspection> {
  const relus = net.nodes.filter((n) => n.op === 'relu' && n.shape.length === 3).map((n) => n.id);
  return be.inspect(net, batch, seed, [...relus, ...extra], { computeAll });
}

describe.skipIf(!probe.available)('webgpu backend (parity with the reference)', () => {
  let be: WebGpuBackend;
  beforeAll(async () => {
    be = await WebGpuBackend.create();
    console.info(`[webgpu] device: ${be.info}`);
  });
  afterAll(async () => {
    await be?.close();
  });

  it('compiles every WGSL program', async () => {
    expect(await be.compileAll()).toBe(21);
  });

  for (const S of [8, 40]) {
    it(`20 random NB201 cells at S=${S}: counts equal the reference (or differ only by the sign-flip rule)`, async () => {
      const rng = new Rng(2024 + S);
      const nets = Array.from({ length: 20 }, () => buildNb201Network(sampleNb201(rng), TINY));
      const batch = gaussianBatch(S, 3, 8, 8, 11);
      const seeds = [7, 1234567];
      const progress: number[] = [];
      const counts = await be.countPatterns({
        networks: nets,
        inputs: batch,
        seeds,
        onProgress: (d) => progress.push(d),
      });
      expect(progress.at(-1)).toBe(nets.length * seeds.length);
      let exact = 0;
      let flips = 0;
      for (let i = 0; i < nets.length; i++) {
        const net = nets[i]!;
        for (let r = 0; r < seeds.length; r++) {
          const want = referenceCount(net, batch, seeds[r]!);
          if (counts[i]![r] === want) {
            exact++;
            continue;
          }
          // not equal: every differing pattern bit must be a sign flip at a value within rounding of zero
          const ins = await inspect(be, net, batch, seeds[r]!);
          const f = checkAgainstReference(net, batch, seeds[r]!, ins);
          expect(
            f,
            `${String(net.meta?.['arch'])}: counts ${counts[i]![r]} vs ${want} without any sign flip`,
          ).toBeGreaterThan(0);
          flips += f;
        }
      }
      // patterns themselves, for the first few cells and seed 0
      for (const net of nets.slice(0, 5))
        flips += checkAgainstReference(net, batch, seeds[0]!, await inspect(be, net, batch, seeds[0]!));
      console.info(`[webgpu] S=${S}: ${exact}/${nets.length * seeds.length} counts exact, ${flips} sign-flipped bits`);
      expect(exact).toBeGreaterThanOrEqual(nets.length * seeds.length - 2);
    });
  }

  it('the all-none cell scores 1', async () => {
    const net = buildNb201Network(parseNb201(ALL_NONE), TINY);
    const full = buildNb201Network(parseNb201(ALL_NONE));
    const [small, big] = await be
      .countPatterns({ networks: [net], inputs: gaussianBatch(8, 3, 8, 8, 3), seeds: [1, 2] })
      .then(async (a) => [
        a[0]!,
        (await be.countPatterns({ networks: [full], inputs: gaussianBatch(16, 3, 32, 32, 3), seeds: [5] }))[0]!,
      ]);
    expect(small).toEqual([1, 1]);
    expect(big).toEqual([1]);
  });

  it('uploads bit-identical PRNG weights', async () => {
    const net = buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|'),
      TINY,
    );
    const seed = 0xdeadbeef;
    const ins = await be.inspect(net, gaussianBatch(4, 3, 8, 8, 1), seed);
    expect(ins.weightTensors.length).toBeGreaterThan(3);
    const addon = loadAddon();
    let packed = 0;
    for (const t of ins.weightTensors) {
      const want = fillGaussian(new Float32Array(t.count), seed, t.tensor);
      let got = ins.weights.slice(t.offset, t.offset + t.count);
      if (t.pack4) {
        // conv2d_oc4 layout [cout/4][cin/groups·k·k][4] → PyTorch's [cout][cin/groups·k·k]
        const inner = t.pack4.cinG * t.pack4.kk;
        const plain = new Float32Array(t.count);
        for (let oc = 0; oc < t.count / inner; oc++)
          for (let q = 0; q < inner; q++)
            plain[oc * inner + q] = got[Math.floor(oc / 4) * inner * 4 + q * 4 + (oc % 4)]!;
        got = plain;
        packed++;
      }
      expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
      if (addon.ok)
        expect(new Uint32Array(addon.addon.prngFill(seed, t.tensor, t.count).buffer)).toEqual(
          new Uint32Array(want.buffer),
        );
    }
    expect(packed).toBeGreaterThan(0);
  });

  it('medium network (C=8, 2 cells, 16×16, S=16) matches the reference', async () => {
    const rng = new Rng(99);
    const gs = [
      parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'),
      sampleNb201(rng),
      sampleNb201(rng),
    ];
    const nets = gs.map((g) => buildNb201Network(g, { channels: 8, cells: 2, inputSize: 16 }));
    const batch = gaussianBatch(16, 3, 16, 16, 5);
    const counts = await be.countPatterns({ networks: nets, inputs: batch, seeds: [3] });
    let exact = 0;
    for (let i = 0; i < nets.length; i++) {
      const want = referenceCount(nets[i]!, batch, 3);
      if (counts[i]![0] === want) exact++;
      else {
        const f = checkAgainstReference(nets[i]!, batch, 3, await inspect(be, nets[i]!, batch, 3));
        expect(f, formatNb201(gs[i]!)).toBeGreaterThan(0);
      }
    }
    console.info(`[webgpu] medium: ${exact}/${nets.length} counts exact (${counts.map((c) => c[0]).join(', ')})`);
  });

  it('covers the ops NB201 does not use: maxpool, concat, grouped / strided / dilated conv, long sums, zero, gap, linear', async () => {
    const b = new GraphBuilder([3, 9, 9]);
    const c1 = b.conv(b.input, 6, 3, { stride: 2, pad: 1 });
    const r1 = b.relu(b.bn(c1));
    const g = b.conv(r1, 6, 3, { groups: 3, dilation: 2, pad: 2 });
    const m = b.maxpool(r1, 3, 1, 1);
    const odd = b.conv(r1, 3, 1); // 3 output channels: one per invocation
    const cat = b.concat([b.bn(g), m, b.zero([2, 5, 5]), odd]);
    const r2 = b.relu(cat);
    const p = b.avgpool(r2, 3, 2, 1, false);
    const c2 = b.conv(r2, 17, 1, { stride: 2, groups: 17 }); // depthwise
    const sum = b.add([p, b.bn(c2), p, c2, b.bn(p), p]); // six terms: two chained add dispatches
    const r3 = b.relu(sum);
    const gapId = b.gap(r3);
    const lin = b.linear(gapId, 5);
    const net = b.finish(lin);
    for (const S of [3, 33]) {
      const batch = gaussianBatch(S, 3, 9, 9, 17);
      const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [42] })) as [[number]];
      const want = referenceCount(net, batch, 42);
      const ins = await inspect(be, net, batch, 42, [gapId, lin], true);
      checkAgainstReference(net, batch, 42, ins);
      if (count !== want) expect(checkAgainstReference(net, batch, 42, ins)).toBeGreaterThan(0);
      expect(ins.count).toBe(count);
      // gap and linear (never needed for the score) against a CPU evaluation of the device's own inputs
      const x = ins.values.get(r3)!;
      const C = 17;
      const per = C * 3 * 3;
      const gv = ins.values.get(gapId)!;
      const w = fillGaussian(new Float32Array(5 * C), 42, lin);
      const lv = ins.values.get(lin)!;
      for (let s = 0; s < S; s++) {
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let q = 0; q < 9; q++) acc += x[s * per + c * 9 + q]!;
          expect(gv[s * C + c]).toBeCloseTo(acc / 9, 5);
        }
        for (let o = 0; o < 5; o++) {
          let acc = 0;
          for (let c = 0; c < C; c++) acc += w[o * C + c]! * gv[s * C + c]!;
          expect(lv[s * 5 + o]).toBeCloseTo(acc, 4);
        }
      }
    }
  });

  it("a BatchNorm's own epsilon, a capped ReLU, a leaky ReLU and a flattened map equal the reference", async () => {
    const b = new GraphBuilder([3, 8, 8]);
    // a capped ReLU (ReLU6-style, low clip) too: not recorded, and it clips what the next conv sees; so does a
    // leaky ReLU, whose negative side reaches the next conv
    const r1 = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 }), true, undefined, 0.5), 0.4);
    const r2 = b.relu(b.bn(b.conv(r1, 4, 3, { pad: 1 })));
    const l3 = b.relu(b.conv(r2, 4, 3, { pad: 1 }), undefined, 0.2);
    const r3 = b.relu(b.bn(b.conv(l3, 4, 3, { pad: 1 })));
    const lin = b.linear(b.flatten(b.maxpool(r3, 2, 2, 0)), 6); // 4x4x4 flattened
    const net = b.finish(lin);
    const batch = gaussianBatch(12, 3, 8, 8, 3);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [7] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 7));
    const ins = await inspect(be, net, batch, 7, [lin], true);
    checkAgainstReference(net, batch, 7, ins);
    // ε = 0.5 moves the normalised values far beyond rounding: read as 1e-5 the count would differ
    const plain = { ...net, nodes: net.nodes.map((n) => (n.op === 'bn' ? { ...n, eps: undefined } : n)) };
    expect(referenceCount(plain, batch, 7)).not.toBe(count);
  });

  it('group normalisation (GroupNorm, InstanceNorm, LayerNorm on flat features) equals the reference', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const g = b.relu(b.gn(b.conv(b.input, 4, 3, { pad: 1 }), 2));
    const i = b.relu(b.gn(b.conv(g, 4, 3, { pad: 1 }), 4, false, 1e-3));
    const ln = b.gn(b.linear(b.gap(i), 6), 1);
    const net = b.finish(b.linear(b.relu(ln), 3));
    const batch = gaussianBatch(12, 3, 8, 8, 3);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [7] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 7));
    const ins = await inspect(be, net, batch, 7, [ln], true);
    checkAgainstReference(net, batch, 7, ins);
  });

  it('ceil-mode pools with partial windows (one dividing by its extent in the padding) equal the reference', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const m = b.maxpool(b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 }))), 3, 2, 0, true); // 4x4 (floor 3x3)
    const a1 = b.avgpool(b.relu(b.bn(b.conv(m, 4, 3, { pad: 1 }))), 3, 2, 1, true, true); // 3x3 (floor 2x2)
    const a2 = b.avgpool(b.relu(b.bn(b.conv(a1, 6, 1))), 2, 2, 0, false, true); // 2x2 (floor 1x1)
    const r = b.relu(b.bn(b.conv(a2, 6, 1)));
    const net = b.finish(b.linear(b.gap(r), 5));
    expect([m, a1, a2].map((id) => net.nodes[id]!.shape.slice(1))).toEqual([
      [4, 4],
      [3, 3],
      [2, 2],
    ]);
    const batch = gaussianBatch(12, 3, 8, 8, 4);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [5] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 5));
    checkAgainstReference(net, batch, 5, await inspect(be, net, batch, 5, [a1, a2], true));
  });

  it('gates (Hardswish, SiLU, a squeeze-and-excitation block) equal the reference', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const c = b.bn(b.conv(b.input, 6, 3, { pad: 1 }));
    const hs = b.mul(c, b.sigmoid(c, true));
    const d = b.bn(b.conv(hs, 6, 3, { pad: 1 }));
    const silu = b.mul(d, b.sigmoid(d, false));
    const gate = b.sigmoid(b.conv(b.relu(b.conv(b.avgpool(silu, 8, 1, 0, false), 3, 1, { bias: true })), 6, 1), true);
    const se = b.mul(silu, gate);
    const r = b.relu(b.bn(b.conv(se, 6, 3, { pad: 1 })));
    const net = b.finish(b.linear(b.gap(r), 5));
    const batch = gaussianBatch(12, 3, 8, 8, 7);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [4] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 4));
    checkAgainstReference(net, batch, 4, await inspect(be, net, batch, 4, [hs, silu, gate, se], true));
  });

  it('smooth activations (GELU, Tanh, ELU, SELU, Softplus, Mish, GELU tanh) equal the reference', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const g = b.act(b.bn(b.conv(b.input, 6, 3, { pad: 1 })), 'gelu');
    const t = b.act(b.bn(b.conv(g, 6, 3, { pad: 1 })), 'tanh');
    const e = b.act(b.bn(b.conv(t, 6, 3, { pad: 1 })), 'elu', 0.5);
    const s = b.act(b.bn(b.conv(e, 6, 3, { pad: 1 })), 'selu');
    const p = b.act(b.bn(b.conv(s, 6, 1)), 'softplus');
    const m = b.act(b.bn(b.conv(p, 6, 3, { pad: 1 })), 'mish');
    const gt = b.act(b.bn(b.conv(m, 6, 1)), 'gelu_tanh');
    const r = b.relu(b.bn(b.conv(gt, 6, 3, { pad: 1 })));
    const net = b.finish(b.linear(b.gap(r), 5));
    const batch = gaussianBatch(12, 3, 8, 8, 9);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [6] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 6));
    checkAgainstReference(net, batch, 6, await inspect(be, net, batch, 6, [g, t, e, s, p, m, gt], true));
  });

  it('the op-spec sample networks (every op of the table) equal the reference', async () => {
    for (const [i, net] of [everyOp(), flatHead()].entries()) {
      const batch = gaussianBatch(12, 3, 8, 8, 20 + i);
      const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [i] })) as [[number]];
      const every = net.nodes.filter((n) => n.op !== 'input').map((n) => n.id);
      const ins = await inspect(be, net, batch, i, every, true);
      const flips = checkAgainstReference(net, batch, i, ins);
      if (flips === 0) expect(count).toBe(referenceCount(net, batch, i));
      checkNodeValues(net, batch, i, ins, every);
    }
  });

  it('trained nn.PReLU slopes (one negative, per channel of both signs and 0) equal the reference', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const one = b.prelu(b.bn(b.conv(b.input, 6, 3, { pad: 1 })), -0.25);
    const per = b.prelu(b.bn(b.conv(one, 6, 3, { pad: 1 })), [0.25, -0.5, 0, 1.5, -2, 0.75]);
    const r = b.relu(b.bn(b.conv(per, 6, 3, { pad: 1 })));
    const flat = b.prelu(b.linear(b.gap(r), 4), [0.5, -1, 0, 2]);
    const net = b.finish(b.linear(flat, 5));
    const batch = gaussianBatch(12, 3, 8, 8, 5);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [2] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 2));
    checkAgainstReference(net, batch, 2, await inspect(be, net, batch, 2, [one, per], true));
  });

  it('arithmetic with constants (x * c, x / c, x + c) equals the reference', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const n = b.act(b.act(b.input, 'shift', -0.45), 'divide', 0.225);
    const c = b.relu(b.bn(b.conv(n, 6, 3, { pad: 1 })));
    const s = b.act(b.act(c, 'scale', -0.5), 'shift', 0.25);
    const r = b.relu(b.bn(b.conv(s, 6, 3, { pad: 1 })));
    const net = b.finish(b.linear(b.gap(r), 5));
    const batch = gaussianBatch(12, 3, 8, 8, 2);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [3] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 3));
    checkAgainstReference(net, batch, 3, await inspect(be, net, batch, 3, [n, s], true));
  });

  it('rectangular convolutions (1x7, 7x1, per-axis strides, padding and dilation, depthwise, grouped) equal the reference', async () => {
    const net = rectNetwork();
    const batch = rectBatch(12, 4);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [8] })) as [[number]];
    const convs = net.nodes.filter((n) => n.op === 'conv').map((n) => n.id);
    const ins = await inspect(be, net, batch, 8, convs, true);
    expect(ins.count).toBe(count);
    checkAgainstReference(net, batch, 8, ins);
    if (count !== referenceCount(net, batch, 8)) expect(checkAgainstReference(net, batch, 8, ins)).toBeGreaterThan(0);
  });

  it('a tied weight (a module called twice) is drawn once, as on the reference engine', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const r1 = b.relu(b.bn(b.conv(b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1 }))), 6, 3, { pad: 1 })));
    const r2 = b.relu(b.bn(b.conv(r1, 6, 3, { pad: 1 })));
    const built = b.finish(b.linear(b.gap(r2), 5));
    const [first, second] = built.nodes.filter((n) => n.op === 'conv').slice(1);
    const net = { ...built, tied: [{ node: second!.id, kind: 'weight' as const, of: first!.id }] };
    const batch = gaussianBatch(24, 3, 8, 8, 9);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [5] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 5));
    expect(referenceCount(built, batch, 5)).not.toBe(count);
    const ins = await inspect(be, net, batch, 5, [r1, r2], true);
    expect(ins.weightTensors.map((t) => t.tensor)).toContain(first!.id);
    expect(ins.weightTensors.map((t) => t.tensor)).not.toContain(second!.id);
    checkAgainstReference(net, batch, 5, ins);
  });

  it('a channel shuffle (ShuffleNetV2) equals the reference', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const x = b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1 })));
    const s1 = b.shuffle(b.concat([b.slice(x, { c: 3 }), b.relu(b.bn(b.conv(b.slice(x, { c0: 3 }), 3, 1)))]), 2);
    const s2 = b.shuffle(b.relu(b.bn(b.conv(s1, 6, 3, { pad: 1, groups: 3 }))), 3);
    const r = b.relu(b.bn(b.conv(s2, 6, 1)));
    const net = b.finish(b.linear(b.gap(r), 5));
    const batch = gaussianBatch(12, 3, 8, 8, 6);
    const [[count]] = (await be.countPatterns({ networks: [net], inputs: batch, seeds: [3] })) as [[number]];
    expect(count).toBe(referenceCount(net, batch, 3));
    checkAgainstReference(net, batch, 3, await inspect(be, net, batch, 3, [s1, s2], true));
  });

  it('scores many networks × seeds per call, reuses pipelines and buffers, and honours cancellation', async () => {
    const rng = new Rng(5);
    const nets = Array.from({ length: 6 }, () => buildNb201Network(sampleNb201(rng), TINY));
    const batch = gaussianBatch(8, 3, 8, 8, 2);
    const before = be.stats;
    const a = await be.countPatterns({ networks: nets, inputs: batch, seeds: [1, 2, 3] });
    const after = be.stats;
    expect(a.map((row) => row.length)).toEqual([3, 3, 3, 3, 3, 3]);
    // pipelines were compiled by compileAll(); buffers come from the pool
    expect(after.pipelines).toBe(before.pipelines);
    expect(after.buffers - before.buffers).toBeLessThanOrEqual(4);
    // same answer one network at a time
    const b = await be.countPatterns({ networks: [nets[3]!], inputs: batch, seeds: [2] });
    expect(b[0]![0]).toBe(a[3]![1]);
    const ac = new AbortController();
    ac.abort();
    await expect(
      be.countPatterns({ networks: nets, inputs: batch, seeds: [1], signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const wrong = gaussianBatch(2, 3, 16, 16, 1);
    await expect(be.countPatterns({ networks: nets, inputs: wrong, seeds: [1] })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
    });
  });

  it('gives the same counts with 2-D dispatch grids (workgroups per dimension capped at 32)', async () => {
    const small = await WebGpuBackend.create({ maxWorkgroupsPerDimension: 32 });
    try {
      const rng = new Rng(77);
      const nets = Array.from({ length: 4 }, () =>
        buildNb201Network(sampleNb201(rng), { channels: 8, cells: 1, inputSize: 8 }),
      );
      const batch = gaussianBatch(33, 3, 8, 8, 4);
      const got = await small.countPatterns({ networks: nets, inputs: batch, seeds: [9] });
      expect(got).toEqual(await be.countPatterns({ networks: nets, inputs: batch, seeds: [9] }));
      expect(got[0]![0]).toBe(referenceCount(nets[0]!, batch, 9));
    } finally {
      await small.close();
    }
  });

  it('releases the device in close(), and is chosen by name through a registry that lists it', async () => {
    const { backend, skipped } = await new BackendRegistry([webgpuProvider, referenceProvider]).choose('webgpu');
    expect(skipped).toEqual([]);
    const other = backend;
    expect(other.name).toBe('webgpu');
    await other.close?.();
    expect((other as WebGpuBackend).closed).toBe(true);
    await expect(
      countPatterns(other, { networks: [], inputs: gaussianBatch(1, 3, 8, 8, 1), seeds: [1] }),
    ).rejects.toMatchObject({ code: 'E_BACKEND' });
  });
});
