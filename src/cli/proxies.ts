/**
 * `--proxies a,b,…|all` on `score` (space architectures and ONNX models) and `correlate`: the zero-cost proxies of
 * src/proxies/, each under its official protocol (default) or SWAP's (`--proxy-protocol swap`). They run on the
 * engines with reverse mode and explicit weights: `--backend native` (C++, float32; `auto` picks it when the addon
 * loads) or `reference` (TypeScript, float64, the definition). Other backends are refused with the reason.
 */
import { statSync } from 'node:fs';
import { BACKEND_NAMES } from '../backends/types.js';
import { type InputBatch, takeSamples } from '../data/batch.js';
import {
  CIFAR100_MEAN,
  CIFAR100_STD,
  CIFAR10_MEAN,
  CIFAR10_STD,
  defaultBatch,
  loadCifarBinary,
} from '../data/cifar.js';
import { featureSources, flatBatch, flattenedImagesNote, requireImageShape, viewBatch } from '../data/flat.js';
import { gaussianBatch } from '../data/gaussian.js';
import { type ImageFolderOptions, loadImageFolder } from '../data/images.js';
import { cifarLabels, defaultLabels, readLabels } from '../data/labels.js';
import { loadNpyBatch } from '../data/npy.js';
import { resizeBatch, stretchNote } from '../data/resize.js';
import type { Network, Shape3 } from '../ir/types.js';
import { spaceEntry } from '../catalog/registry.js';
import type { ScoringRequest } from '../request/types.js';
import type { SearchSpace } from '../spaces/types.js';
import { loadOnnxModel } from '../onnx/load.js';
import { learnedPattern } from '../onnx/parameters.js';
import { resolveInputShape } from '../score/onnx-model.js';
import { epeNasConstant } from '../proxies/jacobian.js';
import { onnxProxyModel } from '../proxies/onnx-model.js';
import { type ProxyName, parseProxyList, proxySpec } from '../proxies/registry.js';
import { type ProxyRunOptions, settingsFor } from '../proxies/run.js';
import { nativePlan } from '../proxies/native-run.js';
import { loadAddon } from '../native/loader.js';
import type { NativeAddon } from '../native/addon.js';
import { SwapError } from '../util/errors.js';
import { int, modelInputShapeArg, num, numList } from './parse.js';
import {
  inOrderWindow,
  type ProxyEngines,
  type ProxyRequest,
  precisionFor,
  proxyRow,
  proxyRunner,
  proxyWindow,
} from '../proxies/runner.js';
import { quote } from '../util/quote.js';
import { csvField } from './csv.js';

export { type ProxyRequest, proxyRow, proxyRunner, proxyWindow } from '../proxies/runner.js';
export { addProxyOptions, type ProxyFlags } from './proxy-options.js';
import type { ProxyFlags } from './proxy-options.js';

const NATIVE_WHY =
  'gradients and explicit weights on the C++ engine (float32 passes, float64 where float32 cannot hold a value; routed groups say so per proxy)';
const REFERENCE_WHY = 'gradients and explicit weights on the reference engine (float64, the definition)';

/** `--backend` for the proxies: native (explicit, or auto when the addon loads) or reference. */
function proxyEngine(backend: string, names: readonly ProxyName[]): ProxyRequest['engine'] {
  if (backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(backend))
    throw new SwapError('E_OPTION', `unknown backend ${quote(backend)} (known: ${BACKEND_NAMES.join(', ')}, auto)`);
  if (backend === 'reference') return { backend: 'reference', why: REFERENCE_WHY };
  const load = backend === 'native' || backend === 'auto' ? loadAddon() : undefined;
  if (load?.ok) return { backend: 'native', why: NATIVE_WHY };
  if (backend === 'auto')
    return {
      backend: 'reference',
      why: `${REFERENCE_WHY}; the native addon is not available: ${load && !load.ok ? load.reason.slice(0, 120) : ''}`,
    };
  if (backend === 'native')
    throw new SwapError(
      'E_NATIVE_LOAD',
      `the native addon is not available: ${load && !load.ok ? load.reason.slice(0, 160) : ''}`,
    );
  const list = (ns: readonly ProxyName[]) => ns.join(', ').slice(0, 80);
  const grads = names.filter((n) => proxySpec(n).backward);
  const rest = names.filter((n) => !proxySpec(n).backward);
  const need = [
    grads.length > 0 ? `${list(grads)} need${grads.length === 1 ? 's' : ''} gradients` : '',
    rest.length > 0 ? `${list(rest)} need${rest.length === 1 ? 's' : ''} explicit weights` : '',
  ].filter(Boolean);
  throw new SwapError(
    'E_PROXY_BACKEND',
    `backend ${backend} cannot run the zero-cost proxies (${need.join('; ')}), which only the native and reference backends have; use --backend auto, native or reference`,
  );
}

