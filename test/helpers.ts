import type { ActFn, Network, Shape3 } from '../src/ir/types.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBatch, type InputBatch } from '../src/data/batch.js';
import { dataDir } from '../src/data/paths.js';
import { decodeModel, encodeModel, type INodeProto } from '../src/onnx/proto.js';
import { Rng } from '../src/util/rng.js';
import type { NetParams } from '../src/grad/types.js';
import { inputsFor, labelsFor, type ProxyRunOptions, runProxies, settingsFor } from '../src/proxies/run.js';
import { initParams, type InitScheme } from '../src/proxies/init.js';
import { lossHessianVector } from '../src/backends/reference/hvp.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { PROXY_NAMES, type ProxyName } from '../src/proxies/registry.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { mapParams } from '../src/grad/params.js';
import { opGraphs, randomParams } from './grad-graphs.js';
import { OrtBackend } from '../src/backends/ort/index.js';
import { referenceCount } from '../src/backends/reference/forward.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import type { NativeAddon, NativeCountJob } from '../src/native/addon.js';
import { scoreOnnxModel } from '../src/score/onnx-model.js';
import { expect } from 'vitest';

/** `bytes` with its input's dims replaced (an (N, F) input, or symbolic dims). */
export function withInputDims(bytes: Uint8Array, dims: readonly (number | string)[]): Uint8Array {
  const m = decodeModel(bytes);
  const t = m.graph!.input![0]!.type!.tensorType!;
  t.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return encodeModel(m);
}

/**
 * An official fixture's per-sample shape from its input array's: (N, C, H, W) images, or (N, F) features (F×1×1);
 * the map a model views its flat input as, where it does (`LoadedModel.input.view`).
 */
export function fixtureSampleShape(shape: readonly number[], view?: Shape3): Shape3 {
  if (view) return view;
  return (shape.length === 2 ? [shape[1]!, 1, 1] : shape.slice(1)) as unknown as Shape3;
}

/** An official fixture's input array as an input batch (an (N, F) array as F×1×1, or as the model's `view`). */
export function fixtureBatch(
  x: { shape: readonly number[]; data: ArrayLike<number> },
  n: number,
  source: string,
  view?: Shape3,
): InputBatch {
  const [c, h, w] = fixtureSampleShape(x.shape, view);
  return { n, c, h, w, data: Float32Array.from(x.data), source };
}

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

/** Every function of the `act` op, with ELU's α or the arithmetic's constant where it has one (GELU and Mish export as chains). */
export const EVERY_ACT: readonly (readonly [ActFn, number?])[] = [
  ['gelu'],
  ['tanh'],
  ['elu', 0.5],
  ['selu'],
  ['softplus'],
  ['mish'],
  ['gelu_tanh'],
  ['scale', -0.5],
  ['divide', 0.225],
  ['shift', 0.25],
  // CELU before the PReLU, whose negative slope leaves nothing below 0 after it
  ['celu', 0.7],
  ['prelu', -0.25],
];

/**
 * 16×32 input, 16 channels: 1×7 and 7×1 convs on 32-wide rows (the native engine's row-vector path), (3, 5) of
 * stride (2, 1) and (3, 1) of stride (1, 2) (im2col), a dilated 1×3 on 16-wide rows, a 3×1 on 8-wide rows (two rows
 * per vector), 12 output channels (the implicit or im2col path), a depthwise (5, 3) dilated across, a grouped (3, 1)
 * with bias, and a 1×3 padded only along the height (backward-data's direct loop); TensorFlow's SAME padding of a
 * strided 3×3 (the extra pixel after the map) and a stride-1 (2, 3) padded [1, 1, 0, 1] (top, left, bottom, right).
 */
