import { describe, expect, it } from 'vitest';
import { loadAddon } from '../src/native/loader.js';
import { referenceForward } from '../src/backends/reference/forward.js';
import { serializeNetwork, serializeNetworks } from '../src/ir/serialize.js';
import { parseNb201 } from '../src/spaces/nb201/genotype.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import { defaultBatch } from '../src/data/cifar.js';
import { repeatSeed } from '../src/init/prng.js';
import { PatternCounter } from '../src/backends/reference/patterns.js';
import type { Network } from '../src/ir/types.js';
import type { InputBatch } from '../src/data/batch.js';
import { resizeBatch } from '../src/data/resize.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { DARTS_KNOWN_ARCHS } from '../src/spaces/darts/known.js';

const load = loadAddon();
if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
const addon = load.addon;

/**
 * Full-size parity rule (C=16, N=5, 32x32, S=16). The native engine accumulates convolutions in float32 in a
 * different order from the reference's float64 sums, so a recorded value may differ by a few float32 ulps of
 * the layer's scale; a sign bit can then flip only for a value that is itself that close to zero. Concretely,
 * for every recorded ReLU layer with reference outputs r and native outputs q (both after the ReLU):
 *
 * 1. max_i |q_i - r_i| <= TAU * rms(r): the two forward passes agree to float rounding (measured: 1.1e-5 and
 *    2.9e-5 for the two cells below, after ~50 layers of float32 accumulation);
 * 2. every neuron/sample bit that differs has max(q_i, r_i) <= TAU * rms(r): both values lie within float
 *    rounding of zero (the other one is <= 0; the flips seen are at |value| ~ 1e-6 * rms);
 * 3. the native per-neuron codes (patternCodes) are exactly the signs of q, and countPatterns counts them;
 * 4. the pattern counts differ by at most 1 per 10,000 patterns.
 */
const TAU = 2.5e-4;

const CELLS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|',
  '|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|',
];

/** Checks rules 1–4 above for one network; returns the counts and the flip statistics. */
async function checkParity(
  net: Network,
  batch: InputBatch,
  seed: number,
): Promise<{ want: number; nativeCount: number; flips: number; worst: number }> {
  const ref: { id: number; per: number; data: Float32Array }[] = [];
  const refCounter = new PatternCounter(batch.n);
  referenceForward(net, batch, seed, (n, data, per) => {
    ref.push({ id: n.id, per, data: data.slice() });
    refCounter.addLayer(data, per);
  });

  const prog = serializeNetwork(net);
  const codes = addon.patternCodes(prog, batch.data, batch.n, batch.c, batch.h, batch.w, seed);
  expect(Array.from(codes.nodes)).toEqual(ref.map((l) => l.id));
  expect(codes.words).toBe(1);

  let offset = 0;
  let flips = 0;
  let worst = 0;
  const nativeCounter = new PatternCounter(batch.n);
  for (const [k, layer] of ref.entries()) {
    const { per, data: r } = layer;
    expect(codes.sizes[k]).toBe(per);
    const q = addon.nodeValues(prog, batch.data, batch.n, batch.c, batch.h, batch.w, seed, layer.id);
    nativeCounter.addLayer(q, per);
    let ss = 0;
    for (let i = 0; i < r.length; i++) ss += r[i]! * r[i]!;
    const tol = TAU * Math.sqrt(ss / r.length);
    for (let j = 0; j < per; j++) {
      const code = codes.codes[offset + j]!;
      for (let s = 0; s < batch.n; s++) {
        const i = s * per + j;
        const qi = q[i]!;
        const ri = r[i]!;
        worst = Math.max(worst, Math.abs(qi - ri) / (tol / TAU));
        if (Math.abs(qi - ri) > tol)
          throw new Error(
            `node ${layer.id} neuron ${j} sample ${s}: native ${qi} vs reference ${ri} (tolerance ${tol})`,
          );
        if (((code >>> s) & 1) !== (qi > 0 ? 1 : 0))
          throw new Error(`node ${layer.id} neuron ${j} sample ${s}: code bit disagrees with value ${qi}`);
        if (qi > 0 !== ri > 0) {
          flips++;
          if (Math.max(qi, ri) > tol)
            throw new Error(
              `node ${layer.id} neuron ${j} sample ${s}: sign differs at native ${qi} vs reference ${ri}, beyond ${tol}`,
            );
        }
      }
    }
    offset += per;
  }
  const [nativeCount] = await addon.countPatterns(
    {
      ...serializeNetworks([net]),
      input: batch.data,
      n: batch.n,
      c: batch.c,
      h: batch.h,
      w: batch.w,
      seeds: Uint32Array.of(seed),
      threads: 1,
      cancel: new Int32Array(1),
    },
    () => {},
  );
  expect(nativeCount).toBe(nativeCounter.count);
  const want = refCounter.count;
  expect(Math.abs(nativeCount! - want)).toBeLessThanOrEqual(want / 10_000);
  return { want, nativeCount: nativeCount!, flips, worst };
}

describe('native addon: full-size parity with the reference (C=16, N=5, 32x32, S=16)', () => {
  const batch = defaultBatch(16);
  const seed = repeatSeed(0, 0);

  for (const arch of CELLS) {
    it(arch, { timeout: 600_000 }, async () => {
      const { want, nativeCount, flips, worst } = await checkParity(buildNb201Network(parseNb201(arch)), batch, seed);
      console.log(
        `${arch}: reference ${want}, native ${nativeCount}, flipped bits ${flips}, max |q-r|/rms ${worst.toExponential(2)}`,
      );
    });
  }
});

/** The default scoring proxies of the other spaces (the networks `correlate` and `search` score), same rule. */
describe('native addon: default proxies of the other spaces, parity with the reference (S=16)', () => {
  const seed = repeatSeed(0, 1);
  const cases: [string, string, Record<string, unknown>][] = [
    ['darts', DARTS_KNOWN_ARCHS.DARTS_V2, {}],
    ['darts', DARTS_KNOWN_ARCHS.PC_DARTS_CIFAR, {}],
    ['nb101', 'i31mo:1100.011.01.1', {}],
    ['tnb101-micro', '64-41414-3_12_023', { inputSize: 64 }],
  ];
  for (const [space, arch, extra] of cases) {
    it(`${space} ${arch.slice(0, 40)}`, { timeout: 600_000 }, async () => {
      const e = spaceEntry(space);
      const size = (extra['inputSize'] as number | undefined) ?? 32;
      const net = e.space.build(e.space.parse(arch), {
        ...e.networkFor(e.targets[0]!),
        channels: e.proxyDefaults.channels,
        cells: e.proxyDefaults.cells,
        prune: e.proxyDefaults.prune,
        ...extra,
        inputSize: size,
      });
      const batch = size === 32 ? defaultBatch(16) : resizeBatch(defaultBatch(16), size);
      const { want, nativeCount, flips, worst } = await checkParity(net, batch, seed);
      console.log(
        `${space} ${arch}: reference ${want}, native ${nativeCount}, flipped bits ${flips}, max |q-r|/rms ${worst.toExponential(2)}`,
      );
    });
  }
});