export function proxyRequest(f: ProxyFlags): ProxyRequest {
  const names = parseProxyList(f.proxies ?? '');
  const protocol = f.proxyProtocol ?? 'official';
  if (protocol !== 'official' && protocol !== 'swap')
    throw new SwapError(
      'E_OPTION',
      `--proxy-protocol must be official or swap, got ${JSON.stringify(protocol.slice(0, 40))}`,
    );
  const engine = proxyEngine(f.backend ?? 'auto', names);
  const precision = f.precision ?? 'auto';
  if (precision !== 'auto' && precision !== 'float32' && precision !== 'float64')
    throw new SwapError(
      'E_OPTION',
      `--precision must be float32, float64 or auto, got ${JSON.stringify(precision.slice(0, 40))}`,
    );
  return {
    names,
    protocol,
    ...(f.proxyBatch !== undefined ? { batch: int('--proxy-batch', f.proxyBatch, 1) } : {}),
    engine,
    ...(precision !== 'auto' ? { precision } : {}),
  };
}

/** `--threads` when given (the native runner's concurrent addon calls; default: all cores). */
export function threadsOf(f: ProxyFlags): number | undefined {
  return f.threads !== undefined ? int('--threads', f.threads, 1) : undefined;
}

/** Real images the proxies of `req` need (zico: two batches; 0 when none reads images), given SWAP's batch size `swapBatch`. */
export function imagesNeeded(req: ProxyRequest, swapBatch: number): number {
  let n = 0;
  for (const name of req.names) {
    const s = settingsFor(name, {
      protocol: req.protocol,
      seed: 0,
      images: { n: 0 } as InputBatch,
      batch: req.batch ?? (req.protocol === 'swap' ? swapBatch : undefined),
    });
    if (s.input === 'real') n = Math.max(n, s.batch * s.batches);
  }
  return n;
}

