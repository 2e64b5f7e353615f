import { describe, expect, it } from 'vitest';
import {
  BackendRegistry,
  GraphBuilder,
  PatternCounter,
  buildNb201Network,
  defaultBatch,
  gaussianBatch,
  makeBatch,
  parseNb201,
  recordedValues,
  referenceCount,
  referenceForward,
  sampleNb201,
  scoreNetworks,
  Rng,
  SwapError,
} from '../src/index.js';

const TINY = { channels: 4, cells: 1, inputSize: 8 } as const;
const ALL_NONE = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';

describe('hand-checked networks (no weights involved)', () => {
  it('input → ReLU: patterns are the signs of the inputs', () => {
    // 3 samples of a 1×2×2 map; neuron j's pattern is bit s = (x[s][j] > 0).
    const x = Float32Array.from([/* s0 */ 1, -1, 0, 2, /* s1 */ 1, 3, -2, 2, /* s2 */ -1, 3, 0, 5]);
    // neuron 0: s0=1 s1=1 s2=0 → 0b011; neuron 1: 0,1,1 → 0b110; neuron 2: 0,0,0 → 0; neuron 3: 1,1,1 → 0b111.
    const b = new GraphBuilder([1, 2, 2]);
    const r = b.relu(b.input);
    const net = b.finish(r);
    expect(referenceCount(net, makeBatch(x, 3, 1, 2, 2, 'hand'), 0)).toBe(4);
    // a second recorded ReLU on avgpool(2×2) adds one neuron: the sample means 0.5, 1, 1.75 → 0b111, already seen.
    const b2 = new GraphBuilder([1, 2, 2]);
    b2.relu(b2.input);
    const p = b2.relu(b2.avgpool(b2.input, 2, 2, 0, true));
    expect(referenceCount(b2.finish(p), makeBatch(x, 3, 1, 2, 2, 'hand'), 0)).toBe(4);
  });

  it('input → BN → ReLU: a neuron is active where the sample exceeds the channel mean', () => {
    // one channel, 2 samples × 1×2 pixels: values 0, 4 | 1, 3; mean = 2, so active = (x > 2): s0: [0,1], s1: [0,1]
    // neuron 0: 0b00, neuron 1: 0b11 → 2 patterns.
    const b = new GraphBuilder([1, 1, 2]);
    const net = b.finish(b.relu(b.bn(b.input)));
    expect(referenceCount(net, makeBatch(Float32Array.from([0, 4, 1, 3]), 2, 1, 1, 2, 'hand'), 0)).toBe(2);
    // values 0, 4 | 3, 1: s0 active [0,1], s1 active [1,0] → neuron 0: 0b10, neuron 1: 0b01 → 2 patterns
    expect(referenceCount(net, makeBatch(Float32Array.from([0, 4, 3, 1]), 2, 1, 1, 2, 'hand'), 0)).toBe(2);
    // values 0, 4 | 4, 4: mean 3, active s0 [0,1], s1 [1,1] → 0b10, 0b11 → 2; with a third constant pixel…
    const b3 = new GraphBuilder([1, 1, 3]);
    const net3 = b3.finish(b3.relu(b3.bn(b3.input)));
    // s0: 0 0 9 ; s1: 9 0 0 → mean 3: active s0 [0,0,1], s1 [1,0,0] → neurons: 0b10, 0b00, 0b01 → 3
    expect(referenceCount(net3, makeBatch(Float32Array.from([0, 0, 9, 9, 0, 0]), 2, 1, 1, 3, 'hand'), 0)).toBe(3);
  });

  it('PatternCounter handles multi-word patterns (S > 32) exactly', () => {
    const S = 70;
    const c = new PatternCounter(S);
    // 3 neurons: all-on, all-off, and on only for sample 69 (differs from all-off only in word 3)
    const data = new Float32Array(S * 3);
    for (let s = 0; s < S; s++) data[s * 3] = 1;
    data[69 * 3 + 2] = 1;
    c.addLayer(data, 3);
    expect(c.count).toBe(3);
    c.addLayer(data, 3);
    expect(c.count).toBe(3);
    expect(c.recorded).toBe(6);
  });
});

