/**
 * Quoting user input in error messages: every message that echoes input goes through {@link quote}, so a 128 KB
 * arch string, a corrupt file line or a fuzzed option never turns into a 128 KB message.
 */

/** At most this many characters of any one input are quoted in a message. */
export const QUOTE_MAX = 200;

/**
 * `JSON.stringify` of a value for a message, cut to `max` characters of the input with the original length
 * named (`"abc…" (1,234 chars)`). Non-strings are stringified first (undefined → `undefined`).
 */
export function quote(value: unknown, max = QUOTE_MAX): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
    if (text.length <= max) return text;
  }
  if (text.length <= max) return JSON.stringify(text);
  // Never cut a surrogate pair in half (the quoted text stays valid UTF-16).
  let end = max;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${JSON.stringify(`${text.slice(0, end)}…`)} (${text.length.toLocaleString('en-US')} chars)`;
}

/** A plain (unquoted) text cut to `max` characters, with the cut marked; for paths and lines named in messages. */
export function clip(text: string, max = QUOTE_MAX): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length.toLocaleString('en-US')} chars)`;
}
