import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { defaultBatch } from '../src/data/cifar.js';
import { dataDir } from '../src/data/paths.js';
import { listImageFiles, loadImageFolder } from '../src/data/images.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { runScoreOnnx } from '../src/cli/score-onnx.js';
import { resizeBatch } from '../src/data/resize.js';
import { withInputDims } from './helpers.js';

const FIX = join(__dirname, 'fixtures', 'onnx');
const tmp = () => mkdtempSync(join(tmpdir(), 'swapnas-img-'));

/** Write CIFAR-10 test images 0..n-1 as PNG files (HWC RGB) named so that name order = image order. */
async function cifarPngs(dir: string, n: number): Promise<void> {
  const raw = readFileSync(join(dataDir(), 'cifar10_test_first20.bin'));
  for (let i = 0; i < n; i++) {
    const rec = raw.subarray(i * 3073 + 1, (i + 1) * 3073);
    const hwc = Buffer.alloc(32 * 32 * 3);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) hwc[p * 3 + c] = rec[c * 1024 + p]!;
    await sharp(hwc, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(join(dir, `img_${String(i).padStart(3, '0')}.png`));
  }
}

describe('image folders', () => {
  it('PNGs of the CIFAR-10 test images decode bit-exactly to the default batch', async () => {
    const dir = tmp();
    await cifarPngs(dir, 16);
    writeFileSync(join(dir, 'README.txt'), 'not an image, ignored');
    const b = await loadImageFolder(dir, { count: 16, height: 32, width: 32 });
    const want = defaultBatch(16);
    expect([b.n, b.c, b.h, b.w]).toEqual([16, 3, 32, 32]);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(want.data.buffer))).toBe(true);
    // and a model scored on the folder gets the PyTorch number
    const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<
      string,
      { expected: Record<string, { swap: number }> }
    >;
    const r = await scoreOnnxModel(join(FIX, 'nb201_a_opset17.onnx'), { images: dir });
    expect(r.perRepeat).toEqual([expected['nb201_a_opset17']!.expected['16']!.swap]);
    expect(r.settings.inputs).toBe(`${dir}[0:16]`);
  });

  it('resizes the shorter side and centre-crops; JPEG, alpha and greyscale inputs; file-name order', async () => {
    const dir = tmp();
    // 64x40 image: left half black, right half white; after cover-resize to 20 high and a 20x20 centre crop, the
    // left columns are dark and the right columns bright
    const w = 64;
    const h = 40;
    const px = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        px.fill(x < w / 2 ? 0 : 255, (y * w + x) * 4, (y * w + x) * 4 + 3).writeUInt8(128, (y * w + x) * 4 + 3);
    await sharp(px, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toFile(join(dir, 'b.png'));
    await sharp(px, { raw: { width: w, height: h, channels: 4 } })
      .removeAlpha()
      .jpeg({ quality: 95 })
      .toFile(join(dir, 'a.JPG'));
    await sharp(Buffer.alloc(10 * 10, 200), { raw: { width: 10, height: 10, channels: 1 } })
      .png()
      .toFile(join(dir, 'c.png'));
    expect(listImageFiles(dir).map((f) => f.slice(dir.length + 1))).toEqual(['a.JPG', 'b.png', 'c.png']);
    const b = await loadImageFolder(dir, { count: 3, height: 20, width: 20, mean: [0, 0, 0], std: [1, 1, 1] });
    expect([b.n, b.c, b.h, b.w]).toEqual([3, 3, 20, 20]);
    for (const s of [0, 1]) {
      const v = (c: number, y: number, x: number) => b.data[((s * 3 + c) * 20 + y) * 20 + x]!;
      expect(v(0, 10, 1)).toBeLessThan(0.1);
      expect(v(2, 10, 18)).toBeGreaterThan(0.9);
    }
    expect(b.data[2 * 1200 + 5]!).toBeCloseTo(200 / 255, 5); // greyscale PNG → equal RGB channels
    const g = await loadImageFolder(dir, { count: 1, height: 8, width: 8, channels: 1, mean: [0.5], std: [0.25] });
    expect([g.c, g.h, g.w]).toEqual([1, 8, 8]);
  });

  it('score --proxies reads a folder as SWAP does: the same batch, and --mean/--std applied', async () => {
    const dir = tmp();
    await cifarPngs(dir, 8);
    const { onnxProxiesDoc } = await import('../src/cli/proxies.js');
    const model = join(FIX, 'nb201_a_opset17.onnx');
    const run = async (f: Record<string, string>) =>
      (await onnxProxiesDoc(model, { proxies: 'nwot', proxyBatch: '8', backend: 'reference', ...f })).results[0]!;
    const embedded = await run({});
    expect(await run({ images: dir })).toEqual(embedded); // the PNGs decode to the embedded batch
    const raw = await run({ images: dir, mean: '0,0,0', std: '1,1,1' });
    expect(raw['proxies']).not.toEqual(embedded['proxies']);
  });

  it('coded errors: missing or empty folder, too few images, undecodable file, bad mean/std', async () => {
    const dir = tmp();
    await expect(loadImageFolder(join(dir, 'nope'), { count: 1, height: 8, width: 8 })).rejects.toMatchObject({
      code: 'E_INPUT_FILE',
    });
    await expect(loadImageFolder(dir, { count: 1, height: 8, width: 8 })).rejects.toMatchObject({
      code: 'E_INPUT_EMPTY',
    });
    await cifarPngs(dir, 2);
    await expect(loadImageFolder(dir, { count: 3, height: 8, width: 8 })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
    });
    await expect(loadImageFolder(dir, { count: 2, height: 8, width: 8, mean: [0.5] })).rejects.toMatchObject({
      code: 'E_OPTION',
    });
    await expect(loadImageFolder(dir, { count: 2, height: 8, width: 8, std: [1, 0, 1] })).rejects.toMatchObject({
      code: 'E_OPTION',
    });
    writeFileSync(join(dir, 'img_000.png'), 'garbage');
    await expect(loadImageFolder(dir, { count: 2, height: 8, width: 8 })).rejects.toMatchObject({
      code: 'E_INPUT_FILE',
      message: expect.stringMatching(/img_000\.png/),
    });
    // through the CLI: --images folder with --mean/--std parsing
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    await expect(runScoreOnnx(join(FIX, 'headnet.onnx'), { images: sub, progress: false })).rejects.toMatchObject({
      code: 'E_INPUT_EMPTY',
    });
    await expect(
      runScoreOnnx(join(FIX, 'headnet.onnx'), { images: dir, batch: '2', mean: '0.5,0.5', progress: false }),
    ).rejects.toMatchObject({ code: 'E_OPTION' });
  });
});

