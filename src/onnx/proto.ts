/**
 * Thin helpers over the `onnx-proto` schema package (protobufjs static code generated from onnx.proto): the
 * ONNX ModelProto is read and written only through it, never as hand-rolled bytes.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { SwapError } from '../util/errors.js';

/**
 * The generated ONNX schema (`onnx-proto` with protobufjs), loaded on first use: most scoring calls never read or
 * write a model, and loading it costs a CLI call ~35 ms of CPU. Node's module cache keeps the one instance.
 */
export function onnxSchema(): typeof OnnxTypes {
  return (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxTypes }).onnx;
}
export type IModelProto = OnnxTypes.IModelProto;
export type IGraphProto = OnnxTypes.IGraphProto;
export type INodeProto = OnnxTypes.INodeProto;
export type ITensorProto = OnnxTypes.ITensorProto;
export type IAttributeProto = OnnxTypes.IAttributeProto;
export type IValueInfoProto = OnnxTypes.IValueInfoProto;

export const DT_FLOAT = 1;
export const DT_INT32 = 6;
export const DT_INT64 = 7;
export const DT_BOOL = 9;
export const DT_DOUBLE = 11;
export const DT_FLOAT16 = 10;

const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** protobufjs gives 64-bit integers as `Long` objects when the `long` package is present. */
export type Int64Like = number | { toNumber(): number } | null | undefined;

export function toNum(v: Int64Like): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function own(o: object, k: string): boolean {
  return Object.hasOwn(o, k);
}

// ---------------------------------------------------------------------------------------------------------
// Builders (export side)
// ---------------------------------------------------------------------------------------------------------

export function attrInt(name: string, i: number): IAttributeProto {
  return { name, type: AT.INT, i };
}
export function attrInts(name: string, ints: readonly number[]): IAttributeProto {
  return { name, type: AT.INTS, ints: [...ints] };
}
export function attrFloat(name: string, f: number): IAttributeProto {
  return { name, type: AT.FLOAT, f };
}
export function attrString(name: string, s: string): IAttributeProto {
  return { name, type: AT.STRING, s: new TextEncoder().encode(s) };
}
export function attrTensor(name: string, t: ITensorProto): IAttributeProto {
  return { name, type: AT.TENSOR, t };
}

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  attribute: IAttributeProto[] = [],
): INodeProto {
  return { opType, input: [...inputs], output: [...outputs], name, attribute };
}

/** A float32 tensor stored as little-endian raw data. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): ITensorProto {
  const raw = new Uint8Array(data.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i]!, true);
  return { name, dims: [...dims], dataType: DT_FLOAT, rawData: raw };
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): ITensorProto {
  return { name, dims: [...dims], dataType: DT_INT64, int64Data: [...data] };
}

/** A float32 tensor value_info; a string dimension is symbolic (dim_param). */
export function valueInfo(
  name: string,
  dims: readonly (number | string)[] | undefined,
  elemType = DT_FLOAT,
): IValueInfoProto {
  const tensorType: OnnxTypes.TypeProto.ITensor = { elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

export function encodeModel(m: IModelProto): Uint8Array {
  return onnxSchema().ModelProto.encode(m).finish();
}

export function decodeModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  return onnxSchema().ModelProto.decode(bytes);
}

// ---------------------------------------------------------------------------------------------------------
// Readers (import side)
// ---------------------------------------------------------------------------------------------------------

export function findAttr(n: INodeProto, name: string): IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

export function getInt(n: INodeProto, name: string, dflt: number): number {
  const a = findAttr(n, name);
  return a ? toNum(a.i) : dflt;
}

export function getFloat(n: INodeProto, name: string, dflt: number): number {
  const a = findAttr(n, name);
  return a && a.f !== null && a.f !== undefined ? a.f : dflt;
}

export function getInts(n: INodeProto, name: string): number[] | undefined {
  const a = findAttr(n, name);
  return a ? (a.ints ?? []).map(toNum) : undefined;
}

export function getString(n: INodeProto, name: string): string | undefined {
  const a = findAttr(n, name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}

export function tensorDims(t: ITensorProto): number[] {
  return (t.dims ?? []).map(toNum);
}

export function numelOf(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  return p;
}

/** Whether a tensor keeps its data outside the model file. */
export function isExternal(t: ITensorProto): boolean {
  return toNum(t.dataLocation as Int64Like) === 1;
}

/** The values of a numeric tensor as doubles (float, double, int32/int64, bool; float16 excluded: E_ONNX_FORMAT). */
export function tensorValues(t: ITensorProto): Float64Array {
  const dims = tensorDims(t);
  const n = numelOf(dims);
  const type = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const out = new Float64Array(n);
  if (raw) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = { [DT_FLOAT]: 4, [DT_DOUBLE]: 8, [DT_INT64]: 8, [DT_INT32]: 4, [DT_BOOL]: 1 }[type];
    if (size === undefined) throw new SwapError('E_ONNX_FORMAT', `tensor ${t.name}: unsupported data type ${type}`);
    if (raw.length !== n * size)
      throw new SwapError(
        'E_ONNX_FORMAT',
        `tensor ${t.name}: ${raw.length} raw bytes for ${n} elements of ${size} bytes`,
      );
    for (let i = 0; i < n; i++) {
      if (type === DT_FLOAT) out[i] = dv.getFloat32(4 * i, true);
      else if (type === DT_DOUBLE) out[i] = dv.getFloat64(8 * i, true);
      else if (type === DT_INT64) out[i] = Number(dv.getBigInt64(8 * i, true));
      else if (type === DT_BOOL) out[i] = dv.getUint8(i) === 0 ? 0 : 1;
      else out[i] = dv.getInt32(4 * i, true);
    }
    return out;
  }
  const src: readonly Int64Like[] =
    type === DT_FLOAT
      ? (t.floatData ?? [])
      : type === DT_DOUBLE
        ? (t.doubleData ?? [])
        : type === DT_INT64
          ? (t.int64Data ?? [])
          : type === DT_INT32 || type === DT_BOOL
            ? (t.int32Data ?? [])
            : [];
  if (![DT_FLOAT, DT_DOUBLE, DT_INT64, DT_INT32, DT_BOOL].includes(type))
    throw new SwapError('E_ONNX_FORMAT', `tensor ${t.name}: unsupported data type ${type}`);
  if (src.length !== n)
    throw new SwapError('E_ONNX_FORMAT', `tensor ${t.name}: ${src.length} values for shape [${dims.join(', ')}]`);
  for (let i = 0; i < n; i++) out[i] = toNum(src[i]);
  return out;
}

/** Dimensions of a value_info: numbers, symbolic names, or undefined when the rank itself is unknown. */
export function valueInfoDims(v: IValueInfoProto): (number | string)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d, i) => {
    if (own(d, 'dimValue')) return toNum(d.dimValue);
    if (own(d, 'dimParam') && d.dimParam) return d.dimParam;
    return `?${i}`;
  });
}

export function valueInfoElemType(v: IValueInfoProto): number {
  return v.type?.tensorType?.elemType ?? 0;
}
