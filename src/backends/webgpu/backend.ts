/// <reference types="@webgpu/types" />
import type { InputBatch } from '../../data/batch.js';
import { numel } from '../../ir/analysis.js';
import type { Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { measureCountsOnly } from '../measure.js';
import type { Backend, CountRequest, CountResult, MeasureRequest, MeasureResult, MeasurementKind } from '../types.js';
import { findAdapter } from './gpu.js';
import { planNetwork, type BufRef, type NetworkPlan, type WeightTensor } from './plan.js';
import { BufferPool, MAP_MODE_READ, STORAGE_USAGE, USAGE } from './pool.js';
import { PROGRAMS, PipelineCache, UNIFORM_BYTES, UNIFORM_STRIDE, convProgram, grid, packUniforms } from './programs.js';
import { generateWeights } from './weights.js';

/** Device buffers of one planned network, with its encoded uniforms and bind groups (reused for every seed). */
interface Realized {
  readonly plan: NetworkPlan;
  readonly slots: GPUBuffer[];
  readonly weights: GPUBuffer;
  readonly codes: GPUBuffer;
  readonly table: GPUBuffer;
  readonly counter: GPUBuffer;
  readonly uniforms: GPUBuffer;
  readonly steps: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; x: number; y: number }[];
}

/** What {@link WebGpuBackend.inspect} reads back from one evaluation (diagnostics and parity tests). */
export interface WebGpuInspection {
  readonly count: number;
  /** `words` u32 per recorded neuron, recorded ReLUs in network order. */
  readonly codes: Uint32Array;
  readonly words: number;
  readonly recorded: readonly { readonly node: number; readonly base: number; readonly per: number }[];
  /** The weight buffer as uploaded (all conv/linear tensors back to back) and where each tensor starts. */
  readonly weights: Float32Array;
  readonly weightTensors: readonly WeightTensor[];
  /** Outputs (S × per-sample values) of the nodes asked for. */
  readonly values: ReadonlyMap<number, Float32Array>;
}

export interface WebGpuOptions {
  /** Cap on workgroups per grid dimension below the device limit (tests use it to exercise 2-D dispatch). */
  readonly maxWorkgroupsPerDimension?: number;
}

function checkInput(net: Network, batch: InputBatch): void {
  const s = net.nodes[0]?.shape;
  if (s?.length !== 3 || s[0] !== batch.c || s[1] !== batch.h || s[2] !== batch.w) {
    throw new SwapError(
      'E_INPUT_SHAPE',
      `network expects input ${s?.join('x')}, batch ${batch.source} is ${batch.c}x${batch.h}x${batch.w}`,
    );
  }
}