/** Input images and their labels from the CLI flags: embedded CIFAR-10 (labelled) unless another source is given. */
export async function proxyImages(
  f: ProxyFlags,
  count: number,
  shape: Shape3,
  input: { readonly flat: boolean; readonly view?: Shape3 } = { flat: false },
): Promise<{ images: InputBatch; labels?: Int32Array; labelSource: string }> {
  const { flat, view } = input;
  const [c] = shape;
  const npy = f.input ?? f.npy;
  const sources = [f.gaussian, npy !== undefined, f.imageDir !== undefined, f.images !== undefined].filter(Boolean);
  if (sources.length > 1)
    throw new SwapError('E_OPTION', 'choose one input source: --images, --image-dir, --npy/--input or --gaussian');
  if (f.norm !== undefined && f.norm !== 'cifar10' && f.norm !== 'cifar100')
    throw new SwapError('E_OPTION', `--norm must be cifar10 or cifar100, got ${quote(f.norm.slice(0, 40))}`);
  const given = sources.length > 0;
  // no requested proxy reads images, and none were given: nothing to load (or to check against the network)
  if (count === 0 && !given && f.labels === undefined)
    return {
      images: { ...gaussianBatch(1, ...shape, 0), source: 'none (no requested proxy reads images)' },
      labelSource: 'none',
    };
  // a flat (N, F) input reads images flattened: the image shape they are loaded at
  const folder = f.imageDir !== undefined || (f.images !== undefined && isDirectory(f.images));
  const imageShape = flat && !f.gaussian && npy === undefined ? flatImageShape(c, folder, f) : shape;
  const [, h, w] = imageShape;
  count = Math.max(count, 1);
  const sized = (b: InputBatch) => {
    if (b.h === h && b.w === w) return b;
    // square CIFAR images on a non-square input: said, as the stretch is a choice the user may not want
    const note = stretchNote(b.h, b.w, h, w);
    if (note) process.stderr.write(`swapnas: note: ${note}\n`);
    return resizeBatch(b, h, w);
  };
  let images: InputBatch;
  let labels: Int32Array | undefined;
  let labelSource = 'none';
  const norm =
    f.norm === 'cifar100' ? { mean: CIFAR100_MEAN, std: CIFAR100_STD } : { mean: CIFAR10_MEAN, std: CIFAR10_STD };
  if (f.gaussian) images = gaussianBatch(count, ...shape, int('--gaussian-seed', f.gaussianSeed ?? '0', 0));
  // an (N, F) array for a flat input viewed as images: that map
  else if (npy !== undefined) images = view ? viewBatch(loadNpyBatch(npy), view) : loadNpyBatch(npy);
  else if (folder) images = await loadImageFolder((f.imageDir ?? f.images)!, folderOptions(f, count, imageShape));
  else if (f.images !== undefined) {
    images = sized(loadCifarBinary(f.images, count, norm));
    labels = cifarLabels(f.images, count);
    labelSource = `${f.images} (record labels)`;
  } else {
    images = sized(defaultBatch(count));
    labels = defaultLabels(count);
    labelSource = 'embedded CIFAR-10 test labels';
  }
  if (f.labels !== undefined) {
    labels = readLabels(f.labels);
    labelSource = f.labels;
    if (labels.length !== images.n)
      throw new SwapError(
        'E_LABELS',
        `${labels.length} labels in ${f.labels.slice(0, 120)} for ${images.n} input images (${images.source.slice(0, 80)})`,
      );
  }
  if (images.n > count) {
    images = takeSamples(images, count);
    labels = labels?.subarray(0, count);
  }
  if (flat) images = flatBatch(images);
  // feature vectors of another length for a flat input viewed as images: say it in features
  if (view && images.c !== c && images.h === 1 && images.w === 1)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `the network takes ${view[0] * view[1] * view[2]} features (viewed as ${view.join('x')}), ${images.source.slice(0, 80)} has ${images.c}`,
    );
  if (images.c !== c)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `the network takes ${c} ${flat ? 'features' : 'channels'}, ${images.source.slice(0, 80)} has ${images.c}`,
    );
  // an .npy batch of other planes (images are loaded or resized to the network's): named here, not by the engine
  if (images.h !== shape[1] || images.w !== shape[2])
    throw new SwapError(
      'E_INPUT_SHAPE',
      `the network takes ${shape.join('x')} inputs, ${images.source.slice(0, 80)} has ${images.c}x${images.h}x${images.w}`,
    );
  return { images, ...(labels ? { labels } : {}), labelSource };
}

/** Whether `path` is a directory (an image folder) rather than a CIFAR binary file; E_INPUT_FILE when unreadable. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read ${path.slice(0, 200)}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The image shape a flat input of `features` reads flattened ({@link imageShapeForFeatures}), said on stderr; a
 * coded error where no square image fills it, or where it takes grey images and the source is a 3-channel CIFAR
 * batch (an image folder is read as grey).
 */
function flatImageShape(features: number, folder: boolean, f: ProxyFlags): Shape3 {
  const img = requireImageShape(features);
  if (img[0] === 1 && !folder)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `the network takes ${features} features (${img.join('x')} grey images flattened) and the CIFAR images have 3 channels: give an image folder (--images dir/, read as grey), or ${featureSources(features)}`,
    );
  process.stderr.write(
    `swapnas: note: ${flattenedImagesNote(img, f.images ?? f.imageDir ?? 'the embedded CIFAR-10 batch')}\n`,
  );
  return img;
}

/** How an image folder is read for a network taking `shape`: its channels, size and `--mean/--std` (or `--norm`). */
function folderOptions(f: ProxyFlags, count: number, [c, h, w]: Shape3): ImageFolderOptions {
  const cifar100 = f.norm === 'cifar100';
  // --norm's statistics for the model's channels (a 1-channel model takes the first)
  const mean = f.mean !== undefined ? numList('--mean', f.mean) : cifar100 ? CIFAR100_MEAN.slice(0, c) : undefined;
  const std = f.std !== undefined ? numList('--std', f.std) : cifar100 ? CIFAR100_STD.slice(0, c) : undefined;
  return { count, height: h, width: w, channels: c, ...(mean ? { mean } : {}), ...(std ? { std } : {}) };
}

/** One jsonl line of a proxy row: the row with the run's settings (`--format jsonl` and the resume checkpoint). */
export function proxyJsonLine(row: Record<string, unknown>, settings: Record<string, unknown>): string {
  return `${JSON.stringify({ ...row, settings })}\n`;
}