export function rectNetwork(): Network {
  const b = new GraphBuilder([3, 16, 32]);
  const unit = (x: number, cout: number, k: [number, number], o: Parameters<GraphBuilder['conv']>[3] = {}) =>
    b.relu(b.bn(b.conv(x, cout, k, o)));
  const a = unit(b.input, 16, [1, 7]);
  const c = unit(a, 16, [7, 1]);
  const d = unit(b.add([a, c]), 16, [3, 5], { stride: [2, 1], pad: [1, 2] });
  const e = unit(d, 16, [3, 1], { stride: [1, 2], pad: [1, 0] });
  const same = unit(b.add([a, c]), 16, [3, 3], { stride: 2, pad: [0, 0, 1, 1] });
  const f = unit(b.add([e, same]), 16, [1, 3], { dilation: [1, 2] });
  const asym = unit(f, 16, [2, 3], { pad: [1, 1, 0, 1] });
  const g = unit(unit(asym, 16, [1, 3], { stride: [1, 2] }), 16, [3, 1]);
  const h = unit(g, 12, [1, 3]);
  const dw = unit(h, 12, [5, 3], { groups: 12, dilation: [1, 2] });
  const gr = unit(dw, 12, [3, 1], { groups: 3, bias: true });
  const tall = unit(gr, 12, [1, 3], { pad: [1, 0] });
  return b.finish(b.linear(b.gap(tall), 10, true), { space: 'test', arch: 'rect' });
}

/** An NCHW batch of S 3×16×32 images of standard normal values from `seed` (for {@link rectNetwork}). */
export function rectBatch(S: number, seed: number): InputBatch {
  const rng = new Rng(seed);
  const data = new Float32Array(S * 3 * 16 * 32);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return makeBatch(data, S, 3, 16, 32, `normal(${seed})`);
}

/**
 * What the official code gave on a committed proxy fixture (test/fixtures/proxies/expected.json), by swapnas proxy
 * name: a value, '-inf', the official error it raised, or 'sum-is-one' where `net` ends in a softmax and the proxy
 * differentiates the sum of its outputs (0 in exact arithmetic: the official value is rounding, swapnas's null); the
 * float64 reruns of the saliencies, grasp and zico where recorded, and grasp's relu6 `equivalent` where the official
 * grasp cannot differentiate a Hardswish.
 */
// biome-ignore lint/suspicious/noExplicitAny: expected.json's fixture records are untyped JSON
export function officialFixtureValues(e: any, net?: Network): Record<string, number | string | { error: string }> {
  const zc = { ...e.zc, ...e.zc_float64 };
  const out = net?.nodes[net.output];
  const sum = (v: unknown) => (out?.op === 'softmax' && !out.log ? 'sum-is-one' : (v as number));
  // an analytically zero input Jacobian (the fixture records its float64 size): the official values are noise
  const jacobian = (v: unknown) => (e.jacobian_zero !== undefined ? 'jacobian-zero' : sum(v));
  return {
    grad_norm: zc.grad_norm,
    snip: zc.snip,
    plain: zc.plain,
    fisher: zc.fisher,
    grasp: e.grasp_float64 ?? e.zc.grasp.equivalent ?? e.zc.grasp,
    jacov: jacobian(e.zc.jacob_cov),
    epe_nas: jacobian(e.naslib.epe_nas),
    nwot: e.naslib.nwot,
    l2_norm: e.naslib.l2_norm,
    zico: e.zico_float64 ?? e.zico,
    synflow: sum(e.zc.synflow),
    synflow_bn: sum(e.zc.synflow_bn),
  };
}

/**
 * The reason swapnas's null value gives where the official code raised `error` (the official errors the proxy
 * fixtures record: a train-mode BatchNorm of one value per channel; fisher's hooks on a module called twice; MeCo's
 * eigenvalues of a one-channel output).
 */
export function reasonForOfficialError(error: string): RegExp {
  if (/more than 1 value per channel/.test(error)) return /more than 1 value per channel/;
  if (/has no attribute 'act'/.test(error)) return /called more than once/;
  // MeCo on a module's one-channel output (CBAM's spatial gate): torch.corrcoef of one row is a scalar
  if (/linalg\.eig: The input tensor A must have at least 2 dimensions/.test(error)) return /has one row/;
  throw new Error(`no reason known for the official error ${error.slice(0, 80)}`);
}

