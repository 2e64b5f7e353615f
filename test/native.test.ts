import { describe, expect, it } from 'vitest';
import { loadAddon } from '../src/native/loader.js';
import type { NativeAddon, NativeCountJob } from '../src/native/addon.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { fillGaussian, repeatSeed } from '../src/init/prng.js';
import { uniformTensor } from '../src/proxies/init.js';
import { serializeNetwork } from '../src/ir/serialize.js';
import { addonJobInputs } from '../src/backends/addon-job.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { makeBatch, type InputBatch } from '../src/data/batch.js';
import { Rng } from '../src/util/rng.js';
import { formatNb201, parseNb201, sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import type { Network } from '../src/ir/types.js';
import { GraphBuilder } from '../src/ir/builder.js';

const load = loadAddon();
if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
const addon: NativeAddon = load.addon;

function randomBatch(n: number, c: number, size: number, seed: number): InputBatch {
  const rng = new Rng(seed);
  const data = new Float32Array(n * c * size * size);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return makeBatch(data, n, c, size, size, `normal(${seed})`);
}

function job(
  nets: readonly Network[],
  batch: InputBatch,
  seeds: readonly number[],
  threads = 2,
  cancel = new Int32Array(1),
): NativeCountJob {
  return { ...addonJobInputs(nets, batch, seeds, cancel), threads };
}

/** Distinct patterns among native per-neuron codes (checks patternCodes against countPatterns). */
function distinctCodes(codes: Uint32Array, words: number): number {
  const seen = new Set<string>();
  for (let j = 0; j < codes.length; j += words) seen.add(Array.from(codes.subarray(j, j + words)).join(':'));
  return seen.size;
}

describe('native addon: build', () => {
  it('reports its build', () => {
    const info = addon.buildInfo();
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof info.cuda).toBe('boolean');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(typeof info.simd).toBe('string');
  });
});

describe('native addon: PRNG', () => {
  it('matches fillGaussian bit for bit', () => {
    const cases: [number, number, number][] = [
      [0, 0, 1000],
      [1, 2, 5000],
      [0xffffffff, 7, 3000],
      [repeatSeed(42, 0), 12, 131_072],
      [repeatSeed(42, 31), 1, 20_000],
      [123456789, 0xfffffff, 777],
    ];
    let total = 0;
    for (const [seed, tensor, count] of cases) {
      const want = fillGaussian(new Float32Array(count), seed, tensor);
      const got = addon.prngFill(seed, tensor, count);
      expect(got.length).toBe(count);
      const a = new Uint32Array(want.buffer);
      const b = new Uint32Array(got.buffer);
      let mismatches = 0;
      for (let i = 0; i < count; i++) if (a[i] !== b[i]) mismatches++;
      expect(mismatches, `seed ${seed} tensor ${tensor}`).toBe(0);
      total += count;
    }
    expect(total).toBeGreaterThanOrEqual(100_000);
  });

  it("prngUniform matches the pytorch init scheme's uniform draws bit for bit", () => {
    const cases: [number, number, number, number][] = [
      [0, 0x40000000, 50_000, 1 / Math.sqrt(144)],
      [0xffffffff, 7, 3000, 1],
      [repeatSeed(42, 3), 0x40000011, 20_001, 1 / Math.sqrt(17)],
    ];
    for (const [seed, tensor, count, bound] of cases) {
      const want = new BigUint64Array(uniformTensor(seed, tensor, count, bound).buffer);
      const got = new BigUint64Array(addon.prngUniform(seed, tensor, count, bound).buffer);
      expect(got.length).toBe(count);
      let mismatches = 0;
      for (let i = 0; i < count; i++) if (want[i] !== got[i]) mismatches++;
      expect(mismatches, `seed ${seed} tensor ${tensor}`).toBe(0);
    }
  });
});

