import type { ActFn } from '../src/ir/types.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBatch, type InputBatch } from '../src/data/batch.js';
import { dataDir } from '../src/data/paths.js';
import { type decodeModel, encodeModel } from '../src/onnx/proto.js';
import { Rng } from '../src/util/rng.js';

/** Rows of the shipped NB201 table (data/nb201.csv) as objects of strings. */
export function nb201Rows(): Record<string, string>[] {
  const lines = readFileSync(join(dataDir(), 'nb201.csv'), 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  return lines.slice(1).map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(head.map((h, i) => [h, cells[i]!]));
  });
}

/**
 * Whether a missing WebGPU adapter must fail the suite instead of skipping: CI installs Mesa's software driver,
 * so there (CI set, or SWAPNAS_REQUIRE_WEBGPU=1) the WebGPU parity tests have to run.
 */
export function webgpuRequired(): boolean {
  return process.env['SWAPNAS_REQUIRE_WEBGPU'] === '1' || (process.env['CI'] ?? '') !== '';
}

/** An NCHW batch of n images (c channels, size x size) of standard normal values from `seed`. */
export function randomBatch(n: number, c: number, size: number, seed: number): InputBatch {
  const rng = new Rng(seed);
  const data = new Float32Array(n * c * size * size);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return makeBatch(data, n, c, size, size, `normal(${seed})`);
}

/** Write a decoded ONNX model (a fixture rewritten by a test) to a temporary file; its path. */
export function writeOnnxModel(m: ReturnType<typeof decodeModel>, name = 'm.onnx'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'swapnas-model-')), name);
  writeFileSync(file, encodeModel(m));
  return file;
}

/** Every smooth activation of the `act` op, with ELU's α where a test gives one (GELU and Mish export as chains). */
export const EVERY_ACT: readonly (readonly [ActFn, number?])[] = [
  ['gelu'],
  ['tanh'],
  ['elu', 0.5],
  ['selu'],
  ['softplus'],
  ['mish'],
  ['gelu_tanh'],
];
