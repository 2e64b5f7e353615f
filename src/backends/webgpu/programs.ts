/// <reference types="@webgpu/types" />
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BN_EPS, type ReluForm } from '../../ir/ops.js';
import { ACT_FNS, type ActForm } from '../../ir/activations.js';
import { SwapError } from '../../util/errors.js';

/**
 * Shader programs described as data. A program names its WGSL file (under `shaders/`), entry point, bindings
 * (binding 0 is always the uniform block), the u32 fields of its uniform block in declaration order, how its
 * dispatch is sized, and pipeline-overridable constants. Pipelines are compiled once per cache key.
 */
export type BindingKind = 'read' | 'rw';

export interface ProgramSpec {
  readonly name: string;
  /** File name under `shaders/`. */
  readonly file: string;
  readonly entryPoint: string;
  /** Storage bindings 1 … n, in order (binding 0 is the uniform block). */
  readonly bindings: readonly BindingKind[];
  /** Names of the u32 uniform fields, in WGSL declaration order (`total` and `grid_x` first). */
  readonly uniforms: readonly string[];
  /**
   * `threads`: one invocation per unit of `total`, `workgroupSize` per workgroup;
   * `groups`: one workgroup per unit of `total` (reductions).
   */
  readonly dispatch: 'threads' | 'groups';
  /** Preferred workgroup size (clamped to the device's limit; `groups` programs need a power of two ≤ 128). */
  readonly workgroupSize: number;
  /** Pipeline-overridable constants other than WG. */
  readonly constants?: Readonly<Record<string, number>>;
}

export function programKey(p: ProgramSpec, wg: number): string {
  const c = p.constants
    ? Object.entries(p.constants)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    : '';
  return `${p.file}#${p.entryPoint}[WG=${wg}${c ? `,${c}` : ''}]`;
}

/** Uniform slots are this many bytes apart (the largest minUniformBufferOffsetAlignment allowed by the spec). */
export const UNIFORM_STRIDE = 256;
/** Bytes bound per dispatch: every program's uniform block fits in 16 u32. */
export const UNIFORM_BYTES = 64;

const U_CONV = [
  'total',
  'grid_x',
  'cin',
  'h',
  'w',
  'cout',
  'oh',
  'ow',
  'k_hw',
  'stride_hw',
  'pad_hw',
  'dilation_hw',
  'groups',
  'w_off',
] as const;

const convCache = new Map<number, ProgramSpec>();
/**
 * Convolution computing `ocb` output channels per invocation: 1 or 2 with `conv2d.wgsl` (PyTorch weight layout),
 * 4 with `conv2d_oc4.wgsl` (vec4 weights packed `[cout/4][cin/groups][k][k][4]`, see {@link WeightTensor.pack4}).
 */
export function convProgram(ocb: 1 | 2 | 4): ProgramSpec {
  let p = convCache.get(ocb);
  if (!p) {
    p =
      ocb === 4
        ? {
            name: 'conv2d_oc4',
            file: 'conv2d_oc4.wgsl',
            entryPoint: 'main',
            bindings: ['read', 'read', 'rw'],
            uniforms: U_CONV,
            dispatch: 'threads',
            workgroupSize: 64,
          }
        : {
            name: `conv2d_ocb${ocb}`,
            file: 'conv2d.wgsl',
            entryPoint: 'main',
            bindings: ['read', 'read', 'rw'],
            uniforms: U_CONV,
            dispatch: 'threads',
            workgroupSize: 64,
            constants: { OCB: ocb },
          };
    convCache.set(ocb, p);
  }
  return p;
}

/**
 * The batch-statistics BatchNorm program for one ε, a pipeline-overridable constant: pipelines are cached by
 * {@link programKey}, which holds it, so each ε compiles once.
 */
export function batchnormProgram(eps: number): ProgramSpec {
  return {
    name: 'batchnorm',
    file: 'batchnorm.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'c', 'hw', 's', 'plane', 'block'],
    dispatch: 'groups',
    workgroupSize: 128,
    constants: { EPS: eps },
  };
}