/** The targets of a run's truth columns (`--truth`: the settings' `truth.columns`), in table order; none without. */
export function truthColumns(settings: Record<string, unknown>): string[] {
  const truth = settings['truth'] as { columns?: Record<string, unknown> } | undefined;
  return Object.keys(truth?.columns ?? {});
}

/** The csv header of proxy rows: the key column, one column per proxy, `truth_<target>` columns, then `reasons`. */
export function proxyCsvHeader(names: readonly ProxyName[], key: string, truth: readonly string[] = []): string {
  return `${[key, ...names, ...truth.map((t) => `truth_${t}`), 'reasons'].join(',')}\n`;
}

/**
 * One csv line of a proxy row: empty cells for null values, the row's `truth` values (empty where the table has
 * none), and a last `reasons` cell saying why values are null, or how a fallback value was obtained (`name:
 * reason; …`, empty when there is nothing to say).
 */
export function proxyCsvLine(
  row: Record<string, unknown>,
  names: readonly ProxyName[],
  key: string,
  truth: readonly string[] = [],
): string {
  const v = row['proxies'] as Record<string, number | null>;
  const t = (row['truth'] ?? {}) as Record<string, number | null>;
  const cell = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(x));
  const cells = [...names.map((n) => cell(v[n])), ...truth.map((c) => cell(t[c]))];
  const why = (row['reasons'] ?? {}) as Record<string, string>;
  const reasons = names.filter((n) => why[n]).map((n) => (why[n]!.startsWith(`${n}:`) ? why[n]! : `${n}: ${why[n]}`));
  return `${[csvField(String(row[key])), ...cells, reasons.length > 0 ? csvField(reasons.join('; ')) : ''].join(',')}\n`;
}

/** Check `--format` for proxy rows: json, jsonl or csv. */
export function checkProxyFormat(format: string): void {
  if (!['json', 'jsonl', 'csv'].includes(format))
    throw new SwapError('E_OPTION', `--format must be json, jsonl or csv, got ${quote(format)}`);
}

/** Format rows as json / jsonl / csv (csv: one column per proxy, empty for null, truth columns, the nulls' reasons). */
export function formatProxyRows(
  rows: Record<string, unknown>[],
  names: readonly ProxyName[],
  settings: Record<string, unknown>,
  format: string,
  key: string,
): string {
  checkProxyFormat(format);
  if (format === 'json') return `${JSON.stringify({ settings, results: rows }, null, 2)}\n`;
  if (format === 'jsonl') return rows.map((r) => proxyJsonLine(r, settings)).join('');
  const truth = truthColumns(settings);
  return proxyCsvHeader(names, key, truth) + rows.map((r) => proxyCsvLine(r, names, key, truth)).join('');
}

/** A `score --proxies` run resolved from its flags: the request, the run options and the settings every output carries. */
export interface ProxyPlan {
  readonly req: ProxyRequest;
  readonly run: ProxyRunOptions;
  readonly settings: Record<string, unknown>;
}

/** Resolve `score --proxies` for networks taking `shape` inputs: request, input images and settings block. */
export async function planProxies(
  shape: Shape3,
  f: ProxyFlags,
  seed: number,
  swapBatch: number,
  network: Record<string, unknown>,
): Promise<ProxyPlan> {
  const req = proxyRequest(f);
  const data = await proxyImages(f, imagesNeeded(req, swapBatch), shape);
  const run: ProxyRunOptions = {
    protocol: req.protocol,
    seed,
    images: data.images,
    ...(data.labels ? { labels: data.labels } : {}),
    ...(req.batch !== undefined || req.protocol === 'swap' ? { batch: req.batch ?? swapBatch } : {}),
    precision: precisionFor(req, false),
  };
  const constant = constantProxyNote(req.names, run);
  if (constant) process.stderr.write(`swapnas: note: ${constant}\n`);
  return { req, run, settings: proxySettings(req, run, data, seed, { network }) };
}

/** The networks `score --proxies` scores, built when their turn comes; see {@link spaceProxyNetworks}. */
export interface SpaceProxyNetworks {
  readonly items: { readonly id: string; readonly net: () => Network }[];
  /** The builder options of every network. */
  readonly opts: Readonly<Record<string, unknown>>;
  /** What the settings say of them: the space and its builder options. */
  readonly network: Record<string, unknown>;
  /** The input shape of the first (and every) network. */
  readonly shape: Shape3;
}

