/**
 * A BatchNorm without running statistics (PyTorch's track_running_stats=False, NAS-Bench-201's search cells): torch.onnx
 * writes its batch statistics as a subgraph of its input (src/onnx/bn-stats.ts); it imports as a `bn` with `batchStats`,
 * which normalises with batch statistics in every mode, eval included, on every engine.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forwardTape } from '../src/backends/reference/tape.js';
import { backward } from '../src/backends/reference/backward.js';
import { packedSlots, packParams } from '../src/backends/native/grad.js';
import { nativeProxyPass } from '../src/backends/native/proxy-pass.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { loadAddon } from '../src/native/loader.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { randomData, randomParams } from './grad-graphs.js';

const load = loadAddon();
const file = join(import.meta.dirname, 'fixtures', 'onnx', 'statsbn.onnx');
const importEdited = (edit: (m: ReturnType<typeof decodeModel>) => void) => {
  const m = decodeModel(readFileSync(file));
  edit(m);
  return importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 32, 32] });
};

describe('a BatchNorm without running statistics', () => {
  it('imports from the subgraph torch.onnx writes, as a bn with batch statistics in every mode', () => {
    const r = importEdited(() => {});
    if (!r.ok) throw new Error(r.reason);
    const bns = r.network.nodes.filter((n) => n.op === 'bn');
    expect(bns.map((n) => n.op === 'bn' && [n.affine, n.batchStats === true])).toEqual([
      [true, false],
      [false, true],
      [false, true],
      [true, false],
    ]);
  });

  it('is refused when the subgraph computes something else, or something outside it reads it', () => {
    // statistics over the batch only (axes [0]): not this BN's
    const axes = importEdited((m) => {
      const rm = m.graph!.node!.find((n) => n.opType === 'ReduceMean')!;
      rm.attribute!.find((a) => a.name === 'axes')!.ints = [0];
    });
    expect(axes.ok).toBe(false);
    // the centred values are a graph output as well
    const exposed = importEdited((m) => {
      m.graph!.output!.push({ name: m.graph!.node!.find((n) => n.opType === 'Sub')!.output![0]! });
    });
    expect(exposed.ok).toBe(false);
    // a Reshape that mixes samples and channels ([N, C/2, −1], [1, C, −1]): not per-channel batch statistics
    for (const edit of [(t: number[]) => [t[0]!, t[1]! / 2, -1], (t: number[]) => [1, t[1]!, -1]]) {
      const r = importEdited((m) => {
        const reshape = m.graph!.node!.find((n) => n.opType === 'Reshape')!;
        const init = m.graph!.initializer!.find((t) => t.name === reshape.input![1]);
        const node = m.graph!.node!.find((n) => n.output?.[0] === reshape.input![1]);
        const t = init ?? node!.attribute![0]!.t!;
        const raw = t.rawData ? Array.from(new BigInt64Array(new Uint8Array(t.rawData).slice().buffer)) : [];
        const now = (t.int64Data?.length ? Array.from(t.int64Data) : raw).map(Number);
        t.int64Data = edit(now);
        t.rawData = undefined;
      });
      expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/not \[N, 8, -1\]/) });
    }
  });

  it('eval-form exports (one output) run on ONNX Runtime at any batch, as the IR, without an eval-mode warning', async () => {
    const m = decodeModel(readFileSync(file));
    // the BNs without running statistics only (their mean is a ReduceMean's output): the others stay training-form
    const reduced = new Set(m.graph!.node!.filter((n) => n.opType === 'ReduceMean').map((n) => n.output![0]!));
    for (const n of m.graph!.node!)
      if (n.opType === 'BatchNormalization' && reduced.has(n.input![3]!)) n.output = [n.output![0]!];
    const evalForm = join(mkdtempSync(join(tmpdir(), 'swapnas-bnstats-')), 'statsbn-eval.onnx');
    writeFileSync(evalForm, encodeModel(m));
    for (const batch of [16, 12]) {
      const ort = await scoreOnnxModel(evalForm, { batch, reinit: true, repeats: 1, seed: 3, engine: 'ort' });
      const ir = await scoreOnnxModel(evalForm, { batch, reinit: true, repeats: 1, seed: 3, backend: 'reference' });
      expect([ort.engine, ir.engine]).toEqual(['ort', 'ir:reference']);
      expect(ort.perRepeat, `batch ${batch}`).toEqual(ir.perRepeat);
      expect(ort.warnings.join(' ')).not.toMatch(/running statistics/);
    }
  });

  it('normalises with batch statistics in eval mode on the reference and both native passes', async () => {
    if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
    const build = (batchStats: boolean) => {
      const b = new GraphBuilder([3, 5, 5]);
      const bn = (x: number) => b.bn(x, false, undefined, undefined, batchStats);
      const x = bn(b.conv(b.relu(bn(b.conv(b.input, 4, 3, { pad: 1 }))), 4, 3, { bias: true }));
      return b.finish(b.linear(b.gap(b.relu(x)), 3, true));
    };
    const [stats, tracked] = [build(true), build(false)];
    const params = randomParams(stats, 3);
    const x = Float32Array.from(randomData(stats, 4, 5).x);
    const logits = (net: typeof stats, bn: 'train' | 'eval') =>
      Array.from(forwardTape(net, params, x, 4, { bn }).logits);
    expect(logits(stats, 'eval')).toEqual(logits(stats, 'train'));
    expect(logits(tracked, 'eval')).not.toEqual(logits(tracked, 'train'));
    const want = logits(stats, 'eval');
    const f64 = await nativeProxyPass(load.addon, stats, packParams(stats, params, Float64Array), x, 4, {
      bn: 'eval',
      wantParams: true,
      float64: true,
    });
    expect(Array.from(f64.outputs)).toEqual(want.map(Math.fround));
    // and the weight gradients: eval mode is train mode for such BNs on every backward pass
    const seeds = new Map([[stats.output, new Float64Array(want.length).fill(1)]]);
    const grads = (bn: 'train' | 'eval') =>
      backward(forwardTape(stats, params, x, 4, { bn, backward: { params: true } }), { seeds, params: true }).params!;
    const evalGrads = grads('eval');
    const weights = (g: typeof evalGrads) => g.map((p) => p?.weight && Array.from(p.weight));
    expect(weights(evalGrads)).toEqual(weights(grads('train')));
    for (const t of packedSlots(stats).filter((t) => t.kind === 'weight'))
      expect(Array.from(f64.params64.subarray(t.offset, t.offset + t.size))).toEqual(
        Array.from(evalGrads[t.node]!.weight!),
      );
    const f32 = await nativeProxyPass(load.addon, stats, packParams(stats, params), x, 4, {
      bn: 'eval',
      wantParams: true,
    });
    f32.outputs.forEach((v, i) =>
      expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]!))),
    );
  });
});
