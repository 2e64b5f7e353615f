#!/usr/bin/env node
/**
 * Fuzz every input parser of swapnas (built dist/): arch strings of every space, CLI numbers and sizes, .npy files,
 * CIFAR binaries, ONNX models (load + import) and image files (sharp). Inputs are random strings/bytes and random
 * edits of valid inputs, from a seeded generator (reproducible). For each parser it reports crashes (anything that
 * is not a coded SwapError), messages longer than 1,000 characters, and the slowest input.
 *
 *   node bench/fuzz.mjs [--n 100000] [--seed 16] [--only nb201,npy]
 *
 * Goal (issue 16): 0 crashes, 0 uncoded errors, no input slower than 100 ms.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BYTE_EDITS, editBytes, editText, PNG_2X2, TEXT_EDITS, TOKENS, VALID_ARCHS } from './fuzz-inputs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { isSwapError } = await dist('util/errors.js');
const { parseBytes } = await dist('util/limits.js');
const { int, num } = await dist('cli/parse.js');
const { parseNb201 } = await dist('spaces/nb201/genotype.js');
const { parseNb101 } = await dist('spaces/nb101/genotype.js');
const { parseDarts } = await dist('spaces/darts/genotype.js');
const { parseTnb101 } = await dist('spaces/tnb101/genotype.js');
const { decodeNpyBatch, encodeNpy } = await dist('data/npy.js');
const { gaussianBatch } = await dist('data/gaussian.js');
const { decodeCifarBinary, CIFAR10_MEAN, CIFAR10_STD } = await dist('data/cifar.js');
const { loadOnnxModel } = await dist('onnx/load.js');
const { importOnnxModel } = await dist('onnx/import.js');
const { loadImageFolder } = await dist('data/images.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg('n', '100000'));
const SEED = Number(arg('seed', '16'));
const ONLY = arg('only', '')?.split(',').filter(Boolean) ?? [];

/** xorshift32: a small seeded generator (the fuzz inputs are reproducible from --seed). */
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (a) => a[Math.floor(next() * a.length)] };
}

function randomString(r, max) {
  const n = r.int(max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = r.next();
    s += k < 0.6 ? String.fromCharCode(32 + r.int(95)) : k < 0.9 ? r.pick(TOKENS) : String.fromCharCode(r.int(0x3000));
  }
  return s;
}

/** 1–4 random text edits of a valid input (the edit operators of fuzz-inputs.mjs). */
function mutateString(r, valid) {
  let s = valid;
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits; e++) {
    const text = r.next() < 0.5 ? r.pick(TOKENS) : randomString(r, 6);
    s = editText(s, { at: r.int(s.length + 1), kind: r.pick(TEXT_EDITS), text, n: 1 + r.int(3000) });
  }
  return s;
}

/** 1–6 random byte edits of a valid input. */
function mutateBytes(r, valid) {
  let b = valid;
  const edits = 1 + r.int(6);
  for (let e = 0; e < edits; e++) b = editBytes(b, { at: r.int(1 << 30), v: r.int(256), kind: r.pick(BYTE_EDITS) });
  return b;
}

function randomBytes(r, max) {
  const b = new Uint8Array(r.int(max));
  for (let i = 0; i < b.length; i++) b[i] = r.int(256);
  return b;
}

const NPY = encodeNpy(gaussianBatch(2, 3, 4, 4, 1));
const ONNX = [
  'headnet.onnx',
  'norelu.onnx',
  'senet.onnx',
  'nb201_a_opset17.onnx',
  'flatsize.onnx',
  'normnet.onnx',
  'instnorm17.onnx',
].map((f) => readFileSync(join(root, 'test', 'fixtures', 'onnx', f)));
const imgDir = mkdtempSync(join(tmpdir(), 'swapnas-fuzz-'));
const norm = { mean: CIFAR10_MEAN, std: CIFAR10_STD };

/** Each target: make(r) → input, run(input) → anything (sync or async). */
const text = (valid) => (r) =>
  r.next() < 0.3 ? randomString(r, 300) : mutateString(r, Array.isArray(valid) ? r.pick(valid) : valid);