/**
 * An ONNX node named as torch.onnx names it (`/scope/…/Op`, a repeat suffixed `Op_1`), for the module-scope tests;
 * its op type is the name's last part without the suffix unless given.
 */
export function scopedNode(
  name: string,
  input: string[],
  output: string[],
  opType = name.split('/').at(-1)!.replace(/_\d+$/, ''),
): INodeProto {
  return { name, input, output, opType };
}

/**
 * `score --proxies <names>` on a proxy fixture's file and on its constant-folded twin (SWAP protocol, the fixture's
 * batch of 8 and labels), with the official values to hold them to (Θ: PyTorch's count).
 */
// biome-ignore lint/suspicious/noExplicitAny: expected.json's fixture records are untyped JSON
export async function foldedAndPlainProxies(dir: string, e: any, names: string) {
  const { onnxProxiesDoc } = await import('../src/cli/proxies.js');
  const run = async (file: string) =>
    (
      await onnxProxiesDoc(join(dir, file), {
        proxies: names,
        proxyProtocol: 'swap',
        input: join(dir, e.inputs),
        labels: join(dir, e.labels),
        batch: '8',
        format: 'json',
      })
    ).results[0]!;
  const [folded, plain] = [await run(e.folded_onnx), await run(e.onnx)];
  const want = { ...officialFixtureValues(e), params: e.torch_params } as Record<string, number>;
  return { folded, plain, want };
}

/**
 * Proxy-run options that feed a fixture's (N, C, H, W) `.npy` batch as it is to a network with its own weights, under
 * the SWAP protocol (every proxy on that batch): how the tests compare an engine with the official replays.
 */
export function npyRunOptions(
  x: { readonly shape: readonly number[]; readonly data: ArrayLike<number> },
  weights: NetParams,
  source: string,
): ProxyRunOptions {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return {
    protocol: 'swap',
    seed: 0,
    images: { n, c, h, w, data: Float32Array.from(x.data), source },
    batch: n,
    weights,
  };
}

/**
 * SWAP with `--reinit` on an ONNX file by ONNX Runtime, the reference engine and the native engine: the three per-repeat
 * counts must be equal (weights drawn fresh by the shared PRNG on each).
 */
export async function expectReinitCountsAgree(file: string | Uint8Array, opts: Parameters<typeof scoreOnnxModel>[1]) {
  const ort = await scoreOnnxModel(file, { ...opts, engine: 'ort' });
  const ref = await scoreOnnxModel(file, { ...opts, backend: 'reference' });
  const nat = await scoreOnnxModel(file, { ...opts, backend: 'native' });
  expect([ort.engine, ref.engine, nat.engine]).toEqual(['ort', 'ir:reference', 'ir:native']);
  expect(ref.perRepeat).toEqual(ort.perRepeat);
  expect(nat.perRepeat).toEqual(ort.perRepeat);
}

/**
 * {@link expectReinitCountsAgree} on a committed official fixture (`test/fixtures/proxies/<name>.onnx`, a 3×32×32
 * input): SWAP with `--reinit`, 2 repeats, on `batch` Gaussian images drawn with `inputSeed`, weight seed `seed`.
 */
export async function expectFixtureReinitCountsAgree(name: string, batch: number, inputSeed: number, seed: number) {
  await expectReinitCountsAgree(join(import.meta.dirname, 'fixtures', 'proxies', `${name}.onnx`), {
    batch,
    inputs: gaussianBatch(batch, 3, 32, 32, inputSeed),
    reinit: true,
    repeats: 2,
    seed,
  });
}

/**
 * The native parser refuses each word of `job`'s program set to a bad value, with E_BACKEND and the expected message:
 * `cases` are [attribute index, value, message]; `attrs` is where the node's attribute words start.
 */