/**
 * The WebGPU backend: the whole scoring path on the device. Per network, the plan's dispatches (forward kernels,
 * fused ReLU + sign packing, hash-table counting) are encoded into one compute pass per seed; the only data that
 * come back are the counts (one u32 per seed, read once per network).
 */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  private gpu: GPU | undefined;
  private device: GPUDevice | undefined;
  private readonly pipelines: PipelineCache;
  private readonly pool: BufferPool;
  private readonly dummy: GPUBuffer;
  private lostReason: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private readonly maxGroupsPerDim: number;

  private constructor(
    gpu: GPU,
    device: GPUDevice,
    /** Adapter description (vendor / device / driver, Dawn backend, feature level). */
    readonly info: string,
    opts: WebGpuOptions,
  ) {
    this.gpu = gpu;
    this.device = device;
    this.maxGroupsPerDim = Math.max(
      1,
      Math.min(device.limits.maxComputeWorkgroupsPerDimension, opts.maxWorkgroupsPerDimension ?? Infinity),
    );
    this.pipelines = new PipelineCache(device, device.limits.maxComputeInvocationsPerWorkgroup);
    this.pool = new BufferPool(device);
    this.dummy = device.createBuffer({ size: 256, usage: STORAGE_USAGE, label: 'dummy' });
    void device.lost.then((l) => {
      if (this.device) this.lostReason = `${l.reason}: ${l.message}`;
    });
  }

  /** Request an adapter and a device (with the adapter's buffer-size limits). */
  static async create(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const found = await findAdapter();
    if (!found.ok) throw new SwapError('E_BACKEND_UNAVAILABLE', `webgpu: ${found.reason}`);
    const al = found.adapter.limits;
    let device: GPUDevice;
    try {
      device = await found.adapter.requestDevice({
        label: 'swapnas',
        requiredLimits: {
          maxBufferSize: al.maxBufferSize,
          maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
          maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
          maxComputeWorkgroupsPerDimension: al.maxComputeWorkgroupsPerDimension,
        },
      });
    } catch (e) {
      throw new SwapError(
        'E_BACKEND_UNAVAILABLE',
        `webgpu: requestDevice failed on ${found.info}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return new WebGpuBackend(found.gpu, device, found.info, opts);
  }

  /** Pipelines compiled and buffers created so far (for tests of the caches). */
  get stats(): { pipelines: number; buffers: number } {
    return { pipelines: this.pipelines.compiled, buffers: this.pool.created };
  }

  private dev(): GPUDevice {
    if (!this.device) throw new SwapError('E_BACKEND', 'webgpu backend is closed');
    if (this.lostReason) throw new SwapError('E_BACKEND', `webgpu device lost (${this.lostReason})`);
    return this.device;
  }

  /** Run jobs one at a time (the buffers of a realized network are not shared between calls). */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  readonly capabilities: readonly MeasurementKind[] = ['relu-patterns'];

  measure(req: MeasureRequest): Promise<MeasureResult> {
    return measureCountsOnly('webgpu', req, (r) => this.countPatterns(r));
  }

  /** Ψ of every network × seed. */
  async countPatterns(req: CountRequest): Promise<CountResult> {
    return this.serial(() => this.count(req));
  }

  private async count(req: CountRequest): Promise<CountResult> {
    this.dev();
    const S = req.inputs.n;
    const R = req.seeds.length;
    const total = req.networks.length * R;
    const cancelled = () => new SwapError('E_CANCELLED', 'scoring cancelled');
    if (req.signal?.aborted) throw cancelled();
    for (const net of req.networks) checkInput(net, req.inputs);
    const input = this.upload(req.inputs.data);
    const out: CountResult = [];
    let done = 0;
    try {
      for (const net of req.networks) {
        if (req.signal?.aborted) throw cancelled();
        const plan = planNetwork(net, S);
        const counts = await this.withErrorScope(`network ${String(net.meta?.['arch'] ?? '')}`.trim(), async () => {
          const rz = this.realize(plan, input);
          const results = this.pool.acquire(R * 4);
          try {
            for (let r = 0; r < R; r++) {
              if (req.signal?.aborted) throw cancelled();
              this.runOnce(rz, req.seeds[r]!, (enc) => enc.copyBufferToBuffer(rz.counter, 0, results, r * 4, 4));
            }
            return await this.readU32(results, R);
          } finally {
            this.pool.release(results);
            this.unrealize(rz);
          }
        });
        out.push(Array.from(counts));
        done += R;
        req.onProgress?.(done, total);
      }
    } finally {
      this.pool.release(input);
    }
    return out;
  }

  /**
   * One evaluation with read-back of the patterns, the uploaded weights and the outputs of `nodes` (every node is
   * kept in its own buffer). For diagnostics and the parity tests.
   */
  async inspect(
    net: Network,
    batch: InputBatch,
    seed: number,
    nodes: readonly number[] = [],
    opts: { computeAll?: boolean } = {},
  ): Promise<WebGpuInspection> {
    return this.serial(async () => {
      this.dev();
      checkInput(net, batch);
      const plan = planNetwork(net, batch.n, { keepAll: true, computeAll: opts.computeAll ?? false });
      const input = this.upload(batch.data);
      try {
        return await this.withErrorScope('inspect', async () => {
          const rz = this.realize(plan, input);
          try {
            this.runOnce(rz, seed);
            const count = (await this.readU32(rz.counter, 1))[0]!;
            const codes = await this.readU32(rz.codes, plan.neurons * plan.words);
            const weights = new Float32Array((await this.readU32(rz.weights, plan.weightCount)).buffer);
            const values = new Map<number, Float32Array>();
            for (const id of nodes) {
              const slot = plan.nodeSlot[id];
              const n = net.nodes[id];
              if (!n || slot === undefined || slot < 0) {
                if (n?.op === 'input') values.set(id, batch.data.slice());
                continue;
              }
              const words = await this.readU32(rz.slots[slot]!, batch.n * numel(n.shape));
              values.set(id, new Float32Array(words.buffer));
            }
            return {
              count,
              codes,
              words: plan.words,
              recorded: plan.recorded,
              weights,
              weightTensors: plan.weights,
              values,
            };
          } finally {
            this.unrealize(rz);
          }
        });
      } finally {
        this.pool.release(input);
      }
    });
  }

  /**
   * Compile every program (all WGSL files) now and report compiler errors as an E_BACKEND error; otherwise
   * pipelines are compiled on first use.
   */
  async compileAll(): Promise<number> {
    return this.serial(() =>
      this.withErrorScope('shader compilation', async () => {
        for (const p of [...Object.values(PROGRAMS), convProgram(1), convProgram(2), convProgram(4)])
          this.pipelines.get(p);
        return this.pipelines.compiled;
      }),
    );
  }

  private upload(data: Float32Array): GPUBuffer {
    const device = this.dev();
    const buf = this.pool.acquire(data.byteLength, STORAGE_USAGE, 'input');
    device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  }

  /** Surface validation / out-of-memory / internal errors of a unit of work as SwapErrors. */
  private async withErrorScope<T>(what: string, job: () => Promise<T>): Promise<T> {
    const device = this.dev();
    device.pushErrorScope('internal');
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let result: T | undefined;
    let failure: unknown;
    try {
      result = await job();
    } catch (e) {
      failure = e;
    }
    const errors = (await Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()])).filter(
      (e) => e !== null,
    );
    if (errors.length > 0) {
      const msg = errors.map((e) => e!.message.split('\n')[0]).join('; ');
      throw new SwapError('E_BACKEND', `webgpu: ${what} failed: ${msg}`, { cause: failure });
    }
    if (failure !== undefined) {
      if (failure instanceof SwapError) throw failure;
      throw new SwapError('E_BACKEND', `webgpu: ${what} failed: ${(failure as Error).message}`, { cause: failure });
    }
    return result as T;
  }

  private checkSize(what: string, bytes: number): void {
    const lim = this.dev().limits.maxStorageBufferBindingSize;
    if (bytes > lim) {
      throw new SwapError(
        'E_BACKEND',
        `webgpu: ${what} needs ${bytes} bytes, more than this device's maxStorageBufferBindingSize (${lim}); use fewer samples or a smaller network`,
      );
    }
  }

  /** Back the plan with pooled buffers, upload its uniforms, and create its bind groups. */
  private realize(plan: NetworkPlan, input: GPUBuffer): Realized {
    const device = this.dev();
    const maxDim = this.maxGroupsPerDim;
    plan.slotBytes.forEach((b, i) => this.checkSize(`activation buffer ${i}`, b));
    this.checkSize('weights', plan.weightCount * 4);
    this.checkSize('pattern codes', plan.neurons * plan.words * 4);
    this.checkSize('hash table', plan.tableSize * 4);
    const acquired: GPUBuffer[] = [];
    const take = (bytes: number, usage?: number, label?: string) => {
      const b = this.pool.acquire(bytes, usage, label);
      acquired.push(b);
      return b;
    };
    try {
      const slots = plan.slotBytes.map((b, i) => take(b, STORAGE_USAGE, `slot${i}`));
      const weights = take(plan.weightCount * 4, STORAGE_USAGE, 'weights');
      const codes = take(plan.neurons * plan.words * 4, STORAGE_USAGE, 'codes');
      const table = take(plan.tableSize * 4, STORAGE_USAGE, 'table');
      const counter = take(4, STORAGE_USAGE, 'counter');
      const uniformBytes = Math.max(1, plan.dispatches.length) * UNIFORM_STRIDE;
      const uniforms = take(uniformBytes, USAGE.UNIFORM | USAGE.COPY_DST, 'uniforms');
      const bytes = new ArrayBuffer(uniformBytes);
      const view = new DataView(bytes);
      const bufOf = (r: BufRef): GPUBuffer => {
        switch (r.kind) {
          case 'slot':
            return slots[r.slot]!;
          case 'input':
            return input;
          case 'weights':
            return weights;
          case 'codes':
            return codes;
          case 'table':
            return table;
          case 'counter':
            return counter;
          case 'dummy':
            return this.dummy;
        }
      };
      const steps: Realized['steps'] = [];
      plan.dispatches.forEach((d, k) => {
        const { pipeline, layout, wg } = this.pipelines.get(d.program);
        const units = d.uniforms['total']!;
        if (units === 0) return;
        const groups = d.program.dispatch === 'groups' ? units : Math.ceil(units / wg);
        const [x, y] = grid(groups, maxDim);
        packUniforms(d.program, { ...d.uniforms, grid_x: x }, view, k * UNIFORM_STRIDE);
        const bindGroup = device.createBindGroup({
          label: `${d.program.name}@${d.node}`,
          layout,
          entries: [
            { binding: 0, resource: { buffer: uniforms, offset: k * UNIFORM_STRIDE, size: UNIFORM_BYTES } },
            ...d.buffers.map((r, i) => ({ binding: i + 1, resource: { buffer: bufOf(r) } })),
          ],
        });
        steps.push({ pipeline, bindGroup, x, y });
      });
      device.queue.writeBuffer(uniforms, 0, bytes);
      return { plan, slots, weights, codes, table, counter, uniforms, steps };
    } catch (e) {
      for (const b of acquired) this.pool.release(b);
      throw e;
    }
  }

  private unrealize(rz: Realized): void {
    for (const b of [...rz.slots, rz.weights, rz.codes, rz.table, rz.counter, rz.uniforms]) this.pool.release(b);
  }

  /** Upload the seed's weights and submit one evaluation (clear, forward, pack, count). */
  private runOnce(rz: Realized, seed: number, after?: (enc: GPUCommandEncoder) => void): void {
    const device = this.dev();
    const w = generateWeights(rz.plan.weights, rz.plan.weightCount, seed);
    device.queue.writeBuffer(rz.weights, 0, w.buffer, w.byteOffset, w.byteLength);
    const enc = device.createCommandEncoder();
    enc.clearBuffer(rz.table, 0, rz.plan.tableSize * 4);
    enc.clearBuffer(rz.counter, 0, 4);
    const pass = enc.beginComputePass();
    for (const s of rz.steps) {
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(s.x, s.y);
    }
    pass.end();
    after?.(enc);
    device.queue.submit([enc.finish()]);
  }

  /** Copy `n` u32 from the start of `src` to a mappable buffer and read them. */
  private async readU32(src: GPUBuffer, n: number): Promise<Uint32Array> {
    const device = this.dev();
    const bytes = Math.max(4, n * 4);
    const rb = this.pool.acquire(bytes, USAGE.MAP_READ | USAGE.COPY_DST, 'readback');
    try {
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(src, 0, rb, 0, bytes);
      device.queue.submit([enc.finish()]);
      await rb.mapAsync(MAP_MODE_READ, 0, bytes);
      const out = new Uint32Array(rb.getMappedRange(0, bytes).slice(0, n * 4));
      rb.unmap();
      return out;
    } finally {
      this.pool.release(rb);
    }
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    const device = this.device;
    if (!device) return;
    this.device = undefined;
    this.pool.destroyAll();
    this.dummy.destroy();
    device.destroy();
    this.gpu = undefined;
  }

  /** Whether close() has run. */
  get closed(): boolean {
    return this.device === undefined && this.gpu === undefined;
  }
}
