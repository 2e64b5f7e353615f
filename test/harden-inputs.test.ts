import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { makeBatch } from '../src/data/batch.js';
import { CIFAR100_MEAN, CIFAR100_STD, cifarLabelBytes, decodeCifarBinary } from '../src/data/cifar.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { decodeModel, encodeModel, valueInfo } from '../src/onnx/proto.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { batchWarnings, scoreWarnings } from '../src/score/degenerate.js';
import { checkRegulariser } from '../src/proxies/regularise.js';
import { scoreNetworks } from '../src/score/swap.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import { parseNb201 } from '../src/spaces/nb201/genotype.js';
import { isSwapError } from '../src/util/errors.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], { encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'swapnas-inputs-'));
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const FIXTURE = join(__dirname, 'fixtures', 'onnx', 'nb201_a_opset17.onnx');

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    return isSwapError(e) ? e.code : `uncoded: ${String(e)}`;
  }
  return 'no error';
}

/** The fixture with its input's per-sample dims replaced. */
function withInput(c: number, h: number, w: number): string {
  const m = decodeModel(readFileSync(FIXTURE));
  const inp = m.graph!.input!.find((v) => !(m.graph!.initializer ?? []).some((t) => t.name === v.name))!;
  Object.assign(inp, valueInfo(inp.name!, [16, c, h, w]));
  const file = join(dir, `in-${c}x${h}x${w}.onnx`);
  writeFileSync(file, encodeModel(m));
  return file;
}

// The CLI tests below run the built dist/ (as `npm test` leaves it); build it here too when the file runs alone.
beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
}, 600_000);

describe('memory guard and huge inputs (issue 16, items 6 and 9)', () => {
  it('a Gaussian batch beyond the limit is E_MEMORY before allocating', async () => {
    expect(await codeOf(() => gaussianBatch(16, 1e9, 1, 1, 0))).toBe('E_MEMORY');
    expect(await codeOf(() => gaussianBatch(16, 3, 32, 32, 0, 1000))).toBe('E_MEMORY');
    expect(gaussianBatch(2, 3, 4, 4, 0).data.length).toBe(96);
  });

  it('an ONNX model whose input has 1e9 channels or 100000×100000 pixels is E_MEMORY, not a RangeError', async () => {
    for (const [c, h, w] of [
      [1e9, 32, 32],
      [3, 100000, 100000],
    ] as const) {
      expect(await codeOf(() => scoreOnnxModel(withInput(c, h, w)))).toBe('E_MEMORY');
    }
  });

  it('CLI: --gaussian with huge ONNX dims and --batch 20000 under --max-memory are coded, naming the estimate', () => {
    const onnx = run(['score', withInput(1e9, 32, 32), '--gaussian']);
    expect(onnx.stderr).toMatch(/^swapnas: error E_MEMORY: .*needs an estimated .* (GiB|TiB|PiB)/);
    expect(onnx.status).toBe(2);
    const big = run(['score', ARCH, '--batch', '20000', '--gaussian', '--max-memory', '1G', '--no-progress']);
    expect(big.stderr).toMatch(
      /^swapnas: error E_MEMORY: scoring with a batch of 20000 .*needs an estimated [\d.]+ GiB .*limit of 1\.0 GiB/,
    );
    expect(big.status).toBe(2);
    expect(run(['score', ARCH, '--max-memory', 'lots']).stderr).toMatch(/E_OPTION: --max-memory must be a size/);
  });
});