/** The element-wise program of a sigmoid gate (the ReLU program's logistic or hard form). */
export function sigmoidProgram(hard: boolean | undefined): ProgramSpec {
  return { ...PROGRAMS.relu, name: hard ? 'hardsigmoid' : 'sigmoid', constants: { SIGMOID: hard ? 2 : 1 } };
}

/** The element-wise program of a smooth activation (the ReLU program's ACT form: one pipeline per function, α). */
export function actProgram(n: ActForm): ProgramSpec {
  const code = ACT_FNS.indexOf(n.fn) + 1;
  return { ...PROGRAMS.relu, name: `act_${n.fn}`, constants: { ACT: code, ALPHA: n.alpha ?? 1 } };
}

/** The product of two tensors, the second broadcast over planes of `plane` elements (the add program's MUL form). */
export function mulProgram(): ProgramSpec {
  return { ...PROGRAMS.add, name: 'mul', constants: { MUL: 1 } };
}

/**
 * The element-wise program of a ReLU that is not recorded: PROGRAMS.relu, or its own pipeline per clip (ReLU6) or
 * slope (LeakyReLU).
 */
export function reluProgram(n: ReluForm): ProgramSpec {
  if (n.slope !== undefined) return { ...PROGRAMS.relu, name: 'relu_leaky', constants: { LEAKY: 1, SLOPE: n.slope } };
  // a clamp at 0 (max +∞) is the plain program
  return n.max === undefined || !Number.isFinite(n.max)
    ? PROGRAMS.relu
    : { ...PROGRAMS.relu, name: 'relu_capped', constants: { CAPPED: 1, CAP: n.max } };
}

