import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lossGradients } from '../src/backends/reference/backward.js';
import { paramTensor } from '../src/grad/params.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { onnxParams, toOnnxLayout } from '../src/onnx/params.js';
import type { Shape3 } from '../src/ir/types.js';

/** Fixtures of scripts/make_grad_fixtures.py: torch autograd of the mean cross-entropy in train mode. */
const DIR = join(__dirname, 'fixtures', 'grad');
const NAMES = ['nb201_a', 'nb201_b', 'opsnet'];

interface Fixture {
  file: string;
  batch: number;
  input_shape: [number, number, number];
  classes: number;
  labels: number[];
  input: string;
  loss32: number;
  loss64: number;
  logits64: string;
  input_grad32: string;
  input_grad64: string;
  grads32: Record<string, string>;
  grads64: Record<string, string>;
}

function decode(b64: string, bytes: 4 | 8): Float64Array {
  const buf = Buffer.from(b64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return Float64Array.from(bytes === 4 ? new Float32Array(ab) : new Float64Array(ab));
}

/** max |a − b| / max |b|: the error relative to the tensor's scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

function load(name: string) {
  const f = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Fixture;
  const m = loadOnnxModel(join(DIR, f.file));
  const imp = importOnnxModel(m, { inputShape: f.input_shape as Shape3 });
  if (!imp.ok) throw new Error(imp.reason);
  const { params, names } = onnxParams(m, imp.network, imp.weightIds);
  const r = lossGradients(imp.network, params, decode(f.input, 4), f.labels, { input: true });
  return { f, r, params, names, net: imp.network };
}

describe('reference gradients equal PyTorch autograd on exported networks with their own weights', () => {
  for (const name of NAMES) {
    it(`${name}: loss, logits, every parameter gradient and the input gradient`, () => {
      const { f, r, params, names, net } = load(name);
      expect(Math.abs(r.loss - f.loss64)).toBeLessThan(1e-12 * Math.abs(f.loss64));
      expect(Math.abs(r.loss - f.loss32)).toBeLessThan(1e-5 * Math.abs(f.loss32));
      expect(relErr(r.logits, decode(f.logits64, 8))).toBeLessThan(1e-11);
      const torchNames = Object.keys(f.grads64);
      expect(torchNames.length).toBeGreaterThan(3);
      const top = Math.max(...torchNames.map((tn) => Math.max(...decode(f.grads64[tn]!, 8).map(Math.abs))));
      let zero = 0;
      for (const tn of torchNames) {
        const ref = names.get(tn);
        expect(ref, `torch parameter ${tn} has an IR tensor`).toBeDefined();
        const mine = toOnnxLayout(net, ref!, paramTensor(r.grads.params!, ref!));
        expect(paramTensor(params, ref!).length).toBe(mine.length);
        const g64 = decode(f.grads64[tn]!, 8);
        if (Math.max(...g64.map(Math.abs)) < 1e-5 * top) {
          // 0 in exact arithmetic up to BN's ε (a bias or β feeding a train-mode BN; a γ whose output is
          // normalised again): float32 autograd returns round-off, so only the float64 values are compared.
          expect(relErr(mine, g64) * Math.max(...g64.map(Math.abs)), tn).toBeLessThan(1e-12 * top);
          zero++;
          continue;
        }
        expect(relErr(mine, g64), `${tn} vs float64 autograd`).toBeLessThan(1e-9);
        const g32 = decode(f.grads32[tn]!, 4);
        expect(relErr(mine, g32), `${tn} vs float32 autograd`).toBeLessThan(1e-4);
      }
      expect(zero).toBeLessThan(torchNames.length / 4);
      expect(relErr(r.grads.input!, decode(f.input_grad64, 8))).toBeLessThan(1e-9);
      expect(relErr(r.grads.input!, decode(f.input_grad32, 4))).toBeLessThan(1e-4);
    });
  }
});