describe('native addon: parity with the reference on small NB201 networks', () => {
  const rng = new Rng(2024);
  const cells = Array.from({ length: 30 }, () => sampleNb201(rng));
  const nets = cells.map((g) => buildNb201Network(g, { channels: 4, cells: 1, inputSize: 8 }));
  const seeds = [repeatSeed(7, 0), repeatSeed(7, 1)];

  for (const S of [1, 8, 40, 70]) {
    it(`S=${S}: counts equal referenceCount exactly for 30 cells x 2 seeds`, async () => {
      const batch = randomBatch(S, 3, 8, 100 + S);
      const counts = await addon.countPatterns(job(nets, batch, seeds), () => {});
      expect(counts.length).toBe(nets.length * seeds.length);
      const mismatches: string[] = [];
      nets.forEach((net, i) => {
        seeds.forEach((seed, r) => {
          const want = referenceCount(net, batch, seed);
          const got = counts[i * seeds.length + r];
          if (got !== want) mismatches.push(`${formatNb201(cells[i]!)} seed ${r}: native ${got}, reference ${want}`);
        });
      });
      expect(mismatches).toEqual([]);
    });
  }

  it('patternCodes agree with countPatterns (S=8 and the multi-word S=70)', async () => {
    for (const S of [8, 70]) {
      const batch = randomBatch(S, 3, 8, 100 + S);
      const counts = await addon.countPatterns(job(nets.slice(0, 5), batch, [seeds[0]!]), () => {});
      for (let i = 0; i < 5; i++) {
        const codes = addon.patternCodes(serializeNetwork(nets[i]!), batch.data, S, 3, 8, 8, seeds[0]!);
        expect(codes.words).toBe(Math.ceil(S / 32));
        const total = Array.from(codes.sizes).reduce((a, b) => a + b, 0);
        expect(codes.codes.length).toBe(total * codes.words);
        expect(distinctCodes(codes.codes, codes.words)).toBe(counts[i]);
      }
    }
  });

  it('runs as the native Backend with the same results', async () => {
    const batch = randomBatch(8, 3, 8, 108);
    const backend = new NativeBackend(addon);
    const progress: number[] = [];
    const res = await backend.countPatterns({
      networks: nets.slice(0, 4),
      inputs: batch,
      seeds,
      threads: 2,
      onProgress: (d) => progress.push(d),
    });
    expect(res.length).toBe(4);
    res.forEach((row, i) => row.forEach((v, r) => expect(v).toBe(referenceCount(nets[i]!, batch, seeds[r]!))));
    expect(progress.at(-1)).toBe(8);
  });
});

/**
 * Random small graphs exercising every op and conv variant the NB201 cells do not: groups (incl. depthwise),
 * dilation, stride 2, 5x5 and 1x1 kernels, maxpool, avgpool with and without padding in the count, concat,
 * multi-input add, zero, and a classifier head that must be skipped.
 */
