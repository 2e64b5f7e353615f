/**
 * Every error swapnas raises on bad input carries a stable `code` (E_…) that scripts can match on; the message
 * names the problem and where it is.
 */
export type ErrorCode =
  | 'E_ARCH_SYNTAX'
  | 'E_ARCH_OP'
  | 'E_ARCH_EDGE'
  | 'E_IR_SHAPE'
  | 'E_IR_INPUT'
  | 'E_INPUT_SHAPE'
  | 'E_INPUT_NAN'
  | 'E_INPUT_EMPTY'
  | 'E_INPUT_FILE'
  | 'E_OPTION'
  | 'E_BACKEND_UNAVAILABLE'
  | 'E_BACKEND'
  | 'E_NATIVE_LOAD'
  | 'E_CANCELLED'
  | 'E_SPACE'
  | 'E_DATASET'
  | 'E_TABLE'
  | 'E_JOURNAL'
  | 'E_PROXY'
  | 'E_ONNX_FORMAT'
  | 'E_ONNX_OPSET'
  | 'E_ONNX_DYNAMIC'
  | 'E_ONNX_TOO_LARGE'
  | 'E_ONNX_RUNTIME'
  | 'E_ARCH_LIST'
  | 'E_REQUEST'
  | 'E_REQUEST_TOO_LARGE'
  | 'E_BUSY'
  | 'E_UNAUTHORIZED'
  | 'E_NOT_FOUND'
  | 'E_SHUTTING_DOWN'
  | 'E_PROXY_UNKNOWN'
  | 'E_PROXY_BACKEND'
  | 'E_PROXY_HEAD'
  | 'E_LABELS'
  | 'E_PAYLOAD'
  | 'E_VERSION'
  | 'E_QUEUE'
  | 'E_MEMORY'
  | 'E_LOCKED'
  | 'E_OUTPUT'
  | 'E_DATA';

/**
 * Longest message kept: input is quoted through `quote()` (≤ ~200 characters each); this cap is the backstop for
 * anything else that grows with input (lists, nested causes).
 */
export const MESSAGE_MAX = 2000;

export class SwapError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX)}… (message cut)` : message, options);
    this.name = 'SwapError';
    this.code = code;
  }
}

export function isSwapError(e: unknown): e is SwapError {
  return e instanceof SwapError;
}
