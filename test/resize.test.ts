import { describe, expect, it } from 'vitest';
import { makeBatch } from '../src/data/batch.js';
import { resizeBatch } from '../src/data/resize.js';
import { settingInputs } from '../src/study/measure.js';

// torch.nn.functional.interpolate(x, size, mode='bilinear', align_corners=False) on
// x = arange(24).reshape(1, 2, 3, 4) * 0.5 - 3 (python3-torch 1.13), rounded to 5 decimals.
const UP_7x5 = [
  -3.0, -2.65, -2.25, -1.85, -1.5, -2.71429, -2.36429, -1.96429, -1.56429, -1.21429, -1.85714, -1.50714, -1.10714,
  -0.70714, -0.35714, -1.0, -0.65, -0.25, 0.15, 0.5, -0.14286, 0.20714, 0.60714, 1.00714, 1.35714, 0.71429, 1.06429,
  1.46429, 1.86429, 2.21429, 1.0, 1.35, 1.75, 2.15, 2.5, 3.0, 3.35, 3.75, 4.15, 4.5, 3.28571, 3.63571, 4.03571, 4.43571,
  4.78571, 4.14286, 4.49286, 4.89286, 5.29286, 5.64286, 5.0, 5.35, 5.75, 6.15, 6.5, 5.85714, 6.20714, 6.60714, 7.00714,
  7.35714, 6.71429, 7.06429, 7.46429, 7.86429, 8.21429, 7.0, 7.35, 7.75, 8.15, 8.5,
];
const DOWN_2x2 = [-2.25, -1.25, 0.75, 1.75, 3.75, 4.75, 6.75, 7.75];

describe('resizeBatch', () => {
  const x = makeBatch(
    Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3),
    1,
    2,
    3,
    4,
    'ramp',
  );
  it('matches PyTorch bilinear (align_corners=False) up and down', () => {
    const up = resizeBatch(x, 7, 5);
    expect([up.h, up.w]).toEqual([7, 5]);
    Array.from(up.data).forEach((v, i) => expect(v).toBeCloseTo(UP_7x5[i]!, 4));
    Array.from(resizeBatch(x, 2).data).forEach((v, i) => expect(v).toBeCloseTo(DOWN_2x2[i]!, 4));
    expect(resizeBatch(x, 3, 4)).toBe(x);
    expect(() => resizeBatch(x, 0)).toThrow(/positive integers/);
  });
  it('lets a study score CIFAR images at another size', () => {
    const b = settingInputs({ channels: 8, cells: 1, batch: 4, repeats: 1, images: 'cifar10', seed: 0, inputSize: 64 });
    expect([b.n, b.c, b.h, b.w]).toEqual([4, 3, 64, 64]);
    expect(b.source).toMatch(/resized to 64x64/);
  });
});