describe('reference SWAP on NB201', () => {
  it('the all-none cell scores exactly 1 at full size', async () => {
    const net = buildNb201Network(parseNb201(ALL_NONE));
    const run = await scoreNetworks([net], { backend: 'reference', repeats: 2 });
    expect(run.scores[0]!.perRepeat).toEqual([1, 1]);
    expect(run.scores[0]!.params).toBe(73306);
  });

  it('respects the bound min(V, 2^S) and reaches it when S is small', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 12; i++) {
      const net = buildNb201Network(sampleNb201(rng), TINY);
      const V = recordedValues(net);
      for (const S of [1, 2, 3, 5]) {
        const psi = referenceCount(net, gaussianBatch(S, 3, 8, 8, i), 3);
        expect(psi).toBeGreaterThanOrEqual(1);
        expect(psi).toBeLessThanOrEqual(Math.min(V, 2 ** S));
      }
    }
    // a conv-heavy cell with S=2 realises all four patterns
    const dense = buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'),
      TINY,
    );
    expect(referenceCount(dense, gaussianBatch(2, 3, 8, 8, 1), 0)).toBe(4);
  });

  it('any batch size: S = 1, 33 and 70 run and stay within bounds', () => {
    const net = buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'),
      TINY,
    );
    const V = recordedValues(net);
    expect(referenceCount(net, gaussianBatch(1, 3, 8, 8, 0), 0)).toBeLessThanOrEqual(2);
    for (const S of [33, 70]) {
      const psi = referenceCount(net, gaussianBatch(S, 3, 8, 8, 0), 0);
      expect(psi).toBeGreaterThan(1);
      expect(psi).toBeLessThanOrEqual(V);
    }
  });

  it('is deterministic: same seed → same ReLU outputs and score; another seed → other weights', () => {
    const net = buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'),
      TINY,
    );
    const batch = gaussianBatch(8, 3, 8, 8, 5);
    const grab = (seed: number) => {
      const outs: Float32Array[] = [];
      referenceForward(net, batch, seed, (_n, d) => outs.push(d.slice()));
      return outs;
    };
    expect(grab(1)).toEqual(grab(1));
    expect(grab(1)).not.toEqual(grab(2));
    expect(referenceCount(net, batch, 9)).toBe(referenceCount(net, batch, 9));
  });

  it('scoreNetworks reports Ψ, per-repeat counts, Θ, reg-SWAP and settings', async () => {
    const g = parseNb201(
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
    );
    const net = buildNb201Network(g, TINY);
    const run = await scoreNetworks([net], {
      backend: 'reference',
      repeats: 3,
      seed: 4,
      batch: 8,
      inputs: gaussianBatch(8, 3, 8, 8, 0),
      mu: 5,
      sigma: 10,
    });
    const s = run.scores[0]!;
    expect(s.perRepeat).toHaveLength(3);
    expect(s.swap).toBeCloseTo(s.perRepeat.reduce((a, b) => a + b, 0) / 3, 12);
    const k = s.params / 1000;
    expect(s.regFactor).toBeCloseTo(Math.exp(-((k - 5) ** 2) / 10), 12);
    expect(s.regSwap).toBeCloseTo(s.swap * s.regFactor, 9);
    expect(run.settings).toMatchObject({
      batch: 8,
      repeats: 3,
      seed: 4,
      backend: 'reference',
      regulariser: { mu: 5, sigma: 10 },
    });
  });
});

describe('inputs and options are validated with coded errors', () => {
  const net = buildNb201Network(parseNb201(ALL_NONE), TINY);
  const code = async (p: Promise<unknown>) =>
    p.then(
      () => 'no error',
      (e: unknown) => (e instanceof SwapError ? e.code : String(e)),
    );

  it('rejects NaN, empty and mis-shaped batches', async () => {
    const bad = new Float32Array(2 * 3 * 8 * 8);
    bad[77] = Number.NaN;
    expect(() => makeBatch(bad, 2, 3, 8, 8, 'x')).toThrow(/non-finite value NaN at sample 0, element 77/);
    expect(() => makeBatch(new Float32Array(0), 0, 3, 8, 8, 'x')).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_EMPTY' }),
    );
    expect(() => makeBatch(new Float32Array(5), 1, 3, 8, 8, 'x')).toThrowError(
      expect.objectContaining({ code: 'E_INPUT_SHAPE' }),
    );
    expect(await code(scoreNetworks([net], { backend: 'reference', inputs: defaultBatch(4), repeats: 1 }))).toBe(
      'E_INPUT_SHAPE',
    );
  });

  it('rejects bad options and unknown backends', async () => {
    const inputs = gaussianBatch(4, 3, 8, 8, 0);
    expect(await code(scoreNetworks([net], { backend: 'reference', inputs, repeats: 0 }))).toBe('E_OPTION');
    expect(await code(scoreNetworks([net], { backend: 'reference', inputs, batch: 5 }))).toBe('E_INPUT_SHAPE');
    expect(await code(scoreNetworks([net], { backend: 'reference', inputs, mu: 1 }))).toBe('E_OPTION');
    expect(await code(scoreNetworks([net], { backend: 'reference', inputs, mu: 1, sigma: -1 }))).toBe('E_OPTION');
    expect(await code(scoreNetworks([net], { backend: 'nope' as 'reference', inputs }))).toBe('E_OPTION');
  });

  it('a network without recorded ReLU is rejected', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const n = b.finish(b.bn(b.input));
    expect(await code(scoreNetworks([n], { backend: 'reference', inputs: gaussianBatch(2, 3, 8, 8, 0) }))).toBe(
      'E_IR_SHAPE',
    );
  });

  it('the registry reports why a backend is unavailable', async () => {
    const reg = new BackendRegistry([
      {
        name: 'cuda',
        priority: 30,
        description: 'test',
        capabilities: ['relu-patterns'],
        probe: async () => ({ available: false, reason: 'no GPU here' }),
        create: async () => {
          throw new Error('unreachable');
        },
      },
      ...new BackendRegistry().list().filter((p) => p.name === 'reference'),
    ]);
    const choice = await reg.choose('auto');
    expect(choice.backend.name).toBe('reference');
    expect(choice.skipped).toEqual([{ name: 'cuda', reason: 'no GPU here' }]);
    await expect(reg.choose('cuda')).rejects.toMatchObject({ code: 'E_BACKEND_UNAVAILABLE', message: /no GPU here/ });
  });
});