const TARGETS = {
  nb201: { make: text(VALID_ARCHS.nb201), run: parseNb201 },
  nb101: { make: text(VALID_ARCHS.nb101), run: parseNb101 },
  darts: { make: text(VALID_ARCHS.darts), run: parseDarts },
  tnb101: { make: text(VALID_ARCHS.tnb101), run: parseTnb101 },
  'cli-numbers': {
    make: (r) =>
      r.next() < 0.5 ? randomString(r, 30) : mutateString(r, r.pick(['4096', '16', '512M', '1.5e3', '-0'])),
    run: (s) => {
      for (const f of [() => int('--batch', s, 1), () => num('--mu', s), () => parseBytes(s)]) {
        try {
          f();
        } catch (e) {
          if (!isSwapError(e)) throw e;
        }
      }
    },
  },
  npy: {
    make: (r) => (r.next() < 0.3 ? randomBytes(r, 300) : mutateBytes(r, NPY)),
    run: (b) => decodeNpyBatch(b, 'f.npy'),
  },
  cifar: {
    make: (r) => ({
      bytes: new Uint8Array(r.next() < 0.5 ? r.pick([3073, 3074, 6146, 6148, 9219]) : r.int(20000)),
      count: r.int(6) - 1,
      layout: r.pick([undefined, 'cifar10', 'cifar100']),
    }),
    run: ({ bytes, count, layout }) => decodeCifarBinary(bytes, count, norm, 'f.bin', layout),
  },
  onnx: {
    make: (r) => (r.next() < 0.2 ? randomBytes(r, 300) : mutateBytes(r, r.pick(ONNX))),
    run: (b) => importOnnxModel(loadOnnxModel(b), { inputShape: [3, 32, 32] }),
  },
  images: {
    make: (r) => (r.next() < 0.3 ? randomBytes(r, 200) : mutateBytes(r, PNG_2X2)),
    run: async (b) => {
      writeFileSync(join(imgDir, 'a.png'), b);
      return loadImageFolder(imgDir, { count: 1, height: 4, width: 4 });
    },
  },
};

const show = (x) => {
  const s =
    typeof x === 'string'
      ? JSON.stringify(x)
      : x instanceof Uint8Array
        ? `<${x.length} bytes>`
        : JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));
  return s.length > 160 ? `${s.slice(0, 160)}… (${s.length} chars)` : s;
};

console.log(`swapnas fuzz: ${N} inputs per parser, seed ${SEED}, node ${process.version}`);
console.log('parser       inputs    ok   coded  crashes  long-msg  slowest(ms)  rerun(ms)  mean(µs)  slowest input');
let bad = 0;
for (const [name, t] of Object.entries(TARGETS)) {
  if (ONLY.length && !ONLY.includes(name)) continue;
  const r = rng(SEED ^ [...name].reduce((a, c) => a * 31 + c.charCodeAt(0), 7));
  let ok = 0;
  let codedN = 0;
  let crashes = 0;
  let long = 0;
  let slowest = 0;
  let slowInput;
  let firstCrash;
  let firstLong;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const input = t.make(r);
    const s = performance.now();
    try {
      await t.run(input);
      ok++;
    } catch (e) {
      if (isSwapError(e)) {
        codedN++;
        if (e.message.length > 1000) {
          long++;
          firstLong ??= `${e.code} (${e.message.length} chars): ${e.message.slice(0, 300)}`;
        }
      } else {
        crashes++;
        firstCrash ??= `${e?.name}: ${String(e?.message).slice(0, 200)} on ${show(input)}`;
      }
    }
    const d = performance.now() - s;
    if (d > slowest) {
      slowest = d;
      slowInput = input;
    }
  }
  const mean = ((performance.now() - t0) / N) * 1000;
  // The slowest input once more, three times (best of): separates the input's own cost from a GC pause or a busy CPU.
  let again = Infinity;
  for (let k = 0; k < 3; k++) {
    const s = performance.now();
    try {
      await t.run(slowInput);
    } catch {
      /* counted above */
    }
    again = Math.min(again, performance.now() - s);
  }
  bad += crashes + long;
  console.log(
    `${name.padEnd(12)} ${String(N).padStart(6)} ${String(ok).padStart(5)} ${String(codedN).padStart(7)} ${String(crashes).padStart(8)} ${String(long).padStart(9)} ${slowest.toFixed(1).padStart(12)} ${again.toFixed(1).padStart(10)} ${mean.toFixed(0).padStart(9)}  ${show(slowInput)}`,
  );
  if (firstCrash) console.log(`  first crash: ${firstCrash}`);
  if (firstLong) console.log(`  first long message: ${firstLong}`);
}
rmSync(imgDir, { recursive: true, force: true });
process.exitCode = bad > 0 ? 1 : 0;
