/** Types of bench/fuzz-inputs.mjs (the shared fuzz corpus and edit operators). */
export declare const VALID_ARCHS: {
  readonly nb201: string;
  readonly nb101: readonly string[];
  readonly darts: string;
  readonly tnb101: string;
};
export declare const TOKENS: readonly string[];
export declare const PNG_2X2: Uint8Array;
export type TextEditKind = 'insert' | 'delete' | 'replace' | 'repeat';
export declare const TEXT_EDITS: readonly TextEditKind[];
export interface TextEdit {
  readonly at: number;
  readonly kind: TextEditKind;
  readonly text: string;
  readonly n: number;
}
export declare function editText(s: string, edit: TextEdit): string;
export type ByteEditKind = 'set' | 'cut' | 'dup' | 'trunc';
export declare const BYTE_EDITS: readonly ByteEditKind[];
export interface ByteEdit {
  readonly at: number;
  readonly v: number;
  readonly kind: ByteEditKind;
}
export declare function editBytes(b: Uint8Array, edit: ByteEdit): Uint8Array;
