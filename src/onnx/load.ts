/**
 * Reading and validating a user's ONNX model: size limit, protobuf decoding, opset, the data input, constants.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Shape3 } from '../ir/types.js';
import { SwapError } from '../util/errors.js';
import { clip } from '../util/quote.js';
import { onnxError } from './errors.js';
import { foldConstant } from './fold.js';
import { flatInputView } from './input-view.js';
import {
  DT_FLOAT,
  decodeModel,
  getInt,
  isExternal,
  toNum,
  valueInfoDims,
  valueInfoElemType,
  type IGraphProto,
  type IModelProto,
  type INodeProto,
  type ITensorProto,
} from './proto.js';

/** Default size limit of a model file: 512 MiB. */
export const DEFAULT_MAX_MODEL_BYTES = 512 * 1024 * 1024;
/** Oldest default-domain opset accepted. */
export const MIN_OPSET = 13;

export interface LoadedModel {
  readonly model: IModelProto;
  /** Where it came from (path or a label), for messages. */
  readonly source: string;
  readonly sizeBytes: number;
  /** Default-domain (ai.onnx) opset. */
  readonly opset: number;
  /**
   * The one graph input that is not an initializer: an (N, C, H, W) image batch, or an (N, F) batch of feature
   * vectors (`flat`, an MLP's input), which the IR takes as F channels of 1×1 ({@link modelSampleShape}); or an
   * (N, F) batch the model views as images before anything else reads it (`view`, `x.view(-1, 1, 28, 28)`), which
   * the IR takes as that C×H×W map and ONNX Runtime as the file's (N, F). `flat` is false then.
   */
  readonly input: {
    readonly name: string;
    readonly dims: readonly (number | string)[];
    readonly flat: boolean;
    readonly view?: Shape3;
  };
  /** Initializers and Constant-node values by tensor name. */
  readonly consts: ReadonlyMap<string, ITensorProto>;
  /**
   * Names of the graph's initializers and of their Identity copies: where PyTorch puts a module's parameters and
   * buffers (a non-affine BatchNorm's fixed γ = 1, β = 0 come as Constant nodes instead, unless constant folding
   * turned them into initializers).
   */
  readonly initializers: ReadonlySet<string>;
  readonly producer: string;
}

export interface LoadOptions {
  /** Size limit in bytes (default {@link DEFAULT_MAX_MODEL_BYTES}). */
  readonly maxBytes?: number;
  /** Label used in messages when loading from bytes. */
  readonly source?: string;
}

/** Constant-node value as a tensor (the `value*` attributes of Constant). */
export function constantNodeTensor(n: INodeProto): ITensorProto | undefined {
  for (const a of n.attribute ?? []) {
    switch (a.name) {
      case 'value':
        return a.t ?? undefined;
      case 'value_float':
        return { dims: [], dataType: DT_FLOAT, floatData: [a.f ?? 0] };
      case 'value_floats':
        return { dims: [(a.floats ?? []).length], dataType: DT_FLOAT, floatData: [...(a.floats ?? [])] };
      case 'value_int':
        return { dims: [], dataType: 7, int64Data: [toNum(a.i)] };
      case 'value_ints':
        return { dims: [(a.ints ?? []).length], dataType: 7, int64Data: (a.ints ?? []).map(toNum) };
      default:
        break;
    }
  }
  return undefined;
}

