import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type * as Ort from 'onnxruntime-node';
import { nb201Space } from '../src/spaces/nb201/index.js';
import type { Nb201Genotype } from '../src/spaces/nb201/genotype.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { referenceCount, referenceForward } from '../src/backends/reference/forward.js';
import { ReferenceBackend } from '../src/backends/reference/index.js';
import { OrtBackend, ortProvider } from '../src/backends/ort/index.js';
import { nativeProvider } from '../src/backends/native/index.js';
import { countPatterns } from '../src/backends/measure.js';
import { repeatSeed } from '../src/init/prng.js';
import { Rng } from '../src/util/rng.js';
import { PatternCounter } from '../src/backends/reference/patterns.js';
import { countDistinctPatterns } from '../src/onnx/count.js';
import { exportNetworkOnnx, networkToOnnx } from '../src/onnx/export.js';
import { decodeModel, encodeModel, toNum } from '../src/onnx/proto.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { registerExport } from '../src/cli/export.js';
import type { Network } from '../src/ir/types.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { countParams, recordedValues } from '../src/ir/analysis.js';
import type { InputBatch } from '../src/data/batch.js';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const SMALL = { channels: 4, cells: 1, classes: 10, inputSize: 8, inputChannels: 3 };

function smallNets(n: number, seed: number): Network[] {
  const all = [...nb201Space.enumerate!()];
  const picks = new Rng(seed).sample(all.length, n).map((i) => all[i]!);
  // always include a cell with a dead node (zero) and one with every op
  picks.push(nb201Space.parse('|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|'));
  return picks.map((g: Nb201Genotype) => nb201Space.build(g, SMALL));
}

/**
 * The sign-flip rule: where ONNX Runtime and the reference disagree on a recorded value's sign, both values
 * must be within float rounding of zero (relative to the layer's scale). Returns the number of such values
 * and the reference backend's count (`referenceCount`, from the same forward pass).
 */
async function compareWithReference(
  net: Network,
  batch: InputBatch,
  seed: number,
): Promise<{ flips: number; reference: number }> {
  const ex = networkToOnnx(net, { seed, exposeRecorded: true });
  const s = await ort.InferenceSession.create(encodeModel(ex.model), { graphOptimizationLevel: 'disabled' });
  const res = await s.run({ input: new ort.Tensor('float32', batch.data, [batch.n, batch.c, batch.h, batch.w]) });
  const ref = new Map<number, Float32Array>();
  const counter = new PatternCounter(batch.n);
  referenceForward(net, batch, seed, (n, d, per) => {
    ref.set(n.id, d);
    counter.addLayer(d, per);
  });
  let flips = 0;
  for (const r of ex.recorded) {
    const a = res[r.name]!.data as Float32Array;
    const b = ref.get(r.node)!;
    let scale = 0;
    for (const v of b) scale = Math.max(scale, Math.abs(v));
    let maxDiff = 0;
    let maxFlipped = 0;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      if (a[i]! > 0 !== b[i]! > 0) {
        flips++;
        maxFlipped = Math.max(maxFlipped, a[i]!, b[i]!);
      }
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    expect(maxFlipped).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
  }
  await s.release();
  return { flips, reference: counter.count };
}

describe('countDistinctPatterns', () => {
  it('equals the reference PatternCounter for every S, word width and table path', () => {
    const rng = new Rng(11);
    for (const S of [1, 2, 7, 16, 20, 21, 32, 33, 64, 70]) {
      const per = [37, 1, 300, 4096 + 5];
      const layers = per.map((p) => {
        const d = new Float32Array(S * p);
        // few distinct levels so that patterns repeat; exact zeros and negative zeros are "off"
        for (let i = 0; i < d.length; i++) d[i] = [0, -0, 1, 0.5, -1, 0, 2][Math.floor(rng.next() * 7)]!;
        return d;
      });
      // a neuron that is on for every sample (all-ones pattern, bit 31 of a word)
      layers[0]!.fill(1, 0, S * 37).forEach((_, i, arr) => {
        if (i % 37 !== 0) arr[i] = rng.next() > 0.5 ? 1 : 0;
      });
      const pc = new PatternCounter(S);
      layers.forEach((d, l) => pc.addLayer(d, per[l]!));
      expect(countDistinctPatterns(layers, per, S)).toBe(pc.count);
    }
  });

  it('counts NaN as off and rejects inconsistent sizes', () => {
    expect(countDistinctPatterns([Float32Array.from([NaN, 1, NaN, 0])], [2], 2)).toBe(2);
    expect(() => countDistinctPatterns([new Float32Array(5)], [2], 2)).toThrow(RangeError);
  });
});

