/**
 * Fuzz corpus and edit operators, defined once for bench/fuzz.mjs (≥ 100,000 seeded inputs per parser) and
 * test/fuzz-parsers.test.ts (a few hundred fast-check inputs): the valid inputs that get mutated, the tokens an
 * edit inserts, and what one text or byte edit does. Each caller only chooses the edits (its own generator).
 */

/** Valid arch strings of every space (nb101: the compact and the JSON form). */
export const VALID_ARCHS = Object.freeze({
  nb201: '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  nb101: Object.freeze([
    'i31mo:1100.011.01.1',
    '{"matrix": [[0,1,1,0],[0,0,1,1],[0,0,0,1],[0,0,0,0]], "ops": ["input","conv3x3-bn-relu","maxpool3x3","output"]}',
  ]),
  darts:
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))",
  tnb101: '64-41414-1_02_333',
});

/** Fragments that text edits insert: the parsers' separators, huge/negative/odd numbers, quotes, NUL, astral. */
export const TOKENS = Object.freeze([
  '(',
  ')',
  '[',
  ']',
  ',',
  '|',
  '~',
  '-',
  '_',
  '.',
  ':',
  '9999999999',
  '-1',
  '0',
  'range(2, 4294967295)',
  '"',
  "'",
  '{',
  '}',
  'none',
  '1e308',
  'NaN',
  '\u0000',
  '😀',
  ' ',
]);

/** A valid 2×2 RGB PNG (the image-folder parsers' seed input). */
export const PNG_2X2 = Uint8Array.from(
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
    'base64',
  ),
);

/** The kinds of text edit: insert `text`, delete 1–8 characters, overwrite with `text`, repeat an 8-character slice `n` times. */
export const TEXT_EDITS = Object.freeze(['insert', 'delete', 'replace', 'repeat']);

/** Apply one text edit at position `at` (taken modulo the length + 1). */
export function editText(s, { at, kind, text, n }) {
  const i = s.length === 0 ? 0 : at % (s.length + 1);
  if (kind === 'insert') return s.slice(0, i) + text + s.slice(i);
  if (kind === 'delete') return s.slice(0, i) + s.slice(i + 1 + (n % 8));
  if (kind === 'replace') return s.slice(0, i) + text + s.slice(i + text.length);
  return s.slice(0, i) + s.slice(i, i + 8).repeat(n) + s.slice(i + 8);
}

/** The kinds of byte edit: set a byte to `v`, cut 1 + v bytes, duplicate v bytes, truncate. */
export const BYTE_EDITS = Object.freeze(['set', 'cut', 'dup', 'trunc']);

/** Apply one byte edit at position `at` (taken modulo the length); returns a new array. */
export function editBytes(b, { at, v, kind }) {
  const i = b.length === 0 ? 0 : at % b.length;
  if (kind === 'set') {
    const c = Uint8Array.from(b);
    if (c.length > 0) c[i] = v;
    return c;
  }
  if (kind === 'cut') return Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1 + v)]);
  if (kind === 'dup') return Uint8Array.from([...b.subarray(0, i + v), ...b.subarray(i)]);
  return b.slice(0, i);
}
