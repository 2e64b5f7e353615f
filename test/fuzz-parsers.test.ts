import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_EDITS, editBytes, editText, PNG_2X2, TEXT_EDITS, TOKENS, VALID_ARCHS } from '../bench/fuzz-inputs.mjs';
import { int, num } from '../src/cli/parse.js';
import { CIFAR10_MEAN, CIFAR10_STD, decodeCifarBinary } from '../src/data/cifar.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { loadImageFolder } from '../src/data/images.js';
import { decodeNpyBatch, encodeNpy } from '../src/data/npy.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { parseDarts } from '../src/spaces/darts/genotype.js';
import { parseNb101 } from '../src/spaces/nb101/genotype.js';
import { parseNb201 } from '../src/spaces/nb201/genotype.js';
import { parseTnb101 } from '../src/spaces/tnb101/genotype.js';
import { isSwapError } from '../src/util/errors.js';
import { parseBytes } from '../src/util/limits.js';

/**
 * Property: every parser either returns or throws a coded SwapError with a short message — never another
 * exception, never a message that echoes a long input. Runs are bounded (a few seconds in all); bench/fuzz.mjs
 * runs ≥ 100,000 inputs per parser.
 */
const MESSAGE_BOUND = 1000;
const RUNS = 300;

function coded(call: () => unknown): true {
  try {
    call();
  } catch (e) {
    if (!isSwapError(e))
      throw new Error(`uncoded ${(e as Error)?.name}: ${String((e as Error)?.message).slice(0, 300)}`);
    if (e.message.length > MESSAGE_BOUND) throw new Error(`message of ${e.message.length} characters: ${e.code}`);
  }
  return true;
}

async function codedAsync(call: () => Promise<unknown>): Promise<true> {
  try {
    await call();
  } catch (e) {
    if (!isSwapError(e))
      throw new Error(`uncoded ${(e as Error)?.name}: ${String((e as Error)?.message).slice(0, 300)}`);
    if (e.message.length > MESSAGE_BOUND) throw new Error(`message of ${e.message.length} characters: ${e.code}`);
  }
  return true;
}

/** A valid text with random edits (insertions, deletions, replacements, repeats of a slice). */
function mutated(valid: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom(...TEXT_EDITS),
    text: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...TOKENS)),
    n: fc.integer({ min: 1, max: 2000 }),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => edits.reduce(editText, valid));
}

const texts = (valid: string) =>
  fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 80 }), mutated(valid));

/** Bytes with random edits (set, cut or duplicated ranges, truncation). */
function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({
    at: fc.nat(),
    v: fc.integer({ min: 0, max: 255 }),
    kind: fc.constantFrom(...BYTE_EDITS),
  });
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => edits.reduce(editBytes, valid));
}

describe('fuzzing: every parser answers with a value or a coded error (fast-check)', () => {
  it('arch strings of every space', () => {
    for (const [parse, valid] of [
      [parseNb201, VALID_ARCHS.nb201],
      [parseNb101, VALID_ARCHS.nb101[0]!],
      [parseNb101, VALID_ARCHS.nb101[1]!],
      [parseDarts, VALID_ARCHS.darts],
      [parseTnb101, VALID_ARCHS.tnb101],
    ] as const) {
      expect(() => parse(valid)).not.toThrow();
      fc.assert(
        fc.property(texts(valid), (s) => coded(() => parse(s))),
        { numRuns: RUNS, seed: 16 },
      );
    }
  });

  it('CLI numbers and sizes', () => {
    const arb = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer().map(String),
      fc.double().map(String),
      mutated('4096'),
    );
    fc.assert(
      fc.property(
        arb,
        (s) => coded(() => int('--batch', s, 1)) && coded(() => num('--mu', s)) && coded(() => parseBytes(s)),
      ),
      { numRuns: RUNS, seed: 16 },
    );
  });

  it('.npy files', () => {
    const valid = encodeNpy(gaussianBatch(2, 3, 4, 4, 1));
    expect(decodeNpyBatch(valid, 'v.npy').n).toBe(2);
    const arb = fc.oneof(fc.uint8Array({ maxLength: 400 }), mutatedBytes(valid));
    fc.assert(
      fc.property(arb, (b) => coded(() => decodeNpyBatch(b, 'f.npy'))),
      { numRuns: RUNS, seed: 16 },
    );
  });

  it('CIFAR binaries (both record layouts)', () => {
    const norm = { mean: CIFAR10_MEAN, std: CIFAR10_STD };
    const arb = fc.record({
      size: fc.oneof(fc.nat(20_000), fc.constantFrom(3073, 3074, 6146, 6148, 3073 * 3)),
      count: fc.integer({ min: -2, max: 5 }),
      layout: fc.constantFrom(undefined, 'cifar10' as const, 'cifar100' as const),
    });
    fc.assert(
      fc.property(arb, ({ size, count, layout }) =>
        coded(() => decodeCifarBinary(new Uint8Array(size), count, norm, 'f.bin', layout)),
      ),
      { numRuns: RUNS, seed: 16 },
    );
  });

  it('ONNX models: load and import', () => {
    const valid = readFileSync(join(__dirname, 'fixtures', 'onnx', 'nb201_a_opset17.onnx'));
    const arb = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutatedBytes(valid));
    fc.assert(
      fc.property(arb, (b) =>
        coded(() => {
          const m = loadOnnxModel(b);
          importOnnxModel(m, { inputShape: [3, 32, 32] });
        }),
      ),
      { numRuns: 60, seed: 16 },
    );
  });

  it('image folders (decoded by sharp)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-fuzz-img-'));
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutatedBytes(PNG_2X2)), async (b) => {
          writeFileSync(join(dir, 'a.png'), b);
          return codedAsync(() => loadImageFolder(dir, { count: 1, height: 4, width: 4 }));
        }),
        { numRuns: 40, seed: 16 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
