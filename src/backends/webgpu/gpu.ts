/// <reference types="@webgpu/types" />
import { captureStderr, messageLines } from '../../native/stderr.js';
/**
 * Finding a WebGPU adapter through the npm package `webgpu` (Dawn's Node bindings). Nothing here runs at import
 * time: the package is imported, and adapters requested, only when a probe or a backend asks.
 *
 * Order of attempts (the first adapter wins):
 * 1. Dawn's default backend (Vulkan / Metal / D3D12) at the core feature level, then compatibility level;
 * 2. OpenGL ES at the compatibility feature level — on machines without a GPU this is Mesa's software rasteriser
 *    (llvmpipe), which needs libEGL + Mesa's DRI drivers and `EGL_PLATFORM=surfaceless`.
 * `SWAPNAS_WEBGPU_BACKEND=<dawn backend>` (vulkan, opengles, opengl, metal, d3d12, …) restricts the search to
 * that backend. Dawn's `null` backend is never accepted: it computes nothing.
 */

export interface AdapterFound {
  readonly ok: true;
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  /** Human-readable adapter description, e.g. "llvmpipe… (OpenGL ES 3.2 Mesa …) via opengles, compatibility". */
  readonly info: string;
  readonly featureLevel: 'core' | 'compatibility';
  /** What Dawn printed while the adapter was searched (driver warnings); shown only with --verbose. */
  readonly driverMessages: readonly string[];
}
export type AdapterResult =
  | AdapterFound
  | { readonly ok: false; readonly reason: string; readonly driverMessages: readonly string[] };

type WebgpuModule = { create(options: string[]): GPU };

async function importWebgpu(): Promise<{ ok: true; mod: WebgpuModule } | { ok: false; reason: string }> {
  try {
    const mod = (await import('webgpu')) as unknown as WebgpuModule;
    if (typeof mod.create !== 'function')
      return { ok: false, reason: 'the npm package "webgpu" does not export create()' };
    return { ok: true, mod };
  } catch (e) {
    return {
      ok: false,
      reason: `the npm package "webgpu" (Dawn bindings) could not be loaded: ${(e as Error).message.split('\n')[0]}`,
    };
  }
}

function describe(adapter: GPUAdapter, backend: string, level: string): string {
  const i = adapter.info;
  const parts = [i.vendor, i.architecture, i.device, i.description].filter(
    (s) => typeof s === 'string' && s.length > 0,
  );
  return `${parts.join(' / ') || 'unnamed adapter'} (dawn backend ${backend}, ${level})`;
}

/**
 * One Dawn instance per `create()` option set, for the life of the process. Each instance opens its own EGL
 * display and, on Mesa, its own llvmpipe worker threads; several instances left for the garbage collector made
 * worker processes occasionally abort at exit ("The futex facility returned an unexpected error code") when
 * Mesa's threads were torn down mid-wait. Devices are still created and destroyed per backend.
 */
const instances = new Map<string, GPU>();

function instance(mod: WebgpuModule, opts: string[], messages: string[]): GPU {
  const key = opts.join(' ');
  let gpu = instances.get(key);
  if (!gpu) {
    const made = captureStderr(() => mod.create(opts));
    messages.push(...messageLines(made.text));
    gpu = made.value;
    instances.set(key, gpu);
  }
  return gpu;
}

/** Request a fresh adapter (every device needs its own: an adapter is consumed by requestDevice). */
export async function findAdapter(): Promise<AdapterResult> {
  const m = await importWebgpu();
  if (!m.ok) return { ...m, driverMessages: [] };
  // Dawn prints driver warnings synchronously inside create() and requestAdapter(): captured, not shown.
  const messages: string[] = [];
  // Mesa's EGL needs a platform when there is no display; "surfaceless" works headless.
  if (!process.env['EGL_PLATFORM']) process.env['EGL_PLATFORM'] = 'surfaceless';
  const forced = process.env['SWAPNAS_WEBGPU_BACKEND']?.trim();
  if (forced === 'null')
    return {
      ok: false,
      reason: "SWAPNAS_WEBGPU_BACKEND=null names Dawn's null backend, which computes nothing",
      driverMessages: [],
    };
  const attempts: { backend: string; opts: string[] }[] = forced
    ? [{ backend: forced, opts: [`backend=${forced}`] }]
    : [
        { backend: 'default', opts: [] },
        { backend: 'opengles', opts: ['backend=opengles'] },
      ];
  const tried: string[] = [];
  for (const a of attempts) {
    let gpu: GPU;
    try {
      gpu = instance(m.mod, a.opts, messages);
    } catch (e) {
      tried.push(`${a.backend}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    for (const level of ['core', 'compatibility'] as const) {
      let adapter: GPUAdapter | null = null;
      try {
        const asked = captureStderr(() =>
          gpu.requestAdapter(
            level === 'core'
              ? { powerPreference: 'high-performance' }
              : { featureLevel: 'compatibility', powerPreference: 'high-performance' },
          ),
        );
        messages.push(...messageLines(asked.text));
        adapter = await asked.value;
      } catch (e) {
        tried.push(`${a.backend}/${level}: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      if (!adapter) {
        tried.push(`${a.backend}/${level}: no adapter`);
        continue;
      }
      if (adapter.info.device === 'null-backend') {
        tried.push(`${a.backend}/${level}: only Dawn's null backend`);
        continue;
      }
      return {
        ok: true,
        gpu,
        adapter,
        info: describe(adapter, a.backend, level),
        featureLevel: level,
        driverMessages: messages,
      };
    }
  }
  const hint = forced
    ? ''
    : " (without a GPU, install Mesa's software OpenGL ES driver: apt packages libegl1 libegl-mesa0 libgl1-mesa-dri)";
  return { ok: false, reason: `no WebGPU adapter found: ${tried.join('; ')}${hint}`, driverMessages: messages };
}

type WebgpuProbe =
  | { available: true; info: string; driverMessages: readonly string[] }
  | { available: false; reason: string; driverMessages: readonly string[] };
let probed: Promise<WebgpuProbe> | undefined;

/**
 * Probe once per process: whether the package loads and an adapter exists. Only the outcome is kept (the
 * adapter found is dropped; {@link findAdapter} gets a fresh one for each backend instance).
 */
export function probeWebgpu(): Promise<WebgpuProbe> {
  probed ??= findAdapter().then((r) =>
    r.ok
      ? { available: true as const, info: r.info, driverMessages: r.driverMessages }
      : { available: false as const, reason: r.reason, driverMessages: r.driverMessages },
  );
  return probed;
}