function genericNet(rng: Rng, size: number): Network {
  const b = new GraphBuilder([3, size, size]);
  let x = b.bn(b.conv(b.input, 8, 3));
  const live = [x];
  for (let step = 0; step < 6; step++) {
    const src = live[rng.int(live.length)]!;
    const [c, h] = b.shape3(src);
    let y: number;
    switch (rng.int(9)) {
      case 0:
        y = b.bn(b.conv(b.relu(src), c, 3, { groups: c })); // depthwise
        break;
      case 1:
        y =
          c % 2 === 0
            ? b.bn(b.conv(b.relu(src), 2 * c > 32 ? c : 2 * c, 3, { groups: 2 }))
            : b.bn(b.conv(b.relu(src), c, 3));
        break;
      case 2:
        y = b.bn(b.conv(b.relu(src), c, 3, { dilation: 2 }));
        break;
      case 3:
        y = b.bn(b.conv(b.relu(src), c, 5));
        break;
      case 4:
        y = h >= 4 ? b.bn(b.conv(b.relu(src), c, 3, { stride: 2, pad: 1 })) : b.maxpool(src, 3, 1, 1);
        break;
      case 5:
        y = b.maxpool(src, 3, 1, 1);
        break;
      case 6:
        y = b.avgpool(src, 3, 1, 1, rng.next() < 0.5);
        break;
      case 7:
        y = b.bn(b.conv(b.relu(src), c + 3, 1, { pad: 0 }));
        break;
      default:
        y = b.bn(b.conv(b.relu(src), c, 3));
        break;
    }
    const same = live.filter((v) => b.shape(v).join('x') === b.shape(y).join('x'));
    if (same.length > 0 && rng.next() < 0.5)
      y = b.add([y, same[rng.int(same.length)]!, ...(rng.next() < 0.3 ? [b.zero(b.shape3(y))] : [])]);
    const sameHw = live.filter((v) => b.shape3(v)[1] === b.shape3(y)[1] && b.shape3(v)[0] + b.shape3(y)[0] <= 40);
    if (sameHw.length > 0 && rng.next() < 0.3) y = b.concat([y, sameHw[rng.int(sameHw.length)]!]);
    live.push(y);
    x = y;
  }
  const out = b.linear(b.gap(b.relu(b.bn(x))), 10, true);
  return b.finish(out);
}

describe('native addon: parity with the reference on generic graphs', () => {
  it('30 random graphs x S in {3, 33, 65} agree exactly', async () => {
    const rng = new Rng(77);
    const nets = Array.from({ length: 30 }, (_, i) => genericNet(rng, i % 2 === 0 ? 8 : 11));
    for (const S of [3, 33, 65]) {
      for (const size of [8, 11]) {
        const group = nets.filter((n) => n.nodes[0]!.shape[1] === size);
        const batch = randomBatch(S, 3, size, S * 100 + size);
        const seeds = [repeatSeed(5, S)];
        const counts = await addon.countPatterns(job(group, batch, seeds), () => {});
        group.forEach((net, i) => expect(counts[i], `graph ${i} S=${S}`).toBe(referenceCount(net, batch, seeds[0]!)));
      }
    }
  });
});

describe("native addon: a BatchNorm's own epsilon", () => {
  it('counts equal the reference with ε = 0.3 on every BN, and differ from ε = 1e-5', async () => {
    const rng = new Rng(78);
    const nets = Array.from({ length: 8 }, () => genericNet(rng, 8)).map((net) => ({
      ...net,
      nodes: net.nodes.map((n) => (n.op === 'bn' ? { ...n, eps: 0.3 } : n)),
    }));
    const batch = randomBatch(33, 3, 8, 9);
    const seeds = [repeatSeed(6, 33)];
    const counts = await addon.countPatterns(job(nets, batch, seeds), () => {});
    nets.forEach((net, i) => expect(counts[i], `graph ${i}`).toBe(referenceCount(net, batch, seeds[0]!)));
    const plain = nets.map((net) => ({
      ...net,
      nodes: net.nodes.map((n) => (n.op === 'bn' ? { ...n, eps: undefined } : n)),
    }));
    expect(plain.some((net, i) => referenceCount(net, batch, seeds[0]!) !== counts[i])).toBe(true);
  });
});

describe('native addon: leaky ReLUs', () => {
  it('counts equal the reference with every third ReLU leaky (not recorded, its negative side passed on)', async () => {
    const rng = new Rng(79);
    const leaky = (net: Network, slope: number): Network => ({
      ...net,
      nodes: net.nodes.map((n) => (n.op === 'relu' && n.id % 3 === 0 && n.id < net.output - 3 ? { ...n, slope } : n)),
    });
    const nets = Array.from({ length: 8 }, () => leaky(genericNet(rng, 8), 0.2));
    expect(nets.every((net) => net.nodes.some((n) => n.op === 'relu' && n.slope === 0.2))).toBe(true);
    const batch = randomBatch(33, 3, 8, 10);
    const seeds = [repeatSeed(7, 33)];
    const counts = await addon.countPatterns(job(nets, batch, seeds), () => {});
    nets.forEach((net, i) => expect(counts[i], `graph ${i}`).toBe(referenceCount(net, batch, seeds[0]!)));
    // a different slope changes what later ReLUs see
    const other = nets.map((net) => leaky(net, 0.05));
    expect(other.some((net, i) => referenceCount(net, batch, seeds[0]!) !== counts[i])).toBe(true);
  });
});