export const PROGRAMS = {
  batchnorm: batchnormProgram(BN_EPS),
  reluPack: {
    name: 'relu_pack',
    file: 'relu_pack.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw', 'rw'],
    uniforms: ['total', 'grid_x', 's', 'per', 'words', 'code_base', 'write_y'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  relu: {
    name: 'relu',
    file: 'relu.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  avgpool: {
    name: 'avgpool',
    file: 'pool.wgsl',
    entryPoint: 'avg',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'c', 'h', 'w', 'oh', 'ow', 'k', 'stride', 'pad', 'count_include_pad', 'neg_inf'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  maxpool: {
    name: 'maxpool',
    file: 'pool.wgsl',
    entryPoint: 'max_pool',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'c', 'h', 'w', 'oh', 'ow', 'k', 'stride', 'pad', 'count_include_pad', 'neg_inf'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  add: {
    name: 'add',
    file: 'add.wgsl',
    entryPoint: 'main',
    bindings: ['rw', 'read', 'read', 'read', 'read'],
    uniforms: ['total', 'grid_x', 'n_in', 'accumulate', 'plane', '_p0', '_p1', '_p2'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  concat: {
    name: 'concat',
    file: 'concat.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'per_in', 'per_out', 'off'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  slice: {
    name: 'slice',
    file: 'slice.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'c', 'h', 'w', 'ic', 'ih', 'iw', 'c0', 'h0', 'w0', 'groups'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  chanpool: {
    name: 'chanpool',
    file: 'chanpool.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'c', 'hw', 'is_max'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  convTranspose: {
    name: 'conv_transpose',
    file: 'conv_transpose.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'read', 'rw'],
    uniforms: U_CONV,
    dispatch: 'threads',
    workgroupSize: 64,
  },
  upsample: {
    name: 'upsample',
    file: 'upsample.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'h', 'w', 'ih', 'iw', 'scale', 'bilinear', 'align', '_p0', '_p1', '_p2'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  expand: {
    name: 'expand',
    file: 'expand.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'c', 'h', 'w', 'ic', 'ih', 'iw'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  fill: {
    name: 'fill_zero',
    file: 'fill.wgsl',
    entryPoint: 'main',
    bindings: ['rw'],
    uniforms: ['total', 'grid_x'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  gap: {
    name: 'gap',
    file: 'gap.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'hw'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  chanact: {
    name: 'chanact',
    file: 'chanact.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'read', 'rw'],
    uniforms: ['total', 'grid_x', 'plane', 'c', 'woff', 'fn_code'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  softmax: {
    name: 'softmax',
    file: 'softmax.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw'],
    uniforms: ['total', 'grid_x', 'k', 'log'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  linear: {
    name: 'linear',
    file: 'linear.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'read', 'rw'],
    uniforms: ['total', 'grid_x', 'fin', 'fout', 'w_off'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
  patternCount: {
    name: 'pattern_count',
    file: 'pattern_count.wgsl',
    entryPoint: 'main',
    bindings: ['read', 'rw', 'rw'],
    uniforms: ['total', 'grid_x', 'words', 'mask'],
    dispatch: 'threads',
    workgroupSize: 64,
  },
} as const satisfies Record<string, ProgramSpec>;

/** Encode a program's uniform block (u32 fields in declaration order) into `out` at byte `offset`. */
export function packUniforms(
  p: ProgramSpec,
  values: Readonly<Record<string, number>>,
  out: DataView,
  offset: number,
): void {
  if (p.uniforms.length * 4 > UNIFORM_BYTES)
    throw new Error(`program ${p.name}: uniform block larger than ${UNIFORM_BYTES} bytes`);
  p.uniforms.forEach((f, i) => {
    const v = values[f];
    if (v === undefined) throw new Error(`program ${p.name}: uniform ${f} not set`);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new SwapError('E_BACKEND', `program ${p.name}: uniform ${f} = ${v} does not fit in u32`);
    out.setUint32(offset + 4 * i, v, true);
  });
}

/** `shaders/` of the package: this file is `src/backends/webgpu/` (vitest) or `dist/backends/webgpu/` (built). */
export function shaderDir(): string {
  return process.env['SWAPNAS_SHADERS'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shaders');
}

/** 1-D or 2-D grid of `groups` workgroups within `maxPerDim` per dimension. */
export function grid(groups: number, maxPerDim: number): [x: number, y: number] {
  if (groups <= maxPerDim) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / maxPerDim);
  if (y > maxPerDim)
    throw new SwapError('E_BACKEND', `dispatch of ${groups} workgroups exceeds the device's ${maxPerDim}² grid`);
  return [maxPerDim, y];
}

/** Compiled pipelines and their bind-group layouts, by program cache key; shader modules by file. */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  /** Programs compiled so far (for reports and tests). */
  compiled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxInvocations: number,
  ) {}

  /** Effective workgroup size of a program on this device. */
  workgroupSize(p: ProgramSpec): number {
    let wg = Math.min(p.workgroupSize, this.maxInvocations);
    if (p.dispatch === 'groups') wg = 2 ** Math.floor(Math.log2(Math.min(wg, 128)));
    return wg;
  }

  get(p: ProgramSpec): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; wg: number } {
    const wg = this.workgroupSize(p);
    const key = programKey(p, wg);
    let e = this.pipelines.get(key);
    if (!e) {
      let module = this.modules.get(p.file);
      if (!module) {
        const path = join(shaderDir(), p.file);
        let code: string;
        try {
          code = readFileSync(path, 'utf8');
        } catch (err) {
          throw new SwapError('E_BACKEND', `webgpu: cannot read shader ${path}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        module = this.device.createShaderModule({ label: p.file, code });
        this.modules.set(p.file, module);
      }
      const layout = this.device.createBindGroupLayout({
        label: p.name,
        entries: [
          {
            binding: 0,
            visibility: 4 /* GPUShaderStage.COMPUTE */,
            buffer: { type: 'uniform', minBindingSize: UNIFORM_BYTES },
          },
          ...p.bindings.map((b, i) => ({
            binding: i + 1,
            visibility: 4,
            buffer: { type: b === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
          })),
        ],
      });
      const pipeline = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: p.entryPoint, constants: { WG: wg, ...(p.constants ?? {}) } },
      });
      e = { pipeline, layout };
      this.pipelines.set(key, e);
      this.compiled++;
    }
    return { ...e, wg };
  }
}
