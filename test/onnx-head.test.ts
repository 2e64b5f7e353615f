/**
 * The classifier head of an imported ONNX model: PyTorch's bias-free `Linear` (exported without constant folding as
 * `Transpose(weight) → MatMul`) imports as the same layer as a `Gemm(transB = 1)`, a Softmax tail is left out, and a
 * model whose output a skipped node computes is refused instead of being scored cut short.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBatch } from '../src/data/cifar.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { attrInt, attrInts, decodeModel } from '../src/onnx/proto.js';
import { defaultLabels } from '../src/data/labels.js';
import { writeOnnxModel } from './helpers.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { l2Norm, saliencies } from '../src/proxies/saliency.js';

const HEADNET = join(import.meta.dirname, 'fixtures', 'onnx', 'headnet.onnx');
type Model = ReturnType<typeof decodeModel>;
type Nodes = NonNullable<NonNullable<Model['graph']>['node']>;

/** headnet (its last node is `Gemm fc2` → `logits`) rewritten by `edit`, written to a temporary file. */
function variant(edit: (m: Model, nodes: Nodes) => void): string {
  const m = decodeModel(readFileSync(HEADNET));
  const nodes = m.graph!.node!;
  expect(nodes.at(-1)!.opType).toBe('Gemm');
  edit(m, nodes);
  return writeOnnxModel(m);
}

/** The last Gemm without its bias (the same layer as a bias-free `Linear`). */
const gemmNoBias = () => variant((_, nodes) => void (nodes.at(-1)!.input = nodes.at(-1)!.input!.slice(0, 2)));

/** The last Gemm as PyTorch writes a bias-free `Linear` without constant folding: Transpose(weight) → MatMul. */
const transposeMatMul = () =>
  variant((_, nodes) => {
    const g = nodes.at(-1)!;
    const [x, w] = g.input!;
    nodes.splice(
      nodes.length - 1,
      1,
      { opType: 'Transpose', name: 'fc2_t', input: [w!], output: ['fc2_wt'] },
      {
        opType: 'MatMul',
        name: 'fc2_mm',
        input: [x!, 'fc2_wt'],
        output: g.output!,
      },
    );
  });

const images = () => ({ x: defaultBatch(8).data, y: defaultLabels(8) });

