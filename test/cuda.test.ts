import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVERY_ACT, rectBatch, rectNetwork } from './helpers.js';
import { loadAddon, packageRoot } from '../src/native/loader.js';
import { NativeBackend, nativeProvider } from '../src/backends/native/index.js';
import { type CudaBackend, cudaProvider, probeCuda, type CudaAddon } from '../src/backends/cuda/index.js';
import { BackendRegistry } from '../src/backends/registry.js';
import { repeatSeed } from '../src/init/prng.js';
import { makeBatch, type InputBatch } from '../src/data/batch.js';
import { defaultBatch } from '../src/data/cifar.js';
import { Rng } from '../src/util/rng.js';
import { formatNb201, parseNb201, sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import type { Network } from '../src/ir/types.js';
import { GraphBuilder } from '../src/ir/builder.js';

const load = loadAddon();
if (!load.ok) throw new Error(`cuda tests need the addon: ${load.reason}`);
const addon = load.addon as typeof load.addon & CudaAddon;

/**
 * Skipped (with the reason printed) where the provider is unavailable: no GPU, no driver, or an addon built without
 * CUDA. SWAPNAS_REQUIRE_CUDA=1 (bench/gpu-check.sh sets it) turns a skip into a failure.
 */
const probe = await cudaProvider.probe();
const required = process.env['SWAPNAS_REQUIRE_CUDA'] === '1';
if (!probe.available) console.warn(`[cuda] parity tests skipped: ${probe.reason}`);
else console.info(`[cuda] device: ${JSON.stringify(addon.cudaProbe?.())}`);

function nvccFound(): boolean {
  return spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The CUDA mode the cmake-js build was configured with (build/CMakeCache.txt), if the loaded addon is that build. */
function cachedCudaMode(): string | undefined {
  const cache = join(packageRoot(), 'build', 'CMakeCache.txt');
  if (!load.ok || !load.path.startsWith(join(packageRoot(), 'build')) || !existsSync(cache)) return undefined;
  return /^SWAPNAS_CUDA:[A-Z]+=(.*)$/m.exec(readFileSync(cache, 'utf8'))?.[1]?.trim().toUpperCase();
}

function randomBatch(n: number, c: number, size: number, seed: number): InputBatch {
  const rng = new Rng(seed);
  const data = new Float32Array(n * c * size * size);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return makeBatch(data, n, c, size, size, `normal(${seed})`);
}

/**
 * Parity rule (test/native-fullsize.test.ts): the CUDA convolutions sum in float32 in another order than the CPU
 * GEMM, so a sign bit may flip only for values within float rounding of zero, and counts may differ by at most
 * 1 per 10,000 patterns (exact for the small networks, which have fewer than 10,000 patterns).
 */
function withinRule(got: number, want: number): boolean {
  return Math.abs(got - want) <= Math.floor(want / 10_000);
}

describe('cuda: build and probe (runs everywhere)', () => {
  it('buildInfo().cuda says whether CUDA was compiled in, consistently with nvcc and SWAPNAS_CUDA', () => {
    const info = addon.buildInfo();
    expect(typeof info.cuda).toBe('boolean');
    expect(typeof addon.cudaProbe).toBe('function');
    const p = addon.cudaProbe!();
    expect(p.compiled).toBe(info.cuda);
    const mode = cachedCudaMode();
    if (mode !== undefined) {
      const want = mode === 'OFF' ? false : mode === 'ON' ? true : nvccFound();
      expect(info.cuda, `SWAPNAS_CUDA=${mode}, nvcc ${nvccFound() ? 'found' : 'not found'}`).toBe(want);
    }
    expect(typeof addon.cudaCountPatterns === 'function').toBe(info.cuda);
    if (info.cuda) expect(p.architectures).toMatch(/\d/);
  });

  it('the provider probe gives a precise, non-empty reason when unavailable', async () => {
    const p = await cudaProvider.probe();
    expect(cudaProvider.name).toBe('cuda');
    expect(cudaProvider.priority).toBe(30);
    if (p.available) return;
    expect(p.reason.length).toBeGreaterThan(0);
    const info = addon.buildInfo();
    expect(p.reason).toMatch(info.cuda ? /^no device: \S/ : /^not compiled in: \S/);
    const r = probeCuda();
    expect(r.ok).toBe(false);
    // --backend cuda says why; auto falls back to native and reports the skip.
    const reg = new BackendRegistry([cudaProvider, nativeProvider]);
    await expect(reg.choose('cuda')).rejects.toMatchObject({
      code: 'E_BACKEND_UNAVAILABLE',
      message: expect.stringContaining(p.reason),
    });
    const auto = await reg.choose('auto');
    expect(auto.backend.name).toBe('native');
    expect(auto.skipped).toEqual([{ name: 'cuda', reason: p.reason }]);
  });

  it('cudaCountPatterns rejects with the reason instead of crashing when no device is usable', async () => {
    if (probe.available || typeof addon.cudaCountPatterns !== 'function') return;
    const net = buildNb201Network(
      parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|'),
      { channels: 4, cells: 1, inputSize: 8 },
    );
    const { serializeNetworks } = await import('../src/ir/serialize.js');
    const batch = randomBatch(4, 3, 8, 1);
    await expect(
      addon.cudaCountPatterns({
        ...serializeNetworks([net]),
        input: batch.data,
        n: 4,
        c: 3,
        h: 8,
        w: 8,
        seeds: Uint32Array.of(1),
        streams: 1,
        cancel: new Int32Array(1),
      }),
    ).rejects.toMatchObject({ code: 'E_BACKEND', message: expect.stringContaining('CUDA unavailable') });
  });

  it.runIf(required)('SWAPNAS_REQUIRE_CUDA=1: the provider is available', () => {
    expect(probe.available ? '' : (probe as { reason: string }).reason).toBe('');
  });
});

describe.skipIf(!probe.available)('cuda: parity with the native backend', () => {
  const seeds = [repeatSeed(7, 0), repeatSeed(7, 1)];
  const rng = new Rng(2025);
  const cells = Array.from({ length: 24 }, () => sampleNb201(rng));
  const small: Network[] = cells.map((g) => buildNb201Network(g, { channels: 4, cells: 1, inputSize: 8 }));
  const native = new NativeBackend(addon);

  async function cuda(): Promise<CudaBackend> {
    return (await cudaProvider.create()) as CudaBackend;
  }

  /** SWAP counts of one network on CUDA within the parity rule of the native ones, for both seeds. */
  async function expectOneNetworkAgrees(net: Network, inputs: InputBatch): Promise<void> {
    const req = { networks: [net], inputs, seeds, threads: 2 };
    const [want, got] = [await native.countPatterns(req), await (await cuda()).countPatterns(req)];
    want[0]!.forEach((w, r) =>
      expect(withinRule(got[0]![r]!, w), `seed ${r}: cuda ${got[0]![r]}, native ${w}`).toBe(true),
    );
  }

  for (const S of [1, 8, 16, 64]) {
    it(`S=${S}: 24 random small NB201 cells x 2 seeds`, async () => {
      const batch = randomBatch(S, 3, 8, 300 + S);
      const req = { networks: small, inputs: batch, seeds, threads: 2 };
      const [want, got] = [await native.countPatterns(req), await (await cuda()).countPatterns({ ...req, threads: 4 })];
      const bad: string[] = [];
      want.forEach((row, i) =>
        row.forEach((w, r) => {
          const g = got[i]![r]!;
          if (!withinRule(g, w)) bad.push(`${formatNb201(cells[i]!)} seed ${r}: cuda ${g}, native ${w}`);
        }),
      );
      expect(bad).toEqual([]);
    });
  }

  it('full-size cells (C=16, N=5, 32x32, CIFAR S=16), two seeds', { timeout: 600_000 }, async () => {
    const archs = [
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|',
      '|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|',
    ];
    const nets = archs.map((a) => buildNb201Network(parseNb201(a)));
    const req = { networks: nets, inputs: defaultBatch(16), seeds: [repeatSeed(0, 0), repeatSeed(0, 1)] };
    const want = await native.countPatterns(req);
    const got = await (await cuda()).countPatterns(req);
    want.forEach((row, i) =>
      row.forEach((w, r) => {
        console.log(`${archs[i]} seed ${r}: native ${w}, cuda ${got[i]![r]}`);
        expect(withinRule(got[i]![r]!, w), `${archs[i]} seed ${r}: cuda ${got[i]![r]}, native ${w}`).toBe(true);
      }),
    );
  });

  it('rectangular convolutions (1x7, 7x1, per-axis strides, padding and dilation, depthwise, grouped)', async () => {
    await expectOneNetworkAgrees(rectNetwork(), rectBatch(16, 78));
  });

  it('gates and smooth activations (SiLU, Hardswish, SE, GELU, Tanh, ELU, SELU, Softplus, Mish, GELU tanh; x * c, x / c, x + c)', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const c = b.bn(b.conv(b.input, 6, 3, { pad: 1 }));
    const silu = b.relu(b.mul(c, b.sigmoid(c, false)));
    const gate = b.sigmoid(b.conv(b.relu(b.conv(b.gap(silu, true), 3, 1, { bias: true })), 6, 1), true);
    let x = b.mul(silu, gate);
    for (const [fn, alpha] of EVERY_ACT) x = b.relu(b.act(b.bn(b.conv(x, 6, 3, { pad: 1 })), fn, alpha));
    // a trained nn.PReLU(6): one slope per channel (the per-channel kernel)
    x = b.relu(b.prelu(b.bn(b.conv(x, 6, 3, { pad: 1 })), [0.25, -0.5, 0, 1.5, -2, 0.75]));
    const net = b.finish(b.linear(b.gap(x), 5));
    await expectOneNetworkAgrees(net, randomBatch(16, 3, 8, 77));
  });

  it('transposed convolutions (stride 2 with output padding, grouped 4x4, dilated, rectangular)', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const e = b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1, stride: 2 }))); // 6x4x4
    const up = b.relu(b.bn(b.conv(e, 6, 3, { stride: 2, pad: 1, transposed: 1 }))); // 6x8x8
    const g = b.relu(b.conv(up, 4, 4, { stride: 2, pad: 1, groups: 2, transposed: 0 })); // 4x16x16
    const d = b.relu(b.conv(g, 4, [1, 3], { stride: [1, 2], pad: [0, 1], dilation: [1, 2], transposed: [0, 1] }));
    const net = b.finish(b.linear(b.gap(d), 5));
    await expectOneNetworkAgrees(net, randomBatch(16, 3, 8, 79));
  });

  it('bilinear resizes (half-pixel and align_corners, up and down, ratios that are no integer)', async () => {
    const b = new GraphBuilder([3, 8, 8]);
    const e = b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1, stride: 2 }))); // 6x4x4
    const up = b.relu(b.add([b.bilinear(e, 8, 8), b.bn(b.conv(b.input, 6, 1))]));
    const odd = b.relu(b.conv(b.bilinear(up, 5, 11, true), 4, 3, { pad: 1 }));
    const net = b.finish(b.linear(b.gap(odd), 5));
    await expectOneNetworkAgrees(net, randomBatch(16, 3, 8, 80));
  });

  it('reports progress, refuses S > 64 with a clear error, and honours cancellation', async () => {
    const b = await cuda();
    const progress: number[] = [];
    await b.countPatterns({
      networks: small.slice(0, 4),
      inputs: randomBatch(8, 3, 8, 9),
      seeds,
      onProgress: (d) => progress.push(d),
    });
    expect(progress.at(-1)).toBe(8);
    await expect(
      b.countPatterns({ networks: small.slice(0, 1), inputs: randomBatch(65, 3, 8, 9), seeds }),
    ).rejects.toThrow(/at most 64/);
    const ac = new AbortController();
    ac.abort();
    await expect(
      b.countPatterns({ networks: small, inputs: randomBatch(8, 3, 8, 9), seeds, signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'E_CANCELLED' });
  });
});