/** Read a model file's bytes, refusing a non-file or one over `max` bytes before reading it. */
function readModelFile(path: string, max: number): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read ONNX model ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (size > max)
    throw onnxError(
      'too-large',
      `ONNX model ${path} is ${size} bytes, over the ${max}-byte limit (raise it with --max-model-size)`,
    );
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SwapError('E_INPUT_FILE', `cannot read ONNX model ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Decode the protobuf and check it is a graph with a default-domain opset ≥ {@link MIN_OPSET}; returns the opset. */
function decodeChecked(bytes: Uint8Array, source: string): { model: IModelProto; opset: number } {
  let model: IModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw onnxError(
      'format',
      `${source} is not a valid ONNX model (truncated or not protobuf): ${(e as Error).message}`,
      e,
    );
  }
  const g = model.graph;
  const irVersion = toNum(model.irVersion);
  if (!g || (g.node ?? []).length === 0 || irVersion < 3 || (model.opsetImport ?? []).length === 0) {
    throw onnxError('format', `${source} is not an ONNX model (no graph, nodes, IR version or opset)`);
  }
  const def = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!def) throw onnxError('format', `${source} imports no default-domain (ai.onnx) opset`);
  const opset = toNum(def.version);
  if (opset < MIN_OPSET)
    throw onnxError(
      'opset',
      `${source} uses opset ${opset}; swapnas supports opset ${MIN_OPSET} or newer (re-export with opset_version ≥ ${MIN_OPSET})`,
    );
  return { model, opset };
}

/**
 * Initializers and default-domain Constant-node values by name, with their Identity copies and what the shape
 * arithmetic on them computes ({@link foldConstant}: a matrix's Transpose, PyTorch's pad lists); external or sparse
 * tensors are refused.
 */
function collectConsts(g: IGraphProto, source: string): Map<string, ITensorProto> {
  const consts = new Map<string, ITensorProto>();
  for (const t of g.initializer ?? []) {
    if (isExternal(t))
      throw onnxError(
        'format',
        `${source}: tensor ${t.name} keeps its data in an external file, which is not supported (save the model with all tensors inside)`,
      );
    if (t.name) consts.set(t.name, t);
  }
  if ((g.sparseInitializer ?? []).length > 0)
    throw onnxError('format', `${source}: sparse initializers are not supported`);
  for (const n of g.node ?? []) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    // torch.onnx keeps equal initializers once and names the copies by Identity nodes (two zero biases suffice)
    const t =
      n.opType === 'Constant'
        ? constantNodeTensor(n)
        : n.opType === 'Identity'
          ? consts.get(n.input?.[0] ?? '')
          : foldConstant(n, consts);
    if (t && n.output?.[0]) consts.set(n.output[0], t);
  }
  return consts;
}

/** The one graph input that is not a constant; it must be a float32 4-D (N, C, H, W) or 2-D (N, F) batch. */
function dataInput(g: IGraphProto, consts: ReadonlyMap<string, ITensorProto>, source: string): LoadedModel['input'] {
  const inputs = (g.input ?? []).filter((v) => v.name && !consts.has(v.name));
  if (inputs.length !== 1) {
    throw new SwapError(
      'E_INPUT_SHAPE',
      `${source} has ${inputs.length} data inputs (${inputs.map((v) => v.name).join(', ')}); swapnas feeds exactly one image batch`,
    );
  }
  const inp = inputs[0]!;
  const dims = valueInfoDims(inp);
  if (valueInfoElemType(inp) !== DT_FLOAT)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `${source}: input ${inp.name} must be float32 (ONNX type ${valueInfoElemType(inp)})`,
    );
  if (dims?.length !== 4 && dims?.length !== 2)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `${source}: input ${inp.name} must be a 4-D (N, C, H, W) image batch or a 2-D (N, F) feature batch, its shape is ${dims ? `[${clip(dims.join(', '), 80)}]` : 'unknown'}`,
    );
  const view = dims.length === 2 ? flatInputView(g, consts, inp.name!, dims) : undefined;
  return view ? { name: inp.name!, dims, flat: false, view } : { name: inp.name!, dims, flat: dims.length === 2 };
}

/**
 * The model's per-sample input shape as the IR takes it: (C, H, W), (F, 1, 1) for a flat (N, F) input, or the map
 * a flat input is viewed as; undefined where a dimension is dynamic (the caller asks for `--input-shape`).
 */
export function modelSampleShape(m: Pick<LoadedModel, 'input'>): Shape3 | undefined {
  if (m.input.view) return m.input.view;
  const d = m.input.dims.slice(1);
  if (!d.every((x) => typeof x === 'number' && x > 0)) return undefined;
  return (m.input.flat ? [d[0], 1, 1] : d) as unknown as Shape3;
}

/** A per-sample shape as the model writes it, for messages: `CxHxW`, or `F` for a flat input. */
export function sampleShapeText(m: Pick<LoadedModel, 'input'>, shape: Shape3): string {
  return m.input.flat ? `${shape[0]}` : shape.join('x');
}

/** Read (with the size limit) and validate an ONNX model from a path or bytes. */
export function loadOnnxModel(pathOrBytes: string | Uint8Array, opts: LoadOptions = {}): LoadedModel {
  const max = opts.maxBytes ?? DEFAULT_MAX_MODEL_BYTES;
  if (!(max > 0)) throw new SwapError('E_OPTION', `model size limit must be positive, got ${max}`);
  let bytes: Uint8Array;
  let source: string;
  if (typeof pathOrBytes === 'string') {
    source = pathOrBytes;
    bytes = readModelFile(pathOrBytes, max);
  } else {
    bytes = pathOrBytes;
    source = opts.source ?? 'ONNX model';
    if (bytes.length > max)
      throw onnxError('too-large', `${source} is ${bytes.length} bytes, over the ${max}-byte limit`);
  }
  if (bytes.length === 0) throw onnxError('format', `${source} is empty`);
  const { model, opset } = decodeChecked(bytes, source);
  const g = model.graph!;
  const consts = collectConsts(g, source);
  return {
    model,
    source,
    sizeBytes: bytes.length,
    opset,
    input: dataInput(g, consts, source),
    consts,
    initializers: initializerNames(g),
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim() || basename(source),
  };
}

/** Initializer names and the names of their Identity copies (torch.onnx names duplicated initializers that way). */
function initializerNames(g: IGraphProto): Set<string> {
  const names = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  for (const n of g.node ?? [])
    if (n.opType === 'Identity' && names.has(n.input?.[0] ?? '') && n.output?.[0]) names.add(n.output[0]);
  return names;
}

/** Whether a BatchNormalization node normalises with batch statistics (training mode). */
export function bnIsTraining(n: INodeProto, opset: number): boolean {
  if (opset >= 14) return getInt(n, 'training_mode', 0) === 1;
  return (n.output ?? []).filter((o) => o).length > 1;
}