describe('ONNX export', () => {
  it('writes opset 17 with PRNG weights and training-mode BatchNormalization', () => {
    const net = nb201Space.build(nb201Space.parse(ARCH), SMALL);
    const m = decodeModel(exportNetworkOnnx(net, { seed: 9 }));
    expect(toNum(m.opsetImport[0]!.version)).toBe(17);
    const bns = m.graph!.node!.filter((n) => n.opType === 'BatchNormalization');
    expect(bns.length).toBe(net.nodes.filter((n) => n.op === 'bn').length);
    for (const bn of bns) {
      expect(toNum(bn.attribute!.find((a) => a.name === 'training_mode')!.i)).toBe(1);
      expect(bn.output).toHaveLength(3);
    }
    const w = m.graph!.initializer!.find((t) => t.name === 'w1')!;
    expect(w.dims!.map(toNum)).toEqual([4, 3, 3, 3]);
    expect(m.graph!.output!.map((o) => o.name)).toEqual([`n${net.output}`]);
    expect(m.metadataProps!.find((p) => p.key === 'swapnas.weight_seed')!.value).toBe('9');
  });

  it('imports back to the same IR (node ids, ops, shapes)', () => {
    for (const net of smallNets(4, 5)) {
      const loaded = loadOnnxModel(exportNetworkOnnx(net, { seed: 1 }));
      const imp = importOnnxModel(loaded, { inputShape: [3, 8, 8] });
      expect(imp.ok).toBe(true);
      if (!imp.ok) continue;
      const strip = (n: Network) => n.nodes.map((x) => ({ ...x }));
      expect(strip(imp.network)).toEqual(strip(net));
      expect(imp.network.output).toBe(net.output);
    }
  });

  it('ORT backend equals the reference backend on small NB201 networks (sign-flip rule checked)', async () => {
    const nets = smallNets(5, 3);
    const batch = gaussianBatch(16, 3, 8, 8, 4);
    const seeds = [0, 1].map((r) => repeatSeed(7, r));
    const got = await new OrtBackend().countPatterns({ networks: nets, inputs: batch, seeds, threads: 2 });
    expect((await new ReferenceBackend().countPatterns({ networks: [nets[0]!], inputs: batch, seeds }))[0]).toEqual(
      await Promise.all(seeds.map(async (s) => (await compareWithReference(nets[0]!, batch, s)).reference)),
    );
    for (let i = 0; i < nets.length; i++) {
      for (let r = 0; r < seeds.length; r++) {
        const { flips, reference } = await compareWithReference(nets[i]!, batch, seeds[r]!);
        if (flips === 0) expect(got[i]![r]).toBe(reference);
        else expect(Math.abs(got[i]![r]! - reference)).toBeLessThanOrEqual(flips);
      }
    }
    expect(got.flat().some((c) => c > 1000)).toBe(true); // informative counts, not saturated at a tiny cap
    // and the native engine, where its addon is built (the reference is the definition both are held to)
    if ((await nativeProvider.probe()).available) {
      const native = await countPatterns(await nativeProvider.create(), {
        networks: nets,
        inputs: batch,
        seeds,
        threads: 2,
      });
      expect(got).toEqual(native);
    }
  });

  it('a tied weight is one initializer, and ORT counts it as the reference does', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const r1 = b.relu(b.bn(b.conv(b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1 }))), 6, 3, { pad: 1 })));
    const built = b.finish(b.linear(b.gap(b.relu(b.bn(b.conv(r1, 6, 3, { pad: 1 })))), 5));
    const [first, second] = built.nodes.filter((n) => n.op === 'conv').slice(1);
    const net = { ...built, tied: [{ node: second!.id, kind: 'weight' as const, of: first!.id }] };
    const m = decodeModel(exportNetworkOnnx(net, { seed: 2 }));
    const names = m.graph!.initializer!.map((t) => t.name);
    expect(names).toContain(`w${first!.id}`);
    expect(names).not.toContain(`w${second!.id}`);
    const batch = gaussianBatch(24, 3, 8, 8, 9);
    const seeds = [repeatSeed(2, 0)];
    const got = (await new OrtBackend().countPatterns({ networks: [net], inputs: batch, seeds, threads: 2 }))[0]![0]!;
    const { flips, reference } = await compareWithReference(net, batch, seeds[0]!);
    expect(Math.abs(got - reference)).toBeLessThanOrEqual(flips);
    // ORT's values equal the tied reference's (compareWithReference); each use drawing its own weights differs
    const last = (n: Network) => {
      let y: Float32Array = new Float32Array();
      referenceForward(n, batch, seeds[0]!, (_n, d) => {
        y = d;
      });
      return y;
    };
    expect(last(built)).not.toEqual(last(net));
  });

  it('ORT probe and provider', async () => {
    expect(ortProvider.name).toBe('ort');
    expect(ortProvider.priority).toBe(5);
    expect(await ortProvider.probe()).toEqual({ available: true });
    expect((await ortProvider.create()).name).toBe('ort');
  });

  it('a session reused across runs gives identical outputs (BN running-stat updates do not leak)', async () => {
    const net = nb201Space.build(nb201Space.parse(ARCH), SMALL);
    const batch = gaussianBatch(8, 3, 8, 8, 2);
    const counts = await new OrtBackend().countPatterns({ networks: [net], inputs: batch, seeds: [5, 6, 5, 5] });
    expect(counts[0]![0]).toBe(counts[0]![2]);
    expect(counts[0]![0]).toBe(counts[0]![3]);
  });

  it('an exported model scored with its own weights equals score --repeats 1 of the same seed', async () => {
    const net = nb201Space.build(nb201Space.parse(ARCH), { ...SMALL, inputSize: 32 });
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-onnx-'));
    const file = join(dir, 'net.onnx');
    const p = new Command().exitOverride();
    registerExport(p);
    await p.parseAsync([
      'node',
      'swapnas',
      'export',
      ARCH,
      '-o',
      file,
      '--seed',
      '3',
      '--channels',
      '4',
      '--cells',
      '1',
      '-q',
    ]);
    const r = await scoreOnnxModel(file, { batch: 16 });
    expect(r.engine).toBe('ort');
    expect(r.params).toBe(countParams(net));
    expect(r.recorded).toBe(recordedValues(net));
    const { defaultBatch } = await import('../src/data/cifar.js');
    expect(r.perRepeat).toEqual([referenceCount(net, defaultBatch(16), repeatSeed(3, 0))]);
    // --reinit on the IR engine reproduces the architecture's own score over repeats
    const r2 = await scoreOnnxModel(file, {
      batch: 16,
      reinit: true,
      repeats: 2,
      seed: 3,
      engine: 'ir',
      backend: 'reference',
    });
    expect(r2.engine).toBe('ir:reference');
    expect(r2.perRepeat[0]).toBe(r.perRepeat[0]);
  });

  it('export CLI writes atomically and leaves nothing behind on error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-onnx-'));
    const run = async (args: string[]) => {
      const p = new Command().exitOverride();
      registerExport(p);
      await p.parseAsync(['node', 'swapnas', 'export', ...args]);
    };
    const out = join(dir, 'bad.onnx');
    await expect(run(['|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|', '-o', out, '-q'])).rejects.toMatchObject({
      code: expect.stringMatching(/E_ARCH/),
    });
    await expect(run([ARCH, '-o', out, '--seed', '-1', '-q'])).rejects.toMatchObject({ code: 'E_OPTION' });
    // an output folder that does not exist is refused (E_OUTPUT) before anything is built
    await expect(run([ARCH, '-o', join(dir, 'missing', 'x.onnx'), '-q'])).rejects.toMatchObject({
      code: 'E_OUTPUT',
    });
    expect(readdirSync(dir)).toEqual([]);
    // an existing file is replaced only by a complete new one
    const keep = join(dir, 'keep.onnx');
    writeFileSync(keep, 'old');
    await expect(run(['|bad|', '-o', keep, '-q'])).rejects.toThrow();
    expect(readFileSync(keep, 'utf8')).toBe('old');
    await run([ARCH, '-o', keep, '--channels', '4', '--cells', '1', '--expose-recorded', '--batch', '8', '-q']);
    const back = loadOnnxModel(keep);
    expect(back.opset).toBe(17);
    expect(back.input.dims).toEqual([8, 3, 32, 32]);
    expect(back.model.graph!.output!.length).toBe(
      1 +
        nb201Space.build(nb201Space.parse(ARCH), { ...SMALL, inputSize: 32 }).nodes.filter((n) => n.op === 'relu')
          .length,
    );
    expect(readdirSync(dir)).toEqual(['keep.onnx']);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