describe('native addon: a ceil-mode pool whose window is larger than the map (a review)', () => {
  it('max 3/2 in ceil mode on a 2×2 map gives one output, as in PyTorch, and counts equal the reference', async () => {
    const b = new GraphBuilder([3, 4, 4]);
    const r = b.relu(b.conv(b.relu(b.conv(b.input, 4, 3, { stride: 2 })), 4, 1)); // 4x2x2
    const net = b.finish(b.linear(b.gap(b.relu(b.conv(b.maxpool(r, 3, 2, 0, true), 4, 1))), 3));
    expect(net.nodes.find((n) => n.op === 'maxpool')!.shape).toEqual([4, 1, 1]);
    const batch = randomBatch(9, 3, 4, 9);
    const seeds = [repeatSeed(8, 9)];
    const counts = await addon.countPatterns(job([net], batch, seeds), () => {});
    expect(counts[0]).toBe(referenceCount(net, batch, seeds[0]!));
  });
});

describe('native addon: worker behaviour', () => {
  const big = [
    buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'),
    ),
  ];
  const batch = randomBatch(16, 3, 32, 5);

  it('rejects with E_CANCELLED when cancelled mid-job', async () => {
    const cancel = new Int32Array(1);
    const seeds = Array.from({ length: 64 }, (_, r) => repeatSeed(1, r));
    const t0 = Date.now();
    const p = addon.countPatterns(job(big, batch, seeds, 2, cancel), () => {});
    setTimeout(() => {
      cancel[0] = 1;
    }, 30);
    await expect(p).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('rejects with E_CANCELLED when cancelled before it starts', async () => {
    const cancel = Int32Array.of(1);
    await expect(addon.countPatterns(job(big, batch, [1, 2, 3], 1, cancel), () => {})).rejects.toMatchObject({
      code: 'E_CANCELLED',
    });
  });

  it('keeps the event loop free while counting', async () => {
    const seeds = Array.from({ length: 10 }, (_, r) => repeatSeed(3, r));
    let ticks = 0;
    let maxGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 5);
    const t0 = Date.now();
    const progress: [number, number][] = [];
    try {
      const counts = await addon.countPatterns(job(big, batch, seeds, 1), (d, t) => progress.push([d, t]));
      expect(counts.length).toBe(10);
    } finally {
      clearInterval(timer);
    }
    const elapsed = Date.now() - t0;
    // A blocked loop would show one gap as long as the job; the slack allows for a loaded CI machine.
    expect(maxGap).toBeLessThan(Math.max(250, elapsed / 3));
    expect(ticks).toBeGreaterThan(elapsed / 5 / 10);
    expect(progress.at(-1)).toEqual([10, 10]);
  });

  it('rejects a bad program with E_BACKEND instead of crashing', async () => {
    const good = job(big, batch, [1]);
    const variants: [string, Int32Array, Int32Array][] = [];
    const p = good.program;
    variants.push(['bad magic', Int32Array.from([1, ...p.subarray(1)]), good.offsets]);
    variants.push(['truncated', p.slice(0, p.length - 3), Int32Array.of(0, p.length - 3)]);
    const inputs = p.slice();
    inputs[5] = 99; // node 0 (the input) claims 99 inputs
    variants.push(['bad input count', inputs, good.offsets]);
    variants.push(['offsets out of range', p, Int32Array.of(0, p.length + 10)]);
    const wrongOp = p.slice();
    wrongOp[4] = 42;
    variants.push(['unknown opcode', wrongOp, good.offsets]);
    // the closing shared-weight list (one network: its last word, 0 pairs): a pair naming a later node, a conv tied
    // to a BN, two convs of different sizes, a node listed twice
    const nodes = big[0]!.nodes;
    const convs = nodes.filter((n) => n.op === 'conv');
    const same = convs.filter((n) => n.cin === convs[1]!.cin && n.cout === convs[1]!.cout && n.k === convs[1]!.k);
    const other = convs.find((n) => n.k !== convs[1]!.k || n.cin !== convs[1]!.cin)!;
    const bn = nodes.find((n) => n.op === 'bn')!;
    const shared = (...pairs: number[]) =>
      Int32Array.from([...p.subarray(0, p.length - 1), pairs.length / 2, ...pairs]);
    const [a, b, c] = [same[0]!.id, same[1]!.id, same[2]!.id];
    expect(bn.id < a && other.id < a).toBe(true);
    for (const [name, pairs] of [
      ['shared weight from a later node', [a, b]],
      ['shared weight from a BN', [a, bn.id]],
      ['shared weight of another size', [a, other.id]],
      ['shared weight listed twice', [b, a, b, a]],
      ['shared weight chained', [b, a, c, b]],
    ] as const) {
      const program = shared(...pairs);
      await expect(
        addon.countPatterns({ ...good, program, offsets: Int32Array.of(0, program.length) }, () => {}),
        name,
      ).rejects.toMatchObject({ code: 'E_BACKEND', message: expect.stringMatching(/shared weight/) });
    }
    // a valid pair is accepted
    const tiedProgram = shared(b, a);
    await expect(
      addon.countPatterns({ ...good, program: tiedProgram, offsets: Int32Array.of(0, tiedProgram.length) }, () => {}),
    ).resolves.toHaveLength(1);
    for (const [name, program, offsets] of variants) {
      await expect(
        addon.countPatterns({ ...good, program, offsets }, () => {}),
        name,
      ).rejects.toMatchObject({ code: 'E_BACKEND' });
    }
    // input shape that does not match the network
    const small = randomBatch(4, 3, 16, 1);
    await expect(addon.countPatterns(job(big, small, [1]), () => {})).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(/expects input/),
    });
    expect(() => addon.patternCodes(Int32Array.of(1, 2, 3), small.data, 4, 3, 16, 16, 1)).toThrow(
      expect.objectContaining({ code: 'E_BACKEND' }),
    );
    // garbage arguments
    await expect(
      addon.countPatterns({ ...good, seeds: [1] as unknown as Uint32Array }, () => {}),
    ).rejects.toMatchObject({ code: 'E_BACKEND' });
  });

  it('takes one constant per channel in the act words, equal to the reference, and refuses tails that do not fit', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const n = b.channelAct(b.input, 'divide', [0.25, 0.5, 2]);
    const net = b.finish(b.linear(b.gap(b.relu(b.conv(n, 4, 3))), 3));
    const x = randomBatch(6, 3, 8, 2);
    const good = job([net], x, [1, 2]);
    expect(Array.from(await addon.countPatterns(good, () => {}))).toEqual([1, 2].map((k) => referenceCount(net, x, k)));
    // the act node (opcode 16): [16, 1 input, node 0, rank 3, 3, 8, 8, nAttr, fn, α words, nwot, two words per
    // channel]
    const p = good.program;
    const at = p.indexOf(16, 4 + 7); // node 1's opcode (node 0 is the input: opcode, 0 inputs, rank 3, dims, 0 attrs)
    const nAttr = at + 2 + 1 + 1 + 3; // opcode, nIn, the input id, rank, three dims
    expect([p[at + 1], p[nAttr]]).toEqual([1, 4 + 2 * 3]);
    const edit = (f: (q: Int32Array) => Int32Array) => {
      const program = f(p.slice());
      return { ...good, program, offsets: Int32Array.of(0, program.length) };
    };
    const cases: [string, ReturnType<typeof edit>, RegExp][] = [
      // two constants for three channels
      [
        'too few',
        edit((q) =>
          Int32Array.from([
            ...q.subarray(0, nAttr),
            4 + 4,
            ...q.subarray(nAttr + 1, nAttr + 9),
            ...q.subarray(nAttr + 11),
          ]),
        ),
        /one per channel/,
      ],
      // a tail on ELU
      ['on a smooth activation', edit((q) => ((q[nAttr + 1] = 1), q)), /the arithmetic and PReLU only/],
      // a divisor of 0 (the first channel's high and low words)
      ['a zero divisor', edit((q) => ((q[nAttr + 5] = 0), (q[nAttr + 6] = 0), q)), /not 0 for a divisor/],
      // nwot's hook on arithmetic (only an nn.PReLU is one)
      ['hooked arithmetic', edit((q) => ((q[nAttr + 4] = 1), q)), /only a PReLU act is hooked by nwot/],
    ];
    for (const [name, bad, why] of cases)
      await expect(
        addon.countPatterns(bad, () => {}),
        name,
      ).rejects.toMatchObject({
        code: 'E_BACKEND',
        message: expect.stringMatching(why),
      });
  });

  it('counts through group normalisation (GroupNorm, InstanceNorm, LayerNorm on flat features and over channels) as the reference does, and refuses groups that do not divide the channels', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const g = b.relu(b.gn(b.conv(b.input, 4, 3, { pad: 1 }), 2));
    const l = b.relu(b.gn(b.conv(g, 4, 1), 1, true, 1e-6, true));
    const i = b.relu(b.gn(b.conv(l, 4, 3, { pad: 1 }), 4, false, 1e-3));
    const net = b.finish(b.linear(b.relu(b.gn(b.linear(b.gap(i), 6), 1)), 3));
    const x = randomBatch(6, 3, 8, 2);
    const good = job([net], x, [1, 2, 3]);
    expect(Array.from(await addon.countPatterns(good, () => {}))).toEqual(
      [1, 2, 3].map((k) => referenceCount(net, x, k)),
    );
    // the GroupNorm node (opcode 18): [18, 1 input, node id, rank 3, 4, 8, 8, 5 attrs, groups, affine, ε words, pixelwise]
    const p = good.program;
    const at = p.indexOf(18, 4 + 7);
    const groups = at + 2 + 1 + 1 + 3 + 1;
    expect([p[at + 1], p[groups - 1], p[groups]]).toEqual([1, 5, 2]);
    const program = p.slice();
    program[groups] = 3;
    await expect(
      addon.countPatterns({ ...good, program, offsets: Int32Array.of(0, program.length) }, () => {}),
    ).rejects.toMatchObject({ code: 'E_BACKEND', message: expect.stringMatching(/groups must divide the channels/) });
  });

  it('fuzzed programs never crash the process', async () => {
    const rng = new Rng(99);
    const tiny = buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|'),
      {
        channels: 4,
        cells: 1,
        inputSize: 8,
      },
    );
    const prog = serializeNetwork(tiny);
    const b = randomBatch(2, 3, 8, 3);
    const base = job([tiny], b, [1], 1);
    let rejected = 0;
    for (let t = 0; t < 300; t++) {
      const p = prog.slice();
      const edits = 1 + rng.int(3);
      for (let e = 0; e < edits; e++) p[4 + rng.int(p.length - 4)] = rng.int(7) - 2 + (rng.next() < 0.1 ? 1 << 20 : 0);
      try {
        const counts = await addon.countPatterns(
          { ...base, program: p, offsets: Int32Array.of(0, p.length) },
          () => {},
        );
        expect(Number.isInteger(counts[0])).toBe(true);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('E_BACKEND');
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('rejects with the exception thrown by the progress callback', async () => {
    const boom = new Error('boom');
    await expect(
      addon.countPatterns(job(big, batch, [1, 2], 1), () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});
