/**
 * Arithmetic with a constant in a model's forward (`(x - 0.45) / 0.225`, `y * 0.5`, `1.5 - y`, `-y`): ONNX Mul / Div
 * / Add / Sub / Neg by a scalar, imported as `act` nodes (`scale`, `divide`, `shift`). Their values against the
 * official code are in test/fixtures/proxies (fixture `arith`, proxies-official / proxies-native / precision), their
 * gradients in the `arithmetic` graph of test/grad-graphs.ts; here: what imports and what is refused, the ONNX
 * export back, and SWAP with --reinit on every engine.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianBatch } from '../src/data/gaussian.js';
import { GraphBuilder } from '../src/ir/builder.js';
import type { IRNode, Network } from '../src/ir/types.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import {
  attrInt,
  attrInts,
  attrTensor,
  encodeModel,
  floatTensor,
  type INodeProto,
  int64Tensor,
  type ITensorProto,
  node,
  valueInfo,
} from '../src/onnx/proto.js';
import { mecoNodes } from '../src/proxies/meco.js';
import { preGapNode, zen } from '../src/proxies/zen.js';
import { prngParams } from '../src/grad/params.js';
import { isActivation } from '../src/ir/analysis.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { serializeNetwork } from '../src/ir/serialize.js';
import { Rng } from '../src/util/rng.js';
import { expectFixtureReinitCountsAgree } from './helpers.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'proxies', 'arith.onnx');

/** x (2×3×6×6) → conv (4 channels) → `body` → GAP → Flatten → fc: the imported network or the refusal's reason. */
function imported(
  body: (y: string) => INodeProto[],
  constants: Record<string, number[]> = {},
  buffers: Record<string, number | number[]> = {},
  extra: ITensorProto[] = [],
) {
  const rng = new Rng(3);
  const w = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const consts = Object.entries(constants).map(([name, v]) =>
    node('Constant', [], [name], name, [
      attrTensor('value', floatTensor('', v.length === 1 ? [] : [1, v.length, 1, 1], Float32Array.from(v))),
    ]),
  );
  const nodes = [
    ...consts,
    node('Conv', ['x', 'conv.weight'], ['c'], '/conv/Conv', []),
    ...body('c'),
    node('GlobalAveragePool', ['z'], ['g'], '/gap/GlobalAveragePool'),
    node('Flatten', ['g'], ['f'], '/Flatten'),
    node('Gemm', ['f', 'fc.weight'], ['y'], '/fc/Gemm', [attrInt('transB', 1)]),
  ];
  const graph = {
    name: 'arith',
    node: nodes,
    initializer: [
      floatTensor('conv.weight', [4, 3, 3, 3], w(108)),
      floatTensor('fc.weight', [5, 4], w(20)),
      ...Object.entries(buffers).map(([name, v]) =>
        typeof v === 'number'
          ? floatTensor(name, [], Float32Array.of(v))
          : floatTensor(name, [v.length], Float32Array.from(v)),
      ),
      ...extra,
    ],
    input: [valueInfo('x', [2, 3, 6, 6])],
    output: [valueInfo('y', [2, 5])],
  };
  return importOnnxModel(loadOnnxModel(encodeModel({ irVersion: 7, opsetImport: [{ version: 13 }], graph })), {
    inputShape: [3, 6, 6],
    bn: 'batch',
  });
}

const acts = (net: Network) =>
  net.nodes
    .filter((n): n is IRNode & { op: 'act' } => n.op === 'act')
    .map((n) => `${n.fn}(${n.alphas ? `[${n.alphas.join(', ')}]` : (n.alpha ?? 1)})`);