/**
 * The networks of `genotypes` under the proxies' protocol: the official protocols score the benchmark's own network
 * (`evalNetworkFor`, unless channels or cells are given), the SWAP protocol the request's proxy network; an explicit
 * `classes` holds on either. `inputSize` is the resolved input batch's.
 */
export function spaceProxyNetworks<G>(
  space: SearchSpace<G, object>,
  request: ScoringRequest,
  genotypes: readonly G[],
  f: Pick<ProxyFlags, 'proxyProtocol'> & { channels?: unknown; cells?: unknown; classes?: unknown },
  inputSize: number,
): SpaceProxyNetworks {
  const official = (f.proxyProtocol ?? 'official') === 'official' && f.channels === undefined && f.cells === undefined;
  const evalNet = official ? spaceEntry(space.name).evalNetworkFor?.(request.target) : undefined;
  const classes = f.classes !== undefined ? { classes: request.network.classes } : {};
  const opts = evalNet ? { ...evalNet, inputSize, ...classes } : request.network;
  const items = genotypes.map((g) => ({ id: space.format(g), net: () => space.build(g, opts as object) }));
  const shape = items[0]!.net().nodes[0]!.shape as Shape3;
  return { items, opts, network: { space: space.name, ...opts }, shape };
}

/** Blocks from 1 MiB served by mmap (malloc's threshold, process-wide): see {@link NativeAddon.mapLargeAllocations}. */
const MAP_FROM_BYTES = 1 << 20;

/**
 * Keep a long native run's heap from fragmenting: its executors and per-network buffers free and reallocate blocks of
 * megabytes, which glibc would otherwise keep in its arenas (RSS creeping up with the list; bench/RESULTS.md).
 */
function mapLargeBlocks(): void {
  const load = loadAddon();
  // an addon built before this setting existed (a checkout rebuilt with build:ts only) runs without it
  if (load.ok && typeof load.addon.mapLargeAllocations === 'function') load.addon.mapLargeAllocations(MAP_FROM_BYTES);
}

/**
 * Score space networks with a plan's proxies, {@link proxyWindow} at a time, each built when its turn comes and
 * dropped once scored; rows reach `emit` in item order as they are computed.
 */
export async function scoreNetworksWithProxies(
  items: readonly { id: string; net: () => Network }[],
  plan: ProxyPlan,
  threads: number | undefined,
  emit: (row: Record<string, unknown>, i: number) => void | Promise<void>,
  signal?: AbortSignal,
  engines?: ProxyEngines,
): Promise<void> {
  const run = engines ? await engines(plan.req.engine.backend, threads) : proxyRunner(plan.req, threads);
  if (plan.req.engine.backend === 'native') mapLargeBlocks();
  const { names } = plan.req;
  await inOrderWindow(
    items.length,
    proxyWindow(threads),
    async (i) => {
      // a cancelled request (the server's) stops before its next network; the reference engine's runs are
      // synchronous, so the event loop is given a turn first to read a cancel
      if (signal) await new Promise((r) => setImmediate(r));
      if (signal?.aborted) throw new SwapError('E_CANCELLED', 'request cancelled');
      return proxyRow('arch', items[i]!.id, await run(items[i]!.net(), names, plan.run));
    },
    emit,
  );
}

/** Why a requested proxy's value cannot tell networks apart under these options (labels, batch), if it cannot. */
function constantProxyNote(names: readonly ProxyName[], o: ProxyRunOptions): string | undefined {
  if (!names.includes('epe_nas') || !o.labels) return undefined;
  return epeNasConstant(Array.from(o.labels).slice(0, settingsFor('epe_nas', o).batch));
}

function proxySettings(
  req: ProxyRequest,
  o: ProxyRunOptions,
  data: { images: InputBatch; labelSource: string },
  seed: number,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    // each proxy's dtype as the engine computes it (a network's own routing is in its row's `routed`)
    proxies: Object.fromEntries(
      req.names.map((n) => [
        n,
        {
          ...settingsFor(n, o),
          ...(req.engine.backend === 'native' ? nativePlan(n, o.precision) : {}),
        },
      ]),
    ),
    protocol: req.protocol,
    seed,
    inputs: data.images.source,
    labels: data.labelSource,
    backend: req.engine.backend,
    engine: req.engine.why,
    // the reference engine computes in float64 whatever the run asks of the native one
    precision: req.engine.backend === 'reference' ? 'float64' : (o.precision ?? 'float32'),
    ...extra,
  };
}