describe('CIFAR-100 binary layout (issue 16, item 7)', () => {
  /** Records of CIFAR-100's own layout: coarse label, fine label, 3072 pixels. */
  function cifar100File(n: number): Uint8Array {
    const b = new Uint8Array(n * 3074);
    for (let i = 0; i < n; i++) {
      b[i * 3074] = 7; // coarse
      b[i * 3074 + 1] = 42; // fine
      for (let p = 0; p < 3072; p++) b[i * 3074 + 2 + p] = (i * 31 + p) % 256;
    }
    return b;
  }

  it('reads 3,074-byte records (coarse + fine label) as well as 3,073-byte ones', () => {
    expect(cifarLabelBytes(3073 * 5)).toBe(1);
    expect(cifarLabelBytes(3074 * 5)).toBe(2);
    expect(cifarLabelBytes(3073 * 3074, 2)).toBe(2);
    expect(cifarLabelBytes(3073 * 3074, 1)).toBe(1);
    expect(cifarLabelBytes(100)).toBeUndefined();
    const norm = { mean: CIFAR100_MEAN, std: CIFAR100_STD };
    const b = decodeCifarBinary(cifar100File(4), 4, norm, 'c100.bin');
    // pixel p of image i, channel 0: (byte / 255 − mean) / std, labels skipped
    expect(b.data[0]).toBeCloseTo((0 / 255 - CIFAR100_MEAN[0]) / CIFAR100_STD[0], 5);
    expect(b.data[3072 + 5]).toBeCloseTo((((31 + 5) % 256) / 255 - CIFAR100_MEAN[0]) / CIFAR100_STD[0], 5);
  });

  it('CLI: score --images <cifar-100 test.bin layout> --norm cifar100', () => {
    const f = join(dir, 'test.bin');
    writeFileSync(f, cifar100File(20));
    const r = run([
      'score',
      ARCH,
      '--images',
      f,
      '--norm',
      'cifar100',
      '--repeats',
      '1',
      '--channels',
      '4',
      '--no-progress',
    ]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { settings: { inputs: string }; results: { swap: number }[] };
    expect(out.settings.inputs).toContain('test.bin[0:');
    expect(out.results[0]!.swap).toBeGreaterThan(1);
  });
});

describe('degenerate inputs (issue 16, item 10)', () => {
  const net = (a: string) => buildNb201Network(parseNb201(a), { channels: 4, cells: 1, inputSize: 8 });
  const nets = [ARCH, '|skip_connect~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|'].map(net);

  it('a constant batch (all 0, all 3e38) and a batch of identical samples warn: Ψ = 1 for every network', async () => {
    for (const v of [0, 3e38]) {
      const b = makeBatch(new Float32Array(16 * 3 * 8 * 8).fill(v), 16, 3, 8, 8, `const(${v})`);
      expect(batchWarnings(b)[0]).toMatch(/all samples are the same, so Ψ = 1/);
      const r = await scoreNetworks(nets, { inputs: b, repeats: 2, backend: 'reference' });
      expect(r.scores.every((s) => s.swap === 1)).toBe(true);
      expect(r.warnings.join('\n')).toMatch(/Ψ = 1 for every network and repeat/);
    }
    const one = gaussianBatch(1, 3, 8, 8, 5).data;
    const same = new Float32Array(16 * one.length);
    for (let i = 0; i < 16; i++) same.set(one, i * one.length);
    expect(batchWarnings(makeBatch(same, 16, 3, 8, 8, 'dup'))[0]).toMatch(/all 16 samples .* are identical/);
    expect(batchWarnings(gaussianBatch(16, 3, 8, 8, 0))).toEqual([]);
    const ok = await scoreNetworks(nets, { inputs: gaussianBatch(16, 3, 8, 8, 0), repeats: 2, backend: 'reference' });
    expect(ok.warnings).toEqual([]);
  });

  it('μ ≤ 0 and σ ≤ 0 are refused; a regulariser that zeroes every reg-SWAP warns', () => {
    for (const [mu, sigma] of [
      [-100, 5],
      [0, 5],
      [10, 0],
      [10, -1],
    ] as const) {
      expect(() => checkRegulariser(mu, sigma)).toThrow(/must be a positive number/);
    }
    const s = (regSwap: number) => ({ swap: 100, regSwap, perRepeat: [100] });
    expect(scoreWarnings([s(0), s(0)])[0]).toMatch(/reg-SWAP is 0 for every network/);
    expect(scoreWarnings([s(0), s(3)])).toEqual([]);
  });

  it('CLI: --mu -100 is E_OPTION; a constant .npy batch prints the warning on stderr and records it', () => {
    const r = run(['score', ARCH, '--mu', '-100', '--sigma', '5', '--no-progress']);
    expect(r.stderr).toMatch(/^swapnas: error E_OPTION: mu must be a positive number/);
    const zeros = join(dir, 'zeros.npy');
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 3, 32, 32), }";
    const pad = 64 - ((10 + header.length + 1) % 64);
    const h = `${header}${' '.repeat(pad % 64)}\n`;
    const buf = Buffer.alloc(10 + h.length + 8 * 3 * 32 * 32 * 4);
    buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    buf.writeUInt16LE(h.length, 8);
    buf.write(h, 10, 'latin1');
    writeFileSync(zeros, buf);
    const z = run([
      'score',
      ARCH,
      '--npy',
      zeros,
      '--batch',
      '8',
      '--repeats',
      '2',
      '--channels',
      '4',
      '--no-progress',
    ]);
    expect(z.status).toBe(0);
    expect(z.stderr).toMatch(/swapnas: warning: every value of the input batch .* is 0/);
    const out = JSON.parse(z.stdout) as { warnings: string[]; results: { swap: number }[] };
    expect(out.results[0]!.swap).toBe(1);
    expect(out.warnings.length).toBe(2);
  });
});
