import { SwapError, type ErrorCode } from '../util/errors.js';

/** Kinds of ONNX-specific failure, each mapped to one stable error code. */
export type OnnxErrorKind =
  | 'format' // not an ONNX model, truncated, unreadable, external data
  | 'opset' // default-domain opset < 13
  | 'dynamic' // non-batch dimensions unknown and no --input-shape
  | 'too-large' // file over the size limit
  | 'no-relu' // no Relu on a 4-D tensor: SWAP undefined
  | 'runtime'; // ONNX Runtime rejected or failed on the model

export const ONNX_ERROR_CODES: Readonly<Record<OnnxErrorKind, ErrorCode>> = {
  format: 'E_ONNX_FORMAT',
  opset: 'E_ONNX_OPSET',
  dynamic: 'E_ONNX_DYNAMIC',
  'too-large': 'E_ONNX_TOO_LARGE',
  'no-relu': 'E_IR_SHAPE', // same meaning as for IR networks (score/swap.ts checkInputsFit)
  runtime: 'E_ONNX_RUNTIME',
};

export function onnxError(kind: OnnxErrorKind, message: string, cause?: unknown): SwapError {
  return new SwapError(ONNX_ERROR_CODES[kind], message, cause === undefined ? undefined : { cause });
}
