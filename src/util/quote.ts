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
  const whole = JSON.stringify(text);
  if (whole.length <= max + 2) return whole;
  // Cut so that the quoted (escaped) form stays within `max`: control characters and lone surrogates escape to
  // six characters each, so `max` input characters may quote to 6·max.
  // Never cut a surrogate pair in half (the quoted text stays valid UTF-16).
  const pairSafe = (e: number) => (e > 0 && /[\ud800-\udbff]/.test(text.charAt(e - 1)) ? e - 1 : e);
  let end = pairSafe(Math.min(text.length, max));
  let q = JSON.stringify(text.slice(0, end));
  while (q.length > max + 2 && end > 0) {
    end = pairSafe(Math.max(0, Math.min(end - 1, Math.floor((end * max) / q.length))));
    q = JSON.stringify(text.slice(0, end));
  }
  return `${q.slice(0, -1)}…" (${text.length.toLocaleString('en-US')} chars)`;
}

/** A plain (unquoted) text cut to `max` characters, with the cut marked; for paths and lines named in messages. */
export function clip(text: string, max = QUOTE_MAX): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length.toLocaleString('en-US')} chars)`;
}