describe('the default CIFAR-10 batch on a model of another size', () => {
  it('is resized to the model input (bilinear, as score --proxies feeds it), said where the aspect changes', async () => {
    const file = join(FIX, 'nb201_b_opset13.onnx');
    const dyn = withInputDims(readFileSync(file), ['N', 3, 'H', 'W']);
    for (const [h, w] of [
      [16, 16],
      [12, 20],
    ] as const) {
      const r = await scoreOnnxModel(dyn, { batch: 8, inputShape: [3, h, w] });
      expect(r.settings.inputs).toMatch(new RegExp(`resized to ${h}x${w}$`));
      const given = await scoreOnnxModel(dyn, { inputs: resizeBatch(defaultBatch(8), h, w) });
      expect(r.perRepeat).toEqual(given.perRepeat);
      if (h === w) expect(r.warnings).toEqual([]);
      else expect(r.warnings.join(' ')).toMatch(/32x32 CIFAR images are stretched to the network's 12x20 input/);
    }
    // a model on grey images: the RGB batch does not fit, and the error says what does
    const grey = withInputDims(readFileSync(file), ['N', 1, 'H', 'W']);
    await expect(scoreOnnxModel(grey, { batch: 8, inputShape: [1, 16, 16] })).rejects.toMatchObject({
      code: 'E_INPUT_SHAPE',
      message: expect.stringMatching(/default CIFAR-10 batch has 3 channels/),
    });
  });
});