describe('the classifier head of an imported model', () => {
  it('Transpose(weight) → MatMul imports as the bias-free Gemm does: the same layer, weights and proxy values', () => {
    const { x, y } = images();
    const load = (f: string) => onnxProxyModel(loadOnnxModel(f), [3, 32, 32]);
    const [a, b] = [load(gemmNoBias()), load(transposeMatMul())];
    const last = (n: typeof a.net) => n.nodes[n.output]!;
    expect(last(b.net)).toMatchObject({ op: 'linear', fout: 10, fin: 16, bias: false });
    expect(last(b.net)).toEqual(last(a.net));
    expect(b.params[b.net.output]!.weight).toEqual(a.params[a.net.output]!.weight);
    const [sa, sb] = [saliencies(a.net, a.params, x, y), saliencies(b.net, b.params, x, y)];
    for (const k of ['grad_norm', 'snip', 'fisher'] as const) expect(sb[k].value).toBe(sa[k].value);
    expect(l2Norm(b.net, b.params).value).toBe(l2Norm(a.net, a.params).value);
  });

  it('a kept-dims mean then Squeeze, or view(-1, C), flattens as the plain mean does: the same network', () => {
    const pooled = (tail: (nodes: Nodes, m: Model) => void) =>
      variant((m, nodes) => {
        const i = nodes.findIndex((n) => n.opType === 'ReduceMean');
        const keep = nodes[i]!.attribute!.find((a) => a.name === 'keepdims')!;
        keep.i = 1;
        nodes[i]!.output = ['pooled4d'];
        tail(nodes, m);
        nodes.splice(i + 1, 0, nodes.pop()!);
      });
    const ints = (name: string, v: number[]) => ({ name, dims: [v.length], dataType: 7, int64Data: v });
    const squeezed = pooled((nodes, m) => {
      m.graph!.initializer!.push(ints('sq_axes', [-1, 2]));
      nodes.push({ opType: 'Squeeze', name: 'sq', input: ['pooled4d', 'sq_axes'], output: ['/ReduceMean_output_0'] });
    });
    const viewed = pooled((nodes, m) => {
      m.graph!.initializer!.push(ints('view_shape', [-1, 8]));
      nodes.push({
        opType: 'Reshape',
        name: 'view',
        input: ['pooled4d', 'view_shape'],
        output: ['/ReduceMean_output_0'],
      });
    });
    const layers = (f: string) => {
      const r = importOnnxModel(loadOnnxModel(f), { inputShape: [3, 32, 32] });
      if (!r.ok) throw new Error(r.reason);
      return r.network.nodes.map((n) => ({ ...n, shape: [...n.shape] })).map(({ id, ...n }) => n);
    };
    expect(layers(squeezed)).toEqual(layers(HEADNET));
    expect(layers(viewed)).toEqual(layers(HEADNET));
    // `x.mean(3).mean(2)` / `x.mean(-1).mean(-1)` (SKNet's, MetaACON's pools): a mean over one axis, then the other
    const twice = (keep: number, first: number, second: number) =>
      variant((m, nodes) => {
        const i = nodes.findIndex((n) => n.opType === 'ReduceMean');
        const mean = nodes[i]!;
        mean.attribute = [attrInts('axes', [first]), attrInt('keepdims', keep)];
        const out = mean.output![0]!;
        mean.output = ['half'];
        nodes.splice(i + 1, 0, {
          opType: 'ReduceMean',
          name: 'second',
          input: ['half'],
          output: [keep ? 'pooled4d' : out],
          attribute: [attrInts('axes', [second]), attrInt('keepdims', keep)],
        });
        if (keep)
          nodes.splice(i + 2, 0, {
            opType: 'Flatten',
            name: 'flat',
            input: ['pooled4d'],
            output: [out],
            attribute: [attrInt('axis', 1)],
          });
        void m;
      });
    expect(layers(twice(0, 3, 2))).toEqual(layers(HEADNET));
    expect(layers(twice(0, -1, -1))).toEqual(layers(HEADNET));
    expect(layers(twice(1, 3, 2))).toEqual(layers(HEADNET));
    // a mean over the same axis again is refused, saying why
    const r = importOnnxModel(loadOnnxModel(twice(1, 3, 3)), { inputShape: [3, 32, 32] });
    expect(r).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/mean over axis 3: only the other spatial axis/),
    });
  });

  it('an AveragePool over the whole map, then Flatten (as CIFAR ResNets write it), imports as a global pool', () => {
    const m0 = importOnnxModel(loadOnnxModel(HEADNET), { inputShape: [3, 32, 32] });
    if (!m0.ok) throw new Error(m0.reason);
    const pooled = m0.network.nodes.find((n) => n.op === 'gap')!;
    const side = m0.network.nodes[pooled.inputs[0]!]!.shape[1]!;
    const file = variant((_, nodes) => {
      const i = nodes.findIndex((n) => n.opType === 'ReduceMean');
      const src = nodes[i]!.input![0]!;
      const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
      nodes.splice(
        i,
        1,
        {
          opType: 'AveragePool',
          name: 'ap',
          input: [src],
          output: ['ap_out'],
          attribute: [ints('kernel_shape', [side, side]), ints('strides', [side, side])],
        },
        {
          opType: 'Flatten',
          name: 'fl',
          input: ['ap_out'],
          output: nodes[i]!.output!,
          attribute: [{ name: 'axis', type: 2, i: 1 }],
        },
      );
    });
    const r = importOnnxModel(loadOnnxModel(file), { inputShape: [3, 32, 32] });
    if (!r.ok) throw new Error(r.reason);
    expect(r.network.nodes[r.network.output]).toMatchObject({ op: 'linear', fout: 10 });
    expect(r.network.nodes.filter((n) => n.op === 'gap')).toHaveLength(1);
  });

  it('a ceil-mode pool imports as floor mode where it adds no partial window, and with ceil (PyTorch sizes) where it does', () => {
    const ceil = variant((_, nodes) => {
      const pool = nodes.find((n) => n.opType === 'MaxPool')!;
      pool.attribute!.find((a) => a.name === 'ceil_mode')!.i = 1;
    });
    const layers = (f: string, side: number) => importOnnxModel(loadOnnxModel(f), { inputShape: [3, side, side] });
    const [a, b] = [layers(HEADNET, 32), layers(ceil, 32)]; // 2x2/2 on a 16x16 map: ceil = floor
    expect(b.ok && b.network.nodes).toEqual(a.ok && a.network.nodes);
    const odd = layers(ceil, 30); // a 15x15 map: ceil mode adds a partial window, 8x8 where floor gives 7x7
    const pool = (r: ReturnType<typeof layers>) => (r.ok ? r.network.nodes.find((n) => n.op === 'maxpool') : undefined);
    expect(pool(odd)).toMatchObject({ ceil: true, shape: [expect.any(Number), 8, 8] });
    expect(pool(layers(HEADNET, 30))).toMatchObject({ shape: [expect.any(Number), 7, 7] });
    expect(pool(layers(HEADNET, 30))).not.toHaveProperty('ceil');
  });

  it("a Softmax / LogSoftmax / Sigmoid after the logits is the network's output, as the official code reads it", () => {
    const tail = (opType: string, axis?: number) =>
      variant((m, nodes) => {
        nodes.push({
          opType,
          name: 'tail',
          input: ['logits'],
          output: ['probs'],
          ...(axis === undefined ? {} : { attribute: [{ name: 'axis', type: 2, i: axis }] }),
        });
        m.graph!.output![0]!.name = 'probs';
      });
    const out = (file: string) => {
      const r = importOnnxModel(loadOnnxModel(file), { inputShape: [3, 32, 32] });
      if (!r.ok) throw new Error(r.reason);
      const o = r.network.nodes[r.network.output]!;
      return { ...o, from: r.network.nodes[o.inputs[0]!]!.op, notes: r.notes };
    };
    expect(out(tail('Softmax'))).toMatchObject({ op: 'softmax', from: 'linear', shape: [10], notes: [] });
    expect(out(tail('LogSoftmax', 1))).toMatchObject({ op: 'softmax', log: true, from: 'linear' });
    expect(out(tail('Sigmoid'))).toMatchObject({ op: 'sigmoid', from: 'linear' });
    // over another axis it is no classifier's softmax: refused, naming it
    const r = importOnnxModel(loadOnnxModel(tail('Softmax', 0)), { inputShape: [3, 32, 32] });
    expect(r.ok ? '' : r.reason).toMatch(/Softmax tail over axis 0.*only a softmax over a flat tensor's features/);
    // a kept-dims global pool is (N, C, 1, 1): its last axis is W, not the channels
    const pooled = variant((m, nodes) => {
      const mean = nodes.find((x) => x.opType === 'ReduceMean')!;
      nodes.push(
        { opType: 'GlobalAveragePool', name: 'gp', input: [mean.input![0]!], output: ['gp'] },
        { opType: 'Softmax', name: 'tail', input: ['gp'], output: ['probs'] },
      );
      m.graph!.output![0]!.name = 'probs';
    });
    const p = importOnnxModel(loadOnnxModel(pooled), { inputShape: [3, 32, 32] });
    expect(p.ok ? '' : p.reason).toMatch(/Softmax tail over axis -1 of a 4-D tensor/);
  });

  it('a Dropout in training mode imports as identity and says so; in inference mode it says nothing', () => {
    const dropout = (training: boolean) =>
      variant((m, nodes) => {
        const fc = nodes.at(-1)!;
        m.graph!.initializer!.push(
          { name: 'p', dims: [], dataType: 1, floatData: [0.2] },
          { name: 't', dims: [], dataType: 9, rawData: Uint8Array.of(training ? 1 : 0) },
        );
        nodes.splice(nodes.length - 1, 0, {
          opType: 'Dropout',
          name: 'drop',
          input: [fc.input![0]!, 'p', 't'],
          output: ['dropped'],
        });
        fc.input![0] = 'dropped';
      });
    const notes = (f: string) => {
      const r = importOnnxModel(loadOnnxModel(f), { inputShape: [3, 32, 32] });
      if (!r.ok) throw new Error(r.reason);
      return r.notes;
    };
    expect(notes(dropout(true))).toEqual([expect.stringMatching(/Dropout drop \(ratio 0\.2\) is in training mode/)]);
    expect(notes(dropout(false))).toEqual([]);
  });

  it('an output computed by a node the import skipped is refused with the reason, not scored cut short', () => {
    const file = variant((_, nodes) => void (nodes.at(-1)!.opType = 'Einsum'));
    const r = importOnnxModel(loadOnnxModel(file), { inputShape: [3, 32, 32] });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/graph output "?logits"? is not computed by the imported layers.*Einsum/);
  });
});