/** A `score model.onnx --proxies …` result: its json document's parts, the proxies' names, and the notes. */
export interface OnnxProxiesDoc {
  readonly settings: Record<string, unknown>;
  readonly results: Record<string, unknown>[];
  readonly names: readonly ProxyName[];
  /** What the import changed and what the options make degenerate (stderr on the command line). */
  readonly notes: readonly string[];
}

/**
 * `score model.onnx --proxies …` on a model file or its bytes: own weights (default) or `--reinit` with each
 * protocol's init; the command line and the server's `score_onnx` both run it.
 */
export async function onnxProxiesDoc(
  model: string | Uint8Array,
  f: ProxyFlags,
  engines?: ProxyEngines,
): Promise<OnnxProxiesDoc> {
  const req = proxyRequest(f);
  const maxMiB = f.maxModelSize !== undefined ? num('--max-model-size', f.maxModelSize) : undefined;
  const m = loadOnnxModel(model, maxMiB !== undefined ? { maxBytes: Math.floor(maxMiB * 1024 * 1024) } : {});
  // the model's fixed shape, checked against --input-shape; dynamic dimensions from --input-shape or an --input
  // batch (as `score model.onnx` resolves them)
  const npy = f.input ?? f.npy;
  const batch = npy !== undefined && !f.inputShape ? loadNpyBatch(npy) : undefined;
  const shape = resolveInputShape(m, f.inputShape ? modelInputShapeArg(m, f.inputShape) : undefined, batch);
  const net = onnxProxyModel(m, shape, learnedPattern(f.learned));
  const seed = int('--seed', f.seed ?? '0', 0);
  // SWAP's batch for an ONNX model: 16 unless --batch says (the SWAP protocol's batch)
  const swapBatch = f.batch !== undefined ? int('--batch', f.batch, 1) : 16;
  const data = await proxyImages(f, imagesNeeded(req, swapBatch), shape, m.input);
  const opts: ProxyRunOptions = {
    protocol: req.protocol,
    seed,
    images: data.images,
    ...(data.labels ? { labels: data.labels } : {}),
    ...(f.reinit ? {} : { weights: net.params }),
    ...(req.batch !== undefined || req.protocol === 'swap' ? { batch: req.batch ?? swapBatch } : {}),
    ...(net.blockOutputs.length > 0 ? { features: net.blockOutputs.map(([, id]) => id) } : {}),
    ...(net.modules ? { modules: net.modules } : {}),
    ...(net.channelsLastCalls ? { channelsLastCalls: net.channelsLastCalls } : {}),
    ...(net.tupleModules ? { tupleModules: net.tupleModules } : {}),
    precision: precisionFor(req, true),
  };
  const constant = constantProxyNote(req.names, opts);
  const run = engines ? await engines(req.engine.backend, threadsOf(f)) : proxyRunner(req, threadsOf(f));
  const done = await run(net.net, req.names, opts);
  const row = proxyRow('model', m.source, done);
  const settings = proxySettings(req, opts, data, seed, {
    weights: f.reinit ? 'reinit (per protocol)' : 'model',
    ...(net.blockOutputs.length > 0 ? { blockFeatures: net.blockOutputs.map(([name]) => name) } : {}),
    ...(net.notes.length > 0 ? { importNotes: net.notes } : {}),
  });
  // one model: each proxy's dtype and engine as its value was computed (this network's routing included)
  const planned = settings['proxies'] as Record<string, Record<string, unknown>>;
  for (const n of req.names) {
    const got = done.settings[n];
    if (got) planned[n] = { ...planned[n], dtype: got.dtype, engine: got.engine ?? 'reference' };
  }
  return { settings, results: [row], names: req.names, notes: [...net.notes, ...(constant ? [constant] : [])] };
}

/** `swapnas score model.onnx --proxies …`: the document in `--format`, the notes on stderr. */
export async function scoreOnnxWithProxies(file: string, f: ProxyFlags): Promise<string> {
  const d = await onnxProxiesDoc(file, f);
  for (const note of d.notes) process.stderr.write(`swapnas: note: ${note}\n`);
  return formatProxyRows(d.results, d.names, d.settings, f.format ?? 'json', 'model');
}