describe('arithmetic with a scalar constant imports as act nodes', () => {
  it('Mul, Div, Add, Sub and Neg, the constant on either side, the decimal the model was written with', () => {
    const r = imported(
      () => [
        node('Mul', ['k05', 'c'], ['a'], '/Mul'),
        node('Div', ['a', 'k3'], ['b'], '/Div'),
        node('Sub', ['b', 'k01'], ['d'], '/Sub'),
        node('Sub', ['k15', 'd'], ['e'], '/Sub_1'),
        node('Add', ['e', 'k01'], ['h'], '/Add'),
        node('Neg', ['h'], ['z'], '/Neg'),
      ],
      { k05: [0.5], k3: [3], k01: [0.1], k15: [1.5] },
    );
    if (!r.ok) throw new Error(r.reason);
    // 1.5 − d as −d + 1.5; 0.1 read back as 0.1, not float32's 0.10000000149
    expect(acts(r.network)).toEqual([
      'scale(0.5)',
      'divide(3)',
      'shift(-0.1)',
      'scale(-1)',
      'shift(1.5)',
      'shift(0.1)',
      'scale(-1)',
    ]);
  });

  it('a difference of two tensors is their sum with the second negated; a map times 0 stays the zero node (NB201 none)', () => {
    const r = imported(() => [node('Relu', ['c'], ['r'], '/relu/Relu'), node('Sub', ['c', 'r'], ['z'], '/Sub')], {});
    if (!r.ok) throw new Error(r.reason);
    const add = r.network.nodes.find((n) => n.op === 'add')!;
    expect(add.inputs.map((i) => r.network.nodes[i]!.op)).toEqual(['conv', 'act']);
    const z = imported(() => [node('Mul', ['c', 'k0'], ['z'], '/Mul')], { k0: [0] });
    if (!z.ok) throw new Error(z.reason);
    expect(z.network.nodes.some((n) => n.op === 'zero')).toBe(true); // a map times 0 stays NB201's none
  });

  it("a module's buffer keeps its float32 value, as .double() does; a Constant is read as its decimal", () => {
    const r = imported(
      () => [node('Mul', ['c', 'scale'], ['a'], '/Mul'), node('Mul', ['a', 'k'], ['z'], '/Mul_1')],
      { k: [0.1] },
      { scale: 0.1 },
    );
    if (!r.ok) throw new Error(r.reason);
    expect(acts(r.network)).toEqual([`scale(${Math.fround(0.1)})`, 'scale(0.1)']);
    // a scalar nn.Parameter looks the same in the file: said
    expect(r.notes).toContainEqual(
      expect.stringMatching(
        /initializer scale is read as a constant .* an nn\.Parameter \(a ReZero gain, a layer scale/,
      ),
    );
    // several (a ConvNeXt's layer scale per block): one note naming how many
    const many = imported(
      () => [
        node('Mul', ['c', 'b1.gamma'], ['a'], '/b1/Mul'),
        node('Mul', ['a', 'b2.gamma'], ['d'], '/b2/Mul'),
        node('Mul', ['d', 'b1.gamma'], ['z'], '/b3/Mul'),
      ],
      {},
      { 'b1.gamma': 0.5, 'b2.gamma': 2 },
    );
    if (!many.ok) throw new Error(many.reason);
    const said = many.notes.filter((n) => /read as constant/.test(n));
    expect(said).toEqual([expect.stringMatching(/^2 initializers \(b1\.gamma, b2\.gamma\) are read as constants/)]);
  });

  it('takes one constant per channel: x * k, x + k, x - k, k - x, x / k with k of (1, C, 1, 1)', () => {
    const k = [0.5, -2, 0.25, 3];
    const r = imported(
      () => [
        node('Mul', ['c', 'k'], ['a'], '/Mul'),
        node('Add', ['k', 'a'], ['b'], '/Add'),
        node('Sub', ['b', 'k'], ['d'], '/Sub'),
        node('Sub', ['k', 'd'], ['e'], '/Sub_1'),
        node('Div', ['e', 'k'], ['z'], '/Div'),
      ],
      { k },
    );
    if (!r.ok) throw new Error(r.reason);
    expect(acts(r.network)).toEqual([
      'scale([0.5, -2, 0.25, 3])',
      'shift([0.5, -2, 0.25, 3])',
      'shift([-0.5, 2, -0.25, -3])',
      'scale(-1)',
      'shift([0.5, -2, 0.25, 3])',
      'divide([0.5, -2, 0.25, 3])',
    ]);
  });

  it('reads one constant per channel as its float32 values; one viewed from an initializer (a learned layer scale) is noted', () => {
    const k = [0.1, 0.3, -0.7, 1.1];
    const r = imported(
      () => [
        node('Reshape', ['block.gamma', 'shape4'], ['/Reshape_output_0'], '/Reshape'),
        node('Mul', ['c', '/Reshape_output_0'], ['a'], '/Mul'),
        node('Mul', ['a', 'k'], ['z'], '/Mul_1'),
      ],
      { k },
      { 'block.gamma': k },
      [int64Tensor('shape4', [4], [1, -1, 1, 1])],
    );
    if (!r.ok) throw new Error(r.reason);
    // a tensor of several values is never a literal: its float32 values, whether an initializer or a Constant
    const f32 = `[${k.map(Math.fround).join(', ')}]`;
    expect(acts(r.network)).toEqual([`scale(${f32})`, `scale(${f32})`]);
    expect(r.notes).toContainEqual(
      expect.stringMatching(/initializer block\.gamma is read as a constant .* a layer scale/),
    );
  });

  it('refuses a constant that is neither one value nor one per channel, division by zero and a per-channel constant divided by a tensor, saying why', () => {
    for (const op of ['Mul', 'Add', 'Sub', 'Div']) {
      const three = imported(() => [node(op, ['c', 'k'], ['z'], `/${op}`)], { k: [1, 2, 3] });
      expect(three, op).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/3 values shaped \[1, 3, 1, 1\]: only a scalar, or one value per channel/),
      });
    }
    const zeroChannel = imported(() => [node('Div', ['c', 'k'], ['z'], '/Div')], { k: [1, 0, 2, 3] });
    expect(zeroChannel).toMatchObject({ ok: false, reason: expect.stringMatching(/division by zero/) });
    // a map less its channel means (SimAM's): the means broadcast over the map (expand), then the sum
    const centred = imported(() => [
      node('ReduceMean', ['c'], ['m'], '/ReduceMean', [attrInts('axes', [2, 3]), attrInt('keepdims', 1)]),
      node('Sub', ['c', 'm'], ['z'], '/Sub'),
    ]);
    if (!centred.ok) throw new Error(centred.reason);
    const nodes = centred.network.nodes;
    const e = nodes.find((n) => n.op === 'expand')!;
    expect([nodes[e.inputs[0]!]!.op, nodes[e.inputs[0]!]!.shape.join('x'), e.shape.join('x')]).toEqual([
      'gap',
      '4x1x1',
      '4x4x4',
    ]);
    expect(nodes.find((n) => n.op === 'add')!.inputs.map((i) => nodes[i]!.op)).toEqual(['conv', 'act']);
    const byZero = imported(() => [node('Div', ['c', 'k'], ['z'], '/Div')], { k: [0] });
    expect(byZero).toMatchObject({ ok: false, reason: expect.stringMatching(/division by zero/) });
    // a scalar over a tensor: its reciprocal, scaled; one value per channel over a tensor is refused
    const inverse = imported(() => [node('Div', ['k', 'c'], ['z'], '/Div')], { k: [2] });
    if (!inverse.ok) throw new Error(inverse.reason);
    expect(acts(inverse.network)).toEqual(['reciprocal(1)', 'scale(2)']);
    const perChannel = imported(() => [node('Div', ['k', 'c'], ['z'], '/Div')], { k: [1, 2, 3, 4] });
    expect(perChannel).toMatchObject({ ok: false, reason: expect.stringMatching(/divided by a scalar constant/) });
  });

  it('divides by a number computed from the shape exactly once it is cast to a float (torch `x / (w / 3)`)', () => {
    // the width (axis 3) cast to `to`, divided by 3 (a float Constant, or the int64 initializer)
    const body = (to: number, by: string) => (y: string) => [
      node('Shape', [y], ['sh'], '/Shape'),
      node('Gather', ['sh', 'i3'], ['w'], '/Gather', [attrInt('axis', 0)]),
      node('Cast', ['w'], ['wf'], '/Cast', [attrInt('to', to)]),
      node('Div', ['wf', by], ['q'], '/Div'),
      node('Div', [y, 'q'], ['z'], '/Div_1'),
    ];
    const three = int64Tensor('i3', [], [3]);
    const real = imported(body(1, 'three'), { three: [3] }, {}, [three]);
    if (!real.ok) throw new Error(real.reason);
    // the map is 4 wide: 4 / 3 in floating point, 4 // 3 = 1 in integers (a cast back truncates)
    expect(acts(real.network)).toEqual([`divide(${4 / 3})`]);
    const integer = imported(body(7, 'i3'), { three: [3] }, {}, [three]);
    if (!integer.ok) throw new Error(integer.reason);
    expect(acts(integer.network)).toEqual(['divide(1)']);
  });

  it("expands a C×1×1 gate whose product's other operand is smaller than the Expand's shape (a C×H×1 map)", () => {
    const rng = new Rng(5);
    const k = floatTensor(
      'k.weight',
      [4, 4, 1, 4],
      Float32Array.from({ length: 64 }, () => rng.normal()),
    );
    const r = imported(
      (y) => [
        node('GlobalAveragePool', [y], ['p'], '/gate/GlobalAveragePool'),
        node('Conv', [y, 'k.weight'], ['col'], '/k/Conv', [attrInts('kernel_shape', [1, 4])]),
        node('Shape', [y], ['s'], '/gate/Shape'),
        node('Expand', ['p', 's'], ['e'], '/gate/Expand'),
        node('Mul', ['e', 'col'], ['m'], '/Mul'),
        node('Add', ['m', y], ['z'], '/Add'),
      ],
      {},
      {},
      [k],
    );
    if (!r.ok) throw new Error(r.reason);
    const nodes = r.network.nodes;
    const expands = nodes.filter((n) => n.op === 'expand');
    expect(expands.map((n) => `${nodes[n.inputs[0]!]!.shape.join('x')}>${n.shape.join('x')}`)).toEqual([
      '4x1x1>4x4x4',
      '4x4x1>4x4x4',
    ]);
    expect(nodes.find((n) => n.op === 'mul')!.shape.join('x')).toBe('4x4x4');
  });

  it('is a function, not a module: MeCo does not hook it, a path does not count it as a nonlinearity', () => {
    const b = new GraphBuilder([3, 6, 6]);
    const c = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 })));
    const s = b.act(c, 'scale', 0.5);
    const t = b.act(c, 'tanh');
    const net = b.finish(b.linear(b.gap(b.add([s, t])), 3));
    expect(mecoNodes(net)).toContain(t);
    expect(mecoNodes(net)).not.toContain(s);
    expect(isActivation(net, net.nodes[s]!)).toBe(false);
    expect(isActivation(net, net.nodes[t]!)).toBe(true);
  });

  it('zen reads the map before the global pool when the pooled map goes through arithmetic (gap(x) * 2 - 1)', () => {
    const head = (arith: boolean) => {
      const b = new GraphBuilder([3, 6, 6]);
      const r = b.relu(b.bn(b.conv(b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 }))), 4, 3, { pad: 1 })));
      const pooled = arith ? b.act(b.act(b.gap(r, true), 'scale', 2), 'shift', -1) : r;
      return { net: b.finish(b.linear(b.gap(pooled), 3)), r };
    };
    const [plain, scaled] = [head(false), head(true)];
    expect(preGapNode(scaled.net)).toBe(scaled.r);
    const x = gaussianBatch(4, 3, 6, 6, 1).data;
    const mixed = gaussianBatch(4, 3, 6, 6, 2).data;
    const value = (n: Network) => zen(n, prngParams(n, 5), x, mixed, 4).value;
    expect(value(scaled.net)).toBe(value(plain.net));
    // a 1×1 tail with a squeeze-and-excitation product written gate first (torchvision's scale * input): the walk
    // back reaches the gate's own pool, which pools nothing, so the map is the head's
    const b = new GraphBuilder([3, 8, 8]);
    const x1 = b.relu(b.bn(b.conv(b.input, 8, 8, { stride: 8 })));
    const gate = b.sigmoid(b.conv(b.relu(b.conv(b.gap(x1, true), 4, 1)), 8, 1), false);
    const tail = b.relu(b.conv(b.mul(gate, x1), 8, 1));
    expect(preGapNode(b.finish(b.linear(b.gap(tail), 3)))).toBe(tail);
  });

  it('zen reads the map before a pool whose window covers it (F.avg_pool2d(out, 4), max, padded), not after one that does not', () => {
    const head = (pool: (b: GraphBuilder, x: number) => number) => {
      const b = new GraphBuilder([3, 8, 8]);
      const r = b.relu(b.bn(b.conv(b.input, 4, 3, { stride: 2, pad: 1 }))); // 4×4
      return { net: b.finish(b.linear(b.gap(pool(b, r)), 3)), r };
    };
    for (const pool of [
      (b: GraphBuilder, x: number) => b.avgpool(x, 4, 4, 0, true),
      (b: GraphBuilder, x: number) => b.maxpool(x, 4, 4, 0),
      (b: GraphBuilder, x: number) => b.avgpool(x, 6, 1, 1, false),
    ]) {
      const h = head(pool);
      expect(preGapNode(h.net)).toBe(h.r);
    }
    // a 2×2 pool leaves a 2×2 map: the head's global pool reads that
    const part = head((b, x) => b.avgpool(x, 2, 2, 0, true));
    expect(preGapNode(part.net)).toBe(part.net.nodes.find((n) => n.op === 'avgpool')!.id);
  });

  it('the IR refuses a divisor of 0 and a constant that is not finite (E_IR_SHAPE)', () => {
    const b = new GraphBuilder([3, 6, 6]);
    expect(() => b.act(b.input, 'divide', 0)).toThrow(expect.objectContaining({ code: 'E_IR_SHAPE' }));
    expect(() => b.act(b.input, 'shift', Number.POSITIVE_INFINITY)).toThrow(
      expect.objectContaining({ code: 'E_IR_SHAPE' }),
    );
    expect(() => b.act(b.input, 'tanh', 2)).toThrow(expect.objectContaining({ code: 'E_IR_SHAPE' }));
    // a tail of 80,000 constants (a shift per feature of a large flattened map) serialises word by word
    const wide = new GraphBuilder([80_000, 1, 1]);
    const t = wide.channelAct(
      wide.input,
      'shift',
      Array.from({ length: 80_000 }, (_, i) => i / 1000),
    );
    expect(serializeNetwork(wide.finish(wide.linear(wide.flatten(t), 2))).length).toBeGreaterThan(160_000);
    // per channel: one finite constant per channel, the arithmetic only
    for (const [fn, alphas] of [
      ['divide', [1, 0, 2]],
      ['shift', [1, 2]],
      ['tanh', [1, 2, 3]],
      ['scale', [1, Number.NaN, 2]],
    ] as const)
      expect(() => b.channelAct(b.input, fn, alphas), fn).toThrow(expect.objectContaining({ code: 'E_IR_SHAPE' }));
  });
});