export async function expectParserRejects(
  addon: NativeAddon,
  job: NativeCountJob,
  attrs: number,
  cases: readonly (readonly [number, number, RegExp])[],
) {
  for (const [word, value, message] of cases) {
    const program = Int32Array.from(job.program);
    program[attrs + word] = value;
    await expect(
      addon.countPatterns({ ...job, program }, () => {}),
      `word ${word}`,
    ).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(message),
    });
  }
}

/**
 * Every proxy on op graph `graph` (test/grad-graphs.ts) on the native runner against the reference engine: SWAP
 * protocol, float32-rounded random weights (seed `seeds[0]`), a Gaussian batch of 12 (seed `seeds[1]`; ZiCo's two
 * batches of 6) and labels of 3 classes. Each value within 1e-4 (nulls alike), and each of `native` computed natively.
 */
export async function expectEveryProxyNative(
  addon: NativeAddon,
  graph: string,
  seeds: readonly [number, number],
  native: readonly ProxyName[],
) {
  const g = opGraphs().find((x) => x.name === graph)!.net;
  const [c, h, w] = g.nodes[0]!.shape as Shape3;
  const o: ProxyRunOptions = {
    protocol: 'swap',
    seed: 1,
    images: { ...gaussianBatch(12, c, h, w, seeds[1]), source: 'gaussian' },
    batch: 6,
    weights: mapParams(randomParams(g, seeds[0]), (v) => Math.fround(v)),
    labels: [0, 1, 2, 0, 1, 2, 2, 1, 0, 2, 1, 0],
  };
  const nat = await nativeProxyRunner(addon, 2).run(g, [...PROXY_NAMES], o);
  const ref = runProxies(g, [...PROXY_NAMES], o);
  for (const p of native) expect(nat.settings[p], p).toMatchObject({ engine: 'native' });
  for (const p of PROXY_NAMES) {
    const [a, b] = [nat.values[p]!.value, ref.values[p]!.value];
    expect(a === null, p).toBe(b === null);
    if (a !== null && b !== null) expect(Math.abs(a - b), `${p}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-4 * Math.abs(b));
  }
}

/**
 * `net` exported to ONNX with PRNG weights of `seed`: imported back, it is the same IR, and ONNX Runtime counts on
 * `batch` what the reference engine counts. Returns the loaded file for checks of its nodes.
 */
export async function expectOnnxRoundTrip(net: Network, seed: number, batch: InputBatch) {
  const loaded = loadOnnxModel(exportNetworkOnnx(net, { seed }));
  const imp = importOnnxModel(loaded, { inputShape: net.nodes[0]!.shape as Shape3 });
  if (!imp.ok) throw new Error(imp.reason);
  expect(imp.network.nodes.map((n) => ({ ...n }))).toEqual(net.nodes.map((n) => ({ ...n })));
  const got = await new OrtBackend().countPatterns({ networks: [net], inputs: batch, seeds: [seed] });
  expect(got).toEqual([[referenceCount(net, batch, seed)]]);
  return loaded;
}

/**
 * A float32 GraSP's bound relative to its value: one float32 rounding (2^-24) of every term of S = Σ −W ⊙ Hg, so
 * Σ|W ⊙ Hg| / |S| roundings in all (docs/zero-cost-proxies.md, "grasp in float32 is only as exact as the sum
 * allows"). Hg from the float64 reference on the weights and inputs `runProxies` draws for grasp under `o`; never
 * below 1e-4, the bound for sums without cancellation.
 */
export function graspFloat32Bound(net: Network, o: ProxyRunOptions): number {
  const s = settingsFor('grasp', o);
  const params = o.weights ?? initParams(net, s.init as InitScheme, o.seed);
  const { hv } = lossHessianVector(net, params, inputsFor(s, o, net), labelsFor(s, o), 'gradient', s.bn);
  let sum = 0;
  let magnitude = 0;
  for (const [id, h] of hv) {
    const w = params[id]!.weight!;
    for (let i = 0; i < w.length; i++) {
      sum -= w[i]! * h[i]!;
      magnitude += Math.abs(w[i]! * h[i]!);
    }
  }
  return Math.max(1e-4, 2 ** -24 * (magnitude / Math.abs(sum)));
}
