import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spaceEntry, spaceNames } from '../src/catalog/registry.js';
import type { Network } from '../src/ir/types.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { NativeBackend } from '../src/backends/native/index.js';
import { OrtBackend } from '../src/backends/ort/index.js';
import { WebGpuBackend, probeWebgpu } from '../src/backends/webgpu/index.js';
import { cudaProvider } from '../src/backends/cuda/index.js';
import type { Backend } from '../src/backends/types.js';
import { countPatterns } from '../src/backends/measure.js';
import { loadAddon } from '../src/native/loader.js';
import { Rng } from '../src/util/rng.js';
import { webgpuRequired } from './helpers.js';

/**
 * Every registered space, scored by every available backend on small networks built with the space's own builder
 * (all of its ops: separable/dilated convs and FactorizedReduce in DARTS, channel truncation in NB101, strided
 * skips in TNB101): counts must equal the plain TypeScript reference exactly.
 */
const SMALL: Record<string, { opts: Record<string, unknown>; size: number }[]> = {
  nb201: [{ opts: { channels: 4, cells: 1, prune: true }, size: 8 }],
  darts: [
    { opts: { kind: 'proxy', channels: 3, cells: 1 }, size: 8 },
    { opts: { kind: 'cifar', channels: 4, cells: 3 }, size: 8 },
    { opts: { kind: 'imagenet', channels: 4, cells: 3 }, size: 32 },
  ],
  nb101: [{ opts: { channels: 4, cells: 1, stacks: 2 }, size: 8 }],
  'tnb101-micro': [{ opts: { channels: 4, cells: 1, classes: 5 }, size: 32 }],
};

function cases(): { label: string; net: Network; size: number }[] {
  const out: { label: string; net: Network; size: number }[] = [];
  for (const name of spaceNames()) {
    const entry = spaceEntry(name);
    const rng = new Rng(11);
    const small = SMALL[name];
    if (!small) throw new Error(`no small network settings for space ${name}: add them to this test`);
    for (const { opts, size } of small) {
      for (let k = 0; k < 3; k++) {
        const g = entry.space.sample(rng);
        out.push({
          label: `${name} ${JSON.stringify(opts)} ${entry.space.format(g)}`,
          net: entry.space.build(g, { ...opts, inputSize: size }),
          size,
        });
      }
    }
  }
  return out;
}

const CASES = cases();
const SEEDS = [5, 6];
const S = 8;

async function expectParity(backend: Backend): Promise<void> {
  const bad: string[] = [];
  for (const c of CASES) {
    const batch = gaussianBatch(S, 3, c.size, c.size, c.size);
    const [got] = await countPatterns(backend, { networks: [c.net], inputs: batch, seeds: SEEDS });
    const want = SEEDS.map((s) => referenceCount(c.net, batch, s));
    if (JSON.stringify(got) !== JSON.stringify(want))
      bad.push(`${c.label}: ${backend.name} ${JSON.stringify(got)}, reference ${JSON.stringify(want)}`);
  }
  expect(bad).toEqual([]);
}

describe('every space on every CPU backend', () => {
  it('covers every registered space', () => {
    expect(new Set(CASES.map((c) => c.label.split(' ')[0]))).toEqual(new Set(spaceNames()));
  });
  it('native equals the reference', async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(load.reason);
    await expectParity(new NativeBackend(load.addon));
  });
  it('ONNX Runtime (exported graphs) equals the reference', async () => {
    await expectParity(new OrtBackend());
  });
});

const gpu = await probeWebgpu();
const requireGpu = webgpuRequired();
if (!gpu.available) console.warn(`[spaces] webgpu parity skipped: ${gpu.reason}`);
describe.runIf(requireGpu)('webgpu availability (required in CI)', () => {
  it('has an adapter', () => expect(gpu.available, gpu.available ? '' : gpu.reason).toBe(true));
});
describe.skipIf(!gpu.available)('every space on webgpu', () => {
  let be: WebGpuBackend;
  beforeAll(async () => {
    be = await WebGpuBackend.create();
  });
  afterAll(async () => {
    await be?.close();
  });
  it('webgpu equals the reference', async () => {
    await expectParity(be);
  });
});

const cuda = await cudaProvider.probe();
if (!cuda.available) console.warn(`[spaces] cuda parity skipped: ${cuda.reason}`);
describe.skipIf(!cuda.available)('every space on cuda', () => {
  it('cuda equals the reference', async () => {
    const be = await cudaProvider.create();
    try {
      await expectParity(be);
    } finally {
      await be.close?.();
    }
  });
});