describe('arithmetic on every engine', () => {
  it('one constant per channel (the chanarith fixture: the input normalised by buffers, a gain per channel, a shift per feature): SWAP with --reinit equal on ONNX Runtime, reference and native', async () => {
    await expectFixtureReinitCountsAgree('chanarith', 32, 7, 4);
  });

  it('exports as Mul / Div / Add by a Constant and imports back to the same IR', () => {
    const b = new GraphBuilder([3, 6, 6]);
    const n = b.act(b.act(b.input, 'shift', -0.45), 'divide', 0.225);
    const c = b.relu(b.bn(b.conv(n, 4, 3, { pad: 1 })));
    const net = b.finish(b.linear(b.act(b.gap(b.act(c, 'scale', -2)), 'shift', 1), 3));
    const imp = importOnnxModel(loadOnnxModel(exportNetworkOnnx(net, { seed: 1 })), { inputShape: [3, 6, 6] });
    if (!imp.ok) throw new Error(imp.reason);
    expect(imp.network.nodes.map((x) => ({ ...x }))).toEqual(net.nodes.map((x) => ({ ...x })));
  });

  it('SWAP with --reinit on the official fixture: reference, native and ONNX Runtime agree', async () => {
    const batch = gaussianBatch(32, 3, 32, 32, 6);
    const opts = { batch: 32, inputs: batch, reinit: true, repeats: 2, seed: 4 } as const;
    const ort = await scoreOnnxModel(FIXTURE, { ...opts, engine: 'ort' });
    const ref = await scoreOnnxModel(FIXTURE, { ...opts, backend: 'reference' });
    const nat = await scoreOnnxModel(FIXTURE, { ...opts, backend: 'native' });
    expect([ort.engine, ref.engine, nat.engine]).toEqual(['ort', 'ir:reference', 'ir:native']);
    expect(ref.perRepeat).toEqual(ort.perRepeat);
    expect(nat.perRepeat).toEqual(ort.perRepeat);
    // imported whole (before, the Sub stopped the import and every engine but ONNX Runtime refused the model)
    expect(ref.importable).toBe(true);
    const imp = importOnnxModel(loadOnnxModel(FIXTURE), { inputShape: [3, 32, 32] });
    if (!imp.ok) throw new Error(imp.reason);
    expect(acts(imp.network)).toEqual([
      'shift(-0.45)',
      'divide(0.225)',
      'scale(0.5)',
      'scale(0.1)',
      'scale(-1)',
      'scale(-1)',
      'shift(1.5)',
      'scale(-1)',
      'scale(2)',
      'shift(1)',
    ]);
  });
});
